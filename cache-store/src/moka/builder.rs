//! Configuration of the moka backend.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ::moka::sync::Cache;

use super::entry::{DeadlineExpiry, Stored, weigh};
use super::{MokaStore, Shared};
use crate::clock::{Clock, SystemClock};
use crate::embedded::{Counts, Namespaces};
use crate::error::{Error, ErrorKind, Result};

/// The capacity of a [`MokaStore`] when none is configured: 64 MiB.
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// Builds a [`MokaStore`]: capacity in bytes, first namespace, clock and default lifetime.
///
/// ```
/// use std::time::Duration;
/// use cache_store::moka::MokaStore;
///
/// let store = MokaStore::builder()
///     .max_capacity_bytes(16 * 1024 * 1024)
///     .namespace("app")
///     .default_ttl(Duration::from_secs(300))
///     .build()?;
/// assert_eq!(cache_store::Store::namespace(&store), "app");
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Debug)]
pub struct MokaStoreBuilder {
    capacity_bytes: u64,
    namespace: String,
    clock: Arc<dyn Clock>,
    default_ttl: Option<Duration>,
}

impl Default for MokaStoreBuilder {
    fn default() -> Self {
        MokaStoreBuilder {
            capacity_bytes: DEFAULT_CAPACITY_BYTES,
            namespace: String::new(),
            clock: Arc::new(SystemClock),
            default_ttl: None,
        }
    }
}

impl MokaStoreBuilder {
    /// The most bytes the cache holds (keys, values and a fixed per-entry overhead, across all
    /// namespaces) before it evicts. A single value larger than this is refused with
    /// [`ErrorKind::TooLarge`] instead of being evicted at once.
    pub fn max_capacity_bytes(mut self, bytes: u64) -> Self {
        self.capacity_bytes = bytes;
        self
    }

    /// The namespace of the handle that [`build`](Self::build) returns (default: the empty
    /// namespace). Other namespaces sharing the cache come from [`MokaStore::with_namespace`].
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The clock that resolves and checks expirations (default: [`SystemClock`]). With any
    /// clock but the wall clock, moka's own timers are not used and expiry is checked on read
    /// only, so a [`ManualClock`](crate::ManualClock) fully controls it.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The lifetime of writes with [`Expiration::Default`](crate::Expiration::Default)
    /// (default: none, so they never expire).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// Builds the cache and its first handle.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a zero capacity or an invalid namespace (see
    /// [`validate_namespace`](crate::validate_namespace)).
    pub fn build(self) -> Result<MokaStore> {
        if self.capacity_bytes == 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a moka store needs a capacity of at least one byte",
            ));
        }
        let wall_clock = self.clock.is_wall_clock();
        let mut cache = Cache::<Box<[u8]>, Stored>::builder()
            .max_capacity(self.capacity_bytes)
            .weigher(|key, stored| weigh(key.len(), stored.value.len()))
            .support_invalidation_closures();
        if wall_clock {
            // moka's timer wheel frees expired entries; reads still check the deadline.
            cache = cache.expire_after(DeadlineExpiry);
        }
        let shared = Arc::new(Shared {
            cache: cache.build(),
            clock: self.clock,
            wall_clock,
            capacity_bytes: self.capacity_bytes,
            default_ttl: self.default_ttl,
            namespaces: Namespaces::new(),
            counts: Counts::default(),
            started: Instant::now(),
        });
        MokaStore::for_namespace(shared, &self.namespace)
    }
}
