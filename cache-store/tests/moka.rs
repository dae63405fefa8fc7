//! The Store kit (and locks and leases) over the moka backend, on a manual clock (no test here sleeps).

use cache_store::moka::MokaStore;
use cache_store::{Expiration, Key, ManualClock, Store};
use cache_testkit::moka::MokaFactory;

cache_testkit::store_suite!(MokaFactory::with_manual_clock(), without: [foreign_data]);

/// Locks and leases over moka.
mod beyond {
    use super::*;

    cache_testkit::beyond_suite!(MokaFactory::with_manual_clock(), without: [foreign_data]);
}

/// The same kit through moka's timers: the wall clock, where moka itself frees expired
/// entries (only cases that need no clock movement run).
mod wall_clock {
    use super::*;

    cache_testkit::store_suite!(MokaFactory::with_wall_clock(), without: [clock, foreign_data]);
}

/// The store's default lifetime applies to `Expiration::Default`, and only to it.
#[tokio::test]
async fn default_ttl_applies_to_default_expirations_only() {
    let clock = ManualClock::starting_now();
    let store = MokaStore::builder()
        .clock(clock.clone())
        .default_ttl(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let (d, n) = (Key::new("default").unwrap(), Key::new("never").unwrap());
    store.set(d, "v".into(), Expiration::Default).await.unwrap();
    store.set(n, "v".into(), Expiration::Never).await.unwrap();
    clock.advance(std::time::Duration::from_secs(10));
    assert_eq!(store.get(d).await.unwrap(), None);
    assert!(store.get(n).await.unwrap().is_some());
}

/// A value that could never fit is refused for its key, and the rest of the batch is written.
#[tokio::test]
async fn a_value_larger_than_the_cache_is_refused_not_dropped() {
    let store = MokaStore::builder()
        .max_capacity_bytes(64 * 1024)
        .build()
        .unwrap();
    let (big, small) = (Key::new("big").unwrap(), Key::new("small").unwrap());
    let failed = store
        .set_many(&[
            cache_store::Entry::new(big, vec![0u8; 100 * 1024], Expiration::Never),
            cache_store::Entry::new(small, "ok", Expiration::Never),
        ])
        .await
        .unwrap();
    let failures: Vec<_> = failed.into_iter().collect();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].0, 0);
    assert_eq!(failures[0].1.kind(), cache_store::ErrorKind::TooLarge);
    assert_eq!(store.get(small).await.unwrap().as_deref(), Some(&b"ok"[..]));
    let err = store
        .add(big, vec![0u8; 100 * 1024].into(), Expiration::Never)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), cache_store::ErrorKind::TooLarge);
}

/// Capacity is in bytes: filling the cache far past it evicts down to about the capacity.
#[tokio::test]
async fn capacity_bounds_the_bytes_held() {
    let capacity = 1024 * 1024;
    let store = MokaStore::builder()
        .max_capacity_bytes(capacity)
        .build()
        .unwrap();
    for i in 0..1000 {
        let name = format!("k{i}");
        store
            .set(
                Key::new(&name).unwrap(),
                vec![7u8; 10 * 1024].into(),
                Expiration::Never,
            )
            .await
            .unwrap();
    }
    store.run_pending_tasks().await;
    let stats = store.stats().await.unwrap();
    let used = stats.memory_usage.unwrap();
    assert!(
        used <= capacity,
        "{used} bytes held in a {capacity} byte cache"
    );
    assert!(
        used > capacity / 2,
        "the cache evicted far too much: {used}"
    );
}

/// A cleared namespace's entries are freed, not only hidden.
#[tokio::test]
async fn clear_frees_the_memory_of_the_namespace() {
    let store = MokaStore::builder().build().unwrap();
    let other = store.with_namespace("other").unwrap();
    for i in 0..100 {
        let name = format!("k{i}");
        let key = Key::new(&name).unwrap();
        store
            .set(key, vec![1u8; 1000].into(), Expiration::Never)
            .await
            .unwrap();
        other
            .set(key, vec![1u8; 1000].into(), Expiration::Never)
            .await
            .unwrap();
    }
    store.run_pending_tasks().await;
    assert_eq!(store.stats().await.unwrap().entries, Some(200));
    store.clear().await.unwrap();
    store.run_pending_tasks().await;
    assert_eq!(store.stats().await.unwrap().entries, Some(100));
}

/// Every abstraction and bridge over moka answers like the one reference model.
mod equivalence {
    use super::*;
    cache_testkit::equivalence_suite!(MokaFactory::with_manual_clock());
}
