//! Two-level stores (moka in front of another store) through every kit: moka before the
//! memory backend on the kit's clock; moka before Redis with its invalidations watched, on one
//! server, a Cluster and the primary Sentinel names; moka before memcached (one server and
//! two; the beyond kit's two-level cases among them); and over memcached, the bound on what
//! another process's change leaves stale.
//!
//! The servers come from `CACHE_TEST_REDIS_URL`, `CACHE_TEST_REDIS_CLUSTER_URLS`,
//! `CACHE_TEST_REDIS_SENTINEL_URL`, `CACHE_TEST_MEMCACHED_URL` and `CACHE_TEST_MEMCACHED_URLS`
//! (scripts/test-servers.sh sets them).

use std::time::Duration;

use cache_store::memory::MemoryStore;
use cache_store::two_level::TwoLevel;
use cache_store::{Expiration, Key, ManualClock, Store};
use cache_testkit::memcached::MemcachedFactory;
use cache_testkit::memory::MemoryFactory;
use cache_testkit::two_level::TwoLevelFactory;
use cache_testkit::{server_url, unique_namespace};

mod before_memory {
    use super::*;
    cache_testkit::backend_suites!(
        TwoLevelFactory::over(MemoryFactory::with_manual_clock()),
        without: [foreign_data]
    );
}

mod before_redis {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: TwoLevelFactory::over_watched_redis("CACHE_TEST_REDIS_URL"),
        without: [clock, foreign_data]
    );
}

mod before_sentinel {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: TwoLevelFactory::over_watched_redis("CACHE_TEST_REDIS_SENTINEL_URL"),
        without: [clock, foreign_data]
    );
}

mod before_cluster {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: TwoLevelFactory::over_watched_redis("CACHE_TEST_REDIS_CLUSTER_URLS"),
        without: [clock, foreign_data]
    );
}

mod before_memcached {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URL").map(TwoLevelFactory::over),
        without: [clock, foreign_data]
    );
}

mod before_two_memcached {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URLS").map(TwoLevelFactory::over),
        without: [clock, foreign_data]
    );
}

fn key(s: &str) -> Key<'_> {
    Key::new(s).expect("a valid key")
}

/// `theirs` writes `k = v1`, `mine` reads it (and keeps a copy), then `theirs` writes `v2`.
async fn read_then_overwritten(mine: &dyn Store, theirs: &dyn Store) {
    theirs
        .set(key("k"), "v1".into(), Expiration::Never)
        .await
        .expect("set");
    assert_eq!(
        mine.get(key("k")).await.expect("get").as_deref(),
        Some(&b"v1"[..])
    );
    theirs
        .set(key("k"), "v2".into(), Expiration::Never)
        .await
        .expect("set");
}

/// Over memcached (no deadlines, no invalidations), another process's change is seen once
/// the first level's lifetime has passed: the documented bound.
#[tokio::test]
async fn over_memcached_the_bound_is_the_first_level_lifetime() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let namespace = unique_namespace("tl");
    let url = format!("{url}?namespace={namespace}");
    let (mine, theirs) = (
        cache_store::open(&url).await.unwrap(),
        cache_store::open(&url).await.unwrap(),
    );
    let clock = ManualClock::starting_now();
    let store = TwoLevel::builder(
        MemoryStore::builder().clock(clock.clone()).build().unwrap(),
        mine,
    )
    .first_level_lifetime(Duration::from_secs(5))
    .build();
    read_then_overwritten(&store, &*theirs).await;
    assert_eq!(
        store.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v1"[..])
    );
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        store.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v2"[..])
    );
}

/// `first_level=moka` in a Redis URL: the store `open` gives keeps copies, and another
/// process's write reaches it through the watch, long before the first level's hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_with_a_first_level_follows_other_processes_on_redis() {
    for var in [
        "CACHE_TEST_REDIS_URL",
        "CACHE_TEST_REDIS_CLUSTER_URLS",
        "CACHE_TEST_REDIS_SENTINEL_URL",
    ] {
        let Some(url) = server_url(var) else {
            continue;
        };
        let url = format!("{url}?namespace={}", unique_namespace("tlurl"));
        let mine = cache_store::open(&format!(
            "{url}&first_level=moka&first_level_capacity=8MiB&first_level_lifetime=1h"
        ))
        .await
        .unwrap();
        let theirs = cache_store::open(&url).await.unwrap();
        assert_eq!(mine.backend(), "two_level");
        theirs
            .set(key("k"), "v1".into(), Expiration::Never)
            .await
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        for (wanted, writes) in [("v1", None), ("v2", Some("v2"))] {
            if let Some(value) = writes {
                theirs
                    .set(key("k"), value.into(), Expiration::Never)
                    .await
                    .unwrap();
            }
            // The watch is up within moments of opening, and the change is reported within
            // moments of the write; until then an older copy may be served.
            while mine.get(key("k")).await.unwrap().as_deref() != Some(wanted.as_bytes()) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{var}: never read {wanted}"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

/// `first_level=memory` in a memcached URL: copies are served for at most the first level's
/// lifetime after another process's write.
#[tokio::test]
async fn a_url_with_a_first_level_on_memcached_is_bounded_by_its_lifetime() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let url = format!("{url}?namespace={}", unique_namespace("tlurl"));
    let mine = cache_store::open(&format!("{url}&first_level=memory&first_level_lifetime=1s"))
        .await
        .unwrap();
    let theirs = cache_store::open(&url).await.unwrap();
    assert_eq!(mine.backend(), "two_level");
    read_then_overwritten(&*mine, &*theirs).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        mine.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v2"[..])
    );
}
