//! The Redis backend against real servers: every kit (Store, PSR-6, PSR-16, Doctrine) over
//! standalone Redis and over a 3-primary cluster, and the Redis-specific promises: `clear`
//! never touches foreign keys, batches span many slots (a key of another type is the kit's
//! `foreign_data_reads_the_same_from_every_read`),
//! and a handle survives a server restart.
//!
//! The URLs come from `CACHE_TEST_REDIS_URL`, `CACHE_TEST_REDIS_CLUSTER_URLS` and
//! `CACHE_TEST_REDIS_SERVER` (scripts/test-servers.sh sets them).

use std::path::PathBuf;
use std::time::Duration;

use cache_store::redis::{Invalidation, RedisStore};
use cache_store::{Entry, ErrorKind, Expiration, Key, Store};
use cache_testkit::redis::{RedisFactory, next_invalidation, written};
use cache_testkit::{PrivateServer, server_url, unique_namespace};
use tokio::sync::mpsc::UnboundedReceiver;

mod standalone {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: RedisFactory::from_env("CACHE_TEST_REDIS_URL"),
        without: [clock]
    );
}

mod cluster {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: RedisFactory::from_env("CACHE_TEST_REDIS_CLUSTER_URLS"),
        without: [clock]
    );
}

/// Every abstraction and bridge over Redis answers like the one reference model.
mod equivalence {
    use super::*;

    mod standalone {
        use super::*;
        cache_testkit::equivalence_suite!(
            if_configured: RedisFactory::from_env("CACHE_TEST_REDIS_URL")
        );
    }

    mod cluster {
        use super::*;
        cache_testkit::equivalence_suite!(
            if_configured: RedisFactory::from_env("CACHE_TEST_REDIS_CLUSTER_URLS")
        );
    }
}

fn key(s: &str) -> Key<'_> {
    Key::new(s).expect("a valid key")
}

async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("a redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("a raw connection")
}

/// `clear` removes the namespace's keys, across several SCAN pages, and nothing else: not
/// other namespaces, not keys that merely start like it, not foreign keys in the database.
#[tokio::test]
async fn clear_leaves_other_namespaces_and_foreign_keys() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    let ns = unique_namespace("clear");
    let store = RedisStore::builder(&url)
        .namespace(&ns)
        .connect()
        .await
        .unwrap();
    let other = store.with_namespace(&format!("{ns}x")).unwrap();
    let entries: Vec<String> = (0..2500).map(|i| format!("k{i}")).collect();
    let batch: Vec<Entry<'_>> = entries
        .iter()
        .map(|k| Entry::new(key(k), "v", Expiration::Never))
        .collect();
    assert!(store.set_many(&batch).await.unwrap().is_empty());
    other
        .set(key("k0"), "other".into(), Expiration::Never)
        .await
        .unwrap();
    // Keys another program wrote: one named like the namespace, one that starts like it
    // without the separator, one unrelated.
    let mut raw = raw_connection(&url).await;
    let foreign = [ns.clone(), format!("{ns}-k0"), "foreign".to_owned()];
    for k in &foreign {
        let _: () = redis::AsyncCommands::set(&mut raw, k, "raw").await.unwrap();
    }

    store.clear().await.unwrap();
    let left: Vec<Option<bytes::Bytes>> = store
        .get_many(&entries.iter().map(|k| key(k)).collect::<Vec<_>>())
        .await
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        left.iter().all(Option::is_none),
        "clear left keys of its namespace"
    );
    assert_eq!(
        other.get(key("k0")).await.unwrap().as_deref(),
        Some(&b"other"[..])
    );
    for k in &foreign {
        let v: Option<String> = redis::AsyncCommands::get(&mut raw, k).await.unwrap();
        assert_eq!(
            v.as_deref(),
            Some("raw"),
            "clear touched the foreign key {k:?}"
        );
    }
    let _: () = redis::AsyncCommands::del(&mut raw, &foreign[..])
        .await
        .unwrap();
}

/// Batches of keys in many slots work on the cluster, and `clear` reaches every primary.
#[tokio::test]
async fn batches_span_many_slots_on_a_cluster() {
    let Some(url) = server_url("CACHE_TEST_REDIS_CLUSTER_URLS") else {
        return;
    };
    let store = RedisStore::builder(&url)
        .namespace(unique_namespace("slots"))
        .connect()
        .await
        .unwrap();
    let names: Vec<String> = (0..600).map(|i| format!("key-{i}")).collect();
    let keys: Vec<Key<'_>> = names.iter().map(|k| key(k)).collect();
    let entries: Vec<Entry<'_>> = keys
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            Entry::new(
                k,
                format!("v{i}"),
                Expiration::After(Duration::from_secs(600)),
            )
        })
        .collect();
    assert!(store.set_many(&entries).await.unwrap().is_empty());
    let values = store.get_many(&keys).await.unwrap();
    for (i, v) in values.into_iter().enumerate() {
        assert_eq!(v.unwrap().as_deref(), Some(format!("v{i}").as_bytes()));
    }
    store.delete_many(&keys[..300]).await.unwrap();
    assert_eq!(store.get(keys[0]).await.unwrap(), None);
    assert!(store.get(keys[599]).await.unwrap().is_some());
    store.clear().await.unwrap();
    let values = store.get_many(&keys).await.unwrap();
    assert!(
        values.into_iter().all(|v| v.unwrap().is_none()),
        "clear missed a primary"
    );
    let stats = store.stats().await.unwrap();
    assert!(stats.uptime.is_some() && stats.memory_usage.is_some());
}

/// `open` takes Redis URLs with the store's own parameters.
#[tokio::test]
async fn open_takes_redis_urls() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    let store = cache_store::open(&format!("{url}?namespace=opened&response_timeout=2s"))
        .await
        .unwrap();
    assert_eq!(store.namespace(), "opened");
    store
        .set(
            key("k"),
            "v".into(),
            Expiration::After(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    assert!(store.contains(key("k")).await.unwrap());
    store.clear().await.unwrap();
}

/// A redis-server of this test's own on a free loopback port (no persistence), with `extra`
/// arguments, stopped when dropped; and its directory, for the test to remove.
fn private_redis(binary: &str, name: &str, extra: &[&str]) -> (PrivateServer, PathBuf) {
    let path = std::env::temp_dir().join(unique_namespace(name));
    std::fs::create_dir_all(&path).expect("a directory for the private server");
    let dir = path.display().to_string();
    let server = PrivateServer::start(binary, |port| {
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            &dir,
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        args
    });
    (server, path)
}

/// While the server is down, calls fail with retryable errors within the timeouts (no panic,
/// no hang); once it is back, the same handle works again without being rebuilt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handle_survives_a_server_restart() {
    let Some(binary) = server_url("CACHE_TEST_REDIS_SERVER") else {
        return;
    };
    let (mut server, dir) = private_redis(&binary, "redis-restart", &[]);
    let store = RedisStore::builder(&format!("redis://127.0.0.1:{}/0", server.port()))
        .namespace("restart")
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    store
        .set(key("k"), "before".into(), Expiration::Never)
        .await
        .unwrap();

    server.stop();
    for _ in 0..3 {
        let err = store.get(key("k")).await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout),
            "unexpected error while down: {err}"
        );
        assert!(
            err.is_retryable(),
            "a server that went away is worth retrying: {err}"
        );
        let err = store
            .set_many(&[Entry::new(key("x"), "y", Expiration::Never)])
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    server.restart(); // empty: it saves nothing
    let mut recovered = false;
    for _ in 0..100 {
        if store
            .set(key("k"), "after".into(), Expiration::Never)
            .await
            .is_ok()
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered, "the handle never recovered after the restart");
    assert_eq!(
        store.get(key("k")).await.unwrap().as_deref(),
        Some(&b"after"[..])
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A private server and a store on it whose calls give up within 300 ms, watched.
async fn watched_private_redis(
    binary: &str,
    name: &str,
) -> (
    PrivateServer,
    PathBuf,
    RedisStore,
    UnboundedReceiver<Invalidation>,
) {
    let (server, dir) = private_redis(binary, name, &[]);
    let store = RedisStore::builder(&format!("redis://127.0.0.1:{}/0", server.port()))
        .namespace("watched")
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .reconnect_delays(Duration::from_millis(20), Duration::from_millis(200))
        .connect()
        .await
        .expect("a store on the private server");
    let watch = store.watch();
    (server, dir, store, watch)
}

/// Sets `k`, retrying while the server comes back (for at most 30 s).
async fn set_once_back(store: &RedisStore, k: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while let Err(err) = store.set(key(k), "v".into(), Expiration::Never).await {
        assert!(
            std::time::Instant::now() < deadline,
            "no service once the server is back: {err}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A watch asked for outside a Tokio runtime cannot start: its receiver ends at once, with
/// nothing sent, instead of the call panicking.
#[test]
fn a_watch_outside_a_runtime_ends_at_once() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(async {
        RedisStore::builder(&url)
            .namespace(unique_namespace("watch-outside"))
            .connect()
            .await
            .unwrap()
    });
    // A thread of its own: no runtime there.
    let mut watch = std::thread::scope(|s| s.spawn(|| store.watch()).join().unwrap());
    assert_eq!(watch.blocking_recv(), None);
}

/// A watch says when it loses the server and when it is back, and reports keys again then;
/// when its receiver is dropped, it closes its connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_survives_a_server_restart() {
    let Some(binary) = server_url("CACHE_TEST_REDIS_SERVER") else {
        return;
    };
    let (mut server, dir, store, mut watch) =
        watched_private_redis(&binary, "redis-watch-restart").await;
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Resumed);
    set_once_back(&store, "k").await;
    assert_eq!(next_invalidation(&mut watch).await, written("k"));

    server.stop();
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Lost);
    server.restart();
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Resumed);
    set_once_back(&store, "k2").await;
    assert_eq!(next_invalidation(&mut watch).await, written("k2"));

    drop(watch);
    let mut raw = redis::Client::open(format!("redis://127.0.0.1:{}/0", server.port()))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut tracking = usize::MAX;
    for _ in 0..200 {
        let clients: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut raw)
            .await
            .unwrap();
        tracking = clients
            .lines()
            .filter(|client| {
                let flags = client.split(' ').find_map(|f| f.strip_prefix("flags="));
                flags.is_some_and(|flags| flags.contains('t'))
            })
            .count();
        if tracking == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(tracking, 0, "the watch's connection outlived its receiver");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A frozen server sends nothing, which must not pass for "nothing changed": the watch says
/// it is lost while the server does not answer, and is back once it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_notices_a_frozen_server() {
    let Some(binary) = server_url("CACHE_TEST_REDIS_SERVER") else {
        return;
    };
    let (server, dir, store, mut watch) =
        watched_private_redis(&binary, "redis-watch-freeze").await;
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Resumed);
    server.freeze();
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Lost);
    server.thaw();
    assert_eq!(next_invalidation(&mut watch).await, Invalidation::Resumed);
    set_once_back(&store, "k").await;
    assert_eq!(next_invalidation(&mut watch).await, written("k"));
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn pttl(raw: &mut redis::aio::MultiplexedConnection, key: String) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query_async(raw)
        .await
        .expect("PTTL")
}

/// Each write path sends the lifetime asked for, read back from Redis itself (`PTTL`): TTLs are
/// checked on a server that keeps its own time, without sleeping.
#[tokio::test]
async fn writes_send_the_lifetime_asked_for() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    let ns = unique_namespace("ttl");
    let s = RedisStore::builder(&url)
        .namespace(&ns)
        .connect()
        .await
        .unwrap();
    let mut raw = raw_connection(&url).await;
    let within = |ms: i64, from: i64, to: i64| ms > from && ms <= to;
    let after = |secs| Expiration::After(Duration::from_secs(secs));

    s.set(key("set"), "v".into(), after(10)).await.unwrap();
    let ms = pttl(&mut raw, format!("{ns}:set")).await;
    assert!(within(ms, 9_000, 10_000), "set sent {ms} ms for 10 s");

    s.set_many(&[
        Entry::new(key("many"), "v", after(20)),
        Entry::new(key("never"), "v", Expiration::Never),
    ])
    .await
    .unwrap();
    let ms = pttl(&mut raw, format!("{ns}:many")).await;
    assert!(within(ms, 19_000, 20_000), "set_many sent {ms} ms for 20 s");
    assert_eq!(
        pttl(&mut raw, format!("{ns}:never")).await,
        -1,
        "Never must have no TTL"
    );

    assert!(s.add(key("added"), "v".into(), after(30)).await.unwrap());
    let ms = pttl(&mut raw, format!("{ns}:added")).await;
    assert!(within(ms, 29_000, 30_000), "add sent {ms} ms for 30 s");

    assert!(s.touch(key("set"), after(60)).await.unwrap());
    let ms = pttl(&mut raw, format!("{ns}:set")).await;
    assert!(within(ms, 59_000, 60_000), "touch sent {ms} ms for 60 s");
    assert!(s.touch(key("set"), Expiration::Never).await.unwrap());
    assert_eq!(
        pttl(&mut raw, format!("{ns}:set")).await,
        -1,
        "touch(Never) must persist"
    );

    // A sub-millisecond remainder rounds up: never 0 (which would be an error, or forever).
    s.set(
        key("tiny"),
        "v".into(),
        Expiration::After(Duration::from_micros(300_500)),
    )
    .await
    .unwrap();
    let ms = pttl(&mut raw, format!("{ns}:tiny")).await;
    assert!(within(ms, 250, 301), "set sent {ms} ms for 300.5 ms");
    s.clear().await.unwrap();
}

/// A write the server refuses for itself fails only its own entry of a batch: on a server out
/// of memory (`noeviction`), the batch's `SET`s are refused one by one and reported by index,
/// while its deletes (which Redis still takes) go through, and the batch as a whole answers.
/// So a PSR-6 commit can report and drop what was refused instead of failing whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_writes_fail_only_their_own_entries() {
    let Some(binary) = server_url("CACHE_TEST_REDIS_SERVER") else {
        return;
    };
    let (server, dir) = private_redis(
        &binary,
        "redis-oom",
        &["--maxmemory", "1", "--maxmemory-policy", "noeviction"],
    );
    let store = RedisStore::builder(&format!("redis://127.0.0.1:{}/0", server.port()))
        .namespace("oom")
        .connect()
        .await
        .unwrap();
    let failed = store
        .set_many(&[
            Entry::new(key("a"), "1", Expiration::Never),
            Entry::new(key("gone"), "x", Expiration::After(Duration::ZERO)),
            Entry::new(key("b"), "2", Expiration::After(Duration::from_secs(60))),
        ])
        .await
        .expect("the batch as a whole answers");
    let refused: Vec<usize> = failed.iter().map(|(index, _)| *index).collect();
    assert_eq!(
        refused,
        [0, 2],
        "only the writes are refused, each by its index"
    );
    for (_, err) in failed.iter() {
        assert!(!err.is_retryable(), "{err}");
        assert!(
            err.to_string().contains("OOM"),
            "the server's reason is kept: {err}"
        );
    }
    assert_eq!(store.get(key("a")).await.unwrap(), None);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
