//! moka: the store and every abstraction beside raw `moka::sync::Cache` (the cheapest way to
//! use moka, and the one `MokaStore` uses) doing the same work (the groups are listed in
//! `benches::harness`), and 32 tasks on one and on two worker threads (`benches::tasks`). Raw
//! moka has no per-entry TTL without an `Expiry` type, so its writes carry none: it is the
//! floor, not an equal.
//!
//! `taskset -c 0 cargo bench -p benches --bench moka`.

use benches::in_process::InProcess;
use benches::{criterion, harness, raw_moka, runtime, tasks};
use cache_store::moka::MokaStore;
use criterion::{Criterion, criterion_group, criterion_main};

fn store() -> MokaStore {
    MokaStore::builder()
        .max_capacity_bytes(benches::CAPACITY)
        .namespace("bench")
        .build()
        .expect("store")
}

fn bench(c: &mut Criterion) {
    harness::run(c, &runtime(), "moka", store(), InProcess(raw_moka()), &[]);
    // How throughput scales from one worker thread to two.
    for threads in [1, 2] {
        tasks::run(c, "moka", threads, "raw moka", || async {
            (store(), InProcess(raw_moka()))
        });
    }
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
