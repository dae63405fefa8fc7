//! tower-sessions and PHP share one login: a `TowerSessionStore` with PHP's session data over
//! a `PhpSessions` handler writes what PHP's native handler (phpredis, php-memcached) reads
//! into `$_SESSION`, and reads what PHP writes, for a session tower-sessions started and for
//! one PHP started with ids of tower-sessions' form.
//!
//! Runs on `CACHE_TEST_REDIS_URL` and `CACHE_TEST_MEMCACHED_URL`, with `CACHE_TEST_PHP`
//! (scripts/test-servers.sh).

use std::time::Duration;

use cache_testkit::{php, server_url};
use php_marshal::session::SessionFormat;
use serde_json::json;
use session_bridge::{PhpSessions, TowerSessionStore};
use tower_sessions_core::SessionStore;
use tower_sessions_core::session::{Id, Record};

/// PHP's session settings for the native handler of `url`, with format `php`.
fn ini(url: &str) -> Vec<String> {
    let mut ini = vec![
        "session.use_cookies=0".to_owned(),
        "session.use_only_cookies=0".to_owned(),
        "session.use_strict_mode=0".to_owned(),
        "session.cache_limiter=".to_owned(),
        "session.serialize_handler=php".to_owned(),
    ];
    if let Some(servers) = url.strip_prefix("memcache://") {
        ini.push("session.save_handler=memcached".to_owned());
        ini.push(format!("session.save_path={servers}"));
        ini.push("memcached.sess_locking=0".to_owned());
    } else {
        let address = url
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .expect("host:port");
        ini.push("session.save_handler=redis".to_owned());
        ini.push(format!("session.save_path=\"tcp://{address}\""));
    }
    ini
}

fn run_php(php_bin: &str, url: &str, code: &str) -> String {
    let ini = ini(url);
    let ini: Vec<&str> = ini.iter().map(String::as_str).collect();
    php::run(php_bin, &ini, code)
}

#[tokio::test]
async fn tower_sessions_and_php_share_a_login() {
    let Some(php_bin) = server_url("CACHE_TEST_PHP") else {
        return;
    };
    let backends = [
        ("CACHE_TEST_REDIS_URL", PhpSessions::Phpredis),
        ("CACHE_TEST_MEMCACHED_URL", PhpSessions::PhpMemcached),
    ];
    for (var, preset) in backends {
        let Some(url) = server_url(var) else {
            continue;
        };
        let handler = preset.open_unlocked(&url).await.expect("open");
        let store = TowerSessionStore::new(handler)
            .expect("no locks")
            .with_php_data(SessionFormat::Php, Duration::from_secs(1440));

        // tower-sessions starts the session; PHP reads it and writes to it.
        let mut record = Record {
            id: Id::default(),
            data: [
                ("user".to_owned(), json!("alice")),
                ("n".to_owned(), json!(1)),
                ("roles".to_owned(), json!(["admin"])),
            ]
            .into(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        store.create(&mut record).await.expect("create");
        let id = record.id.to_string();
        assert!(!id.contains('_'), "an id PHP takes: {id}");
        let printed = run_php(
            &php_bin,
            &url,
            &format!(
                "session_id('{id}'); session_start();
                echo json_encode($_SESSION);
                $_SESSION['n']++; $_SESSION['php'] = true;
                session_write_close();"
            ),
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&printed).expect("json"),
            json!({"user": "alice", "n": 1, "roles": ["admin"]}),
            "{preset:?}: PHP reads what tower-sessions wrote"
        );
        let loaded = store
            .load(&record.id)
            .await
            .expect("load")
            .expect("a session");
        assert_eq!(loaded.data["n"], json!(2), "{preset:?}");
        assert_eq!(loaded.data["php"], json!(true), "{preset:?}");
        assert_eq!(loaded.data["user"], json!("alice"), "{preset:?}");

        // PHP starts the session, with ids of tower-sessions' form.
        let printed = run_php(
            &php_bin,
            &url,
            r"session_set_save_handler(new class extends SessionHandler {
                public function create_sid(): string {
                    do { $id = rtrim(strtr(base64_encode(random_bytes(16)), '+/', '-_'), '='); }
                    while (str_contains($id, '_'));
                    return $id;
                }
            }, true);
            session_start();
            $_SESSION['user'] = 'bob';
            echo session_id();
            session_write_close();",
        );
        let id: Id = printed.parse().expect("an id tower-sessions takes");
        let loaded = store.load(&id).await.expect("load").expect("a session");
        assert_eq!(loaded.data["user"], json!("bob"), "{preset:?}");
    }
}
