//! Tag invalidation over any pool, with Symfony's `TagAwareAdapter` semantics and layout.

mod values;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::codec::ValueCodec;
use cache_store::{Clock, Key, OwnedKey, Result, Stats, Store};
use foldhash::fast::RandomState;

use crate::item::CacheItem;
use crate::pool::{Leases, Pool, stampede};
use crate::traits::{CacheItemPool, Compute, PoolValues};
use values::{TagValues, Version, unreadable};

/// Invalidation by tag: Symfony's `TagAwareCacheInterface::invalidateTags`.
///
/// ```
/// use cache_pool::{CacheItemPool, TagAware, TagAwarePool};
/// use cache_store::moka::MokaStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool = TagAwarePool::new(MokaStore::builder().build()?);
/// let mut item = pool.get_item("product.42").await?;
/// item.set("Teapot").tag("products")?.tag("vendor.7")?;
/// pool.save(item).await?;
/// assert_eq!(pool.get_item("product.42").await?.tags(), ["products", "vendor.7"]);
///
/// pool.invalidate_tags(&["vendor.7"]).await?;
/// assert!(!pool.get_item("product.42").await?.is_hit());
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait TagAware: Send + Sync {
    /// Drops every item saved with any of `tags`, for every process sharing the store: one
    /// write per tag, whatever the number of items (their entries stay until they expire,
    /// and read as misses). Items deferred and not yet committed are not dropped: they are
    /// committed later, under the new versions (as in Symfony).
    ///
    /// # Errors
    ///
    /// An invalid tag (nothing is invalidated then); a backend failure.
    async fn invalidate_tags(&self, tags: &[&str]) -> Result<()>;
}

#[async_trait]
impl<T: TagAware + ?Sized> TagAware for Arc<T> {
    async fn invalidate_tags(&self, tags: &[&str]) -> Result<()> {
        (**self).invalidate_tags(tags).await
    }
}

/// A PSR-6 pool whose items can be tagged ([`CacheItem::tag`]) and dropped by tag
/// ([`TagAware::invalidate_tags`]), over any store: Symfony's `TagAwareAdapter`.
///
/// # How it works (and what PHP sees)
///
/// Each tag has a **version**, an entry of its own (`<tag>\0tags\0`, no expiry, a random
/// 64-bit int). An item is saved with a companion entry (`\0tags\0<key>`, the item's
/// lifetime) that records the version of each of its tags at the save. A read fetches the
/// item and its companion, and the versions of its tags; an item whose companion is missing,
/// or whose recorded versions are not all current, is a miss. Invalidating a tag deletes its
/// version: one write, and nothing leaks (Laravel's tag sets grow; these entries expire with
/// their items).
///
/// These are the entries Symfony 5.4's `TagAwareAdapter` writes over the same pool: with a
/// Symfony [`ValueFormat`](crate::ValueFormat) on the pool's store, PHP and Rust read each
/// other's tagged items, and a tag invalidated on either side is invalidated on both (the
/// companion and version values are PHP's arrays and ints, in the pool's marshaller). With
/// this crate's own format they are MessagePack.
///
/// # Reads in one round trip
///
/// Symfony fetches versions in a second round trip, and may skip it for 0.15 s by trusting
/// the versions it last saw, so that an invalidation in another process goes unseen for that
/// long. This pool always reads the current versions, and still reads in one round trip: it
/// remembers the tags each key had when last read or saved (up to 16,384 keys), and fetches
/// their versions together with the item and its companion. Only an item whose tags changed
/// since (or a key it has not seen) takes a second round trip.
///
/// # Choices where PHP differs
///
/// - A read never writes: PHP creates a missing version when it reads one; here the next save
///   of an item with that tag does.
/// - `get` (`get_or_compute`) computes a miss once per process (the pool's flights), and once
///   across processes when the pool underneath has a [`Lease`](crate::Lease). A value it
///   computes carries its expiry and how long it took, so that early recomputation (`beta`,
///   XFetch) applies to tagged items as it does in PHP: one caller recomputes a hit elected
///   early while the others are served it.
pub struct TagAwarePool<S: Store + 'static> {
    pool: Pool<S>,
    shared: Arc<Shared<S>>,
}

impl<S: Store + 'static> Clone for TagAwarePool<S> {
    fn clone(&self) -> Self {
        TagAwarePool {
            pool: self.pool.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

struct Shared<S: Store + 'static> {
    /// The pool underneath, for the commit of what is still deferred when the last handle
    /// goes.
    pool: Pool<S>,
    values: TagValues,
    /// Items saved deferred, by key, in the order they were deferred.
    deferred: Mutex<Vec<CacheItem>>,
    /// The tags each key had when last read or saved.
    known_tags: Mutex<HashMap<String, Arc<[String]>>>,
}

/// How many keys' tags a pool remembers (a map this size is cleared, not grown).
const KNOWN_TAGS_LIMIT: usize = 16_384;

/// Symfony's `TagAwareAdapter::TAGS_PREFIX`: a prefix of companions, a suffix of versions.
const TAGS_PREFIX: &str = "\0tags\0";

fn companion_key(key: &str) -> String {
    [TAGS_PREFIX, key].concat()
}

fn version_key(tag: &str) -> String {
    [tag, TAGS_PREFIX].concat()
}

impl<S: Store + 'static> TagAwarePool<S> {
    /// A tag-aware pool over `store`, in this crate's format.
    pub fn new(store: S) -> Self {
        TagAwarePool::over(Pool::new(store))
    }

    /// A tag-aware pool over `pool` (its format, default lifetime and store). The pool should
    /// be this tag-aware pool's alone: its deferred queue is used for the tag entries.
    pub fn over(pool: Pool<S>) -> Self {
        TagAwarePool {
            shared: Arc::new(Shared {
                pool: pool.clone(),
                values: TagValues::of(pool.value_codec()),
                deferred: Mutex::new(Vec::new()),
                known_tags: Mutex::new(HashMap::new()),
            }),
            pool,
        }
    }

    /// The pool underneath.
    pub fn pool(&self) -> &Pool<S> {
        &self.pool
    }

    fn deferred(&self) -> MutexGuard<'_, Vec<CacheItem>> {
        // Never held across an await; a panic while holding it leaves the vector whole.
        self.shared
            .deferred
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn known_tags(&self) -> MutexGuard<'_, HashMap<String, Arc<[String]>>> {
        self.shared
            .known_tags
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, key: &str, tags: &[String]) {
        let mut known = self.known_tags();
        if known.len() >= KNOWN_TAGS_LIMIT && !known.contains_key(key) {
            known.clear();
        }
        if known.get(key).is_none_or(|was| **was != *tags) {
            known.insert(key.to_owned(), tags.into());
        }
    }

    /// The items of `keys` (validated, unique), checked against their tags' versions.
    async fn read(&self, keys: &[&str]) -> Result<Vec<CacheItem>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let companions: Vec<String> = keys.iter().map(|k| companion_key(k)).collect();
        // The versions of the tags these keys had last time, read along.
        let known: Vec<Arc<[String]>> = {
            let known = self.known_tags();
            keys.iter()
                .filter_map(|key| known.get(*key).cloned())
                .collect()
        };
        let mut guessed: Vec<&str> = Vec::new();
        for tag in known.iter().flat_map(|tags| tags.iter()) {
            if !guessed.contains(&tag.as_str()) {
                guessed.push(tag);
            }
        }
        let guessed_keys: Vec<String> = guessed.iter().map(|t| version_key(t)).collect();
        // One read of everything, each name once (a key may look like another's entry), and
        // the answers by position: the pool answers in the order asked.
        let mut asked: Vec<&str> = Vec::with_capacity(keys.len() * 2 + guessed.len());
        let mut position: HashMap<&str, usize, RandomState> =
            HashMap::with_capacity_and_hasher(asked.capacity(), RandomState::default());
        for name in keys
            .iter()
            .copied()
            .chain(companions.iter().map(String::as_str))
            .chain(guessed_keys.iter().map(String::as_str))
        {
            position.entry(name).or_insert_with(|| {
                asked.push(name);
                asked.len() - 1
            });
        }
        let (mut found, entries) = self.fetch(&asked, keys.len()).await?;
        let at = |name: &str| position.get(name).copied();
        let entry = |name: &str| at(name).and_then(|i| entries.get(i)?.as_ref());

        // Each hit's recorded tags; a hit without its companion is a miss.
        let mut recorded: Vec<Option<Vec<(String, Version)>>> = Vec::with_capacity(keys.len());
        for (key, companion) in keys.iter().zip(&companions) {
            let hit = at(key)
                .and_then(|i| found.get(i)?.as_ref())
                .is_some_and(CacheItem::is_hit);
            let tags = match entry(companion) {
                Some(value) if hit => {
                    let tags = self.shared.values.read_tags(value);
                    if tags.is_none() {
                        tracing::warn!(key = *key, error = %unreadable("its tags' entry"), "treating the item as a miss");
                    }
                    tags
                }
                _ => None,
            };
            recorded.push(tags);
        }

        // The current versions: those read along, and the others now.
        let mut current: HashMap<String, Option<Version>, RandomState> =
            HashMap::with_hasher(RandomState::default());
        for (tag, key) in guessed.iter().zip(&guessed_keys) {
            let version = entry(key).and_then(|value| self.shared.values.read_version(value));
            current.insert((*tag).to_owned(), version);
        }
        let mut missing: Vec<String> = Vec::new();
        for (tag, _) in recorded.iter().flatten().flatten() {
            let key = version_key(tag);
            if !current.contains_key(tag.as_str()) && !missing.contains(&key) {
                missing.push(key);
            }
        }
        if !missing.is_empty() {
            current.extend(self.versions_of(&missing).await?);
        }

        let mut items = Vec::with_capacity(keys.len());
        for (key, tags) in keys.iter().zip(recorded) {
            let item = match at(key).and_then(|i| found.get_mut(i)?.take()) {
                Some(item) => item,
                None => self.pool.item_miss(key)?,
            };
            let Some(tags) = tags else {
                items.push(if item.is_hit() {
                    self.pool.item_miss(key)?
                } else {
                    item
                });
                continue;
            };
            let valid = tags.iter().all(|(tag, version)| {
                current
                    .get(tag.as_str())
                    .is_some_and(|now| now.as_ref() == Some(version))
            });
            let names: Vec<String> = tags.into_iter().map(|(tag, _)| tag).collect();
            self.remember(key, &names);
            if valid {
                let mut item = item;
                item.set_saved_tags(names);
                items.push(item);
            } else {
                items.push(self.pool.item_miss(key)?);
            }
        }
        Ok(items)
    }

    /// The answers to `asked` (unique names): the first `items` as the pool's items, the
    /// rest (tags' entries) as their values alone, by position. Straight from the store when
    /// nothing is deferred in the pool underneath (no item built for an entry), through it
    /// otherwise.
    async fn fetch(
        &self,
        asked: &[&str],
        items: usize,
    ) -> Result<(Vec<Option<CacheItem>>, Vec<Option<Bytes>>)> {
        if self.pool.pending() > 0 {
            let mut found = self.pool.get_items(asked).await?.into_iter();
            let items: Vec<Option<CacheItem>> = found.by_ref().take(items).map(Some).collect();
            let mut entries: Vec<Option<Bytes>> = (0..items.len()).map(|_| None).collect();
            entries.extend(found.map(|item| {
                if item.is_hit() {
                    item.into_value()
                } else {
                    None
                }
            }));
            return Ok((items, entries));
        }
        let keys = asked
            .iter()
            .map(|name| Key::new(name))
            .collect::<Result<Vec<_>>>()?;
        let answers = self.pool.store().get_many(&keys).await?;
        let format = self.pool.value_format();
        let mut found = Vec::with_capacity(items);
        let mut entries = Vec::with_capacity(asked.len());
        for (index, (key, answer)) in keys.into_iter().zip(answers).enumerate() {
            if index < items {
                found.push(Some(self.pool.item_from_store(key, answer)));
                entries.push(None);
            } else {
                // An entry that cannot be read counts as absent (its item is then a miss).
                entries.push(match answer {
                    Ok(Some(stored)) => format.decode(stored).ok().map(|(value, _)| value),
                    _ => None,
                });
            }
        }
        Ok((found, entries))
    }

    /// The current version of each tag of `keys` (its version entries' keys), `None` for a
    /// tag without one.
    async fn versions_of(&self, keys: &[String]) -> Result<Vec<(String, Option<Version>)>> {
        let asked: Vec<&str> = keys.iter().map(String::as_str).collect();
        Ok(self
            .pool
            .get_items(&asked)
            .await?
            .into_iter()
            .map(|item| {
                let tag = item.key().strip_suffix(TAGS_PREFIX).unwrap_or(item.key());
                (tag.to_owned(), self.version_in(Some(&item)))
            })
            .collect())
    }

    fn version_in(&self, item: Option<&CacheItem>) -> Option<Version> {
        let item = item.filter(|item| item.is_hit())?;
        self.shared
            .values
            .read_version(item.value().map_or(&[][..], |v| &v[..]))
    }

    /// Writes `items` with their companions, creating the versions of their tags that do not
    /// exist yet: one read of the versions, one batch of writes.
    async fn write(&self, items: Vec<CacheItem>) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut tags: Vec<&str> = Vec::new();
        for item in &items {
            for tag in item.new_tags() {
                if !tags.contains(&tag.as_str()) {
                    tags.push(tag);
                }
            }
        }
        let mut versions: HashMap<String, Version> = HashMap::with_capacity(tags.len());
        if !tags.is_empty() {
            let keys: Vec<String> = tags.iter().map(|t| version_key(t)).collect();
            let mut created = None;
            for (tag, version) in self.versions_of(&keys).await? {
                let version = match version {
                    Some(version) => version,
                    None => {
                        // One new version for every tag created in this commit (as in PHP).
                        let n = *created.get_or_insert_with(|| fastrand::i64(..));
                        let mut new = CacheItem::new(&version_key(&tag))?;
                        new.set(self.shared.values.version(n)?).never_expires();
                        self.pool.save_deferred(new)?;
                        Version::Int(n)
                    }
                };
                versions.insert(tag, version);
            }
        }
        let mut remembered = Vec::with_capacity(items.len());
        for item in items {
            let tagged: Vec<(&str, &Version)> = item
                .new_tags()
                .iter()
                .filter_map(|tag| versions.get(tag).map(|v| (tag.as_str(), v)))
                .collect();
            let mut companion = CacheItem::new(&companion_key(item.key()))?;
            companion
                .set(self.shared.values.tags(&tagged)?)
                .expires(item.expiration());
            remembered.push((item.key().to_owned(), item.new_tags().to_vec()));
            self.pool.save_deferred(item)?;
            self.pool.save_deferred(companion)?;
        }
        self.pool.commit().await?;
        for (key, tags) in remembered {
            self.remember(&key, &tags);
        }
        Ok(())
    }

    /// Runs `compute` on a miss of `key` and saves what it gives, with its tags.
    async fn compute_and_save(&self, key: &OwnedKey, compute: Compute<'_>) -> Result<Bytes> {
        let miss = self.pool.item_miss(key.as_str())?;
        let started = Instant::now();
        let computed = stampede::computing(self.pool.id(), key, compute(miss)).await?;
        if computed.save {
            let (expiration, metadata) =
                self.pool.computed_expiration(computed.expiration, started);
            let mut item = self.pool.item_miss(key.as_str())?;
            item.set(computed.value.clone()).expires(expiration);
            item.set_new_metadata(metadata);
            for tag in &computed.tags {
                item.tag(tag)?;
            }
            self.save(item).await?;
        }
        Ok(computed.value)
    }

    /// Computes `key` under its lease, or waits for the process that holds it (see
    /// [`Lease`](crate::Lease)); a hit elected for early recomputation (`at_hand`) is served
    /// instead of waiting.
    async fn compute_leased(
        &self,
        leases: &Leases<S>,
        key: &OwnedKey,
        at_hand: Option<Bytes>,
        compute: Compute<'_>,
    ) -> Result<Bytes> {
        let mut waiting = None;
        loop {
            if let Some(lease) = leases.try_take(key.as_str()).await? {
                return leases
                    .holding(lease, async {
                        // Another process may have saved a miss before this one took the lease.
                        if at_hand.is_none() {
                            let again = self.get_item(key.as_str()).await?;
                            if again.is_hit() {
                                return Ok(again.into_value().unwrap_or_default());
                            }
                        }
                        self.compute_and_save(key, compute).await
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
                return self.compute_and_save(key, compute).await;
            }
            let again = self.get_item(key.as_str()).await?;
            if again.is_hit() {
                return Ok(again.into_value().unwrap_or_default());
            }
        }
    }

    /// Commits first if any of `keys` is deferred (as Symfony does before a read).
    async fn commit_if_deferred(&self, keys: &[&str]) -> Result<()> {
        let queued = {
            let deferred = self.deferred();
            !deferred.is_empty() && deferred.iter().any(|item| keys.contains(&item.key()))
        };
        if queued {
            self.commit().await?;
        }
        Ok(())
    }
}

#[async_trait]
impl<S: Store + 'static> TagAware for TagAwarePool<S> {
    async fn invalidate_tags(&self, tags: &[&str]) -> Result<()> {
        if tags.is_empty() {
            return Ok(());
        }
        for tag in tags {
            cache_store::validate_key(tag)?;
        }
        let keys: Vec<String> = tags.iter().map(|t| version_key(t)).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.pool.delete_items(&keys).await
    }
}

#[async_trait]
impl<S: Store + 'static> CacheItemPool for TagAwarePool<S> {
    async fn get_item(&self, key: &str) -> Result<CacheItem> {
        cache_store::validate_key(key)?;
        self.commit_if_deferred(&[key]).await?;
        match self.read(&[key]).await?.pop() {
            Some(item) => Ok(item),
            None => self.pool.item_miss(key),
        }
    }

    async fn get_items(&self, keys: &[&str]) -> Result<Vec<CacheItem>> {
        let mut unique: Vec<&str> = Vec::with_capacity(keys.len());
        for key in keys {
            cache_store::validate_key(key)?;
            if !unique.contains(key) {
                unique.push(key);
            }
        }
        self.commit_if_deferred(&unique).await?;
        self.read(&unique).await
    }

    async fn has_item(&self, key: &str) -> Result<bool> {
        Ok(self.get_item(key).await?.is_hit())
    }

    async fn clear(&self) -> Result<()> {
        self.deferred().clear();
        self.known_tags().clear();
        self.pool.clear().await
    }

    async fn delete_item(&self, key: &str) -> Result<()> {
        self.delete_items(&[key]).await
    }

    async fn delete_items(&self, keys: &[&str]) -> Result<()> {
        for key in keys {
            cache_store::validate_key(key)?;
        }
        self.deferred().retain(|item| !keys.contains(&item.key()));
        let companions: Vec<String> = keys.iter().map(|k| companion_key(k)).collect();
        let mut all: Vec<&str> = keys.to_vec();
        all.extend(companions.iter().map(String::as_str));
        self.pool.delete_items(&all).await
    }

    async fn save(&self, item: CacheItem) -> Result<()> {
        self.save_deferred(item)?;
        self.commit().await
    }

    fn save_deferred(&self, item: CacheItem) -> Result<()> {
        let mut deferred = self.deferred();
        deferred.retain(|queued| queued.key() != item.key());
        deferred.push(item);
        Ok(())
    }

    async fn commit(&self) -> Result<()> {
        let items = std::mem::take(&mut *self.deferred());
        self.write(items).await
    }

    async fn get_or_compute<'a>(
        &'a self,
        key: &'a str,
        beta: f64,
        compute: Compute<'a>,
    ) -> Result<Bytes> {
        stampede::check_beta(beta)?;
        let owned = OwnedKey::new(key)?;
        if stampede::is_computing(self.pool.id(), &owned) {
            // A nested get of the key this task is computing: compute, do not save.
            return Ok(compute(self.pool.item_miss(key)?).await?.value);
        }
        let item = self.get_item(key).await?;
        if stampede::answers_as_is(&item, beta, self.pool.now()) {
            return Ok(item.into_value().unwrap_or_default());
        }
        let forced = beta == f64::INFINITY;
        // A hit elected for early recomputation is what other callers get meanwhile.
        let at_hand = if item.is_hit() {
            item.into_value()
        } else {
            None
        };
        let flight = self.pool.flights().join(&owned);
        if let Some(value) = stampede::served_meanwhile(&flight, at_hand.as_ref(), forced) {
            return Ok(value);
        }
        // One computation per key in this process (the pool's flights), and across processes
        // under the pool's lease when it has one.
        let result = flight
            .get_or_init(|| async {
                // A miss is re-read inside the flight, unless a lease will re-read it once taken.
                if at_hand.is_none() && !forced && self.pool.leases().is_none() {
                    let again = self.get_item(key).await?;
                    if again.is_hit() {
                        return Ok(again.into_value().unwrap_or_default());
                    }
                }
                match self.pool.leases() {
                    Some(leases) if !forced => {
                        self.compute_leased(leases, &owned, at_hand.clone(), compute)
                            .await
                    }
                    _ => self.compute_and_save(&owned, compute).await,
                }
            })
            .await
            .clone();
        self.pool.flights().leave(&owned, &flight);
        result
    }

    fn clock(&self) -> Arc<dyn Clock> {
        CacheItemPool::clock(&self.pool)
    }
}

#[async_trait]
impl<S: Store + 'static> PoolValues for TagAwarePool<S> {
    async fn stats(&self) -> Result<Option<Stats>> {
        PoolValues::stats(&self.pool).await
    }

    fn value_codec(&self) -> ValueCodec {
        self.pool.value_codec()
    }
}

impl<S: Store + 'static> Drop for Shared<S> {
    /// Deferred items still queued when the last handle goes are committed on a spawned task
    /// (with a warning that `commit` was forgotten), as a [`Pool`] does; outside a tokio
    /// runtime nothing can be awaited, and an error names how many were lost.
    fn drop(&mut self) {
        let deferred = std::mem::take(
            self.deferred
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if deferred.is_empty() {
            return;
        }
        let count = deferred.len();
        let committer = TagAwarePool::over(self.pool.clone());
        let commit = async move { committer.write(deferred).await };
        crate::dropped::commit_in_background(
            "a tag-aware pool",
            self.pool.store().namespace(),
            count,
            commit,
        );
    }
}

impl<S: Store + 'static> fmt::Debug for TagAwarePool<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagAwarePool")
            .field("pool", &self.pool)
            .field("deferred", &self.deferred().len())
            .finish_non_exhaustive()
    }
}
