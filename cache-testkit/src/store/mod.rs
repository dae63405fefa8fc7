//! The `Store` conformance kit: contract cases and a model-based property test.
//!
//! A backend implements [`StoreFactory`] and calls [`store_suite!`](crate::store_suite) in one
//! integration test file; that file then holds one `#[test]` per contract case plus the
//! property test. See the [crate docs](crate) for a complete example.

pub mod cases;
pub(crate) mod keys;
mod model;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache_store::{ManualClock, Result, Store};

pub use keys::awkward_keys;
pub use model::{ModelOptions, check_model};

/// What the kit expects the store to do with writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Model {
    /// A cache: writes are readable until they expire, are deleted, or the namespace is
    /// cleared. (Eviction under memory pressure must not happen in a test: size the store.)
    Cache,
    /// A store that keeps nothing, like [`NullStore`](cache_store::NullStore): every read
    /// misses, `add` answers `true` and `touch` answers `false`.
    Null,
}

/// Makes store handles for the kit.
///
/// # Implementer notes
///
/// - [`create`](StoreFactory::create) is called with fresh namespaces from
///   [`unique_namespace`](crate::unique_namespace); handles created for the same namespace
///   by one factory must share data (the kit checks that a `clear` through one is seen by the
///   other), and handles of different namespaces must not.
/// - Return a clock from [`clock`](StoreFactory::clock) only if the store takes its time
///   from it (in-process stores). Cases that need to move time are then run on it and never
///   sleep; without one, the suite declares `without: [clock]` and they are reported as
///   ignored (see [`needs`](crate::needs)).
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// A handle on `namespace`.
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>>;

    /// The manual clock the stores follow, if they follow one.
    fn clock(&self) -> Option<ManualClock> {
        None
    }

    /// How the stores are expected to behave.
    fn model(&self) -> Model {
        Model::Cache
    }

    /// The lifetime the stores give to writes with `Expiration::Default` (`None`: never
    /// expire).
    fn default_ttl(&self) -> Option<Duration> {
        None
    }

    /// The largest value the kit may write.
    fn max_value_len(&self) -> usize {
        512 * 1024
    }

    /// Writes under `key` of `namespace`, behind the store's back, data that the store did
    /// not write and cannot read as a value (on Redis, a list), and answers `true`; answers
    /// `false` (the default) when the backend holds nothing but values.
    async fn write_foreign(&self, _namespace: &str, _key: &str) -> Result<bool> {
        Ok(false)
    }
}

#[async_trait]
impl<F: StoreFactory + ?Sized> StoreFactory for &F {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        (**self).create(namespace).await
    }
    fn clock(&self) -> Option<ManualClock> {
        (**self).clock()
    }
    fn model(&self) -> Model {
        (**self).model()
    }
    fn default_ttl(&self) -> Option<Duration> {
        (**self).default_ttl()
    }
    fn max_value_len(&self) -> usize {
        (**self).max_value_len()
    }
    async fn write_foreign(&self, namespace: &str, key: &str) -> Result<bool> {
        (**self).write_foreign(namespace, key).await
    }
}
