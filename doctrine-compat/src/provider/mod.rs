//! `DoctrineProvider<P>`: Doctrine's `CacheProvider` over any PSR-6 pool, and
//! `CacheProvider<S>` over any store.

mod encoded_keys;
mod layout;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_pool::{CacheItem, Pool, PoolValues};
use cache_store::{Clock, Expiration, Result, Store};

use crate::Fetched;
use crate::traits::{Cache, CacheStats, ClearableCache, FlushableCache, MultiOperationCache};
use layout::StoredVersion;

/// Doctrine's `CacheProvider` over a PSR-6 pool of the workspace's own `Pool` over a store:
/// the type to use with a backend.
///
/// ```
/// use cache_store::moka::MokaStore;
/// use doctrine_compat::CacheProvider;
///
/// let cache = CacheProvider::new(MokaStore::builder().namespace("app").build()?)
///     .with_namespace("users");
/// assert_eq!(cache.namespace(), "users");
/// # Ok::<(), cache_store::Error>(())
/// ```
pub type CacheProvider<S> = DoctrineProvider<Pool<S>>;

/// Doctrine's `CacheProvider` logic (namespaces, namespace versions, multi operations) over
/// any PSR-6 pool (its [`PoolValues`]), storing exactly what PHP's doctrine/cache 2.x stores through a PSR-6
/// pool, so a Rust and a PHP process can share a namespace:
///
/// - an id is stored under `rawurlencode("<namespace>[<id>][<version>]")`, for example
///   `ns%5Bfoo%5D%5B1%5D`: any id (empty, `[`, `]`, `:`, `/`, NUL, 300 characters) becomes a
///   legal key, and distinct ids never share one;
/// - the namespace version lives under `rawurlencode("DoctrineNamespaceCacheKey[<namespace>]")`
///   as PHP's serialized int `i:<n>;`, and is absent (version 1) until the first
///   [`delete_all`](ClearableCache::delete_all).
///
/// # A damaged version
///
/// PHP casts whatever the version key holds to an int, so a damaged version can make it
/// fall back to 1 (or wrap) and serve entries a `delete_all` had retired. Here a version that
/// is not an int from 1 to PHP's largest (`i:-1;`, `i:18446744073709551615;`, text) is
/// replaced, logged, by a fresh version drawn at random from `[2^32, 2^62)`, which no counted
/// version reaches, so no old entry comes back; the namespace reads as empty. A `delete_all`
/// at PHP's largest int continues from a fresh version the same way. (A version key whose
/// stored bytes the pool itself cannot read is a miss there, and reads as version 1, as in
/// PHP.)
///
/// # Version memoization
///
/// As in Doctrine, each instance reads the version once and remembers it. After another
/// instance (or process) runs `delete_all`, this one keeps reading the old entries until
/// [`refresh_namespace_version`](Self::refresh_namespace_version) is called; a new instance
/// sees the new version at once.
///
/// # What `flush_all` clears
///
/// [`flush_all`](FlushableCache::flush_all) clears the pool, which is the pool's store
/// namespace: every Doctrine namespace and version kept there, and nothing outside it. It
/// never flushes a shared server or database. As in Doctrine, the instance keeps its memoized
/// version.
pub struct DoctrineProvider<P: PoolValues> {
    pool: P,
    namespace: String,
    version: Mutex<Option<u64>>,
}

impl<S: Store + 'static> DoctrineProvider<Pool<S>> {
    /// A provider over `store`, in the empty Doctrine namespace.
    pub fn new(store: S) -> Self {
        DoctrineProvider::over_pool(Pool::new(store))
    }

    /// Stores `data` under `id` for `life_time` only if `id` has no entry, atomically: of
    /// many concurrent `add`s of one absent id exactly one returns `true`. Not part of
    /// Doctrine (so not on its [`Cache`]): sessions and locks need it, and the store gives it.
    ///
    /// # Errors
    ///
    /// A backend failure.
    pub async fn add(&self, id: &str, data: Bytes, life_time: Duration) -> Result<bool> {
        let key = self.key(id).await?;
        self.pool.add_item(item(&key, data, life_time)?).await
    }

    /// Gives the entry of `id` a new `life_time` ([`Duration::ZERO`]: forever) without
    /// rewriting its data, and says whether there was one. Not part of Doctrine.
    ///
    /// # Errors
    ///
    /// A backend failure.
    pub async fn touch(&self, id: &str, life_time: Duration) -> Result<bool> {
        let key = self.key(id).await?;
        self.pool.touch_item(&key, expiration(life_time)).await
    }

    /// Deletes the entry of `id` only while its data is exactly `data`, atomically, and says
    /// whether it did: the owner-checked release of a lock. Not part of Doctrine.
    ///
    /// # Errors
    ///
    /// A backend failure.
    pub async fn delete_if(&self, id: &str, data: Bytes) -> Result<bool> {
        let key = self.key(id).await?;
        self.pool.delete_item_if(&key, data).await
    }

    /// Gives the entry of `id` a new `life_time` ([`Duration::ZERO`]: forever) only while
    /// its data is exactly `data`, atomically, and says whether it did. Not part of Doctrine.
    ///
    /// # Errors
    ///
    /// A backend failure.
    pub async fn touch_if(&self, id: &str, data: Bytes, life_time: Duration) -> Result<bool> {
        let key = self.key(id).await?;
        self.pool
            .touch_item_if(&key, data, expiration(life_time))
            .await
    }
}

impl<P: PoolValues> DoctrineProvider<P> {
    /// A provider over `pool`, in the empty Doctrine namespace (PHP's `DoctrineProvider`).
    pub fn over_pool(pool: P) -> Self {
        DoctrineProvider {
            pool,
            namespace: String::new(),
            version: Mutex::new(None),
        }
    }

    /// The same provider in Doctrine namespace `namespace` (any string), with its version not
    /// yet read.
    pub fn with_namespace(self, namespace: impl Into<String>) -> Self {
        DoctrineProvider {
            pool: self.pool,
            namespace: namespace.into(),
            version: Mutex::new(None),
        }
    }

    /// The Doctrine namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The pool underneath.
    pub fn pool(&self) -> &P {
        &self.pool
    }

    /// Forgets the memoized namespace version, so the next operation reads it again (Doctrine's
    /// `reset()`): how a long-lived instance picks up another instance's `delete_all`.
    pub fn refresh_namespace_version(&self) {
        *self.memo() = None;
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.version
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn version(&self) -> Result<u64> {
        if let Some(version) = *self.memo() {
            return Ok(version);
        }
        let key = layout::version_key(&self.namespace);
        let stored = self.pool.get_value(&key).await?;
        let version = match stored.as_deref().map(layout::decode_version) {
            None | Some(StoredVersion::Absent) => 1,
            Some(StoredVersion::Valid(version)) => version,
            Some(StoredVersion::Corrupt) => {
                let fresh = layout::fresh_version();
                tracing::warn!(
                    namespace = %self.namespace,
                    version = fresh,
                    "the Doctrine namespace version is damaged or out of PHP's range; \
                     replacing it with a fresh one, which empties the namespace"
                );
                self.save_version(fresh).await?;
                fresh
            }
        };
        Ok(*self.memo().get_or_insert(version))
    }

    async fn save_version(&self, version: u64) -> Result<()> {
        let mut item = CacheItem::new(&layout::version_key(&self.namespace))?;
        item.set(layout::encode_version(version)).never_expires();
        self.pool.save(item).await
    }

    async fn key(&self, id: &str) -> Result<String> {
        Ok(layout::id_key(&self.namespace, id, self.version().await?))
    }
}

/// The PSR-6 key under which Doctrine keeps the version of `namespace`:
/// `rawurlencode("DoctrineNamespaceCacheKey[<namespace>]")`, as PHP's doctrine/cache 2.x
/// writes it through a PSR-6 pool. The stored value is PHP's serialized int, `i:<n>;`.
///
/// ```
/// assert_eq!(
///     doctrine_compat::namespace_version_key("users"),
///     "DoctrineNamespaceCacheKey%5Busers%5D"
/// );
/// ```
pub fn namespace_version_key(namespace: &str) -> String {
    layout::version_key(namespace)
}

/// Doctrine's life time as an expiration: zero is forever.
fn expiration(life_time: Duration) -> Expiration {
    if life_time.is_zero() {
        Expiration::Never
    } else {
        Expiration::After(life_time)
    }
}

fn item(key: &str, data: Bytes, life_time: Duration) -> Result<CacheItem> {
    let mut item = CacheItem::new(key)?;
    item.set(data).expires(expiration(life_time));
    Ok(item)
}

#[async_trait]
impl<P: PoolValues> Cache for DoctrineProvider<P> {
    async fn fetch(&self, id: &str) -> Result<Option<Bytes>> {
        self.pool.get_value(&self.key(id).await?).await
    }

    async fn contains(&self, id: &str) -> Result<bool> {
        self.pool.has_item(&self.key(id).await?).await
    }

    async fn save(&self, id: &str, data: Bytes, life_time: Duration) -> Result<()> {
        let key = self.key(id).await?;
        self.pool.save(item(&key, data, life_time)?).await
    }

    async fn delete(&self, id: &str) -> Result<()> {
        self.pool.delete_item(&self.key(id).await?).await
    }

    async fn stats(&self) -> Result<Option<CacheStats>> {
        Ok(self.pool.stats().await?.map(CacheStats::from))
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.pool.clock()
    }

    fn value_codec(&self) -> cache_store::codec::ValueCodec {
        self.pool.value_codec()
    }
}

#[async_trait]
impl<P: PoolValues> ClearableCache for DoctrineProvider<P> {
    async fn delete_all(&self) -> Result<()> {
        let version = self.version().await?;
        let next = layout::next_version(version).unwrap_or_else(|| {
            let fresh = layout::fresh_version();
            tracing::warn!(
                namespace = %self.namespace,
                version = fresh,
                "the Doctrine namespace version cannot count past PHP's largest int; \
                 continuing from a fresh one"
            );
            fresh
        });
        self.save_version(next).await?;
        *self.memo() = Some(next);
        Ok(())
    }
}

#[async_trait]
impl<P: PoolValues> FlushableCache for DoctrineProvider<P> {
    async fn flush_all(&self) -> Result<()> {
        self.pool.clear().await
    }
}

#[async_trait]
impl<P: PoolValues> MultiOperationCache for DoctrineProvider<P> {
    async fn fetch_multiple<'a>(&self, ids: &[&'a str]) -> Result<Fetched<'a>> {
        if ids.is_empty() {
            return Ok(Fetched::default());
        }
        let keys = layout::id_keys(&self.namespace, ids.iter().copied(), self.version().await?)?;
        let asked: Vec<&str> = keys.iter().collect();
        let values = self.pool.get_values(&asked).await?;
        let mut found = Vec::with_capacity(ids.len());
        for (id, value) in ids.iter().zip(values) {
            if let Some(value) = value {
                found.push((*id, value));
            }
        }
        Ok(Fetched::from_entries(found))
    }

    async fn save_multiple(&self, entries: &[(&str, Bytes)], life_time: Duration) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let ids = entries.iter().map(|(id, _)| *id);
        let keys = layout::id_keys(&self.namespace, ids, self.version().await?)?;
        let values: Vec<(&str, &Bytes)> = keys
            .iter()
            .zip(entries)
            .map(|(key, (_, data))| (key, data))
            .collect();
        self.pool.save_values(&values, expiration(life_time)).await
    }

    async fn delete_multiple(&self, ids: &[&str]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let keys = layout::id_keys(&self.namespace, ids.iter().copied(), self.version().await?)?;
        let asked: Vec<&str> = keys.iter().collect();
        self.pool.delete_items(&asked).await
    }
}

impl<P: PoolValues> fmt::Debug for DoctrineProvider<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DoctrineProvider")
            .field("namespace", &self.namespace)
            .field("version", &*self.memo())
            .field("pool", &self.pool)
            .finish()
    }
}
