//! The PSR-16 simple cache over any [`cache_store::Store`], and bridges both ways with PSR-6.
//!
//! - [`SimpleCache`]: PSR-16's contract (`get`, `set`, `delete`, `clear`, `has`,
//!   `get_multiple`, `set_multiple`, `delete_multiple`), async and object safe, with typed
//!   access through [`SimpleCacheExt`].
//! - [`Cache`]: PSR-16 directly over a store; every multiple call is one store batch.
//! - [`bridge`]: PSR-16 over any PSR-6 pool and PSR-6 over any PSR-16 cache, unwrapping
//!   instead of stacking.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cache_store::Expiration;
//! use cache_store::moka::MokaStore;
//! use simple_cache::{Cache, SimpleCache, SimpleCacheExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let cache = Cache::new(MokaStore::builder().namespace("app").build()?);
//! cache.set_as("user.42", &"Ada", Expiration::After(Duration::from_secs(60))).await?;
//! assert_eq!(cache.get_as::<String>("user.42").await?.as_deref(), Some("Ada"));
//! assert!(cache.get("bad:key").await.is_err());
//! # Ok(())
//! # }
//! ```
//!
//! # Choices where PHP is broken
//!
//! - Keys are validated in every build, for every key of a multiple call, before any I/O.
//! - `get_multiple` never returns Symfony's metadata wrapper, and one unreadable value is a
//!   miss for that key only.
//! - A TTL is an [`Expiration`](cache_store::Expiration): zero always means "expired, delete",
//!   never Doctrine's "forever".
#![deny(missing_docs)]

pub mod bridge;
mod cache;
mod traits;

pub use cache::{Cache, CacheBuilder, open};
pub use cache_store;
pub use traits::{SimpleCache, SimpleCacheExt, ttl_seconds};
