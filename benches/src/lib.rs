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
#![deny(missing_docs)]
