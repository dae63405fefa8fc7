//! Configuration of the memory backend.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{DefaultHashBuilder, OptionsBuilder};

use super::entry::Weigh;
use super::{MemoryStore, Shared};
use crate::clock::{Clock, SystemClock};
use crate::embedded::{Counts, Namespaces};
use crate::error::{Error, ErrorKind, Result};

/// The capacity of a [`MemoryStore`] when none is configured: 64 MiB.
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 * 1024 * 1024;

/// Each shard gets at least this much of the capacity when the capacity allows, so that one
/// entry can be this large.
const MIN_SHARD_BYTES: u64 = 8 * 1024 * 1024;

/// The share of a shard for entries seen more than once (quick_cache's default, set here
/// because the largest admitted entry follows from it).
const HOT_ALLOCATION: f64 = 0.97;

/// The entry size assumed to size the map's bookkeeping of recently evicted keys.
const TYPICAL_ENTRY_BYTES: u64 = 512;

/// Builds a [`MemoryStore`]: capacity in bytes, first namespace, clock and default lifetime.
///
/// ```
/// use std::time::Duration;
/// use cache_store::memory::MemoryStore;
///
/// let store = MemoryStore::builder()
///     .max_capacity_bytes(16 * 1024 * 1024)
///     .namespace("app")
///     .default_ttl(Duration::from_secs(300))
///     .build()?;
/// assert_eq!(cache_store::Store::namespace(&store), "app");
/// assert!(store.max_entry_bytes() > 7 * 1024 * 1024); // two shards of 8 MiB
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Debug)]
pub struct MemoryStoreBuilder {
    capacity_bytes: u64,
    namespace: String,
    clock: Arc<dyn Clock>,
    default_ttl: Option<Duration>,
}

impl Default for MemoryStoreBuilder {
    fn default() -> Self {
        MemoryStoreBuilder {
            capacity_bytes: DEFAULT_CAPACITY_BYTES,
            namespace: String::new(),
            clock: Arc::new(SystemClock),
            default_ttl: None,
        }
    }
}

impl MemoryStoreBuilder {
    /// The most bytes the cache holds (keys, values and a fixed per-entry overhead, across all
    /// namespaces) before it evicts. An entry larger than
    /// [`MemoryStore::max_entry_bytes`] is refused with [`ErrorKind::TooLarge`] instead of
    /// being evicted at once.
    pub fn max_capacity_bytes(mut self, bytes: u64) -> Self {
        self.capacity_bytes = bytes;
        self
    }

    /// The namespace of the handle that [`build`](Self::build) returns (default: the empty
    /// namespace). Other namespaces sharing the cache come from
    /// [`MemoryStore::with_namespace`].
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// The clock that resolves and checks expirations (default: [`SystemClock`]); a
    /// [`ManualClock`](crate::ManualClock) fully controls expiry.
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
    /// [`ErrorKind::InvalidArgument`] for a capacity too small for one entry or an invalid
    /// namespace (see [`validate_namespace`](crate::validate_namespace)).
    pub fn build(self) -> Result<MemoryStore> {
        // Four shards per core keep threads off each other's locks; fewer for a small cache,
        // so that a shard (the bound on one entry) stays large.
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let by_size = usize::try_from(self.capacity_bytes / MIN_SHARD_BYTES).unwrap_or(usize::MAX);
        let shards = (cores * 4).min(by_size).max(1);
        let estimated_items = usize::try_from(self.capacity_bytes / TYPICAL_ENTRY_BYTES)
            .unwrap_or(usize::MAX)
            .max(64);
        let options = OptionsBuilder::new()
            .shards(shards)
            .hot_allocation(HOT_ALLOCATION)
            .estimated_items_capacity(estimated_items)
            .weight_capacity(self.capacity_bytes)
            .build()
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
        let map = Cache::with_options(
            options,
            Weigh,
            DefaultHashBuilder::default(),
            DefaultLifecycle::default(),
        );
        // What quick_cache admits: an entry heavier than a shard's hot share is evicted as
        // soon as it is inserted.
        let max_entry_weight = (map.shard_capacity() as f64 * HOT_ALLOCATION) as u64;
        if max_entry_weight <= super::ENTRY_OVERHEAD_BYTES {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "a memory store of {} bytes holds no entry",
                    self.capacity_bytes
                ),
            ));
        }
        let shared = Arc::new(Shared {
            map,
            clock: self.clock,
            capacity_bytes: self.capacity_bytes,
            max_entry_weight,
            default_ttl: self.default_ttl,
            namespaces: Namespaces::new(),
            counts: Counts::default(),
            started: Instant::now(),
        });
        MemoryStore::for_namespace(shared, &self.namespace)
    }
}
