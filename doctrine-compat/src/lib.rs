//! The Doctrine Cache API over any [`cache_store::Store`], with namespace versioning that is
//! byte-compatible with PHP's doctrine/cache, stats, and PSR-6 bridges both ways.
//!
//! - [`Cache`], [`ClearableCache`], [`FlushableCache`], [`MultiOperationCache`]: Doctrine's
//!   interfaces, async and object safe; [`DoctrineCache`] is all of them at once.
//!   [`CacheExt`] adds typed data.
//! - [`CacheProvider`]: Doctrine's `CacheProvider` over a store: namespaces, the namespace
//!   version at `DoctrineNamespaceCacheKey[<ns>]`, ids stored as `<ns>[<id>][<version>]` (as
//!   PHP stores them through a PSR-6 pool, percent-encoded), `delete_all` in O(1).
//! - [`bridge`]: Doctrine over any PSR-6 pool and PSR-6 over any Doctrine cache.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cache_store::moka::MokaStore;
//! use doctrine_compat::{Cache, CacheProvider, ClearableCache, MultiOperationCache};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let cache = CacheProvider::new(MokaStore::builder().build()?).with_namespace("app");
//! cache.save("a:b/c", "v".into(), Duration::from_secs(60)).await?; // any id works
//! cache.save_multiple(&[("x", "1".into()), ("y", "2".into())], Duration::ZERO).await?;
//! let found = cache.fetch_multiple(&["x", "y", "missing"]).await?;
//! assert_eq!(found.len(), 2); // found entries only
//! cache.delete_all().await?;
//! assert!(!cache.contains("x").await?);
//! # Ok(())
//! # }
//! ```
//!
//! # Choices where PHP is broken
//!
//! - `fetch` returns `Option`: a stored value is never confused with a miss (PHP's `false`).
//! - `fetch_multiple` answers a [`Fetched`]: the entries found in the order asked, as PHP's
//!   array, where a hash map would lose the order.
//! - A life time is a `Duration`: zero is forever (Doctrine's rule), a sub-second lifetime
//!   stays sub-second, and a negative one, on which PHP's drivers disagreed, cannot be written.
//! - `flush_all` clears what the provider's store owns, never a shared server or database
//!   (PHP's Redis driver ran `FLUSHDB`).
#![deny(missing_docs)]

pub mod bridge;
mod fetched;
mod provider;
mod traits;

pub use cache_store;
pub use fetched::{Fetched, FetchedIter};
pub use provider::{CacheProvider, DoctrineProvider, namespace_version_key};
pub use traits::{
    Cache, CacheExt, CacheStats, ClearableCache, DoctrineCache, FlushableCache, MultiOperationCache,
};
