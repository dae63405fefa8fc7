//! Two-level stores (moka in front of another store) through every kit: moka before the
//! memory backend on the kit's clock, moka before Redis with its invalidations watched, moka
//! before memcached (one server and two); and coherence across processes: what another
//! process writes is not served stale from a first level beyond the bound.
//!
//! The servers come from `CACHE_TEST_REDIS_URL`, `CACHE_TEST_MEMCACHED_URL` and
//! `CACHE_TEST_MEMCACHED_URLS` (scripts/test-servers.sh sets them).

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

/// A copy promoted from a second level that tells deadlines never outlives its value, and
/// one from a second level that does not (memcached) lives the first level's lifetime: a
/// change by another writer is seen once that bound has passed, never later.
#[tokio::test]
async fn a_copy_lives_its_value_or_the_first_level_lifetime() {
    let clock = ManualClock::starting_now();
    let second = MemoryStore::builder().clock(clock.clone()).build().unwrap();
    let first = MemoryStore::builder().clock(clock.clone()).build().unwrap();
    let store = TwoLevel::builder(first, second.clone())
        .first_level_lifetime(Duration::from_secs(60))
        .build();
    second
        .set(
            key("short"),
            "v1".into(),
            Expiration::After(Duration::from_secs(10)),
        )
        .await
        .unwrap();
    second
        .set(key("long"), "v1".into(), Expiration::Never)
        .await
        .unwrap();
    for k in ["short", "long"] {
        assert_eq!(
            store.get(key(k)).await.unwrap().as_deref(),
            Some(&b"v1"[..])
        );
    }
    // Another writer changes both behind the first level's back.
    second
        .set(key("long"), "v2".into(), Expiration::Never)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(11));
    assert_eq!(
        store.get(key("short")).await.unwrap(),
        None,
        "a copy outlived its value"
    );
    assert_eq!(
        store.get(key("long")).await.unwrap().as_deref(),
        Some(&b"v1"[..]),
        "within the bound, the copy stands"
    );
    clock.advance(Duration::from_secs(50));
    assert_eq!(
        store.get(key("long")).await.unwrap().as_deref(),
        Some(&b"v2"[..]),
        "past the first level's lifetime, the change is seen"
    );
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
    theirs
        .set(key("k"), "v1".into(), Expiration::Never)
        .await
        .unwrap();
    assert_eq!(
        store.get(key("k")).await.unwrap().as_deref(),
        Some(&b"v1"[..])
    );
    theirs
        .set(key("k"), "v2".into(), Expiration::Never)
        .await
        .unwrap();
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
