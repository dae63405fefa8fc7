//! memory: `MemoryStore` and every abstraction beside raw `quick_cache::sync::Cache` doing the
//! same work (the groups are listed in `benches::harness`), and 32 tasks on one and on two
//! worker threads (`benches::tasks`). Raw quick_cache has no per-entry TTL, so its writes
//! carry none and its reads check none: it is the floor, not an equal.
//!
//! `taskset -c 0 cargo bench -p benches --bench memory`.

use benches::in_process::InProcess;
use benches::{criterion, harness, raw_quick_cache, runtime, tasks};
use cache_store::memory::MemoryStore;
use criterion::{Criterion, criterion_group, criterion_main};

fn store() -> MemoryStore {
    MemoryStore::builder()
        .max_capacity_bytes(benches::CAPACITY)
        .namespace("bench")
        .build()
        .expect("store")
}

fn bench(c: &mut Criterion) {
    let raw = InProcess(raw_quick_cache());
    harness::run(c, &runtime(), "memory", store(), raw, &[]);
    // How throughput scales from one worker thread to two.
    for threads in [1, 2] {
        tasks::run(c, "memory", threads, "raw quick_cache", || async {
            (store(), InProcess(raw_quick_cache()))
        });
    }
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
