//! memory: `MemoryStore` and every abstraction beside raw `quick_cache::sync::Cache` doing the
//! same work (the groups are listed in `benches::harness`). Raw quick_cache has no per-entry
//! TTL, so its writes carry none and its reads check none: it is the floor, not an equal.
//!
//! `taskset -c 0 cargo bench -p benches --bench memory`.

use benches::harness::{self, CONCURRENT, RawClient};
use benches::tasks::{self, TaskClient};
use benches::{KeyAndValueBytes, criterion, raw_quick_cache, runtime};
use bytes::Bytes;
use cache_store::memory::MemoryStore;
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;

struct RawQuickCache(quick_cache::sync::Cache<String, Bytes, KeyAndValueBytes>);

impl RawClient for RawQuickCache {
    fn name(&self) -> &'static str {
        "raw quick_cache"
    }

    async fn get(&self, key: &str) -> Option<Bytes> {
        self.0.get(key)
    }

    async fn set(&self, key: &str, value: Bytes, _ttl: Duration) {
        self.0.insert(key.to_owned(), value);
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        let mut found = 0;
        for key in keys {
            found += usize::from(self.0.get(*key).is_some());
        }
        found
    }

    async fn set_many(&self, entries: &[(&str, Bytes)], _ttl: Duration) {
        for (key, value) in entries {
            self.0.insert((*key).to_owned(), value.clone());
        }
    }

    async fn concurrent_gets(&self, keys: &[&str]) -> usize {
        debug_assert_eq!(keys.len(), CONCURRENT);
        harness::count_found(keys.iter().map(|k| async { self.0.get(*k).is_some() })).await
    }
}

/// The raw cache as tasks share it.
#[derive(Clone)]
struct SharedQuickCache(Arc<quick_cache::sync::Cache<String, Bytes, KeyAndValueBytes>>);

impl TaskClient for SharedQuickCache {
    fn for_task(&self, _task: usize) -> Self {
        self.clone()
    }

    async fn get(&mut self, key: &str) -> bool {
        self.0.get(key).is_some()
    }

    async fn seed(&mut self, keys: &[String]) {
        for key in keys {
            self.0.insert(key.clone(), benches::value());
        }
    }
}

fn bench(c: &mut Criterion) {
    let store = MemoryStore::builder()
        .max_capacity_bytes(benches::CAPACITY)
        .namespace("bench")
        .build()
        .expect("store");
    harness::run(
        c,
        &runtime(),
        "memory",
        store,
        RawQuickCache(raw_quick_cache()),
        &[],
    );
    // How throughput scales from one worker thread to two.
    for threads in [1, 2] {
        tasks::run(c, "memory", threads, "raw quick_cache", || async {
            let store = MemoryStore::builder()
                .max_capacity_bytes(benches::CAPACITY)
                .namespace("bench")
                .build()
                .expect("store");
            (store, SharedQuickCache(Arc::new(raw_quick_cache())))
        });
    }
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
