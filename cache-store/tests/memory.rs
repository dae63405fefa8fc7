//! Every kit over the fast embedded backend, on a manual clock (no test here sleeps), and what
//! is its own: the size bounds and freeing memory.

use std::time::Duration;

use cache_store::memory::{ENTRY_OVERHEAD_BYTES, MemoryStore};
use cache_store::{Entry, ErrorKind, Expiration, Key, ManualClock, Store};
use cache_testkit::memory::MemoryFactory;

cache_testkit::backend_suites!(MemoryFactory::with_manual_clock(), without: [foreign_data]);

/// The store kit on the wall clock (only cases that need no clock movement run).
mod wall_clock {
    use super::*;

    cache_testkit::store_suite!(MemoryFactory::with_wall_clock(), without: [clock, foreign_data]);
}

/// Every abstraction and bridge over the memory store answers like the one reference model.
mod equivalence {
    use super::*;
    cache_testkit::equivalence_suite!(MemoryFactory::with_manual_clock());
}

fn key(name: &str) -> Key<'_> {
    Key::new(name).expect("a valid key")
}

/// The store's default lifetime applies to `Expiration::Default`, and only to it.
#[tokio::test]
async fn default_ttl_applies_to_default_expirations_only() {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::builder()
        .clock(clock.clone())
        .default_ttl(Duration::from_secs(10))
        .build()
        .unwrap();
    store
        .set(key("default"), "v".into(), Expiration::Default)
        .await
        .unwrap();
    store
        .set(key("never"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(10));
    assert_eq!(store.get(key("default")).await.unwrap(), None);
    assert!(store.get(key("never")).await.unwrap().is_some());
}

/// The largest entry the store admits is stored and read back; one byte more is refused for
/// its key (the rest of the batch is written), never accepted and dropped. On caches from
/// one shard to many.
#[tokio::test]
async fn the_largest_entry_is_kept_and_a_larger_one_refused() {
    for capacity in [64 * 1024, 1024 * 1024, 64 * 1024 * 1024] {
        let store = MemoryStore::builder()
            .max_capacity_bytes(capacity)
            .build()
            .unwrap();
        let name = "big";
        // The internal key is the key behind an 8-byte generation.
        let room = store.max_entry_bytes() - ENTRY_OVERHEAD_BYTES - 8 - name.len() as u64;
        let largest = vec![1u8; room as usize];
        store
            .set(key(name), largest.clone().into(), Expiration::Never)
            .await
            .unwrap();
        assert_eq!(
            store.get(key(name)).await.unwrap().map(|v| v.len()),
            Some(largest.len()),
            "capacity {capacity}"
        );

        let too_large = vec![2u8; room as usize + 1];
        let failed = store
            .set_many(&[
                Entry::new(key(name), too_large.clone(), Expiration::Never),
                Entry::new(key("small"), "ok", Expiration::Never),
            ])
            .await
            .unwrap();
        let failures: Vec<_> = failed.into_iter().collect();
        assert_eq!(failures.len(), 1, "capacity {capacity}");
        assert_eq!(failures[0].0, 0);
        assert_eq!(failures[0].1.kind(), ErrorKind::TooLarge);
        // The refused write left the earlier value alone.
        assert_eq!(
            store.get(key(name)).await.unwrap().map(|v| v.len()),
            Some(largest.len())
        );
        assert_eq!(
            store.get(key("small")).await.unwrap().as_deref(),
            Some(&b"ok"[..])
        );
        let err = store
            .add(key("other"), too_large.into(), Expiration::Never)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge);
    }
}

/// Capacity is in bytes: filling the cache far past it evicts down to about the capacity.
#[tokio::test]
async fn capacity_bounds_the_bytes_held() {
    let capacity = 1024 * 1024;
    let store = MemoryStore::builder()
        .max_capacity_bytes(capacity)
        .build()
        .unwrap();
    for i in 0..1000 {
        let name = format!("k{i}");
        store
            .set(key(&name), vec![7u8; 10 * 1024].into(), Expiration::Never)
            .await
            .unwrap();
    }
    let used = store.stats().await.unwrap().memory_usage.unwrap();
    assert!(
        used <= capacity,
        "{used} bytes held in a {capacity} byte cache"
    );
    assert!(
        used > capacity / 2,
        "the cache evicted far too much: {used}"
    );
}

/// A cleared namespace's entries are freed, not only hidden; other namespaces keep theirs.
#[tokio::test]
async fn clear_frees_the_memory_of_the_namespace() {
    let store = MemoryStore::builder().build().unwrap();
    let other = store.with_namespace("other").unwrap();
    for i in 0..100 {
        let name = format!("k{i}");
        for s in [&store, &other] {
            s.set(key(&name), vec![1u8; 1000].into(), Expiration::Never)
                .await
                .unwrap();
        }
    }
    assert_eq!(store.stats().await.unwrap().entries, Some(200));
    store.clear().await.unwrap();
    assert_eq!(store.stats().await.unwrap().entries, Some(100));
    assert!(other.get(key("k7")).await.unwrap().is_some());
}

/// Expired entries are dropped when read, and all at once by `purge_expired`.
#[tokio::test]
async fn expired_entries_are_freed_on_read_and_on_purge() {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::builder().clock(clock.clone()).build().unwrap();
    for i in 0..10 {
        let name = format!("k{i}");
        store
            .set(
                key(&name),
                "v".into(),
                Expiration::After(Duration::from_secs(5)),
            )
            .await
            .unwrap();
    }
    store
        .set(key("kept"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(5));
    assert_eq!(store.get(key("k0")).await.unwrap(), None);
    assert_eq!(store.stats().await.unwrap().entries, Some(10));
    assert_eq!(store.purge_expired(), 9);
    assert_eq!(store.stats().await.unwrap().entries, Some(1));
    assert!(store.get(key("kept")).await.unwrap().is_some());
}

/// Of many tasks racing to `add` one key on a multi-threaded runtime, exactly one wins, also
/// when the key holds an expired entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_adds_have_one_winner() {
    let clock = ManualClock::starting_now();
    let store = MemoryStore::builder().clock(clock.clone()).build().unwrap();
    for round in 0..50 {
        let name = format!("k{round}");
        if round % 2 == 1 {
            store
                .set(
                    key(&name),
                    "old".into(),
                    Expiration::After(Duration::from_secs(1)),
                )
                .await
                .unwrap();
            clock.advance(Duration::from_secs(1));
        }
        let tasks: Vec<_> = (0..8)
            .map(|task| {
                let (store, name) = (store.clone(), name.clone());
                tokio::spawn(async move {
                    store
                        .add(key(&name), format!("{task}").into(), Expiration::Never)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = 0;
        for task in tasks {
            winners += usize::from(task.await.unwrap());
        }
        assert_eq!(winners, 1, "round {round}");
        assert_ne!(
            store.get(key(&name)).await.unwrap().as_deref(),
            Some(&b"old"[..])
        );
    }
}
