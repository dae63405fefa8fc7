//! What this workspace builds beyond PHP's three abstractions, over any store: locks shared
//! by every process ([`cache_store::lock`]), leases that compute a miss once across processes
//! and serve stale values while one caller recomputes ([`cache_pool::Lease`]), and tags
//! ([`cache_pool::TagAwarePool`]).
//!
//! The cases take a [`StoreFactory`](crate::store::StoreFactory); invoke
//! [`beyond_suite!`](crate::beyond_suite) (or [`backend_suites!`](crate::backend_suites),
//! which includes it).

pub mod cases;
