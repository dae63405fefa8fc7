//! The PSR-16 conformance kit: php-cache's `SimpleCacheTest` (catalogue 6.4) and the
//! applicable Symfony `Psr16CacheTest` extras, plus a model-based property test.
//!
//! Implement [`SimpleCacheFactory`] and invoke [`simple_suite!`](crate::simple_suite).
//!
//! Not applicable in Rust, so not ported: the invalid-TTL and "not iterable" cases (the types
//! make them unrepresentable), and `testObjectDoesNotChangeInCache` (a stored value is bytes
//! the caller no longer owns).

pub mod cases;
mod model;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache_store::{ManualClock, Result};
use simple_cache::SimpleCache;

pub use model::check_simple_model;

/// Makes PSR-16 caches for the kit.
///
/// # Implementer notes
///
/// Caches made for the same namespace must share data. Return a clock from
/// [`clock`](SimpleCacheFactory::clock) only if the caches take their time from it.
#[async_trait]
pub trait SimpleCacheFactory: Send + Sync {
    /// A cache on `namespace` whose values set with `Expiration::Default` live `default_ttl`
    /// (`None`: forever).
    async fn create(
        &self,
        namespace: &str,
        default_ttl: Option<Duration>,
    ) -> Result<Arc<dyn SimpleCache>>;

    /// The manual clock the caches follow, if they follow one.
    fn clock(&self) -> Option<ManualClock> {
        None
    }
    /// Puts `how` unreadable data under `key` of `namespace`, behind the caches' back; `false`
    /// (the default) when the factory cannot reach under its caches or the backend cannot
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
