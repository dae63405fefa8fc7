//! The pattern of the PHP guide this project grew from: a PHP session handler that keeps
//! sessions through a Doctrine provider over a Symfony pool (so each session string is
//! marshalled and namespaced by Doctrine). A Rust `CacheSessionHandler` over a
//! `DoctrineProvider` over a pool in Symfony's format reads what PHP wrote and the reverse, on
//! Redis, Redis Cluster and memcached, with either marshaller.
//!
//! Runs on the `CACHE_TEST_*` servers and `CACHE_TEST_PHP` (scripts/test-servers.sh).

use std::sync::Arc;

use bytes::Bytes;
use cache_testkit::{php, server_url, unique_namespace};
use doctrine_compat::DoctrineProvider;
use php_marshal::Value;
use php_marshal::session::{self, SessionFormat};
use serde_json::{Value as Json, json};
use session_bridge::{CacheSessionHandler, SessionHandler, SessionOptions, create_id};

/// The PHP side: the guide's handler, over Doctrine over `$pool`, registered; prefix `sess_`.
const PHP_HANDLER: &str = r"
class DoctrineSessionHandler implements SessionHandlerInterface {
    public function __construct(private $cache, private int $ttl) {}
    public function open($path, $name): bool { return true; }
    public function close(): bool { return true; }
    public function read($id): string|false {
        $data = $this->cache->fetch('sess_' . $id);
        return is_string($data) ? $data : '';
    }
    public function write($id, $data): bool { return $this->cache->save('sess_' . $id, $data, $this->ttl); }
    public function destroy($id): bool { return $this->cache->delete('sess_' . $id); }
    public function gc($max): int|false { return 0; }
}
$doctrine = new DoctrineProvider($pool);
$doctrine->setNamespace('sessions');
session_set_save_handler(new DoctrineSessionHandler($doctrine, 1440), true);
";

const INI: [&str; 4] = [
    "session.use_cookies=0",
    "session.use_only_cookies=0",
    "session.use_strict_mode=0",
    "session.cache_limiter=",
];

fn run_php(
    php_bin: &str,
    url: &str,
    namespace: &str,
    igbinary: bool,
    id: &str,
    code: &str,
) -> String {
    let pool = php::symfony_pool(url, namespace, igbinary);
    let prelude = php::SYMFONY_PRELUDE;
    php::run(
        php_bin,
        &INI,
        &format!("{prelude}\n{pool}\n{PHP_HANDLER}\nsession_id('{id}');\n{code}"),
    )
}

#[tokio::test]
async fn a_doctrine_backed_php_handler_and_rust_share_sessions() {
    let Some(php_bin) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    let servers = [
        "CACHE_TEST_REDIS_URL",
        "CACHE_TEST_REDIS_CLUSTER_URLS",
        "CACHE_TEST_MEMCACHED_URL",
        "CACHE_TEST_MEMCACHED_URLS",
    ];
    for url in servers.into_iter().filter_map(server_url) {
        for (igbinary, marshaller) in [(false, "serialize"), (true, "igbinary")] {
            let context = format!("{marshaller} on {url}");
            let namespace = unique_namespace("sess");
            let pool = cache_pool::open(&format!(
                "{url}?namespace={namespace}&format=symfony-5.4-{marshaller}"
            ))
            .await
            .expect("open");
            let doctrine = DoctrineProvider::over_pool(pool).with_namespace("sessions");
            let handler = CacheSessionHandler::new(Arc::new(doctrine), SessionOptions::new());
            let id = create_id(32).expect("an id");

            run_php(
                &php_bin,
                &url,
                &namespace,
                igbinary,
                &id,
                "session_start(); $_SESSION['user'] = 'alice'; session_write_close();",
            );
            let data = handler.read(&id).await.expect("read");
            let mut vars = session::decode(SessionFormat::Php, &data).expect("PHP's session");
            assert_eq!(
                vars,
                [(b"user".to_vec(), Value::String(b"alice".to_vec().into()))],
                "{context}"
            );
            vars.push((b"visits".to_vec(), Value::Int(2)));
            let data = session::encode(SessionFormat::Php, &vars).expect("encodable");
            handler.write(&id, Bytes::from(data)).await.expect("write");

            let printed = run_php(
                &php_bin,
                &url,
                &namespace,
                igbinary,
                &id,
                "session_start(); echo json_encode($_SESSION);",
            );
            let read: Json = serde_json::from_str(&printed).expect("PHP's session");
            assert_eq!(read, json!({"user": "alice", "visits": 2}), "{context}");
        }
    }
}
