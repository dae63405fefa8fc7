//! moka: the store and every abstraction beside raw `moka::sync::Cache` (the cheapest way to
//! use moka, and the one `MokaStore` uses) doing the same work
//! (the groups are listed in `benches::harness`). Raw moka has no per-entry TTL without an
//! `Expiry` type, so its writes carry none: it is the floor, not an equal.
//!
//! `taskset -c 0 cargo bench -p benches --bench moka`.

use benches::harness::{self, CONCURRENT, RawClient};
use benches::tasks::{self, TaskClient};
use benches::{criterion, raw_moka, runtime};
use bytes::Bytes;
use cache_store::moka::MokaStore;
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

struct RawMoka(moka::sync::Cache<String, Bytes>);

impl RawClient for RawMoka {
    fn name(&self) -> &'static str {
        "raw moka"
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

/// The raw cache as tasks share it (a moka handle is itself shared).
#[derive(Clone)]
struct SharedMoka(moka::sync::Cache<String, Bytes>);

impl TaskClient for SharedMoka {
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
    let store = MokaStore::builder()
        .max_capacity_bytes(benches::CAPACITY)
        .namespace("bench")
        .build()
        .expect("store");
    harness::run(c, &runtime(), "moka", store, RawMoka(raw_moka()), &[]);
    // How throughput scales from one worker thread to two.
    for threads in [1, 2] {
        tasks::run(c, "moka", threads, "raw moka", || async {
            let store = MokaStore::builder()
                .max_capacity_bytes(benches::CAPACITY)
                .namespace("bench")
                .build()
                .expect("store");
            (store, SharedMoka(raw_moka()))
        });
    }
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
