//! The fast embedded backend: one `quick_cache` in the process, no server needed. A hit is a
//! hash lookup under a shard's read lock; nothing on the path awaits, so the async `Store`'s
//! futures are ready at their first poll.
//!
//! Every handle made from one [`MemoryStoreBuilder`] (through [`MemoryStore::with_namespace`]
//! or `clone`) shares one cache, bounded in bytes. Each handle sees only its namespace; two
//! handles on the same namespace see the same data, and a [`clear`](crate::Store::clear) by
//! one is visible at once to the other.
//!
//! # Which embedded backend
//!
//! Both keep every promise of the [`Store`](crate::Store) kits; they differ in what they do
//! with memory:
//!
//! - **`MemoryStore`** (this one) costs what an in-process map should: a write is about 8
//!   times cheaper and a read about 7 times cheaper than moka's on this project's machine
//!   (`benches/README.md`). Eviction is CLOCK-Pro (quick_cache's), and an expired entry is
//!   dropped when it is next read or when eviction needs its room, as memcached does: it never
//!   answers a read, but it holds its bytes (and counts in [`stats`](crate::Store::stats))
//!   until then. [`MemoryStore::purge_expired`] frees them all now.
//! - **[`MokaStore`](crate::moka::MokaStore)** frees expired entries on timers as soon as
//!   they expire and admits new entries by frequency (TinyLFU), at the price of moka's
//!   bookkeeping on every write.
//!
//! # How it works
//!
//! - Entries are stored under `generation ++ key`, where the generation is a number owned by
//!   the namespace. `clear` gives the namespace a fresh generation (so its entries vanish at
//!   once, in O(1)) and then frees the old generation's entries, one shard at a time.
//! - Each entry keeps its absolute deadline, checked against the store's
//!   [`Clock`] on every read of an entry that has one. Re-saving a key always
//!   replaces its deadline.
//! - The capacity is split among shards (fewer for small caches, so that each shard holds at
//!   least 8 MiB when the capacity allows); one entry can take at most 97% of one shard,
//!   [`MemoryStore::max_entry_bytes`], and a larger one is refused with
//!   [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge), never silently dropped.
//!
//! ```
//! use cache_store::{Expiration, Key, Store, memory::MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let users = MemoryStore::builder().namespace("users").build()?;
//! let posts = users.with_namespace("posts")?;
//! let key = Key::new("42")?;
//! users.set(key, "ada".into(), Expiration::Never).await?;
//! posts.set(key, "hello".into(), Expiration::Never).await?;
//!
//! posts.clear().await?;
//! assert_eq!(posts.get(key).await?, None);
//! assert_eq!(users.get(key).await?.as_deref(), Some(&b"ada"[..]));
//! # Ok(())
//! # }
//! ```

mod builder;
mod entry;
mod store;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use builder::{DEFAULT_CAPACITY_BYTES, MemoryStoreBuilder};
use entry::{Stored, Weigh};

use crate::clock::Clock;
use crate::embedded::{Counts, LookupKey, NamespaceSlot, Namespaces};
use crate::error::Result;
use crate::expiry::Deadline;
use crate::key::Key;

/// The cache itself: keys are `generation ++ key`.
type Map = quick_cache::sync::Cache<Box<[u8]>, Stored, Weigh>;

/// A [`Store`](crate::Store) over an in-process `quick_cache`. See the [module docs](self).
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
    slot: Arc<NamespaceSlot>,
}

/// The cache and what every handle on it shares.
struct Shared {
    map: Map,
    clock: Arc<dyn Clock>,
    capacity_bytes: u64,
    /// The heaviest entry a shard admits (quick_cache evicts a heavier one at once).
    max_entry_weight: u64,
    default_ttl: Option<Duration>,
    namespaces: Namespaces,
    counts: Counts,
    started: Instant,
}

impl MemoryStore {
    /// Starts configuring a new cache.
    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder::default()
    }

    /// A handle on the same cache for another namespace. Handles on the same namespace share
    /// data and see each other's `clear` at once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an invalid
    /// namespace (see [`validate_namespace`](crate::validate_namespace)).
    pub fn with_namespace(&self, namespace: &str) -> Result<MemoryStore> {
        MemoryStore::for_namespace(Arc::clone(&self.shared), namespace)
    }

    /// The largest entry (key, value and a fixed overhead of
    /// [`ENTRY_OVERHEAD_BYTES`] bytes) this cache holds: most of one shard.
    pub fn max_entry_bytes(&self) -> u64 {
        self.shared.max_entry_weight
    }

    /// Frees every expired entry of the whole cache now (all namespaces), one shard at a
    /// time. Never needed for correctness: expired entries answer no read and make room when
    /// eviction needs it. Returns how many were freed.
    pub fn purge_expired(&self) -> usize {
        let now = self.shared.clock.now();
        let before = self.shared.map.len();
        self.shared
            .map
            .retain(|_, stored| !stored.deadline.is_expired(now));
        before.saturating_sub(self.shared.map.len())
    }

    fn for_namespace(shared: Arc<Shared>, namespace: &str) -> Result<MemoryStore> {
        let slot = shared.namespaces.slot(namespace)?;
        Ok(MemoryStore { shared, slot })
    }

    fn lookup_key(&self, key: Key<'_>) -> LookupKey {
        self.slot.lookup_key(key)
    }

    /// Whether an entry with this deadline is live now; reads the clock only when needed.
    fn is_live(&self, deadline: Deadline) -> bool {
        match deadline {
            Deadline::Never => true,
            Deadline::At(at) => at > self.shared.clock.now(),
        }
    }
}

/// Bytes counted per entry beyond its key and value: the map's slot, the `Stored` and the
/// key's box.
pub const ENTRY_OVERHEAD_BYTES: u64 = entry::ENTRY_OVERHEAD as u64;

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("namespace", &self.slot.name())
            .field("capacity_bytes", &self.shared.capacity_bytes)
            .field("max_entry_bytes", &self.shared.max_entry_weight)
            .field("default_ttl", &self.shared.default_ttl)
            .field("clock", &self.shared.clock)
            .finish_non_exhaustive()
    }
}
