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
//!
//! `cargo run -p benches --bin bench-summary` prints the last run as a Markdown table: each
//! benchmark's median and its ratio to the raw client of its group.
//!
//! This library holds what the bench files share.
#![deny(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use criterion::Criterion;
use moka::future::Cache;

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
