//! `Pool<S>`: the PSR-6 pool over any `Store`.

mod deferred;
mod lease;
pub(crate) mod stampede;

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::format::{Metadata, ValueFormat};
use async_trait::async_trait;
use bytes::Bytes;
use cache_store::codec::ValueCodec;
use cache_store::{
    Clock, Entry, Error, ErrorKind, Expiration, FailedEntries, Key, OwnedKey, Result, Stats, Store,
};
use foldhash::fast::RandomState;

use crate::item::{CacheItem, ItemClock};
use crate::traits::{CacheItemPool, Compute, PoolValues, items_of, values_of_items};
use deferred::{Items, MAX_FAILED_WRITES, Outcome, Queue, entries_of};
pub use lease::Lease;
pub(crate) use lease::Leases;
use lease::stale_key;
use stampede::Flights;

/// A PSR-6 [`CacheItemPool`] over any [`Store`]: the store's namespace is the pool's, and the
/// pool adds a default lifetime, the deferred queue and stampede protection.
///
/// `Pool<S>` is generic for static dispatch on the hot path; `Pool<Arc<dyn Store>>` takes a
/// store chosen at run time. Clones share the deferred queue and the computations under way.
///
/// # Commits in flight
///
/// A commit writes the queued items without copying them. Until the store confirms the write
/// they stay deferred: readers see them, [`pending`](Pool::pending) counts them, and a
/// `delete_item` or `clear` hides them at once. If the commit's future is dropped, or the
/// write fails for a reason that may mend (a lost connection, a timeout), what is still
/// visible goes back in the queue for the next commit.
///
/// # What a failed commit keeps
///
/// One bad item never blocks a pool. An item the store refuses for itself (a value over its
/// size limit) is dropped, logged, and named in the commit's error, while the batch's other
/// items are written; writing it again would be refused again, as PHP's pools also report
/// and drop it. An item whose write fails transiently stays deferred for at most three failed
/// writes, then is dropped; a batch that fails in a way trying again cannot mend is dropped at
/// once. Either way the commit's error says how many items were dropped. A commit that
/// returns `Ok` has written everything deferred when it started, including what another,
/// concurrent commit was still writing. A delete or clear that overlaps a commit in flight
/// hides the item from this pool at once, but the commit's write may still reach the store
/// after the delete did: the two overlapped, and either order is theirs to have.
///
/// # Dropping a pool with deferred items
///
/// Rust has no async `Drop`, so call [`commit`](CacheItemPool::commit) before letting the last
/// clone go. If deferred items are still queued when it goes, the pool does not drop them
/// silently: inside a tokio runtime it commits them on a spawned task (and logs a warning that
/// `commit` was forgotten); outside one it logs an error naming how many items were lost.
///
/// ```
/// use std::time::Duration;
/// use cache_pool::{CacheItemPool, Pool};
/// use cache_store::moka::MokaStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let store = MokaStore::builder().namespace("app").build()?;
/// let pool = Pool::builder(store).default_lifetime(Duration::from_secs(600)).build();
/// let mut item = pool.get_item("greeting").await?;
/// item.set("hello");
/// pool.save(item).await?;
/// assert!(pool.get_item("greeting").await?.is_hit());
/// # Ok(())
/// # }
/// ```
pub struct Pool<S: Store + 'static> {
    shared: Arc<Shared<S>>,
}

impl<S: Store + 'static> Clone for Pool<S> {
    fn clone(&self) -> Self {
        Pool {
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<S: Store + 'static> {
    store: Arc<S>,
    format: ValueFormat,
    clock: Arc<dyn Clock>,
    item_clock: ItemClock,
    default_lifetime: Option<Duration>,
    queue: Mutex<Queue>,
    /// The queue's length, kept under the queue's lock: reads skip the lock (and a hash) when
    /// nothing is deferred, which is most of the time.
    pending: AtomicUsize,
    flights: Flights,
    /// Leases shared with other processes, if `get` takes them.
    leases: Option<Leases<S>>,
    /// How long a computed value is served stale while it is recomputed.
    stale_window: Option<Duration>,
    /// Tells pools apart in the recursion guard of `get`.
    id: u64,
}

/// Configures a [`Pool`].
#[derive(Debug)]
pub struct PoolBuilder<S: Store + 'static> {
    store: S,
    default_lifetime: Option<Duration>,
    format: ValueFormat,
    lease: Option<Lease>,
    stale_window: Option<Duration>,
}

impl<S: Store + 'static> PoolBuilder<S> {
    /// The lifetime of items saved without an expiration (default: none, so the store's
    /// default applies, which for the built-in stores is "never").
    pub fn default_lifetime(mut self, lifetime: Duration) -> Self {
        self.default_lifetime = Some(lifetime);
        self
    }

    /// How values and their metadata are laid out in the store (default: this crate's
    /// [`envelope`](crate::envelope)).
    pub fn format(mut self, format: ValueFormat) -> Self {
        self.format = format;
        self
    }

    /// Computes a miss of [`get`](crate::CacheItemPoolExt::get) once across every process
    /// sharing the store, under a [`Lease`] (by default, once per process).
    pub fn lease(mut self, lease: Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Keeps a copy of each value [`get`](crate::CacheItemPoolExt::get) computes for
    /// `window` after it expires, and serves it while one caller recomputes the value: with a
    /// [`lease`](Self::lease), one caller across every process; without, one per process. The
    /// others get the stale value at once. Zero switches it off.
    ///
    /// The copy is the entry `k` + `"\0stale"`, read by `get` alone: every other read (PSR-6,
    /// PSR-16, PHP) sees the value expire at its time. This pool's deletes remove the copy
    /// with the value; a value deleted by another writer may still be served stale, for
    /// `window` at most, while `get` recomputes it.
    pub fn stale_while_revalidate(mut self, window: Duration) -> Self {
        self.stale_window = (!window.is_zero()).then_some(window);
        self
    }

    /// The pool.
    pub fn build(self) -> Pool<S> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let clock = self.store.clock();
        let store = Arc::new(self.store);
        Pool {
            shared: Arc::new(Shared {
                leases: self
                    .lease
                    .map(|lease| Leases::new(Arc::clone(&store), lease)),
                stale_window: self.stale_window,
                store,
                format: self.format,
                item_clock: ItemClock::of(&clock),
                clock,
                default_lifetime: self.default_lifetime,
                queue: Mutex::new(Queue::default()),
                pending: AtomicUsize::new(0),
                flights: Flights::default(),
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            }),
        }
    }
}

impl<S: Store + 'static> Pool<S> {
    /// A pool over `store` with no default lifetime.
    pub fn new(store: S) -> Self {
        Pool::builder(store).build()
    }

    /// Starts configuring a pool over `store`.
    pub fn builder(store: S) -> PoolBuilder<S> {
        PoolBuilder {
            store,
            default_lifetime: None,
            format: ValueFormat::default(),
            lease: None,
            stale_window: None,
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.shared.store
    }

    /// How many items are deferred and not yet committed.
    pub fn pending(&self) -> usize {
        self.shared.pending.load(Ordering::Acquire)
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Never held across an await; a panic while holding it leaves the map consistent.
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Changes the queue and keeps the pending count in step.
    fn with_queue<R>(&self, change: impl FnOnce(&mut Queue) -> R) -> R {
        let mut queue = self.queue();
        let result = change(&mut queue);
        self.shared.pending.store(queue.len(), Ordering::Release);
        result
    }

    /// The computations under way in this pool, by key.
    pub(crate) fn flights(&self) -> &Flights {
        &self.shared.flights
    }

    /// Tells this pool apart in the recursion guard of `get`.
    pub(crate) fn id(&self) -> u64 {
        self.shared.id
    }

    /// The leases `get` takes, if it takes any.
    pub(crate) fn leases(&self) -> Option<&Leases<S>> {
        self.shared.leases.as_ref()
    }

    /// How this pool lays out values.
    pub(crate) fn value_format(&self) -> ValueFormat {
        self.shared.format
    }

    /// A miss of `key` as this pool gives them (its clock and codec).
    ///
    /// # Errors
    ///
    /// An invalid key.
    pub(crate) fn item_miss(&self, key: &str) -> Result<CacheItem> {
        Ok(self.miss(OwnedKey::new(key)?))
    }

    fn miss(&self, key: OwnedKey) -> CacheItem {
        CacheItem::miss(
            key,
            self.shared.item_clock.clone(),
            self.shared.format.codec(),
        )
    }

    /// Now, by the pool's clock.
    pub(crate) fn now(&self) -> SystemTime {
        self.shared.clock.now()
    }

    /// The expiration of a value whose computation began at `started` and asked for
    /// `expiration`, as an instant, and the metadata early recomputation reads back (the
    /// expiry and how long the computation took; only for values that expire, as in PHP).
    pub(crate) fn computed_expiration(
        &self,
        expiration: Expiration,
        started: Instant,
    ) -> (Expiration, Option<Metadata>) {
        let expiration = match self.resolve(expiration) {
            Expiration::After(ttl) => self
                .now()
                .checked_add(ttl)
                .map_or(Expiration::Never, Expiration::At),
            other => other,
        };
        let metadata = match expiration {
            Expiration::At(at) => Some(Metadata {
                expiry_ms: at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                ctime_ms: u32::try_from(started.elapsed().as_micros().div_ceil(1000))
                    .unwrap_or(u32::MAX),
            }),
            _ => None,
        };
        (expiration, metadata)
    }

    /// The expiration to queue and write: `Default` becomes the pool's default lifetime if it
    /// has one. Relative lifetimes stay relative, counted from the write to the store (for a
    /// deferred item, its commit; see [`CacheItem::expires`]); no clock is read.
    fn resolve(&self, expiration: Expiration) -> Expiration {
        match expiration {
            Expiration::Default => self
                .shared
                .default_lifetime
                .map_or(Expiration::Default, Expiration::After),
            other => other,
        }
    }

    /// Queues `item`, once the format has checked its value.
    fn enqueue(&self, item: CacheItem) -> Result<()> {
        let (key, value, expiration, metadata) = item.into_parts();
        self.shared.format.check(&value)?;
        let expiration = self.resolve(expiration);
        self.with_queue(|queue| queue.insert(key, value, metadata, expiration));
        Ok(())
    }

    /// The deferred item for `key`: `Some(Some(item))` if queued and live, `Some(None)` if
    /// queued but already expired (a miss that must not fall through to the store), `None` if
    /// not queued.
    fn deferred(&self, key: Key<'_>) -> Option<Option<CacheItem>> {
        if self.pending() == 0 {
            return None;
        }
        self.deferred_in(&self.queue(), key)
    }

    fn deferred_in(&self, queue: &Queue, key: Key<'_>) -> Option<Option<CacheItem>> {
        let pending = queue.get(key.as_str())?;
        if !pending.is_live(self.now()) {
            return Some(None);
        }
        Some(Some(CacheItem::hit(
            key.to_owned_key(),
            pending.value.clone(),
            pending.metadata,
            self.shared.item_clock.clone(),
            self.shared.format.codec(),
        )))
    }

    /// The item for a value read from the store.
    pub(crate) fn item_from_store(&self, key: Key<'_>, found: Result<Option<Bytes>>) -> CacheItem {
        let unreadable = |err: Error| {
            tracing::warn!(key = key.as_str(), error = %err, "stored value cannot be read; treating it as a miss");
            self.miss(key.to_owned_key())
        };
        match found {
            Ok(None) => self.miss(key.to_owned_key()),
            Ok(Some(stored)) => match self.shared.format.decode(stored) {
                Ok((value, metadata)) => CacheItem::hit(
                    key.to_owned_key(),
                    value,
                    metadata,
                    self.shared.item_clock.clone(),
                    self.shared.format.codec(),
                ),
                Err(err) => unreadable(err),
            },
            Err(err) => unreadable(err),
        }
    }

    async fn commit_queue(&self) -> Result<()> {
        let Some(launched) = self.with_queue(Queue::launch) else {
            return Ok(());
        };
        // Lands the flight however this ends: written, failed, or cancelled (dropped).
        let mut landing = Landing {
            pool: self,
            id: launched.id,
            items: Some(launched.items),
            landed: false,
        };
        let written = {
            let format = self.shared.format;
            let entries = landing
                .items
                .as_deref()
                .map(|items| entries_of(items, format))
                .unwrap_or_default();
            match self.shared.store.set_many(&entries).await {
                // What the store refused for single items is reported and not kept: writing
                // it again would be refused again, and would fail every later commit.
                Ok(failed) => Ok(refusals(failed, entries.len(), |index| {
                    entries[index].key.as_str()
                })),
                Err(err) => Err(err),
            }
        };
        match written {
            Ok(refused) => {
                landing.land(Outcome::Written);
                refused
            }
            Err(err) => {
                let retryable = err.is_retryable();
                match landing.land(Outcome::Failed { retryable }) {
                    // Everything stays deferred for the next commit.
                    0 => Err(err),
                    dropped => Err(dropped_after(dropped, err)),
                }
            }
        }
    }
}

/// The error of a commit that failed and dropped `dropped` deferred items for good.
#[cold]
fn dropped_after(dropped: usize, err: Error) -> Error {
    let why = if err.is_retryable() {
        format!("their writes failed {MAX_FAILED_WRITES} times")
    } else {
        "trying again cannot mend the failure".to_owned()
    };
    tracing::warn!(dropped, error = %err, "deferred items dropped: {why}");
    Error::new(
        err.kind(),
        format!("the commit failed and {dropped} deferred items were dropped ({why}): {err}"),
    )
    .with_retryable(false)
    .with_source(err)
}

/// Ends a commit's flight when the commit ends, whichever way: [`Landing::land`] with how
/// the write ended, or, if the commit is dropped first, as cancelled.
struct Landing<'p, S: Store + 'static> {
    pool: &'p Pool<S>,
    id: u64,
    items: Option<Arc<Items>>,
    landed: bool,
}

impl<S: Store + 'static> Landing<'_, S> {
    /// Ends the flight; how many of its items were dropped.
    fn land(&mut self, outcome: Outcome) -> usize {
        // Our reference goes first, so the queue can take the table back whole.
        drop(self.items.take());
        self.landed = true;
        let id = self.id;
        self.pool.with_queue(|queue| queue.land(id, outcome))
    }
}

impl<S: Store + 'static> Drop for Landing<'_, S> {
    fn drop(&mut self) {
        if !self.landed {
            self.land(Outcome::Cancelled);
        }
    }
}

/// The error for the entries of a batch the store refused (each logged), if any.
fn refusals<'a>(
    failed: FailedEntries,
    total: usize,
    key_of: impl Fn(usize) -> &'a str,
) -> Result<()> {
    let count = failed.len();
    let mut first = None;
    for (index, err) in failed {
        let key = key_of(index);
        tracing::warn!(key, error = %err, "item was not saved");
        first.get_or_insert((key, err));
    }
    match first {
        None => Ok(()),
        Some((key, first)) => Err(Error::new(
            first.kind(),
            format!("{count} of {total} items were not saved; the first, {key:?}: {first}"),
        )
        .with_retryable(first.is_retryable())
        .with_source(first)),
    }
}

/// The value of what the store holds for `key`, or a miss (logged) when it cannot be read.
#[inline]
fn readable(format: ValueFormat, key: Key<'_>, stored: Bytes) -> Option<Bytes> {
    format
        .decode_value(stored)
        .map_or_else(|err| unreadable(key, err), Some)
}

/// The miss a stored value that cannot be read counts as, logged. Rare, so kept out of the
/// read loops.
#[cold]
#[inline(never)]
fn unreadable(key: Key<'_>, err: Error) -> Option<Bytes> {
    tracing::warn!(key = key.as_str(), error = %err, "stored value cannot be read; treating it as a miss");
    None
}

fn valid_keys<'a>(keys: &[&'a str]) -> Result<Vec<Key<'a>>> {
    // Sized up front: collecting into a `Result` cannot see the length, and regrows.
    let mut valid = Vec::with_capacity(keys.len());
    for key in keys {
        valid.push(Key::new(key)?);
    }
    Ok(valid)
}

#[async_trait]
impl<S: Store + 'static> CacheItemPool for Pool<S> {
    async fn get_item(&self, key: &str) -> Result<CacheItem> {
        let key = Key::new(key)?;
        if let Some(deferred) = self.deferred(key) {
            return Ok(deferred.unwrap_or_else(|| self.miss(key.to_owned_key())));
        }
        match self.shared.store.get(key).await {
            // Unreadable data is a miss for this key; anything else is the backend failing.
            Err(err) if err.kind() != ErrorKind::Decode => Err(err),
            found => Ok(self.item_from_store(key, found)),
        }
    }

    async fn get_items(&self, keys: &[&str]) -> Result<Vec<CacheItem>> {
        let mut keys = valid_keys(keys)?;
        // Duplicates collapse to their first appearance. A fast keyed hash (foldhash, seeded
        // per process): the keys are the caller's, so the set must not be easy to flood.
        let mut seen = HashSet::with_capacity_and_hasher(keys.len(), RandomState::default());
        keys.retain(|k| seen.insert(k.as_str()));
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if self.pending() == 0 {
            // Nothing deferred: every item comes from the store, built in place.
            let found = self.shared.store.get_many(&keys).await?;
            return Ok(keys
                .iter()
                .zip(found)
                .map(|(&key, found)| self.item_from_store(key, found))
                .collect());
        }
        let mut items: Vec<Option<CacheItem>> = vec![None; keys.len()];
        {
            let queue = self.queue();
            for (slot, &key) in items.iter_mut().zip(&keys) {
                if let Some(deferred) = self.deferred_in(&queue, key) {
                    *slot = Some(deferred.unwrap_or_else(|| self.miss(key.to_owned_key())));
                }
            }
        }
        let to_fetch: Vec<Key<'_>> = keys
            .iter()
            .zip(&items)
            .filter(|(_, item)| item.is_none())
            .map(|(&key, _)| key)
            .collect();
        if !to_fetch.is_empty() {
            let mut found = self.shared.store.get_many(&to_fetch).await?.into_iter();
            for (slot, &key) in items.iter_mut().zip(&keys) {
                if slot.is_none() {
                    let value = found.next().unwrap_or(Ok(None));
                    *slot = Some(self.item_from_store(key, value));
                }
            }
        }
        Ok(items.into_iter().flatten().collect())
    }

    /// A read rather than the store's `contains`: a stored value that cannot be read is a
    /// miss for [`get_item`](CacheItemPool::get_item), so it is no item for `has_item` either
    /// (Symfony asks the backend whether the key exists, and answers `true` for an item that
    /// `getItem` then misses).
    async fn has_item(&self, key: &str) -> Result<bool> {
        Ok(self.get_value(key).await?.is_some())
    }

    async fn clear(&self) -> Result<()> {
        self.with_queue(Queue::clear);
        self.shared.store.clear().await
    }

    async fn delete_item(&self, key: &str) -> Result<()> {
        let key = Key::new(key)?;
        if self.pending() > 0 {
            self.with_queue(|queue| queue.remove(key.as_str()));
        }
        if self.shared.stale_window.is_some() {
            return self.delete_items(&[key.as_str()]).await;
        }
        self.shared.store.delete(key).await
    }

    async fn delete_items(&self, keys: &[&str]) -> Result<()> {
        let keys = valid_keys(keys)?;
        if self.pending() > 0 {
            self.with_queue(|queue| keys.iter().for_each(|k| queue.remove(k.as_str())));
        }
        if self.shared.stale_window.is_some() {
            // The stale copies go with their values, in the same batch.
            let stale: Vec<String> = keys.iter().map(|k| stale_key(k.as_str())).collect();
            let mut all = keys.clone();
            all.extend(valid_keys(
                &stale.iter().map(String::as_str).collect::<Vec<_>>(),
            )?);
            return self.shared.store.delete_many(&all).await;
        }
        self.shared.store.delete_many(&keys).await
    }

    async fn save(&self, item: CacheItem) -> Result<()> {
        if self.pending() == 0 {
            // Nothing deferred to write along with it: write the item straight through.
            let (key, value, expiration, metadata) = item.into_parts();
            self.shared.format.check(&value)?;
            let value = self.shared.format.encode_owned(value, metadata);
            return self
                .shared
                .store
                .set(key.as_key(), value, self.resolve(expiration))
                .await;
        }
        self.enqueue(item)?;
        self.commit_queue().await
    }

    fn save_deferred(&self, item: CacheItem) -> Result<()> {
        self.enqueue(item)
    }

    async fn commit(&self) -> Result<()> {
        self.commit_queue().await
    }

    async fn get_or_compute<'a>(
        &'a self,
        key: &'a str,
        beta: f64,
        compute: Compute<'a>,
    ) -> Result<Bytes> {
        self.stampede_get(key, beta, compute).await
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.clock)
    }
}

#[async_trait]
impl<S: Store + 'static> PoolValues for Pool<S> {
    async fn get_value(&self, key: &str) -> Result<Option<Bytes>> {
        let key = Key::new(key)?;
        if let Some(deferred) = self.deferred(key) {
            return Ok(deferred.and_then(CacheItem::into_value));
        }
        match self.shared.store.get(key).await {
            Ok(None) => Ok(None),
            Ok(Some(stored)) => Ok(readable(self.shared.format, key, stored)),
            // Unreadable data is a miss for this key; anything else is the backend failing.
            Err(err) if err.kind() == ErrorKind::Decode => Ok(unreadable(key, err)),
            Err(err) => Err(err),
        }
    }

    async fn get_values(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        self.values_of(&valid_keys(keys)?).await
    }

    async fn save_values(&self, entries: &[(&str, &Bytes)], expiration: Expiration) -> Result<()> {
        if self.pending() > 0 {
            // Queued items go out in the same batch, and a queued older value of one of these
            // keys must not win: through the queue, as save_deferred and commit would.
            for item in items_of(entries, expiration)? {
                self.enqueue(item)?;
            }
            return self.commit_queue().await;
        }
        let expiration = self.resolve(expiration);
        let mut batch = Vec::with_capacity(entries.len());
        for &(key, value) in entries {
            self.shared.format.check(value)?;
            batch.push(Entry {
                key: Key::new(key)?,
                value: self.shared.format.encode(value, None),
                expiration,
            });
        }
        let failed = self.shared.store.set_many(&batch).await?;
        refusals(failed, batch.len(), |index| entries[index].0)
    }

    async fn stats(&self) -> Result<Option<Stats>> {
        self.shared.store.stats().await.map(Some)
    }

    fn value_codec(&self) -> ValueCodec {
        self.shared.format.codec()
    }
}

/// What sessions and locks need and PSR-6 has no word for. Not part of PSR-6, so not on
/// [`CacheItemPool`]: they go straight to the store, which every backend makes atomic.
impl<S: Store + 'static> Pool<S> {
    /// Saves `item` only if its key holds no live entry, atomically: of many concurrent
    /// `add_item`s of one absent key exactly one returns `true`. A deferred item counts as
    /// present: the queue is committed first when the key is in it.
    ///
    /// # Errors
    ///
    /// A backend failure.
    pub async fn add_item(&self, item: CacheItem) -> Result<bool> {
        self.commit_if_queued(item.key()).await?;
        let (key, value, expiration, metadata) = item.into_parts();
        self.shared.format.check(&value)?;
        let value = self.shared.format.encode_owned(value, metadata);
        self.shared
            .store
            .add(key.as_key(), value, self.resolve(expiration))
            .await
    }

    /// Gives the live entry under `key` a new expiration without rewriting its value, and
    /// says whether there was one. An expiration already reached deletes the entry.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    pub async fn touch_item(&self, key: &str, expiration: Expiration) -> Result<bool> {
        let key = Key::new(key)?;
        self.commit_if_queued(key.as_str()).await?;
        self.shared.store.touch(key, self.resolve(expiration)).await
    }

    /// Deletes the item under `key` only while its value is exactly `value`, atomically, and
    /// says whether it did: the owner-checked release of a lock kept in the pool.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    pub async fn delete_item_if(&self, key: &str, value: Bytes) -> Result<bool> {
        let key = Key::new(key)?;
        self.commit_if_queued(key.as_str()).await?;
        let stored = self.shared.format.encode_owned(value, None);
        self.shared.store.delete_if_equal(key, &stored).await
    }

    /// Gives the item under `key` a new expiration only while its value is exactly `value`,
    /// atomically, and says whether it did: the owner-checked refresh of a lock.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    pub async fn touch_item_if(
        &self,
        key: &str,
        value: Bytes,
        expiration: Expiration,
    ) -> Result<bool> {
        let key = Key::new(key)?;
        self.commit_if_queued(key.as_str()).await?;
        let stored = self.shared.format.encode_owned(value, None);
        self.shared
            .store
            .touch_if_equal(key, &stored, self.resolve(expiration))
            .await
    }
}

impl<S: Store + 'static> Pool<S> {
    /// `get_values` of checked keys.
    async fn values_of(&self, keys: &[Key<'_>]) -> Result<Vec<Option<Bytes>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if self.pending() > 0 {
            // Deferred items must show: through the items, which consult the queue.
            let asked: Vec<&str> = keys.iter().map(Key::as_str).collect();
            let items = self.get_items(&asked).await?;
            return Ok(values_of_items(&asked, items));
        }
        let found = self.shared.store.get_many(keys).await?;
        // As in get_items: a key whose value cannot be read (or whose server failed alone)
        // is a miss for that key, logged.
        Ok(keys
            .iter()
            .zip(found)
            .map(|(&key, found)| match found {
                Ok(None) => None,
                Ok(Some(stored)) => readable(self.shared.format, key, stored),
                Err(err) => unreadable(key, err),
            })
            .collect())
    }

    /// Writes the deferred queue if `key` is in it, so that an operation that goes straight to
    /// the store (add, touch) sees what the pool already shows.
    async fn commit_if_queued(&self, key: &str) -> Result<()> {
        if self.pending() > 0 && self.queue().get(key).is_some() {
            self.commit_queue().await?;
        }
        Ok(())
    }
}

impl<S: Store + 'static> Pool<S> {
    async fn stampede_get(&self, key: &str, beta: f64, compute: Compute<'_>) -> Result<Bytes> {
        let owned = OwnedKey::new(key)?;
        stampede::check_beta(beta)?;
        if stampede::is_computing(self.shared.id, &owned) {
            // A nested get of the key this task is computing: waiting would be waiting for
            // ourselves. Compute directly and do not save (Symfony does the same).
            return Ok(compute(self.miss(owned)).await?.value);
        }
        let (item, stale) = self.read_for_get(key).await?;
        if stampede::answers_as_is(&item, beta, self.now()) {
            return Ok(item.into_value().unwrap_or_default());
        }
        let forced = beta == f64::INFINITY;
        // What callers get while another recomputes: the hit elected early, or the stale copy.
        let at_hand = if item.is_hit() {
            item.value().cloned()
        } else {
            stale
        };
        // A miss is re-read inside the flight: a caller that missed just before another's
        // computation landed must not compute again. A hit being recomputed on purpose is not.
        // Under a lease the re-read happens once the lease is taken, not twice.
        let recheck = !item.is_hit() && (forced || self.shared.leases.is_none());
        let flight = self.shared.flights.join(&owned);
        if let Some(value) = stampede::served_meanwhile(&flight, at_hand.as_ref(), forced) {
            return Ok(value);
        }
        let result = flight
            .get_or_init(|| async {
                if recheck {
                    let again = self.get_item(key).await?;
                    if again.is_hit() {
                        return Ok(again.into_value().unwrap_or_default());
                    }
                }
                match &self.shared.leases {
                    Some(leases) if !forced => {
                        self.compute_leased(leases, owned.clone(), item, at_hand, compute)
                            .await
                    }
                    _ => self.compute_and_save(owned.clone(), item, compute).await,
                }
            })
            .await
            .clone();
        self.shared.flights.leave(&owned, &flight);
        result
    }

    /// The item of `key` for `get`, and its stale copy when the item misses and the pool
    /// keeps copies. The copy is read only after a miss: reading it with every item would
    /// carry a second value over the wire on every hit, to spare a round trip on misses alone.
    async fn read_for_get(&self, key: &str) -> Result<(CacheItem, Option<Bytes>)> {
        let item = self.get_item(key).await?;
        let stale = match self.shared.stale_window {
            Some(_) if !item.is_hit() => self.get_item(&stale_key(key)).await?.into_value(),
            _ => None,
        };
        Ok((item, stale))
    }

    /// Computes `key` under its lease, or waits for the process that holds it: see [`Lease`].
    async fn compute_leased(
        &self,
        leases: &Leases<S>,
        key: OwnedKey,
        item: CacheItem,
        at_hand: Option<Bytes>,
        compute: Compute<'_>,
    ) -> Result<Bytes> {
        let mut waiting = None;
        loop {
            if let Some(lease) = leases.try_take(key.as_str()).await? {
                let recheck = waiting.is_some() || !item.is_hit();
                return leases
                    .holding(lease, async {
                        // Another process may have saved it before this one took the lease.
                        if recheck && at_hand.is_none() {
                            let again = self.get_item(key.as_str()).await?;
                            if again.is_hit() {
                                return Ok(again.into_value().unwrap_or_default());
                            }
                        }
                        self.compute_and_save(key.clone(), item, compute).await
                    })
                    .await;
            }
            // Another process computes it.
            if let Some(value) = at_hand {
                return Ok(value);
            }
            let waiting = waiting.get_or_insert_with(|| leases.waiting());
            if !waiting.pause().await {
                tracing::warn!(
                    key = key.as_str(),
                    "waited for another process's computation as long as the lease allows; computing here too"
                );
                return self.compute_and_save(key, item, compute).await;
            }
            let again = self.get_item(key.as_str()).await?;
            if again.is_hit() {
                return Ok(again.into_value().unwrap_or_default());
            }
        }
    }

    async fn compute_and_save(
        &self,
        key: OwnedKey,
        item: CacheItem,
        compute: Compute<'_>,
    ) -> Result<Bytes> {
        let started = Instant::now();
        let computed = stampede::computing(self.shared.id, &key, compute(item)).await?;
        if !computed.save {
            return Ok(computed.value);
        }
        let (expiration, metadata) = self.computed_expiration(computed.expiration, started);
        if let (Some(window), Expiration::At(at)) = (self.shared.stale_window, expiration) {
            self.save_with_stale_copy(key, &computed.value, at, window, metadata)
                .await?;
            return Ok(computed.value);
        }
        let mut to_save = self.miss(key);
        to_save.set(computed.value.clone());
        to_save.expires(expiration);
        to_save.set_new_metadata(metadata);
        self.save(to_save).await?;
        Ok(computed.value)
    }

    /// Saves a computed value expiring `at`, with its stale copy kept `window` longer, in one
    /// batch.
    async fn save_with_stale_copy(
        &self,
        key: OwnedKey,
        value: &Bytes,
        at: SystemTime,
        window: Duration,
        metadata: Option<Metadata>,
    ) -> Result<()> {
        self.commit_if_queued(key.as_str()).await?;
        self.shared.format.check(value)?;
        let stored = self.shared.format.encode(value, metadata).into_owned();
        let copy_key = stale_key(key.as_str());
        let copy_until = at
            .checked_add(window)
            .map_or(Expiration::Never, Expiration::At);
        let entries = [
            Entry::borrowed(key.as_key(), &stored, Expiration::At(at)),
            Entry::borrowed(Key::new(&copy_key)?, &stored, copy_until),
        ];
        self.shared.store.set_many(&entries).await?.into_result()
    }
}

impl<S: Store + 'static> fmt::Debug for Pool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("store", &self.shared.store)
            .field("default_lifetime", &self.shared.default_lifetime)
            .field("format", &self.shared.format)
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> Drop for Shared<S> {
    fn drop(&mut self) {
        let pending = self
            .queue
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take_all();
        if pending.is_empty() {
            return;
        }
        let count = pending.len();
        let store = Arc::clone(&self.store);
        let format = self.format;
        let commit = async move {
            let entries = entries_of(&pending, format);
            store.set_many(&entries).await?.into_result()
        };
        crate::dropped::commit_in_background("a cache pool", self.store.namespace(), count, commit);
    }
}
