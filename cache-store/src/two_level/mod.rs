//! A two-level store: a fast first level (typically [`MemoryStore`](crate::memory::MemoryStore)
//! or [`MokaStore`](crate::moka::MokaStore)) in front of a shared second level (Redis,
//! memcached), kept coherent with what other processes write.
//!
//! - Reads go to the first level, then to the second for what it lacks, in one batch; what
//!   the second level has is copied into the first (**promoted**) for at most the first
//!   level's lifetime, and never past the value's own end where the second level tells it
//!   (memory, Redis).
//! - Writes and deletes go to the second level, then to the first.
//! - **Coherence across processes.** With [`TwoLevelBuilder::invalidations`] (on Redis,
//!   [`RedisStore::watch`](crate::redis::RedisStore::watch): the server pushes every key any
//!   client changes), a copy is dropped as soon as the server says its key changed: another
//!   process's write is served stale only for the time the message takes to arrive. While
//!   the watch is down, the first level is not used at all (reads go to the second), and it
//!   is emptied when the watch is back. Without a watch (memcached), a copy is served for at
//!   most the first level's lifetime after another process changed the key: that is the
//!   bound, so choose it as the staleness you accept.
//!
//! The first level should be this store's alone (its namespace is emptied when the watch is
//! lost).
//!
//! ```
//! use std::time::Duration;
//! use cache_store::memory::MemoryStore;
//! use cache_store::two_level::TwoLevel;
//! use cache_store::{Expiration, Key, Store};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! // In production the second level is shared (Redis, memcached); here, another memory store.
//! let shared = MemoryStore::builder().namespace("app").build()?;
//! let store = TwoLevel::builder(MemoryStore::builder().build()?, shared.clone())
//!     .first_level_lifetime(Duration::from_secs(5))
//!     .build();
//! let key = Key::new("user.42")?;
//! shared.set(key, "ada".into(), Expiration::Never).await?;
//! assert_eq!(store.get(key).await?.as_deref(), Some(&b"ada"[..])); // read through, promoted
//! assert_eq!(store.first().get(key).await?.as_deref(), Some(&b"ada"[..]));
//! # Ok(())
//! # }
//! ```

mod epochs;
mod store;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
#[cfg(feature = "redis")]
use std::sync::Weak;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::key::Key;
use crate::store::Store;
use epochs::Epochs;

#[cfg(feature = "redis")]
use crate::redis::Invalidation;

/// The first level's lifetime when none is configured.
pub const DEFAULT_FIRST_LEVEL_LIFETIME: Duration = Duration::from_secs(30);

/// A first level in front of a second. See the [module docs](self).
pub struct TwoLevel<L1: Store + 'static, L2: Store + 'static> {
    shared: Arc<Shared<L1, L2>>,
}

impl<L1: Store + 'static, L2: Store + 'static> Clone for TwoLevel<L1, L2> {
    fn clone(&self) -> Self {
        TwoLevel {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<L1, L2> {
    first: L1,
    second: L2,
    lifetime: Duration,
    /// Whether the first level may be used: always without a watch; with one, while it is up.
    usable: AtomicBool,
    /// Moved by every change that may make a copy stale (an invalidation, a write through
    /// this store): a promotion that saw its key's move drops what it copied.
    epochs: Epochs,
    /// Invalidation messages handled.
    seen: AtomicU64,
}

/// Configures a [`TwoLevel`] store.
#[derive(Debug)]
pub struct TwoLevelBuilder<L1: Store + 'static, L2: Store + 'static> {
    first: L1,
    second: L2,
    lifetime: Duration,
    #[cfg(feature = "redis")]
    invalidations: Option<tokio::sync::mpsc::UnboundedReceiver<Invalidation>>,
}

impl<L1: Store + 'static, L2: Store + 'static> TwoLevel<L1, L2> {
    /// Starts configuring `first` in front of `second`.
    pub fn builder(first: L1, second: L2) -> TwoLevelBuilder<L1, L2> {
        TwoLevelBuilder {
            first,
            second,
            lifetime: DEFAULT_FIRST_LEVEL_LIFETIME,
            #[cfg(feature = "redis")]
            invalidations: None,
        }
    }

    /// The first level.
    pub fn first(&self) -> &L1 {
        &self.shared.first
    }

    /// The second level.
    pub fn second(&self) -> &L2 {
        &self.shared.second
    }

    /// How many invalidation messages this store has handled (each drops copies).
    pub fn invalidations_seen(&self) -> u64 {
        self.shared.seen.load(Ordering::Acquire)
    }

    /// Whether reads use the first level now (always without a watch; while it is up with
    /// one).
    pub fn first_level_in_use(&self) -> bool {
        self.shared.usable.load(Ordering::Acquire)
    }
}

impl<L1: Store + 'static, L2: Store + 'static> TwoLevelBuilder<L1, L2> {
    /// How long a promoted copy lives in the first level at most (default 30 s; at least
    /// 1 ms): without a watch, the longest another process's change goes unseen.
    pub fn first_level_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime.max(Duration::from_millis(1));
        self
    }

    /// Drops copies as the second level's server reports changes (from
    /// [`RedisStore::watch`](crate::redis::RedisStore::watch)). The first level is not used
    /// until the watch says it is up. Needs a tokio runtime (a task handles the messages).
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn invalidations(
        mut self,
        invalidations: tokio::sync::mpsc::UnboundedReceiver<Invalidation>,
    ) -> Self {
        self.invalidations = Some(invalidations);
        self
    }

    /// The store.
    pub fn build(self) -> TwoLevel<L1, L2> {
        #[cfg(feature = "redis")]
        let watched = self.invalidations.is_some();
        #[cfg(not(feature = "redis"))]
        let watched = false;
        let shared = Arc::new(Shared {
            first: self.first,
            second: self.second,
            lifetime: self.lifetime,
            usable: AtomicBool::new(!watched),
            epochs: Epochs::new(),
            seen: AtomicU64::new(0),
        });
        #[cfg(feature = "redis")]
        if let Some(invalidations) = self.invalidations {
            tokio::spawn(follow(Arc::downgrade(&shared), invalidations));
        }
        TwoLevel { shared }
    }
}

impl<L1: Store, L2: Store> Shared<L1, L2> {
    fn usable(&self) -> bool {
        self.usable.load(Ordering::Acquire)
    }

    /// Drops the copies of `keys` after a change made elsewhere or here (promotions of them
    /// under way drop what they copy).
    async fn drop_copies(&self, keys: &[Key<'_>]) {
        self.epochs.bump(keys);
        if let Err(err) = self.first.delete_many(keys).await {
            self.lose_first_level(&err).await;
        }
    }

    /// The first level failed to drop copies: it cannot be trusted until emptied.
    async fn lose_first_level(&self, err: &crate::Error) {
        tracing::warn!(error = %err, "the first level failed to drop a copy; emptying it");
        if let Err(err) = self.first.clear().await {
            tracing::error!(error = %err, "the first level cannot be emptied; it is no longer used");
            self.usable.store(false, Ordering::Release);
        }
    }
}

/// Handles the watch's messages while the store lives.
#[cfg(feature = "redis")]
async fn follow<L1: Store + 'static, L2: Store + 'static>(
    shared: Weak<Shared<L1, L2>>,
    mut invalidations: tokio::sync::mpsc::UnboundedReceiver<Invalidation>,
) {
    while let Some(message) = invalidations.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match message {
            Invalidation::Keys(keys) => {
                let keys: Vec<Key<'_>> = keys.iter().map(|k| k.as_key()).collect();
                shared.drop_copies(&keys).await;
            }
            Invalidation::All | Invalidation::Resumed => {
                shared.epochs.bump_all();
                match shared.first.clear().await {
                    Ok(()) => shared.usable.store(true, Ordering::Release),
                    Err(err) => shared.lose_first_level(&err).await,
                }
            }
            Invalidation::Lost => {
                shared.usable.store(false, Ordering::Release);
                shared.epochs.bump_all();
            }
        }
        shared.seen.fetch_add(1, Ordering::AcqRel);
    }
}

impl<L1: Store + 'static, L2: Store + 'static> fmt::Debug for TwoLevel<L1, L2> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoLevel")
            .field("first", &self.shared.first)
            .field("second", &self.shared.second)
            .field("first_level_lifetime", &self.shared.lifetime)
            .field("first_level_in_use", &self.first_level_in_use())
            .finish()
    }
}
