//! Criterion benchmarks for choosing a backend: each abstraction beside the raw client doing
//! the same work, in the same group of the same run.
//!
//! Run them with `cargo bench -p benches` (pin to one CPU with `taskset -c 0` when comparing,
//! see the README). `cargo test` runs every benchmark once in test mode, so they always
//! compile and work.
//!
//! | bench | groups |
//! |---|---|
//! | `moka_store` | `moka/get_hit`, `moka/get_miss`, `moka/set`: raw `moka::future::Cache` beside [`MokaStore`](cache_store::moka::MokaStore) and `Arc<dyn Store>` |
//! | `moka_simple` | `psr16-moka/get_hit`, `/get_miss`, `/set`, `/get_multiple_100`, `/set_multiple_100`: raw moka beside `Cache<MokaStore>` |
//! | `moka_doctrine` | `doctrine-moka/fetch_hit`, `/save`, `/fetch_multiple_100`: raw moka beside `CacheProvider<MokaStore>` |
//! | `moka_pool` | `psr6-moka/get_item_hit`, `/save`, `/get_items_100`, `/save_deferred_100_commit`: raw moka beside `Pool<MokaStore>` and `Arc<dyn CacheItemPool>` |
//! | `redis` | `redis/get_hit`, `/set`, `/get_many_100`, `/set_many_100`, `/32_concurrent_gets`: raw redis-rs beside `RedisStore`, `Arc<dyn Store>` and PSR-6, PSR-16 and Doctrine over it (needs `CACHE_TEST_REDIS_URL`) |
//! | `memcached` | `memcached/get_hit`, `/set`, `/get_many_100`, `/set_many_100`, `/32_concurrent_gets`: async-memcached beside `MemcachedStore` and PSR-6, PSR-16 over it (needs `CACHE_TEST_MEMCACHED_URL`) |
//! | `moka_session`, and `redis/session_cycle`, `memcached/session_cycle` in the two above | a session cycle (read 1 KiB, write it back with the 1440 s lifetime) through the session handler over each of PSR-6, PSR-16 and Doctrine, beside the raw client's get + set with a TTL |
//!
//! `cargo run -p benches --bin bench-summary` prints the last run as a Markdown table: each
//! benchmark's median and its ratio to the raw client of its group.
//!
//! This library holds what the bench files share.
#![deny(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_pool::Pool;
use criterion::Criterion;
use doctrine_compat::CacheProvider;
use moka::future::Cache;
use session_bridge::{CacheSessionHandler, SessionHandler, SessionOptions};

/// The capacity every in-process cache of the benches gets.
pub const CAPACITY: u64 = 64 * 1024 * 1024;

/// How many distinct keys a bench cycles through.
pub const ENTRIES: usize = 1_000;

/// `user.000000` to `user.000999`.
pub fn keys() -> Vec<String> {
    (0..ENTRIES).map(|i| format!("user.{i:06}")).collect()
}

/// Keys that are never written.
pub fn missing_keys() -> Vec<String> {
    (0..ENTRIES).map(|i| format!("absent.{i:06}")).collect()
}

/// A 100-byte value.
pub fn value() -> Bytes {
    Bytes::from(vec![b'v'; 100])
}

/// Session ids for the session-cycle groups: 32 characters, valid for every handler.
pub fn session_ids() -> Vec<String> {
    (0..ENTRIES)
        .map(|i| format!("benchsession{i:020}"))
        .collect()
}

/// A 1 KiB session, as the session-cycle groups read and write it.
pub fn session_data() -> Bytes {
    Bytes::from(vec![b's'; 1024])
}

/// The lifetime the session-cycle groups write with (PHP's `gc_maxlifetime` default).
pub const SESSION_LIFETIME_SECS: u64 = 1440;

/// The session handler over each abstraction over `store` (PSR-6 `Pool`, PSR-16 `Cache`,
/// Doctrine `CacheProvider`), named for the bench groups.
pub fn session_handlers<S: cache_store::Store + Clone + 'static>(
    store: &S,
) -> Vec<(&'static str, Arc<dyn SessionHandler>)> {
    let options = SessionOptions::new;
    vec![
        (
            "session handler over PSR-6 Pool",
            Arc::new(CacheSessionHandler::over_pool(
                Arc::new(Pool::new(store.clone())),
                options(),
            )),
        ),
        (
            "session handler over PSR-16 Cache",
            Arc::new(CacheSessionHandler::over_simple_cache(
                Arc::new(simple_cache::Cache::new(store.clone())),
                options(),
            )),
        ),
        (
            "session handler over Doctrine CacheProvider",
            Arc::new(CacheSessionHandler::over_doctrine(
                Arc::new(CacheProvider::new(store.clone()).with_namespace("sessions")),
                options(),
            )),
        ),
    ]
}

/// A current-thread runtime: the flavour both sides of every comparison run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A raw moka cache configured as `MokaStore` configures its own: bounded in bytes.
pub fn raw_moka() -> Cache<String, Bytes> {
    Cache::builder()
        .max_capacity(CAPACITY)
        .weigher(|k: &String, v: &Bytes| u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX))
        .build()
}

/// Criterion with short warm-up and measurement, so a whole run fits a small machine.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
