//! Criterion benchmarks for choosing a backend: each abstraction beside the raw client doing
//! the same work, in the same group of the same run.
//!
//! Run them with `cargo bench -p benches` (pin to one CPU with `taskset -c 0` when comparing,
//! see the README). `cargo test` runs every benchmark once in test mode, so they always
//! compile and work.
//!
//! | bench | groups |
//! |---|---|
//! | `memory` | `memory/<operation>`: raw `quick_cache::sync::Cache` beside `MemoryStore` and every abstraction over it |
//! | `moka` | `moka/<operation>`: raw `moka::sync::Cache` beside `MokaStore` and every abstraction over it |
//! | `redis` | `redis/<operation>`: raw redis-rs beside `RedisStore` and every abstraction over it (needs `CACHE_TEST_REDIS_URL`) |
//! | `memcached` | `memcached/<operation>`: async-memcached beside `MemcachedStore` and every abstraction over it (needs `CACHE_TEST_MEMCACHED_URL`) |
//!
//! The operations, the same for every backend, are listed in [`harness`]: get hit, get miss,
//! set, get of 100 keys, set of 100 keys, PSR-6's 100 `save_deferred` + `commit`, a session
//! cycle, and 32 concurrent gets through one shared handle; and in [`tasks`], the throughput of
//! 32 tasks reading through one shared handle on a multi-threaded runtime.
//!
//! `cargo run -p benches --bin bench-summary` prints the last run as a Markdown table: each
//! benchmark's median and its ratio to the raw client of its group.
//!
//! This library holds what the bench files share.
#![deny(missing_docs)]

pub mod harness;
pub mod in_process;
pub mod tasks;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_pool::Pool;
use criterion::Criterion;
use doctrine_compat::CacheProvider;
use moka::sync::Cache;
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

/// A record as a PHP service might cache it: what the typed rows (the PHP profile's among
/// them) encode and decode.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// An id.
    pub id: u64,
    /// A name.
    pub name: String,
    /// Two roles.
    pub roles: Vec<String>,
    /// A float.
    pub balance: f64,
}

/// The record every typed row uses.
pub fn record() -> Record {
    Record {
        id: 42,
        name: "Ada Lovelace".into(),
        roles: vec!["admin".into(), "billing".into()],
        balance: 1234.5,
    }
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
            Arc::new(CacheSessionHandler::new(
                Arc::new(Pool::new(store.clone())),
                options(),
            )),
        ),
        (
            "session handler over PSR-16 Cache",
            Arc::new(CacheSessionHandler::new(
                Arc::new(simple_cache::Cache::new(store.clone())),
                options(),
            )),
        ),
        (
            "session handler over Doctrine CacheProvider",
            Arc::new(CacheSessionHandler::new(
                Arc::new(CacheProvider::new(store.clone()).with_namespace("sessions")),
                options(),
            )),
        ),
    ]
}

/// The server URL in `var`, or `None` with the reason the `backend` benches are skipped.
pub fn server_url(var: &str, backend: &str) -> Option<String> {
    let url = std::env::var(var).ok();
    if url.is_none() {
        eprintln!(
            "skipped the {backend} benches: {var} is not set (scripts/test-servers.sh starts a server)"
        );
    }
    url
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

/// A raw quick_cache configured as `MemoryStore` configures its own: bounded in bytes.
pub fn raw_quick_cache() -> Arc<quick_cache::sync::Cache<String, Bytes, KeyAndValueBytes>> {
    let items = usize::try_from(CAPACITY / 512).unwrap_or(usize::MAX);
    Arc::new(quick_cache::sync::Cache::with_weighter(
        items,
        CAPACITY,
        KeyAndValueBytes,
    ))
}

/// Weighs an entry of [`raw_quick_cache`] by its key and value bytes.
#[derive(Clone, Copy, Debug)]
pub struct KeyAndValueBytes;

impl quick_cache::Weighter<String, Bytes> for KeyAndValueBytes {
    fn weight(&self, key: &String, value: &Bytes) -> u64 {
        u64::try_from(key.len() + value.len()).unwrap_or(u64::MAX)
    }
}

/// Criterion with short warm-up and measurement, so a whole run fits a small machine.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
