//! The PSR-16 simple cache over any [`cache_store::Store`].
//!
//! **Work in progress** (tracked as the simple-cache issue): this crate will hold the
//! `SimpleCache` trait, `Cache<S: Store>`, and the bridges between PSR-16 and PSR-6 in
//! both directions.
//!
//! Until then it re-exports [`cache_store`], the layer it is built on, so the workspace's
//! crate graph and features are already in place.
#![deny(missing_docs)]

pub use cache_store;
