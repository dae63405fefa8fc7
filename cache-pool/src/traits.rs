//! The PSR-6 contract: `CacheItemPool`, and the stampede-safe `get` on top of it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::codec::ValueCodec;
use cache_store::{Clock, Expiration, Result, Stats, SystemClock};

use crate::item::CacheItem;

/// A boxed, `Send` future, as the object-safe methods take and return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The computation behind a stampede-safe get, boxed so that
/// [`CacheItemPool::get_or_compute`] stays object safe. It receives the item looked up (a
/// miss, or the hit being recomputed early) and returns what to return and save.
/// [`CacheItemPoolExt::get`] builds it from a closure.
pub type Compute<'a> = Box<dyn FnOnce(CacheItem) -> BoxFuture<'a, Result<Computed>> + Send + 'a>;

/// What a computation produced: the value, its expiration, and whether to save it.
///
/// ```
/// use std::time::Duration;
/// use cache_pool::Computed;
///
/// let fresh = Computed::new("report").expires_after(Duration::from_secs(300));
/// let once = Computed::new("volatile").dont_save(); // returned, never cached
/// # let _ = (fresh, once);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Computed {
    pub(crate) value: Bytes,
    pub(crate) expiration: Expiration,
    pub(crate) save: bool,
    pub(crate) tags: Vec<String>,
}

impl Computed {
    /// A value to return and save with the pool's default lifetime.
    pub fn new(value: impl Into<Bytes>) -> Self {
        Computed {
            value: value.into(),
            expiration: Expiration::Default,
            save: true,
            tags: Vec::new(),
        }
    }

    /// Saves it tagged with `tag` (on a [`TagAwarePool`](crate::TagAwarePool); other pools
    /// ignore tags). An invalid tag fails the `get`.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Saves it to expire `ttl` after the computation ends.
    pub fn expires_after(mut self, ttl: Duration) -> Self {
        self.expiration = Expiration::After(ttl);
        self
    }

    /// Saves it to expire at `when`.
    pub fn expires_at(mut self, when: SystemTime) -> Self {
        self.expiration = Expiration::At(when);
        self
    }

    /// Saves it with no expiry, whatever the pool's default lifetime.
    pub fn never_expires(mut self) -> Self {
        self.expiration = Expiration::Never;
        self
    }

    /// Returns the value without saving it (Symfony's `$save = false`).
    pub fn dont_save(mut self) -> Self {
        self.save = false;
        self
    }
}

/// A PSR-6 cache item pool, async and object safe (`Arc<dyn CacheItemPool>` works).
///
/// Keys follow PSR-6: every method validates every key it is given before any I/O and
/// answers an invalid one with [`ErrorKind::InvalidKey`](cache_store::ErrorKind::InvalidKey).
/// Where PHP returns `false` for a backend failure, these methods return the `Err`; where it
/// returns `true`, `Ok`.
///
/// # Deferred saves
///
/// [`save_deferred`](Self::save_deferred) queues a snapshot of the item. Until
/// [`commit`](Self::commit), the queued item is what [`get_item`](Self::get_item),
/// [`get_items`](Self::get_items) and [`has_item`](Self::has_item) see (absent once its
/// expiration passes); [`delete_item`](Self::delete_item) and [`clear`](Self::clear) drop it; a
/// second `save_deferred` of the key replaces it. `commit` writes the whole queue in one store
/// batch.
///
/// # Example
///
/// ```
/// use cache_pool::{CacheItemPool, Pool};
/// use cache_store::moka::MokaStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool: std::sync::Arc<dyn CacheItemPool> = std::sync::Arc::new(Pool::new(MokaStore::builder().build()?));
/// for (key, value) in [("a", "1"), ("b", "2")] {
///     let mut item = pool.get_item(key).await?;
///     item.set(value);
///     pool.save_deferred(item)?; // queued: one batch at commit
/// }
/// assert!(pool.has_item("a").await?); // visible before the commit
/// pool.commit().await?;
/// let items = pool.get_items(&["a", "b", "c"]).await?;
/// assert_eq!(items.iter().filter(|i| i.is_hit()).count(), 2);
/// assert!(pool.get_item("bad:key").await.is_err());
/// # Ok(())
/// # }
/// ```
///
/// # Implementer notes
///
/// `Any` is a supertrait so that bridges can recognise each other and unwrap instead of
/// stacking (`Arc<dyn CacheItemPool>` upcasts to `Arc<dyn Any + Send + Sync>`).
#[async_trait]
pub trait CacheItemPool: Any + Send + Sync + fmt::Debug {
    /// The item for `key`: a hit with the stored (or deferred) value, or a miss. A stored
    /// value that cannot be read is a miss (and a warning), never an error or damaged data.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    async fn get_item(&self, key: &str) -> Result<CacheItem>;

    /// One item per distinct key asked for, hits and misses, in the order of first appearance
    /// (duplicates collapse), read in one store batch.
    ///
    /// # Errors
    ///
    /// Any invalid key (checked before any I/O); a backend failure.
    async fn get_items(&self, keys: &[&str]) -> Result<Vec<CacheItem>>;

    /// Whether `key` holds a live value (deferred ones included): `true` exactly when
    /// [`get_item`](CacheItemPool::get_item) would be a hit, so a stored value that cannot be
    /// read is no item here either.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    async fn has_item(&self, key: &str) -> Result<bool>;

    /// Empties this pool (its namespace only) and drops its deferred queue.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn clear(&self) -> Result<()>;

    /// Deletes `key`, deferred or stored. A missing key is not an error.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    async fn delete_item(&self, key: &str) -> Result<()>;

    /// Deletes every key, in one store batch. Missing keys are not an error.
    ///
    /// # Errors
    ///
    /// Any invalid key (checked before any I/O); a backend failure.
    async fn delete_items(&self, keys: &[&str]) -> Result<()>;

    /// Saves `item` now, together with anything still deferred (one batch). An item whose
    /// expiration has passed leaves the key absent.
    ///
    /// # Errors
    ///
    /// A backend failure, or a value the backend refuses (too large).
    async fn save(&self, item: CacheItem) -> Result<()>;

    /// Queues `item` (a snapshot: changing the item afterwards changes nothing) for the next
    /// [`commit`](Self::commit).
    ///
    /// Not `async`: queueing is in memory, so a batch of deferred saves costs no future per
    /// item. The write happens at [`commit`](Self::commit) (or [`save`](Self::save)).
    ///
    /// # Errors
    ///
    /// None from [`Pool`](crate::Pool); the `Result` leaves other implementations room to
    /// refuse an item.
    fn save_deferred(&self, item: CacheItem) -> Result<()>;

    /// Writes every deferred item in one store batch. Nothing pending is success.
    ///
    /// # Errors
    ///
    /// A backend failure (the items stay queued for the next commit), or values the backend
    /// refuses (those are dropped from the queue and named in the error).
    async fn commit(&self) -> Result<()>;

    /// The object-safe form of [`CacheItemPoolExt::get`]: the value of `key`, computed by
    /// `compute` on a miss (once per key per process however many callers ask at once), and
    /// recomputed early with a probability that grows as the expiry nears, scaled by `beta`
    /// (`0` never early, `f64::INFINITY` always).
    ///
    /// # Errors
    ///
    /// An invalid key; a negative or NaN `beta`; the computation's error (shared by every
    /// caller that waited for it, and not cached); a backend failure.
    async fn get_or_compute<'a>(
        &'a self,
        key: &'a str,
        beta: f64,
        compute: Compute<'a>,
    ) -> Result<Bytes>;

    /// The clock the pool resolves expirations with (its store's), so that layers over it
    /// share its time.
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
}

/// What the layers built on a PSR-6 pool (PSR-16 over it, Doctrine over it) ask of it beyond
/// PSR-6: values in bulk, without an item built for each, and what the storage can tell about
/// its use. Not part of PSR-6.
///
/// Every method is provided on top of PSR-6's operations, so any pool opts in with
/// `impl PoolValues for MyPool {}`; [`Pool`](crate::Pool) implements each with one store call.
///
/// ```
/// use cache_pool::{Pool, PoolValues};
/// use cache_store::moka::MokaStore;
/// use cache_store::{Bytes, Expiration};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool = Pool::new(MokaStore::builder().build()?);
/// let one = Bytes::from("1");
/// pool.save_values(&[("a", &one), ("b", &one)], Expiration::Never).await?;
/// let values = pool.get_values(&["a", "missing", "b"]).await?;
/// assert_eq!(values, [Some(one.clone()), None, Some(one.clone())]);
/// assert_eq!(pool.get_value("a").await?, Some(one));
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait PoolValues: CacheItemPool {
    /// The value of `key` if it is a hit, `None` otherwise: what
    /// [`get_item`](CacheItemPool::get_item) answers, without building an item.
    ///
    /// # Errors
    ///
    /// As [`get_item`](CacheItemPool::get_item).
    async fn get_value(&self, key: &str) -> Result<Option<Bytes>> {
        let item = self.get_item(key).await?;
        Ok(if item.is_hit() {
            item.into_value()
        } else {
            None
        })
    }

    /// The values of `keys` (hits' values, `None` for misses), one slot per key asked,
    /// duplicates included, in one store batch: what
    /// [`get_items`](CacheItemPool::get_items) answers, without an item per key.
    ///
    /// # Errors
    ///
    /// As [`get_items`](CacheItemPool::get_items).
    async fn get_values(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        Ok(values_of_items(keys, self.get_items(keys).await?))
    }

    /// Saves each `(key, value)` of `entries` with `expiration`, in one store batch: what
    /// [`save_deferred`](CacheItemPool::save_deferred) of an item per entry and then
    /// [`commit`](CacheItemPool::commit) do, without the items (so without owning the keys,
    /// nor cloning the values: a network store only copies them onto the wire).
    ///
    /// # Errors
    ///
    /// An invalid key, before anything is written; otherwise as
    /// [`commit`](CacheItemPool::commit): a backend failure, or values the backend refuses
    /// (the others are saved).
    async fn save_values(&self, entries: &[(&str, &Bytes)], expiration: Expiration) -> Result<()> {
        for item in items_of(entries, expiration)? {
            self.save_deferred(item)?;
        }
        self.commit().await
    }

    /// What the storage underneath can tell about its use (`None`, the default, when the
    /// pool cannot say): Doctrine's `getStats` over a pool reads it.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn stats(&self) -> Result<Option<Stats>> {
        Ok(None)
    }

    /// The codec of typed values in this pool, which the layers over it (PSR-16, Doctrine)
    /// encode and decode with: MessagePack, unless the pool stores another
    /// [`ValueFormat`](crate::ValueFormat) (PHP's, for a store shared with PHP).
    fn value_codec(&self) -> ValueCodec {
        ValueCodec::MsgPack
    }
}

/// An item per `(key, value)`, each to expire at `expiration`; the first invalid key is the
/// error.
pub(crate) fn items_of(
    entries: &[(&str, &Bytes)],
    expiration: Expiration,
) -> Result<Vec<CacheItem>> {
    // Sized up front: collecting into a `Result` cannot see the length, and regrows.
    let mut items = Vec::with_capacity(entries.len());
    for &(key, value) in entries {
        let mut item = CacheItem::new(key)?;
        item.set(value.clone()).expires(expiration);
        items.push(item);
    }
    Ok(items)
}

/// One value per key asked, from the items `get_items` gave for those keys: one per distinct
/// key, in order of first appearance, so a key that is not the next item's repeats an earlier
/// one (no hashing needed).
pub(crate) fn values_of_items(keys: &[&str], items: Vec<CacheItem>) -> Vec<Option<Bytes>> {
    let mut values: Vec<Option<Bytes>> = Vec::with_capacity(keys.len());
    let mut firsts: Vec<usize> = Vec::with_capacity(items.len());
    let mut items = items.into_iter().peekable();
    for (slot, key) in keys.iter().enumerate() {
        if let Some(item) = items.next_if(|item| item.key() == *key) {
            firsts.push(slot);
            values.push(if item.is_hit() {
                item.into_value()
            } else {
                None
            });
        } else {
            let first = firsts.iter().copied().find(|&first| keys[first] == *key);
            values.push(first.and_then(|first| values[first].clone()));
        }
    }
    values
}

/// A shared pool is a pool, so `Arc<dyn CacheItemPool>` can be handed to anything generic
/// over [`CacheItemPool`].
#[async_trait]
impl<P: CacheItemPool + ?Sized> CacheItemPool for Arc<P> {
    async fn get_item(&self, key: &str) -> Result<CacheItem> {
        (**self).get_item(key).await
    }
    async fn get_items(&self, keys: &[&str]) -> Result<Vec<CacheItem>> {
        (**self).get_items(keys).await
    }
    async fn has_item(&self, key: &str) -> Result<bool> {
        (**self).has_item(key).await
    }
    async fn clear(&self) -> Result<()> {
        (**self).clear().await
    }
    async fn delete_item(&self, key: &str) -> Result<()> {
        (**self).delete_item(key).await
    }
    async fn delete_items(&self, keys: &[&str]) -> Result<()> {
        (**self).delete_items(keys).await
    }
    async fn save(&self, item: CacheItem) -> Result<()> {
        (**self).save(item).await
    }
    fn save_deferred(&self, item: CacheItem) -> Result<()> {
        (**self).save_deferred(item)
    }
    async fn commit(&self) -> Result<()> {
        (**self).commit().await
    }
    async fn get_or_compute<'a>(
        &'a self,
        key: &'a str,
        beta: f64,
        compute: Compute<'a>,
    ) -> Result<Bytes> {
        (**self).get_or_compute(key, beta, compute).await
    }
    fn clock(&self) -> Arc<dyn Clock> {
        (**self).clock()
    }
}

#[async_trait]
impl<P: PoolValues + ?Sized> PoolValues for Arc<P> {
    async fn get_value(&self, key: &str) -> Result<Option<Bytes>> {
        (**self).get_value(key).await
    }
    async fn get_values(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        (**self).get_values(keys).await
    }
    async fn save_values(&self, entries: &[(&str, &Bytes)], expiration: Expiration) -> Result<()> {
        (**self).save_values(entries, expiration).await
    }
    async fn stats(&self) -> Result<Option<Stats>> {
        (**self).stats().await
    }
    fn value_codec(&self) -> ValueCodec {
        (**self).value_codec()
    }
}

/// The stampede-safe `get(key, compute)` of Symfony's cache contracts, for every
/// [`CacheItemPool`] (`Arc<dyn CacheItemPool>` included).
///
/// ```
/// use cache_pool::{CacheItemPoolExt, Computed, Pool};
/// use cache_store::moka::MokaStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool = Pool::new(MokaStore::builder().build()?);
/// let value = pool
///     .get("report", |_miss| async { Ok(Computed::new("expensive")) })
///     .await?;
/// assert_eq!(&value[..], b"expensive");
/// // Now a hit: the computation does not run again.
/// let again = pool.get("report", |_| async { unreachable!() }).await?;
/// assert_eq!(again, value);
/// # Ok(())
/// # }
/// ```
pub trait CacheItemPoolExt: CacheItemPool {
    /// The value of `key`, computing and saving it on a miss, with `beta = 1.0` (Symfony's
    /// default). See [`CacheItemPool::get_or_compute`].
    fn get<'a, F, Fut>(&'a self, key: &'a str, compute: F) -> BoxFuture<'a, Result<Bytes>>
    where
        F: FnOnce(CacheItem) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Computed>> + Send + 'a,
    {
        self.get_with_beta(key, 1.0, compute)
    }

    /// [`get`](Self::get) with an explicit `beta`.
    fn get_with_beta<'a, F, Fut>(
        &'a self,
        key: &'a str,
        beta: f64,
        compute: F,
    ) -> BoxFuture<'a, Result<Bytes>>
    where
        F: FnOnce(CacheItem) -> Fut + Send + 'a,
        Fut: Future<Output = Result<Computed>> + Send + 'a,
    {
        let compute: Compute<'a> = Box::new(move |item| Box::pin(compute(item)));
        self.get_or_compute(key, beta, compute)
    }
}

impl<P: CacheItemPool + ?Sized> CacheItemPoolExt for P {}
