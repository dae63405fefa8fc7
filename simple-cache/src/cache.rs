//! `Cache<S>`: PSR-16 directly over a `Store`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_pool::ValueFormat;
use cache_store::{Clock, Entry, Error, ErrorKind, Expiration, Key, Result, Store};

use crate::traits::SimpleCache;

/// A PSR-16 [`SimpleCache`] over any [`Store`]: every multiple call is one store batch (one
/// round trip per server on network backends), never a loop of single calls.
///
/// It sits on the store rather than on a PSR-6 pool (as Symfony's `Psr16Cache` does, which
/// [`bridge::simple_cache_over_pool`](crate::bridge::simple_cache_over_pool) is) because a
/// PSR-16 call then builds no item and consults no deferred queue, a sixth of a read's time on
/// the embedded backend (`benches/README.md`, moka `get_hit`: PSR-16 Cache against PSR-6 Pool).
///
/// Values go through the same [`ValueFormat`] as PSR-6's [`Pool`](cache_pool::Pool), so a
/// `Cache` and a `Pool` of one format on the same namespace read each other's values.
///
/// ```
/// use std::time::Duration;
/// use cache_store::Expiration;
/// use cache_store::moka::MokaStore;
/// use simple_cache::{Cache, SimpleCache};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let cache = Cache::builder(MokaStore::builder().namespace("app").build()?)
///     .default_ttl(Duration::from_secs(300))
///     .build();
/// cache.set("k", "v".into(), Expiration::Default).await?; // lives 300 s
/// assert!(cache.has("k").await?);
/// # Ok(())
/// # }
/// ```
pub struct Cache<S: Store> {
    store: S,
    default_ttl: Option<Duration>,
    format: ValueFormat,
}

/// Configures a [`Cache`].
#[derive(Debug)]
pub struct CacheBuilder<S: Store> {
    store: S,
    default_ttl: Option<Duration>,
    format: ValueFormat,
}

impl<S: Store> CacheBuilder<S> {
    /// The lifetime of values set with [`Expiration::Default`] (PSR-16's `null` TTL).
    /// Without it the store's default applies (for the built-in stores: never expire).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// How values are laid out in the store (default: [`cache_pool::envelope`], as a
    /// [`Pool`](cache_pool::Pool)'s).
    pub fn format(mut self, format: ValueFormat) -> Self {
        self.format = format;
        self
    }

    /// The cache.
    pub fn build(self) -> Cache<S> {
        Cache {
            store: self.store,
            default_ttl: self.default_ttl,
            format: self.format,
        }
    }
}

/// Opens the PSR-16 cache a URL names: the store of [`cache_store::open`], with the
/// [`ValueFormat`] its `format` parameter names (see [`cache_pool::open`]).
///
/// ```
/// use simple_cache::{SimpleCache, SimpleCacheExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let cache = simple_cache::open("moka://?namespace=app&format=envelope").await?;
/// cache.set_as("k", &1u8, cache_store::Expiration::Never).await?;
/// assert_eq!(cache.get_as::<u8>("k").await?, Some(1));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// As [`cache_pool::open`].
pub async fn open(url: &str) -> Result<Cache<std::sync::Arc<dyn Store>>> {
    let (format, store_url) = ValueFormat::from_url(url)?;
    Ok(Cache::builder(cache_store::open(&store_url).await?)
        .format(format)
        .build())
}

impl<S: Store> Cache<S> {
    /// A cache over `store` with no default TTL of its own.
    pub fn new(store: S) -> Self {
        Cache::builder(store).build()
    }

    /// Starts configuring a cache over `store`.
    pub fn builder(store: S) -> CacheBuilder<S> {
        CacheBuilder {
            store,
            default_ttl: None,
            format: ValueFormat::default(),
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn ttl(&self, ttl: Expiration) -> Expiration {
        match (ttl, self.default_ttl) {
            (Expiration::Default, Some(default)) => Expiration::After(default),
            (ttl, _) => ttl,
        }
    }

    /// The value of a stored form, through the format; unreadable data is a miss.
    fn value(&self, key: &str, found: Result<Option<Bytes>>) -> Result<Option<Bytes>> {
        let unreadable = |err: Error| {
            tracing::warn!(key, error = %err, "stored value cannot be read; treating it as a miss");
            Ok(None)
        };
        match found {
            Ok(None) => Ok(None),
            Ok(Some(stored)) => match self.format.decode_value(stored) {
                Ok(value) => Ok(Some(value)),
                Err(err) => unreadable(err),
            },
            Err(err) if err.kind() == ErrorKind::Decode => unreadable(err),
            Err(err) => Err(err),
        }
    }
}

/// What sessions and locks need and PSR-16 has no word for. Not part of PSR-16, so not on
/// [`SimpleCache`]: they go straight to the store, which every backend makes atomic.
impl<S: Store> Cache<S> {
    /// Sets `key` only if it holds no live entry, atomically: of many concurrent `add`s of one
    /// absent key exactly one returns `true`.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    pub async fn add(&self, key: &str, value: Bytes, ttl: Expiration) -> Result<bool> {
        let key = Key::new(key)?;
        self.format.check(&value)?;
        self.store
            .add(key, self.format.encode_owned(value, None), self.ttl(ttl))
            .await
    }

    /// Gives the live entry under `key` a new TTL without rewriting its value, and says
    /// whether there was one; a TTL already reached deletes it.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    pub async fn touch(&self, key: &str, ttl: Expiration) -> Result<bool> {
        self.store.touch(Key::new(key)?, self.ttl(ttl)).await
    }

    /// Deletes `key` only while it holds exactly `value`, atomically, and says whether it
    /// did: the owner-checked release of a lock kept in the cache.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    pub async fn delete_if(&self, key: &str, value: Bytes) -> Result<bool> {
        let stored = self.format.encode_owned(value, None);
        self.store.delete_if_equal(Key::new(key)?, &stored).await
    }

    /// Gives `key` a new TTL only while it holds exactly `value`, atomically, and says
    /// whether it did: the owner-checked refresh of a lock.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    pub async fn touch_if(&self, key: &str, value: Bytes, ttl: Expiration) -> Result<bool> {
        let stored = self.format.encode_owned(value, None);
        self.store
            .touch_if_equal(Key::new(key)?, &stored, self.ttl(ttl))
            .await
    }
}

fn valid_keys<'a>(keys: impl ExactSizeIterator<Item = &'a str>) -> Result<Vec<Key<'a>>> {
    // Sized up front: collecting into a `Result` cannot see the length, and regrows.
    let mut valid = Vec::with_capacity(keys.len());
    for key in keys {
        valid.push(Key::new(key)?);
    }
    Ok(valid)
}

#[async_trait]
impl<S: Store + 'static> SimpleCache for Cache<S> {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let found = self.store.get(Key::new(key)?).await;
        self.value(key, found)
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Expiration) -> Result<()> {
        let key = Key::new(key)?;
        self.format.check(&value)?;
        self.store
            .set(key, self.format.encode_owned(value, None), self.ttl(ttl))
            .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.store.delete(Key::new(key)?).await
    }

    async fn clear(&self) -> Result<()> {
        self.store.clear().await
    }

    /// A read rather than the store's `contains`: a stored value that cannot be read is a
    /// miss for [`get`](SimpleCache::get), so it is not there for `has` either.
    async fn has(&self, key: &str) -> Result<bool> {
        Ok(self.get(key).await?.is_some())
    }

    async fn get_multiple(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        let valid = valid_keys(keys.iter().copied())?;
        if valid.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.store.get_many(&valid).await?;
        let mut values = Vec::with_capacity(keys.len());
        for (key, value) in keys.iter().zip(found) {
            values.push(self.value(key, value)?);
        }
        Ok(values)
    }

    async fn set_multiple(&self, values: &[(&str, Bytes)], ttl: Expiration) -> Result<()> {
        let keys = valid_keys(values.iter().map(|(k, _)| *k))?;
        if keys.is_empty() {
            return Ok(());
        }
        for (_, value) in values {
            self.format.check(value)?;
        }
        let ttl = self.ttl(ttl);
        let entries: Vec<Entry<'_>> = keys
            .into_iter()
            .zip(values)
            .map(|(key, (_, value))| Entry {
                key,
                value: self.format.encode(value, None),
                expiration: ttl,
            })
            .collect();
        let failed = self.store.set_many(&entries).await?;
        let count = failed.len();
        let Some((index, first)) = failed.into_iter().next() else {
            return Ok(());
        };
        Err(Error::new(
            first.kind(),
            format!(
                "{count} of {} values were not stored; the first, {:?}: {first}",
                values.len(),
                values[index].0
            ),
        )
        .with_retryable(first.is_retryable())
        .with_source(first))
    }

    async fn delete_multiple(&self, keys: &[&str]) -> Result<()> {
        let keys = valid_keys(keys.iter().copied())?;
        if keys.is_empty() {
            return Ok(());
        }
        self.store.delete_many(&keys).await
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.store.clock()
    }

    fn value_codec(&self) -> cache_store::codec::ValueCodec {
        self.format.codec()
    }
}

impl<S: Store> fmt::Debug for Cache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("store", &self.store)
            .field("default_ttl", &self.default_ttl)
            .field("format", &self.format)
            .finish()
    }
}
