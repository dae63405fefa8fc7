//! The Doctrine Cache API over any [`cache_store::Store`].
//!
//! **Work in progress** (tracked as the doctrine-compat issue): this crate will hold the
//! `Cache`, `ClearableCache`, `FlushableCache` and multi-operation traits, and
//! `CacheProvider<S: Store>` with Doctrine's byte-for-byte namespace versioning.
//!
//! Until then it re-exports [`cache_store`], the layer it is built on, so the workspace's
//! crate graph and features are already in place.
#![deny(missing_docs)]

pub use cache_store;
