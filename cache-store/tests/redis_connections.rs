//! How the Redis backend connects in production, against real servers: over TLS (every kit,
//! and client certificates a server requires), as an ACL user, through Sentinel (every kit,
//! and a failover of the primary mid-run, followed by the store and by its watch), and within
//! its timeouts when a server freezes.
//!
//! scripts/test-servers.sh starts the TLS server (certificates made for the run, in
//! `CACHE_TEST_TLS_DIR`), the sentinels with their primary and replica, and names the
//! `redis-server` binary for the private servers these tests start, freeze and kill.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cache_store::redis::{Invalidation, RedisStore};
use cache_store::{ErrorKind, Expiration, Key, Store};
use cache_testkit::redis::{RedisFactory, next_invalidation, written};
use cache_testkit::{PrivateServer, server_url, unique_namespace};

fn key(s: &str) -> Key<'_> {
    Key::new(s).expect("a valid key")
}

/// The run's certificates (`ca.crt`, `client.crt`, `client.key`, `server.crt`, `server.key`).
fn tls_dir() -> Option<PathBuf> {
    server_url("CACHE_TEST_TLS_DIR").map(PathBuf::from)
}

mod over_tls {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: RedisFactory::from_env("CACHE_TEST_REDIS_TLS_URL")
            .and_then(|f| Some(f.with_tls_ca(tls_dir()?.join("ca.crt")))),
        without: [clock, foreign_data]
    );
}

mod through_sentinel {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: RedisFactory::from_env("CACHE_TEST_REDIS_SENTINEL_URL"),
        without: [clock, foreign_data]
    );
}

/// `open` takes the TLS files as URL parameters, `%`-escaped where a path needs it.
#[tokio::test]
async fn open_reads_tls_files_from_the_url() {
    let (Some(url), Some(dir)) = (server_url("CACHE_TEST_REDIS_TLS_URL"), tls_dir()) else {
        return;
    };
    let ca = dir.join("ca.crt").display().to_string().replace('/', "%2F");
    let store = cache_store::open(&format!(
        "{url}?namespace={}&tls_ca={ca}",
        unique_namespace("tls")
    ))
    .await
    .unwrap();
    store
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    assert_eq!(
        store.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
    store.clear().await.unwrap();
}

/// A server certificate no trusted authority signed is refused (the system's authorities do
/// not know the run's), with an error rather than a connection.
#[tokio::test]
async fn an_unknown_authority_is_refused() {
    let Some(url) = server_url("CACHE_TEST_REDIS_TLS_URL") else {
        return;
    };
    let err = RedisStore::builder(&url)
        .connect_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Unavailable | ErrorKind::InvalidArgument
        ),
        "{err}"
    );
    let err = RedisStore::builder(&url)
        .tls_ca_file("/nonexistent/ca.crt")
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

/// A server that requires client certificates (`tls-auth-clients yes`) lets in the store
/// that shows one signed by its authority, and no other.
#[tokio::test]
async fn client_certificates_are_shown_when_configured() {
    let (Some(binary), Some(dir)) = (server_url("CACHE_TEST_REDIS_SERVER"), tls_dir()) else {
        return;
    };
    let file = |name: &str| dir.join(name).display().to_string();
    let server = PrivateServer::start(&binary, |port| {
        [
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            &file("server.crt"),
            "--tls-key-file",
            &file("server.key"),
            "--tls-ca-cert-file",
            &file("ca.crt"),
            "--tls-auth-clients",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .map(String::from)
        .to_vec()
    });
    let url = format!("rediss://127.0.0.1:{}/0", server.port());
    let without = RedisStore::builder(&url)
        .tls_ca_file(dir.join("ca.crt"))
        .connect_timeout(Duration::from_millis(500))
        .connect()
        .await;
    assert!(without.is_err(), "a client without a certificate got in");
    let store = RedisStore::builder(&url)
        .tls_ca_file(dir.join("ca.crt"))
        .tls_client_cert(dir.join("client.crt"), dir.join("client.key"))
        .connect()
        .await
        .unwrap();
    store
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    // The same through `open`'s parameters.
    let by_url = cache_store::open(&format!(
        "{url}?tls_ca={}&tls_cert={}&tls_key={}",
        file("ca.crt"),
        file("client.crt"),
        file("client.key")
    ))
    .await
    .unwrap();
    assert_eq!(
        by_url.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
    let half = cache_store::open(&format!(
        "{url}?tls_ca={}&tls_cert={}",
        file("ca.crt"),
        file("client.crt")
    ))
    .await;
    assert_eq!(half.unwrap_err().kind(), ErrorKind::InvalidArgument);
}

/// The Unix socket forms (`redis+unix://`, `unix://`) reach the same server as TCP, and
/// redis-rs's own parameters (`protocol=resp3`) pass through `open`.
#[tokio::test]
async fn unix_sockets_and_resp3_reach_the_same_server() {
    let (Some(url), Some(socket)) = (
        server_url("CACHE_TEST_REDIS_URL"),
        server_url("CACHE_TEST_REDIS_SOCKET"),
    ) else {
        return;
    };
    let ns = unique_namespace("socket");
    let tcp = cache_store::open(&format!("{url}?namespace={ns}&protocol=resp3"))
        .await
        .unwrap();
    tcp.set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    for scheme in ["redis+unix", "unix"] {
        let local = cache_store::open(&format!("{scheme}://{socket}?namespace={ns}"))
            .await
            .unwrap();
        assert_eq!(
            local.get(key("k")).await.unwrap().as_deref(),
            Some(&b"v"[..]),
            "{scheme}"
        );
    }
    tcp.clear().await.unwrap();
}

/// An ACL user with a password connects and works; a wrong password is an invalid argument
/// (retrying cannot help), and no password reaches `Debug` output.
#[tokio::test]
async fn acl_users_authenticate_and_wrong_passwords_are_refused() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    let user = unique_namespace("user");
    let mut admin = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(">s3cret")
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .query_async(&mut admin)
        .await
        .unwrap();
    let with = |password: &str| url.replacen("redis://", &format!("redis://{user}:{password}@"), 1);

    let store = cache_store::open(&format!("{}?namespace={user}", with("s3cret")))
        .await
        .unwrap();
    store
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    assert_eq!(
        store.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
    assert!(!format!("{store:?}").contains("s3cret"), "{store:?}");
    store.clear().await.unwrap();

    let err = RedisStore::builder(&with("wrong"))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(!err.is_retryable(), "{err}");

    let _: i64 = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query_async(&mut admin)
        .await
        .unwrap();
}

/// Whether a call that failed took no longer than its bound allows. The bound is the
/// configured connect plus response timeout; the slack covers a loaded machine, and stays
/// under the defaults (1 s + 1 s), so a timeout option that were ignored would fail this.
fn within(started: Instant, bound: Duration) -> bool {
    started.elapsed() <= bound * 2 + Duration::from_millis(300)
}

/// Against a frozen server (`SIGSTOP`: connections stay open, nothing answers), every call
/// fails with a timeout within the configured bound, a new connection fails within the
/// connect timeout, and after the server goes on the same handle works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_bounded_when_the_server_freezes() {
    let Some(binary) = server_url("CACHE_TEST_REDIS_SERVER") else {
        return;
    };
    let server = PrivateServer::redis(&binary, &[]);
    let url = format!("redis://127.0.0.1:{}/0", server.port());
    let (connect, response) = (Duration::from_millis(200), Duration::from_millis(250));
    let store = cache_store::open(&format!(
        "{url}?namespace=frozen&connect_timeout=200ms&response_timeout=250ms&reconnect_min=20ms&reconnect_max=200ms"
    ))
    .await
    .unwrap();
    store
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();

    server.freeze();
    for _ in 0..3 {
        let started = Instant::now();
        let err = store.get(key("k")).await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Timeout | ErrorKind::Unavailable),
            "{err}"
        );
        assert!(
            within(started, connect + response),
            "get took {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        let err = store
            .set(key("k"), "w".into(), Expiration::Never)
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(
            within(started, connect + response),
            "set took {:?}",
            started.elapsed()
        );
    }
    // A new connection: the kernel still accepts it, the server never answers the handshake;
    // the connect timeout alone bounds it, however long the response timeout.
    let started = Instant::now();
    let err = RedisStore::builder(&url)
        .connect_timeout(connect)
        .response_timeout(Duration::from_secs(10))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Timeout | ErrorKind::Unavailable),
        "{err}"
    );
    assert!(
        within(started, connect),
        "connect took {:?}",
        started.elapsed()
    );

    server.thaw();
    let mut recovered = false;
    for _ in 0..100 {
        if store.get(key("k")).await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        recovered,
        "the handle never recovered after the server went on"
    );
}

/// A primary, its replica and three sentinels of the test's own, to fail over.
struct SentinelSet {
    primary: PrivateServer,
    _replica: PrivateServer,
    _sentinels: Vec<PrivateServer>,
    url: String,
    dir: PathBuf,
}

fn sentinel_set(binary: &str) -> SentinelSet {
    let dir = std::env::temp_dir().join(unique_namespace("sentinels"));
    std::fs::create_dir_all(&dir).expect("a directory for the sentinels");
    let primary = PrivateServer::redis(binary, &[]);
    let replica = PrivateServer::redis(
        binary,
        &[
            "--replicaof".into(),
            "127.0.0.1".into(),
            primary.port().to_string(),
        ],
    );
    let sentinels: Vec<PrivateServer> = (0..3)
        .map(|i| {
            let config = dir.join(format!("sentinel{i}.conf"));
            write_sentinel_config(&config, primary.port());
            PrivateServer::start(binary, |port| {
                vec![
                    config.display().to_string(),
                    "--sentinel".into(),
                    "--port".into(),
                    port.to_string(),
                ]
            })
        })
        .collect();
    let addresses: Vec<String> = sentinels
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port()))
        .collect();
    SentinelSet {
        url: format!("redis+sentinel://{}/failover", addresses.join(",")),
        primary,
        _replica: replica,
        _sentinels: sentinels,
        dir,
    }
}

fn write_sentinel_config(path: &Path, primary_port: u16) {
    std::fs::write(
        path,
        format!(
            "bind 127.0.0.1\nsentinel monitor failover 127.0.0.1 {primary_port} 2\n\
             sentinel down-after-milliseconds failover 500\nsentinel failover-timeout failover 2000\n"
        ),
    )
    .expect("a sentinel configuration file");
}

/// Killing the primary mid-run: calls fail with bounded, retryable errors (no panic, no
/// hang), then succeed again once the sentinels promote the replica, on the same handle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_followed() {
    let Some(binary) = server_url("CACHE_TEST_REDIS_SERVER") else {
        return;
    };
    let mut set = sentinel_set(&binary);
    let store = failover_store(&set, "failover").await;
    store
        .set(key("before"), "1".into(), Expiration::Never)
        .await
        .unwrap();

    set.primary.stop();
    let (mut failed, mut succeeded, mut after_recovery) = (0, 0, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && after_recovery < 20 {
        let name = format!("k{}", failed + succeeded);
        let started = Instant::now();
        match store.set(key(&name), "v".into(), Expiration::Never).await {
            Ok(()) => {
                succeeded += 1;
                assert_eq!(
                    store.get(key(&name)).await.unwrap().as_deref(),
                    Some(&b"v"[..])
                );
                after_recovery += 1;
            }
            Err(err) => {
                assert!(err.is_retryable(), "{err}");
                assert!(
                    within(started, Duration::from_millis(600)),
                    "a failed call took {:?}",
                    started.elapsed()
                );
                failed += 1;
                after_recovery = 0;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    println!("failover: {failed} calls failed, then {succeeded} succeeded");
    assert!(
        after_recovery >= 20,
        "no service after the failover ({failed} failed, {succeeded} succeeded)"
    );
    let _ = std::fs::remove_dir_all(&set.dir);
}

/// A store on `set`'s primary whose calls give up within 300 ms.
async fn failover_store(set: &SentinelSet, namespace: &str) -> RedisStore {
    RedisStore::builder(&set.url)
        .namespace(namespace)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .reconnect_delays(Duration::from_millis(50), Duration::from_millis(500))
        .connect()
        .await
        .expect("a store on the sentinels' primary")
}

/// A watch behind Sentinel follows a failover: it says it lost the primary, comes back on
/// the promoted replica, and reports the keys written there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_follows_a_sentinel_failover() {
    let Some(binary) = server_url("CACHE_TEST_REDIS_SERVER") else {
        return;
    };
    let mut set = sentinel_set(&binary);
    let store = failover_store(&set, "watched").await;
    let mut watch = store.watch();
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Resumed);
    store
        .set(key("before"), "1".into(), Expiration::Never)
        .await
        .unwrap();
    assert_eq!(next_invalidation(&mut watch).await, written("before"));

    set.primary.stop();
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Lost);
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Resumed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(err) = store.set(key("after"), "2".into(), Expiration::Never).await {
        assert!(
            Instant::now() < deadline,
            "no service after the failover: {err}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(next_invalidation(&mut watch).await, written("after"));
    let _ = std::fs::remove_dir_all(&set.dir);
}
