//! Symfony's session handlers (HttpFoundation 5.4's `RedisSessionHandler` and
//! `MemcachedSessionHandler`, under its `Session` and `NativeSessionStorage`) and a Rust
//! [`PhpSessions`] handler share sessions, Symfony's attribute bag layout included: PHP sets an
//! attribute, Rust reads it from `_sf2_attributes` and sets another, PHP reads both.
//!
//! Runs on the `CACHE_TEST_*` servers and `CACHE_TEST_PHP` (scripts/test-servers.sh).

use bytes::Bytes;
use cache_testkit::{php, server_url};
use php_marshal::session::{self, SessionFormat};
use php_marshal::{ArrayKey, Value};
use serde_json::{Value as Json, json};
use session_bridge::{PhpSessions, SessionHandler, create_id};

const INI: [&str; 2] = ["session.use_cookies=0", "session.cache_limiter="];

/// PHP with Symfony's `Session` over the handler for `url`, on session `id`, then `code`.
fn symfony_session(php_bin: &str, url: &str, id: &str, code: &str) -> String {
    let handler = if let Some(servers) = url.strip_prefix("memcache://") {
        let dsns: Vec<String> = servers
            .split(',')
            .map(|server| format!("'memcached://{server}'"))
            .collect();
        format!(
            "$handler = new MemcachedSessionHandler(MemcachedAdapter::createConnection([{}]));",
            dsns.join(", ")
        )
    } else {
        format!(
            "{} $handler = new RedisSessionHandler($redis);",
            php::redis_connection(url)
        )
    };
    let prelude = php::SYMFONY_PRELUDE;
    php::run(
        php_bin,
        &INI,
        &format!(
            r"{prelude}
            require '/usr/share/php/Symfony/Component/HttpFoundation/autoload.php';
            use Symfony\Component\HttpFoundation\Session\Session;
            use Symfony\Component\HttpFoundation\Session\Storage\NativeSessionStorage;
            use Symfony\Component\HttpFoundation\Session\Storage\Handler\MemcachedSessionHandler;
            use Symfony\Component\HttpFoundation\Session\Storage\Handler\RedisSessionHandler;
            {handler}
            $storage = new NativeSessionStorage(['use_strict_mode' => 0, 'use_cookies' => 0], $handler);
            $storage->setId('{id}');
            $session = new Session($storage);
            $session->start();
            {code}"
        ),
    )
}

fn attributes(vars: &[(Vec<u8>, Value<'static>)]) -> Vec<(ArrayKey<'static>, Value<'static>)> {
    match vars.iter().find(|(name, _)| name == b"_sf2_attributes") {
        Some((_, Value::Array(attributes))) => attributes.clone(),
        other => panic!("no attribute bag: {other:?}"),
    }
}

#[tokio::test]
async fn symfony_sessions_and_their_attributes_are_shared() {
    let Some(php_bin) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    let backends = [
        ("CACHE_TEST_REDIS_URL", PhpSessions::SymfonyRedis),
        ("CACHE_TEST_REDIS_CLUSTER_URLS", PhpSessions::SymfonyRedis),
        ("CACHE_TEST_MEMCACHED_URL", PhpSessions::SymfonyMemcached),
        ("CACHE_TEST_MEMCACHED_URLS", PhpSessions::SymfonyMemcached),
    ];
    for (var, preset) in backends {
        let Some(url) = server_url(var) else {
            continue;
        };
        let handler = preset.open(&url).await.expect("open");
        let id = create_id(32).expect("an id");
        symfony_session(
            &php_bin,
            &url,
            &id,
            "$session->set('user', 'alice'); $session->save();",
        );
        let request = handler.clone();
        let data = request.read(&id).await.expect("read");
        let mut vars = session::decode(SessionFormat::Php, &data).expect("Symfony's session");
        let mut bag = attributes(&vars);
        assert_eq!(
            bag,
            [(
                ArrayKey::String(b"user".to_vec().into()),
                Value::String(b"alice".to_vec().into())
            )],
            "{preset:?} on {url}"
        );
        assert!(
            vars.iter().any(|(name, _)| name == b"_sf2_meta"),
            "Symfony's metadata bag"
        );
        bag.push((ArrayKey::String(b"cart".to_vec().into()), Value::Int(3)));
        for (name, value) in &mut vars {
            if name == b"_sf2_attributes" {
                *value = Value::Array(bag.clone());
            }
        }
        let data = session::encode(SessionFormat::Php, &vars).expect("encodable");
        request.write(&id, Bytes::from(data)).await.expect("write");
        request.close().await.expect("close");

        let printed = symfony_session(&php_bin, &url, &id, "echo json_encode($session->all());");
        let read: Json = serde_json::from_str(&printed).expect("PHP's attributes");
        assert_eq!(
            read,
            json!({"user": "alice", "cart": 3}),
            "{preset:?} on {url}"
        );
    }
}
