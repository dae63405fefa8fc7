//! PSR-6 item pools over any [`cache_store::Store`].
//!
//! - [`CacheItemPool`]: the PSR-6 pool contract (`get_item`, `get_items`, `has_item`,
//!   `clear`, `delete_item(s)`, `save`, `save_deferred`, `commit`), async and object safe.
//! - [`CacheItem`]: the key, a value snapshot, the hit flag, and the expiration to save with;
//!   typed values through a codec (`get_as` / `set_as`, MessagePack by default).
//! - [`Pool`]: the pool over any store, with a default lifetime, PSR-6's deferred queue
//!   (visible before commit, committed in one batch) and stampede protection; its
//!   `add_item`/`touch_item` (atomic add, touch) are inherent, for sessions and locks, since
//!   PSR-6 has no such operations.
//! - [`PoolValues`]: what the layers over a pool (PSR-16, Doctrine) use beyond PSR-6: values
//!   in bulk without an item each, and the storage's stats.
//! - [`ValueFormat`]: the value pipeline, how an item's value and its stampede metadata
//!   become the bytes a store keeps; by default this crate's [`envelope`]. [`open`] takes
//!   it from a URL with the store (`redis://…?namespace=app&format=symfony-5.4-igbinary`).
//! - [`TagAwarePool`]: items tagged ([`CacheItem::tag`]) and dropped by tag
//!   ([`TagAware::invalidate_tags`]) for every process, with Symfony's `TagAwareAdapter`
//!   semantics and (over a Symfony format) its entries, so PHP and Rust share tags.
//! - [`Lease`]: a miss of `get` computed once across every process sharing the store, and
//!   stale values served while one caller recomputes
//!   ([`PoolBuilder::stale_while_revalidate`]).
//! - [`CacheItemPoolExt::get`]: Symfony's `get(key, callback)`: one computation per key per
//!   process under concurrency, probabilistic early recomputation (`beta`), "don't save", and
//!   no deadlock on a nested get of the same key.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cache_pool::{CacheItemPool, CacheItemPoolExt, Computed, Pool};
//! use cache_store::moka::MokaStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let pool = Pool::new(MokaStore::builder().namespace("app").build()?);
//!
//! // PSR-6: get an item, set it, save it.
//! let mut item = pool.get_item("user.42").await?;
//! item.set_as(&"Ada")?.expires_after(Some(Duration::from_secs(60)));
//! pool.save(item).await?;
//! assert_eq!(pool.get_item("user.42").await?.get_as::<String>().as_deref(), Some("Ada"));
//!
//! // Symfony-style: computed once, then served from the cache.
//! let report = pool
//!     .get("report", |_| async { Ok(Computed::new("42 users").expires_after(Duration::from_secs(300))) })
//!     .await?;
//! assert_eq!(&report[..], b"42 users");
//! # Ok(())
//! # }
//! ```
//!
//! # Choices where PHP is broken
//!
//! - Keys are validated in every build (PHP only with assertions on).
//! - A sub-second lifetime is kept as such (the Doctrine bridge turned it into "forever").
//! - A stored value that does not decode is a miss for that key only (Symfony makes every key
//!   of the batch a miss).
//! - Stampede metadata never leaks into a value and user data can never pass for it (see
//!   [`envelope`]).
#![deny(missing_docs)]

mod dropped;
pub mod envelope;
mod format;
mod item;
mod open;
mod pool;
#[cfg(feature = "php")]
mod symfony;
mod tags;
mod traits;

pub use cache_store;
pub use format::{Metadata, ValueFormat};
pub use item::CacheItem;
pub use open::open;
#[cfg(feature = "php")]
#[cfg_attr(docsrs, doc(cfg(feature = "php")))]
pub use php_marshal;
pub use pool::{Lease, Pool, PoolBuilder};
#[cfg(feature = "php")]
#[cfg_attr(docsrs, doc(cfg(feature = "php")))]
pub use symfony::SymfonyLayout;
pub use tags::{TagAware, TagAwarePool};
pub use traits::{BoxFuture, CacheItemPool, CacheItemPoolExt, Compute, Computed, PoolValues};
