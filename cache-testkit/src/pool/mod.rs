//! The PSR-6 conformance kit: php-cache's `CachePoolTest` (catalogue 6.3) and the applicable
//! Symfony extras (6.7), plus a model-based property test of pool operations with deferred
//! saves and commits.
//!
//! Implement [`PoolFactory`] and invoke [`pool_suite!`](crate::pool_suite).

pub mod cases;
mod model;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache_pool::PoolValues;
use cache_store::{ManualClock, Result};

pub use model::check_pool_model;

/// Makes pools for the kit.
///
/// # Implementer notes
///
/// The pools are [`PoolValues`], PSR-6 plus the bulk value calls the layers above use; a pool
/// of your own opts in with `impl PoolValues for MyPool {}`.
///
/// Pools made for the same namespace must share stored data (PSR-6's "a new pool instance
/// sees what another saved"), each with its own deferred queue. Return a clock from
/// [`clock`](PoolFactory::clock) only if the pools take their time from it.
#[async_trait]
pub trait PoolFactory: Send + Sync {
    /// A pool on `namespace` whose items without an expiration live `default_lifetime`
    /// (`None`: forever).
    async fn create(
        &self,
        namespace: &str,
        default_lifetime: Option<Duration>,
    ) -> Result<Arc<dyn PoolValues>>;

    /// The manual clock the pools follow, if they follow one.
    fn clock(&self) -> Option<ManualClock> {
        None
    }
    /// Puts `how` unreadable data under `key` of `namespace`, behind the pools' back; `false`
    /// (the default) when the factory cannot reach under its pools or the backend cannot
    /// hold that kind. See [`write_unreadable`](crate::unreadable::write_unreadable).
    async fn write_unreadable(
        &self,
        _namespace: &str,
        _key: &str,
        _how: crate::unreadable::Unreadable,
    ) -> Result<bool> {
        Ok(false)
    }
}
