//! The embedded backend: one `moka::sync::Cache` in the process, no server needed. Nothing
//! on its path awaits (a lookup is a hash-map read and moka's bookkeeping), so the async
//! `Store` calls it directly: its futures are ready at their first poll.
//!
//! Every handle made from one [`MokaStoreBuilder`] (through [`MokaStore::with_namespace`] or
//! `clone`) shares one cache, bounded in bytes. Each handle sees only its namespace; two
//! handles on the same namespace see the same data, and a [`clear`](crate::Store::clear) by one
//! is visible at once to the other.
//!
//! # How it works
//!
//! - Entries are stored under `generation ++ key`, where the generation is a number owned by
//!   the namespace. `clear` gives the namespace a fresh generation (so the old entries vanish
//!   at once, in O(1)) and asks moka to drop the old generation's entries in the background.
//! - Each entry keeps its absolute deadline. With the wall clock, moka's per-entry expiry
//!   enforces it (moka checks it on every read and frees expired entries); with any other
//!   [`crate::Clock`], such as a [`crate::ManualClock`], moka's timers are
//!   off and every read checks the deadline against that clock. Re-saving a key always
//!   replaces its deadline.
//! - Lookups build the internal key on the stack for keys up to 120 bytes: a hit allocates
//!   nothing but the boxed future of the async trait.
//!
//! ```
//! use cache_store::{Expiration, Key, Store, moka::MokaStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let users = MokaStore::builder().namespace("users").build()?;
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

use ::moka::sync::Cache;

pub use builder::{DEFAULT_CAPACITY_BYTES, MokaStoreBuilder};
use entry::Stored;

use crate::clock::Clock;
use crate::embedded::{Counts, LookupKey, NamespaceSlot, Namespaces};
use crate::error::Result;
use crate::expiry::Deadline;
use crate::key::Key;

/// A [`Store`](crate::Store) over an in-process `moka::sync::Cache`. See the
/// [module docs](self).
#[derive(Clone)]
pub struct MokaStore {
    shared: Arc<Shared>,
    slot: Arc<NamespaceSlot>,
}

/// The cache and what every handle on it shares.
struct Shared {
    cache: Cache<Box<[u8]>, Stored>,
    clock: Arc<dyn Clock>,
    /// The clock is the wall clock, so moka's per-entry timers enforce every deadline (its
    /// read path checks them), and reads need not consult the clock again.
    wall_clock: bool,
    capacity_bytes: u64,
    default_ttl: Option<Duration>,
    namespaces: Namespaces,
    counts: Counts,
    started: Instant,
}

impl MokaStore {
    /// Starts configuring a new cache.
    pub fn builder() -> MokaStoreBuilder {
        MokaStoreBuilder::default()
    }

    /// A handle on the same cache for another namespace. Handles on the same namespace share
    /// data and see each other's `clear` at once.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an invalid
    /// namespace (see [`validate_namespace`](crate::validate_namespace)).
    pub fn with_namespace(&self, namespace: &str) -> Result<MokaStore> {
        MokaStore::for_namespace(Arc::clone(&self.shared), namespace)
    }

    /// Runs moka's pending maintenance (evictions, removal of cleared namespaces) now, so
    /// that [`stats`](crate::Store::stats) counts are exact. Never needed for correctness.
    pub async fn run_pending_tasks(&self) {
        self.shared.cache.run_pending_tasks();
    }

    fn for_namespace(shared: Arc<Shared>, namespace: &str) -> Result<MokaStore> {
        let slot = shared.namespaces.slot(namespace)?;
        Ok(MokaStore { shared, slot })
    }

    fn lookup_key(&self, key: Key<'_>) -> LookupKey {
        self.slot.lookup_key(key)
    }

    fn owned_key(&self, key: Key<'_>) -> Box<[u8]> {
        self.lookup_key(key).into_boxed()
    }

    /// Whether an entry with this deadline is live now; reads the clock only when needed.
    fn is_live(&self, deadline: Deadline) -> bool {
        match deadline {
            Deadline::Never => true,
            Deadline::At(at) => at > self.shared.clock.now(),
        }
    }

    /// [`is_live`](Self::is_live) for an entry moka's `get` just returned. With the wall clock
    /// moka has already checked the deadline on its own monotonic clock, so this saves a
    /// clock read per hit; with any other clock, expiry is ours alone to check.
    fn is_live_after_get(&self, deadline: Deadline) -> bool {
        self.shared.wall_clock || self.is_live(deadline)
    }
}

impl fmt::Debug for MokaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MokaStore")
            .field("namespace", &self.slot.name())
            .field("capacity_bytes", &self.shared.capacity_bytes)
            .field("default_ttl", &self.shared.default_ttl)
            .field("clock", &self.shared.clock)
            .finish_non_exhaustive()
    }
}
