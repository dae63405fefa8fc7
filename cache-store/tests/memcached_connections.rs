//! How the memcached backend connects in production, against private servers of the tests'
//! own: within its timeouts when a server freezes, pausing between dials of a server that is
//! away, and authenticating to servers started with `-Y` (memcached's ASCII authentication).
//!
//! `CACHE_TEST_MEMCACHED_SERVER` names the memcached binary (scripts/test-servers.sh sets it).

use std::time::{Duration, Instant};

use cache_store::{ErrorKind, Expiration, Key, Store};
use cache_testkit::memcached::MemcachedFactory;
use cache_testkit::{PrivateServer, server_url, unique_namespace};

/// Every kit over memcached's TLS (`memcaches://`), trusting the run's authority.
mod over_tls {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_TLS_URL")
            .and_then(|f| Some(f.with_tls_ca(tls_dir()?.join("ca.crt")))),
        without: [clock, foreign_data]
    );
}

/// The run's certificates (`ca.crt`, `client.crt`, `client.key`, `server.crt`, `server.key`).
fn tls_dir() -> Option<std::path::PathBuf> {
    server_url("CACHE_TEST_TLS_DIR").map(std::path::PathBuf::from)
}

/// `open` takes the TLS files as URL parameters; an unknown authority is refused; and a
/// server that requires client certificates (`ssl_verify_mode=3`) lets in the store that
/// shows one, and no other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_checks_the_server_and_shows_a_client_certificate() {
    let (Some(url), Some(dir), Some(binary)) = (
        server_url("CACHE_TEST_MEMCACHED_TLS_URL"),
        tls_dir(),
        server_url("CACHE_TEST_MEMCACHED_SERVER"),
    ) else {
        return;
    };
    let file = |name: &str| dir.join(name).display().to_string();
    let ns = unique_namespace("tls");
    let store = cache_store::open(&format!("{url}?namespace={ns}&tls_ca={}", file("ca.crt")))
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
    // The system's authorities do not know the run's.
    let untrusted = cache_store::open(&format!("{url}?namespace={ns}"))
        .await
        .unwrap();
    assert!(untrusted.get(key("k")).await.is_err());

    let strict = PrivateServer::memcached(
        &binary,
        &[
            "-Z".into(),
            "-o".into(),
            format!(
                "ssl_chain_cert={},ssl_key={},ssl_ca_cert={},ssl_verify_mode=3",
                file("server.crt"),
                file("server.key"),
                file("ca.crt")
            ),
        ],
    );
    let strict_url = format!(
        "memcaches://127.0.0.1:{}?tls_ca={}",
        strict.port(),
        file("ca.crt")
    );
    let without = cache_store::open(&strict_url).await.unwrap();
    assert!(
        without.get(key("k")).await.is_err(),
        "a client without a certificate got in"
    );
    let with = cache_store::open(&format!(
        "{strict_url}&tls_cert={}&tls_key={}",
        file("client.crt"),
        file("client.key")
    ))
    .await
    .unwrap();
    with.set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    assert_eq!(
        with.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

/// A store on the TLS server (a fresh namespace starting with `label`), trusting the run's
/// authority; `None` when the run has no TLS server.
async fn over_tls(label: &str) -> Option<std::sync::Arc<dyn cache_store::Store>> {
    let (url, dir) = (server_url("CACHE_TEST_MEMCACHED_TLS_URL")?, tls_dir()?);
    let ns = unique_namespace(label);
    let ca = dir.join("ca.crt");
    Some(
        cache_store::open(&format!("{url}?namespace={ns}&tls_ca={}", ca.display()))
            .await
            .expect("a store over TLS"),
    )
}

/// Large pipelines of sets over TLS are answered: memcached before 1.6.39 could leave the
/// tail of such a pipeline unread in OpenSSL's buffer and sleep (a quarter of 1,001-set
/// commits timed out here before the client woke it up). Values of varied lengths, so that
/// sets straddle TLS records at varied places.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_sets_over_tls_are_all_answered() {
    let Some(store) = over_tls("tls-pipeline").await else {
        return;
    };
    let names: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    let keys: Vec<Key<'_>> = names.iter().map(|n| key(n)).collect();
    for round in 0..20 {
        let entries: Vec<cache_store::Entry<'_>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let value = format!("{round}-{i}-{}", "x".repeat((i * 7 + round) % 40));
                cache_store::Entry::new(*k, value, Expiration::Never)
            })
            .collect();
        let failed = store.set_many(&entries).await.unwrap_or_else(|e| {
            panic!("round {round}: a pipeline of 1,001 sets over TLS failed: {e}")
        });
        assert!(failed.is_empty(), "round {round}: {failed:?}");
        let found = store.get_many(&keys).await.unwrap();
        for (entry, found) in entries.iter().zip(found) {
            assert_eq!(
                found.unwrap().as_deref(),
                Some(&entry.value[..]),
                "round {round}"
            );
        }
    }
}

/// An entry larger than the server takes is refused (`TooLarge`) over TLS as over TCP, and
/// the rest of its batch is written: memcached reads and drops its data, and the no-op that
/// follows a long request wakes a server that would then sleep on what came after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_the_server_refuses_over_tls_leaves_its_batch_written() {
    let Some(store) = over_tls("tls-refused").await else {
        return;
    };
    // Over the test server's item size (memcached's default, 1 MiB).
    let big = vec![7u8; 2 * 1024 * 1024];
    for round in 0..10 {
        let small = format!("round {round}");
        let failed = store
            .set_many(&[
                cache_store::Entry::new(key("big"), big.clone(), Expiration::Never),
                cache_store::Entry::new(key("small"), small.clone(), Expiration::Never),
            ])
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        let failed: Vec<_> = failed.into_iter().collect();
        assert_eq!(failed.len(), 1, "round {round}");
        assert_eq!((failed[0].0, failed[0].1.kind()), (0, ErrorKind::TooLarge));
        assert_eq!(
            store.get(key("small")).await.unwrap().as_deref(),
            Some(small.as_bytes()),
            "round {round}"
        );
    }
}

fn key(s: &str) -> Key<'_> {
    Key::new(s).expect("a valid key")
}

/// Whether a failed call took no longer than its bound allows: the slack covers a loaded
/// machine and stays under the defaults (1 s each), so an ignored option would fail this.
fn within(started: Instant, bound: Duration) -> bool {
    started.elapsed() <= bound * 2 + Duration::from_millis(300)
}

/// Against a frozen server (`SIGSTOP`: the socket stays open, nothing answers), every call
/// fails with a timeout within the request timeout, a new handle's first call too, and after
/// the server goes on the same handle works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_bounded_when_the_server_freezes() {
    let Some(binary) = server_url("CACHE_TEST_MEMCACHED_SERVER") else {
        return;
    };
    let server = PrivateServer::memcached(&binary, &[]);
    let url = format!(
        "memcache://127.0.0.1:{}?namespace=frozen&connect_timeout=200ms&request_timeout=250ms&reconnect_min=0ms&reconnect_max=0ms",
        server.port()
    );
    let bound = Duration::from_millis(250);
    let store = cache_store::open(&url).await.unwrap();
    store
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();

    server.freeze();
    for _ in 0..3 {
        let started = Instant::now();
        let err = store.get(key("k")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(within(started, bound), "get took {:?}", started.elapsed());
        let started = Instant::now();
        let err = store
            .set(key("k"), "w".into(), Expiration::Never)
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(within(started, bound), "set took {:?}", started.elapsed());
    }
    // A new handle dials (the kernel still accepts for a frozen process) and then waits.
    let fresh = cache_store::open(&url).await.unwrap();
    let started = Instant::now();
    let err = fresh.get(key("k")).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Timeout | ErrorKind::Unavailable),
        "{err}"
    );
    assert!(
        within(started, bound + Duration::from_millis(200)),
        "{:?}",
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

/// The connect timeout bounds the whole dial, authentication included: against a frozen
/// server that requires it (the kernel still accepts the connection; the server never
/// answers the authentication), a first call fails within the connect timeout, however long
/// the request timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_timeout_bounds_a_dial_to_a_frozen_server() {
    let Some(binary) = server_url("CACHE_TEST_MEMCACHED_SERVER") else {
        return;
    };
    let file = std::env::temp_dir().join(unique_namespace("memcached-auth"));
    std::fs::write(&file, "cache:s3cret\n").expect("an auth file");
    let server = PrivateServer::memcached(&binary, &["-Y".into(), file.display().to_string()]);
    server.freeze();
    let store = cache_store::open(&format!(
        "memcache://cache:s3cret@127.0.0.1:{}?connect_timeout=200ms&request_timeout=10s",
        server.port()
    ))
    .await
    .unwrap();
    let started = Instant::now();
    let err = store.get(key("k")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(
        within(started, Duration::from_millis(200)),
        "{:?}",
        started.elapsed()
    );
    server.thaw();
    let _ = std::fs::remove_file(&file);
}

/// After a failed dial, calls fail at once until the pause ends, even once the server is
/// back; with no pause, the first call after the server is back dials and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_dial_pauses_dialing_for_the_configured_delay() {
    let Some(binary) = server_url("CACHE_TEST_MEMCACHED_SERVER") else {
        return;
    };
    let mut server = PrivateServer::memcached(&binary, &[]);
    let at = |pause: &str| {
        format!(
            "memcache://127.0.0.1:{}?namespace={}&reconnect_min={pause}&reconnect_max={pause}",
            server.port(),
            unique_namespace("pause")
        )
    };
    let (paused, unpaused) = (
        cache_store::open(&at("60s")).await.unwrap(),
        cache_store::open(&at("0ms")).await.unwrap(),
    );
    server.stop();
    for store in [&paused, &unpaused] {
        let err = store.get(key("k")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.is_retryable(), "{err}");
    }
    server.restart();
    unpaused
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    let err = paused.get(key("k")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable(), "{err}");
}

/// A server started with `-Y` serves the user and password in its file, refuses a wrong
/// password as an invalid argument (not worth retrying), and serves nobody without them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_authenticate_to_servers_that_require_them() {
    let Some(binary) = server_url("CACHE_TEST_MEMCACHED_SERVER") else {
        return;
    };
    let file = std::env::temp_dir().join(unique_namespace("memcached-auth"));
    std::fs::write(&file, "cache:s3cret\n").unwrap();
    let server = PrivateServer::memcached(&binary, &["-Y".into(), file.display().to_string()]);
    let url = |credentials: &str| {
        format!(
            "memcache://{credentials}127.0.0.1:{}?namespace=auth",
            server.port()
        )
    };

    let store = cache_store::open(&url("cache:s3cret@")).await.unwrap();
    store
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    assert_eq!(
        store.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
    assert!(!format!("{store:?}").contains("s3cret"), "{store:?}");

    let wrong = cache_store::open(&url("cache:wrong@")).await.unwrap();
    let err = wrong.get(key("k")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(!err.is_retryable(), "{err}");

    let anonymous = cache_store::open(&url("")).await.unwrap();
    let err = anonymous.get(key("k")).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    let _ = std::fs::remove_file(&file);
}

/// `token_refresh` (URL parameter): a store that trusts its namespace token for a minute keeps
/// serving what it read after another process's `clear` (as Symfony's adapter does for its
/// whole life); a store that fetches the token with every read sees the clear at once.
#[tokio::test]
async fn token_refresh_trusts_the_token_for_its_interval() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let ns = unique_namespace("refresh");
    // Separate `open`s share nothing, as separate processes would.
    let trusting = cache_store::open(&format!("{url}?namespace={ns}&token_refresh=60s"))
        .await
        .unwrap();
    let fetching = cache_store::open(&format!("{url}?namespace={ns}"))
        .await
        .unwrap();
    let clearing = cache_store::open(&format!("{url}?namespace={ns}"))
        .await
        .unwrap();
    trusting
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    assert!(trusting.get(key("k")).await.unwrap().is_some());
    assert!(fetching.get(key("k")).await.unwrap().is_some());

    clearing.clear().await.unwrap();
    assert_eq!(fetching.get(key("k")).await.unwrap(), None);
    assert!(
        trusting.get(key("k")).await.unwrap().is_some(),
        "a trusted token is not fetched again within its interval"
    );
}

/// `max_item_bytes` refuses a larger entry before sending it, and writes the rest of its
/// batch.
#[tokio::test]
async fn max_item_bytes_refuses_larger_entries_before_sending_them() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let ns = unique_namespace("limit");
    let store = cache_store::open(&format!("{url}?namespace={ns}&max_item_bytes=1KiB"))
        .await
        .unwrap();
    let failed = store
        .set_many(&[
            cache_store::Entry::new(key("big"), vec![0u8; 2000], Expiration::Never),
            cache_store::Entry::new(key("small"), "ok", Expiration::Never),
        ])
        .await
        .unwrap();
    let failed: Vec<_> = failed.into_iter().collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].0, failed[0].1.kind()), (0, ErrorKind::TooLarge));
    assert_eq!(store.get(key("big")).await.unwrap(), None);
    assert_eq!(
        store.get(key("small")).await.unwrap().as_deref(),
        Some(&b"ok"[..])
    );
    let err = store
        .add(key("other"), vec![0u8; 2000].into(), Expiration::Never)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
}
