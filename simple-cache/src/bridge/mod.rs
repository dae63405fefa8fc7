//! Bridges between PSR-16 and PSR-6, both ways, that unwrap instead of stacking.
//!
//! - [`simple_cache_over_pool`]: a [`crate::SimpleCache`] over any PSR-6 pool
//!   ([`cache_pool::PoolValues`]; Symfony's `Psr16Cache`).
//! - [`pool_over_simple_cache`]: a `CacheItemPool` over any `SimpleCache` (Symfony's
//!   `Psr16Adapter`): the whole of [`cache_pool::Pool`], deferred queue and stampede
//!   protection included, over a store adapter.
//!
//! Bridging a bridge back returns the original object: `simple_cache_over_pool(pool_over_simple_cache(c))`
//! is `c` itself, not two layers of translation.
//!
//! ```
//! use std::sync::Arc;
//! use cache_store::moka::MokaStore;
//! use simple_cache::{Cache, SimpleCache, bridge};
//!
//! let cache: Arc<dyn SimpleCache> = Arc::new(Cache::new(MokaStore::builder().build()?));
//! let pool = bridge::pool_over_simple_cache(Arc::clone(&cache));
//! let back = bridge::simple_cache_over_pool(pool);
//! assert!(Arc::ptr_eq(&back, &cache));
//! # Ok::<(), cache_store::Error>(())
//! ```

mod pool_backed;
mod store_over_cache;

use std::any::Any;
use std::sync::Arc;

use cache_pool::{Pool, PoolValues};

pub use pool_backed::PoolBackedCache;
pub use store_over_cache::StoreOverSimpleCache;

use crate::traits::SimpleCache;

/// A PSR-6 pool whose storage is a PSR-16 cache.
pub type CacheBackedPool = Pool<StoreOverSimpleCache>;

/// PSR-16 over `pool`; if `pool` is itself a bridge over a PSR-16 cache, that cache.
pub fn simple_cache_over_pool(pool: Arc<dyn PoolValues>) -> Arc<dyn SimpleCache> {
    let any: Arc<dyn Any + Send + Sync> = Arc::clone(&pool) as Arc<dyn Any + Send + Sync>;
    match any.downcast::<CacheBackedPool>() {
        Ok(bridge) => Arc::clone(bridge.store().inner()),
        Err(_) => Arc::new(PoolBackedCache::new(pool)),
    }
}

/// PSR-6 over `cache`; if `cache` is itself a bridge over a PSR-6 pool, that pool.
pub fn pool_over_simple_cache(cache: Arc<dyn SimpleCache>) -> Arc<dyn PoolValues> {
    let any: Arc<dyn Any + Send + Sync> = Arc::clone(&cache) as Arc<dyn Any + Send + Sync>;
    match any.downcast::<PoolBackedCache>() {
        Ok(bridge) => Arc::clone(bridge.pool()),
        Err(_) => Arc::new(Pool::new(StoreOverSimpleCache::new(cache))),
    }
}
