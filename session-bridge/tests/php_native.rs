//! PHP's own session handlers (phpredis on Redis and Redis Cluster, php-memcached on one and
//! two memcached servers) and a Rust [`PhpSessions`] handler share sessions: PHP writes and
//! Rust reads, Rust writes and PHP reads, in each of PHP's four session formats; and PHP
//! processes and Rust tasks incrementing one session counter at once, locks on, lose no
//! increment. A foreign or damaged session is an error for the decoder, never a panic, and
//! stays as it was unless the request writes.
//!
//! Runs on `CACHE_TEST_REDIS_URL`, `CACHE_TEST_REDIS_CLUSTER_URLS`, `CACHE_TEST_MEMCACHED_URL`
//! and `CACHE_TEST_MEMCACHED_URLS`, and needs `CACHE_TEST_PHP` (scripts/test-servers.sh sets
//! them all); skipped without them, failing instead when `CACHE_TEST_REQUIRE_SERVERS` is set.

use std::process::{Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use cache_testkit::server_url;
use php_marshal::Value;
use php_marshal::session::{self, SessionFormat};
use serde_json::{Value as Json, json};
use session_bridge::{PhpSessions, SessionHandler, create_id};

/// One backend as both sides see it: the Rust preset and URL, and PHP's ini settings.
struct Backend {
    preset: PhpSessions,
    url: String,
    /// `session.save_handler`, `session.save_path` and the handler's own settings (its
    /// locking among them).
    ini: Vec<String>,
    /// Whether PHP's handler locks sessions: phpredis's cluster handler never does.
    php_locks: bool,
}

fn backends() -> Vec<Backend> {
    let mut out = Vec::new();
    if let Some(url) = server_url("CACHE_TEST_REDIS_URL") {
        let address = url
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .expect("host:port")
            .to_owned();
        out.push(Backend {
            preset: PhpSessions::Phpredis,
            url,
            ini: phpredis_ini("redis", &format!("tcp://{address}")),
            php_locks: true,
        });
    }
    if let Some(url) = server_url("CACHE_TEST_REDIS_CLUSTER_URLS") {
        let seeds: Vec<String> = url
            .trim_start_matches("redis+cluster://")
            .split(',')
            .map(|node| format!("seed[]={node}"))
            .collect();
        out.push(Backend {
            preset: PhpSessions::PhpredisCluster,
            url,
            ini: phpredis_ini("rediscluster", &seeds.join("&")),
            php_locks: false,
        });
    }
    for var in ["CACHE_TEST_MEMCACHED_URL", "CACHE_TEST_MEMCACHED_URLS"] {
        if let Some(url) = server_url(var) {
            let servers = url.trim_start_matches("memcache://").to_owned();
            out.push(Backend {
                preset: PhpSessions::PhpMemcached,
                url,
                ini: vec![
                    "session.save_handler=memcached".to_owned(),
                    format!("session.save_path={servers}"),
                    // The ring Rust uses (libmemcached's libketama-compatible one).
                    "memcached.sess_consistent_hash_type=ketama_weighted".to_owned(),
                    "memcached.sess_lock_expire=30".to_owned(),
                    "memcached.sess_lock_retries=2000".to_owned(),
                    "memcached.sess_lock_wait_min=2".to_owned(),
                    "memcached.sess_lock_wait_max=20".to_owned(),
                ],
                php_locks: true,
            });
        }
    }
    out
}

fn phpredis_ini(handler: &str, path: &str) -> Vec<String> {
    vec![
        format!("session.save_handler={handler}"),
        // Quoted: a cluster's `seed[]=host:port&…` is no bare ini value.
        format!("session.save_path=\"{path}\""),
        "redis.session.locking_enabled=1".to_owned(),
        // A CLI script has no max_execution_time: without this its lock would never expire.
        "redis.session.lock_expire=30".to_owned(),
        "redis.session.lock_retries=4000".to_owned(),
        "redis.session.lock_wait_time=2000".to_owned(),
    ]
}

const FORMATS: [(SessionFormat, &str); 4] = [
    (SessionFormat::Php, "php"),
    (SessionFormat::PhpSerialize, "php_serialize"),
    (SessionFormat::PhpBinary, "php_binary"),
    (SessionFormat::Igbinary, "igbinary"),
];

/// Runs `code` in PHP with the backend's session settings and `format`, on session `id`
/// (given to `session_id()` before the code runs); what it prints.
fn php(php: &str, backend: &Backend, format: &str, id: &str, code: &str) -> String {
    let ini = ini(backend, format);
    let ini: Vec<&str> = ini.iter().map(String::as_str).collect();
    cache_testkit::php::run(php, &ini, &format!("session_id('{id}'); {code}"))
}

/// PHP's settings: sessions without cookies on `id` as given, in `format`, on the backend.
fn ini(backend: &Backend, format: &str) -> Vec<String> {
    let mut ini = vec![
        "session.use_cookies=0".to_owned(),
        "session.use_only_cookies=0".to_owned(),
        "session.use_strict_mode=0".to_owned(),
        "session.cache_limiter=".to_owned(),
        format!("session.serialize_handler={format}"),
    ];
    ini.extend(backend.ini.iter().cloned());
    ini
}

/// The PHP process of [`php`], to spawn.
fn php_command(php: &str, backend: &Backend, format: &str, id: &str, code: &str) -> Command {
    let mut command = Command::new(php);
    command.stdin(Stdio::null());
    for setting in ["display_errors=stderr".to_owned()]
        .into_iter()
        .chain(ini(backend, format))
    {
        command.args(["-d", &setting]);
    }
    command.args(["-r", &format!("session_id('{id}'); {code}")]);
    command
}

fn string(text: &str) -> Value<'static> {
    Value::String(text.as_bytes().to_vec().into())
}

fn variable<'a>(vars: &'a [(Vec<u8>, Value<'static>)], name: &str) -> Option<&'a Value<'static>> {
    vars.iter()
        .find(|(key, _)| key == name.as_bytes())
        .map(|(_, value)| value)
}

#[tokio::test]
async fn sessions_php_writes_are_read_by_rust_and_the_reverse() {
    let Some(php_bin) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for backend in backends() {
        let handler = backend.preset.open(&backend.url).await.expect("open");
        for (format, name) in FORMATS {
            let context = format!("{:?} on {}, {name}", backend.preset, backend.url);
            let id = create_id(32).expect("an id");
            php(
                &php_bin,
                &backend,
                name,
                &id,
                r#"session_start();
                $_SESSION['user'] = 'alice';
                $_SESSION['roles'] = ['admin', 'dev'];
                $_SESSION['n'] = 41;
                session_write_close();"#,
            );
            let request = handler.clone();
            let data = request.read(&id).await.expect("read");
            let mut vars = session::decode(format, &data).expect("PHP's session data");
            assert_eq!(variable(&vars, "user"), Some(&string("alice")), "{context}");
            assert_eq!(variable(&vars, "n"), Some(&Value::Int(41)), "{context}");
            assert!(
                matches!(variable(&vars, "roles"), Some(Value::Array(roles)) if roles.len() == 2),
                "{context}"
            );

            for (key, value) in &mut vars {
                if key == b"n" {
                    *value = Value::Int(42);
                }
            }
            vars.push((b"from".to_vec(), string("rust")));
            let data = session::encode(format, &vars).expect("encodable");
            request.write(&id, Bytes::from(data)).await.expect("write");
            request.close().await.expect("close");

            let printed = php(
                &php_bin,
                &backend,
                name,
                &id,
                "session_start(); echo json_encode($_SESSION);",
            );
            let read: Json = serde_json::from_str(&printed).expect("PHP's session");
            assert_eq!(
                read,
                json!({"user": "alice", "roles": ["admin", "dev"], "n": 42, "from": "rust"}),
                "{context}"
            );
        }
    }
}

/// Session data that is not in the format read (another application's, or damaged) fails to
/// decode with an error, and the handler leaves the stored bytes as they are.
#[tokio::test]
async fn a_foreign_session_is_an_error_and_stays_as_it_was() {
    let Some(php_bin) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for backend in backends() {
        let handler = backend.preset.open(&backend.url).await.expect("open");
        let id = create_id(32).expect("an id");
        php(
            &php_bin,
            &backend,
            "php_serialize",
            &id,
            "session_start(); $_SESSION['k'] = str_repeat('x', 10); session_write_close();",
        );
        let request = handler.clone();
        let data = request.read(&id).await.expect("read");
        let err = session::decode(SessionFormat::Igbinary, &data).expect_err("not igbinary");
        assert!(!err.message().is_empty());
        let mut damaged = data.to_vec();
        damaged.truncate(damaged.len() - 3);
        assert!(session::decode(SessionFormat::PhpSerialize, &damaged).is_err());
        request.close().await.expect("close");
        let again = handler.clone();
        assert_eq!(again.read(&id).await.expect("read"), data, "untouched");
        again.close().await.expect("close");
    }
}

/// PHP processes and Rust tasks increment one session's counter at once, each in its own
/// request (read under the lock, write, close): with locks on both sides, none is lost.
/// (phpredis's Redis Cluster handler has no locking, so there PHP's requests race whatever
/// Rust does; that backend is left out.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_from_php_and_rust_lose_nothing() {
    const PHP_PROCESSES: usize = 4;
    const RUST_TASKS: usize = 4;
    const EACH: usize = 25;
    let Some(php_bin) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    for backend in backends().into_iter().filter(|backend| backend.php_locks) {
        let context = format!("{:?} on {}", backend.preset, backend.url);
        let mut lock = backend.preset.lock_options();
        lock.retries = 10_000;
        lock.wait_max = std::time::Duration::from_millis(20);
        let options = backend
            .preset
            .options()
            .expect("options")
            .with_locking(lock)
            .expect("lock options");
        let store = cache_store::open(&backend.preset.store_url(&backend.url).expect("url"))
            .await
            .expect("open");
        let handler = session_bridge::CacheSessionHandler::new(
            Arc::new(simple_cache::Cache::new(store)),
            options,
        );
        let id = create_id(32).expect("an id");
        let code = format!(
            "for ($i = 0; $i < {EACH}; $i++) {{
                session_id('{id}');
                if (!session_start()) {{ fwrite(STDERR, 'no session'); exit(1); }}
                $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
                if (!session_write_close()) {{ fwrite(STDERR, 'not written'); exit(1); }}
            }}"
        );
        let processes: Vec<_> = (0..PHP_PROCESSES)
            .map(|_| {
                php_command(&php_bin, &backend, "php", &id, &code)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start php")
            })
            .collect();
        let tasks: Vec<_> = (0..RUST_TASKS)
            .map(|_| {
                let handler = handler.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    for _ in 0..EACH {
                        let request = handler.clone();
                        let data = request.read(&id).await.expect("read");
                        let mut vars = session::decode(SessionFormat::Php, &data).expect("data");
                        let n = match variable(&vars, "n") {
                            Some(Value::Int(n)) => *n,
                            None => 0,
                            other => panic!("n is {other:?}"),
                        };
                        vars.retain(|(name, _)| name != b"n");
                        vars.push((b"n".to_vec(), Value::Int(n + 1)));
                        let data = session::encode(SessionFormat::Php, &vars).expect("data");
                        request.write(&id, data.into()).await.expect("write");
                        request.close().await.expect("close");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a Rust task");
        }
        for process in processes {
            let output = process.wait_with_output().expect("php ran");
            assert!(
                output.status.success() && output.stderr.is_empty(),
                "{context}: php failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let request = handler.clone();
        let data = request.read(&id).await.expect("read");
        request.close().await.expect("close");
        let vars = session::decode(SessionFormat::Php, &data).expect("data");
        let expected = i64::try_from((PHP_PROCESSES + RUST_TASKS) * EACH).expect("small");
        assert_eq!(
            variable(&vars, "n"),
            Some(&Value::Int(expected)),
            "{context}"
        );
        eprintln!("{context}: {expected} increments, none lost");
    }
}

/// Ids PHP makes under any of its settings (`session.sid_length` 22 to 256,
/// `session.sid_bits_per_character` 4, 5 or 6) are ids the Rust handler takes.
#[tokio::test]
async fn ids_php_makes_are_valid_ids() {
    let Some(php_bin) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    let printed = cache_testkit::php::run(
        &php_bin,
        &[],
        // Printed at the end: once output starts, PHP takes its session settings as fixed.
        "$ids = [];
        foreach ([4, 5, 6] as $bits) { foreach ([22, 32, 256] as $length) {
            ini_set('session.sid_bits_per_character', $bits);
            ini_set('session.sid_length', $length);
            for ($i = 0; $i < 20; $i++) { $ids[] = session_create_id(); }
        } }
        echo implode(\"\\n\", $ids);",
    );
    let ids: Vec<&str> = printed.lines().collect();
    assert_eq!(ids.len(), 3 * 3 * 20);
    for id in ids {
        assert!(session_bridge::is_well_formed(id), "{id:?}");
    }
}

/// A session Rust writes lives `session.gc_maxlifetime` (1440 s by default) on Redis, as one
/// phpredis writes.
#[tokio::test]
async fn rust_writes_give_sessions_phps_lifetime() {
    let (Some(php_bin), Some(url)) = (
        server_url("CACHE_TEST_PHP"),
        server_url("CACHE_TEST_REDIS_URL"),
    ) else {
        return;
    };
    let handler = PhpSessions::Phpredis.open(&url).await.expect("open");
    let id = create_id(32).expect("an id");
    let request = handler.clone();
    request.read(&id).await.expect("read");
    request
        .write(&id, Bytes::from_static(b"n|i:1;"))
        .await
        .expect("write");
    request.close().await.expect("close");
    let connect = cache_testkit::php::redis_connection(&url);
    let printed = cache_testkit::php::run(
        &php_bin,
        &[],
        &format!("{connect} echo $redis->ttl('PHPREDIS_SESSION:{id}');"),
    );
    let ttl: i64 = printed.parse().expect("a TTL");
    assert!((1430..=1440).contains(&ttl), "TTL {ttl}");
}
