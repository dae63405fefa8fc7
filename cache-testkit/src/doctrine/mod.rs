//! The Doctrine conformance kit: the applicable cases of Doctrine's `CacheTest` (catalogue
//! 6.8), namespace versioning between instances included, and a model-based property test
//! that tracks each instance's memoized namespace version.
//!
//! Implement [`DoctrineFactory`] and invoke [`doctrine_suite!`](crate::doctrine_suite).

pub mod cases;
mod model;

use std::sync::Arc;

use async_trait::async_trait;
use cache_pool::PoolValues;
use cache_store::{ManualClock, Result};
use doctrine_compat::DoctrineCache;

pub use model::check_doctrine_model;

/// Makes Doctrine caches for the kit.
///
/// # Implementer notes
///
/// Caches created with the same `storage` share their data (as two PHP `CacheProvider`
/// instances over one backend do); caches on different storages do not. Each call makes a
/// new instance, with its own memoized namespace version.
#[async_trait]
pub trait DoctrineFactory: Send + Sync {
    /// A new cache instance over storage `storage`, in Doctrine namespace `namespace`.
    async fn create(&self, storage: &str, namespace: &str) -> Result<Arc<dyn DoctrineCache>>;

    /// The manual clock the caches follow, if they follow one.
    fn clock(&self) -> Option<ManualClock> {
        None
    }

    /// The PSR-6 pool the caches of `storage` keep their entries in, when they sit on one
    /// (`None`, the default, otherwise): the kit writes damaged namespace versions through it.
    async fn pool(&self, _storage: &str) -> Result<Option<Arc<dyn PoolValues>>> {
        Ok(None)
    }
}
