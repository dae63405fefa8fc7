//! Bridges between Doctrine and PSR-6, both ways, that unwrap instead of stacking.
//!
//! - [`doctrine_over_pool`]: a Doctrine cache over any PSR-6 pool (PHP's `DoctrineProvider`),
//!   ids percent-encoded into legal PSR-6 keys.
//! - [`pool_over_doctrine`]: a PSR-6 pool over any Doctrine cache (PHP's `CacheAdapter`):
//!   the workspace's [`Pool`] over a store adapter, so every PSR-6 rule holds, with PHP's
//!   bugs fixed: a stored value is never read as a miss, and a sub-second lifetime stays
//!   sub-second instead of becoming "forever".
//!
//! As in PHP, a Doctrine cache over a pool unwraps to that pool only when its Doctrine
//! namespace is empty (a namespace would otherwise be lost).
//!
//! A pool over a Doctrine cache inherits Doctrine's per-instance namespace version: give every
//! pool of one namespace the **same** Doctrine instance. Pools over two separate instances
//! stop seeing each other's entries after one of them runs `clear` (which is `delete_all`),
//! until the other refreshes its version.
//!
//! ```
//! use std::sync::Arc;
//! use cache_pool::{Pool, PoolValues};
//! use cache_store::moka::MokaStore;
//! use doctrine_compat::bridge;
//!
//! let pool: Arc<dyn PoolValues> = Arc::new(Pool::new(MokaStore::builder().build()?));
//! let doctrine = bridge::doctrine_over_pool(Arc::clone(&pool));
//! assert!(Arc::ptr_eq(&bridge::pool_over_doctrine(doctrine), &pool));
//! # Ok::<(), cache_store::Error>(())
//! ```

mod store_over_doctrine;

use std::any::Any;
use std::sync::Arc;

use cache_pool::{Pool, PoolValues};

pub use store_over_doctrine::StoreOverDoctrine;

use crate::provider::DoctrineProvider;
use crate::traits::DoctrineCache;

/// A PSR-6 pool whose storage is a Doctrine cache.
pub type DoctrineBackedPool = Pool<StoreOverDoctrine>;

/// A Doctrine cache over a shared PSR-6 pool.
pub type PoolBackedDoctrine = DoctrineProvider<Arc<dyn PoolValues>>;

/// Doctrine over `pool` (empty Doctrine namespace); if `pool` is itself a bridge over a
/// Doctrine cache, that cache.
pub fn doctrine_over_pool(pool: Arc<dyn PoolValues>) -> Arc<dyn DoctrineCache> {
    let any: Arc<dyn Any + Send + Sync> = Arc::clone(&pool) as Arc<dyn Any + Send + Sync>;
    match any.downcast::<DoctrineBackedPool>() {
        Ok(bridge) => Arc::clone(bridge.store().inner()),
        Err(_) => Arc::new(DoctrineProvider::over_pool(pool)),
    }
}

/// PSR-6 over `cache`; if `cache` is a Doctrine provider over a pool with the empty
/// namespace, that pool.
pub fn pool_over_doctrine(cache: Arc<dyn DoctrineCache>) -> Arc<dyn PoolValues> {
    let any: Arc<dyn Any + Send + Sync> = Arc::clone(&cache) as Arc<dyn Any + Send + Sync>;
    if let Some(bridge) = any.downcast_ref::<PoolBackedDoctrine>()
        && bridge.namespace().is_empty()
    {
        return Arc::clone(bridge.pool());
    }
    Arc::new(Pool::new(StoreOverDoctrine::new(cache)))
}
