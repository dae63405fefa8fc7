//! PSR-6 item pools over any [`cache_store::Store`].
//!
//! **Work in progress** (tracked as the cache-pool issue): this crate will hold the
//! `CacheItemPool` trait, `CacheItem` and `Pool<S: Store>` with PSR-6's deferred-save
//! queue, plus a stampede-safe `get(key, compute)` in the spirit of Symfony's cache contracts.
//!
//! Until then it re-exports [`cache_store`], the layer it is built on, so the workspace's
//! crate graph and features are already in place.
#![deny(missing_docs)]

pub use cache_store;
