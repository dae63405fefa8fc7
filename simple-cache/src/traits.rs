//! The PSR-16 contract.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::codec::{Codec, ValueCodec};
use cache_store::{Clock, Expiration, Result, SystemClock};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A PSR-16 TTL in whole seconds, as PHP passes it: positive is a lifetime, zero or negative
/// means "already expired" (so `set` deletes the key, as PSR-16 requires). For `null`, pass
/// [`Expiration::Default`].
///
/// ```
/// use std::time::Duration;
/// use cache_store::Expiration;
///
/// assert_eq!(simple_cache::ttl_seconds(60), Expiration::After(Duration::from_secs(60)));
/// assert_eq!(simple_cache::ttl_seconds(-5), Expiration::After(Duration::ZERO));
/// ```
pub fn ttl_seconds(seconds: i64) -> Expiration {
    Expiration::After(Duration::from_secs(u64::try_from(seconds).unwrap_or(0)))
}

/// A PSR-16 simple cache, async and object safe (`Arc<dyn SimpleCache>` works).
///
/// Keys follow PSR-16 and are checked before any I/O: a call with an invalid key, including
/// any one key of a multiple call, fails with
/// [`ErrorKind::InvalidKey`](cache_store::ErrorKind::InvalidKey) and does nothing.
///
/// TTLs are [`Expiration`]s: [`Expiration::Default`] is PSR-16's `null` (the cache's default
/// lifetime), [`Expiration::After`] a lifetime, and a lifetime of zero (or an instant not in
/// the future) deletes the key, as PSR-16's `0` and negative TTLs do. [`ttl_seconds`] converts
/// PHP's integer TTLs. PHP's `false` for a failure is an `Err` here.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cache_store::Expiration;
/// use cache_store::moka::MokaStore;
/// use simple_cache::{Cache, SimpleCache};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let cache = Cache::new(MokaStore::builder().build()?);
/// cache.set("greeting", "hello".into(), Expiration::After(Duration::from_secs(60))).await?;
/// assert_eq!(cache.get("greeting").await?.as_deref(), Some(&b"hello"[..]));
/// assert_eq!(cache.get_or("missing", "default".into()).await?, "default");
///
/// cache.set_multiple(&[("a", "1".into()), ("b", "2".into())], Expiration::Default).await?;
/// let values = cache.get_multiple(&["a", "b", "c"]).await?;
/// assert_eq!(values.iter().filter(|v| v.is_some()).count(), 2);
///
/// // A TTL of zero deletes, as in PSR-16.
/// cache.set("a", "x".into(), simple_cache::ttl_seconds(0)).await?;
/// assert!(!cache.has("a").await?);
/// # Ok(())
/// # }
/// ```
///
/// # Implementer notes
///
/// `Any` is a supertrait so that bridges can recognise each other and unwrap instead of
/// stacking.
#[async_trait]
pub trait SimpleCache: Any + Send + Sync + fmt::Debug {
    /// The value of `key`, or `None` on a miss (PSR-16's default). A stored value that cannot
    /// be read is a miss (and a warning).
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;

    /// Stores `value` under `key` with `ttl`; a TTL already expired deletes the key.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure; a value the backend refuses (too large).
    async fn set(&self, key: &str, value: Bytes, ttl: Expiration) -> Result<()>;

    /// Deletes `key`; a missing key is not an error.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Empties this cache (its namespace only).
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn clear(&self) -> Result<()>;

    /// Whether `key` holds a live value (a stored empty value counts): `true` exactly when
    /// [`get`](SimpleCache::get) would return one, so a stored value that cannot be read is
    /// not there. PSR-16 meant it for cache warming: another process may change the answer
    /// right after.
    ///
    /// # Errors
    ///
    /// An invalid key; a backend failure.
    async fn has(&self, key: &str) -> Result<bool>;

    /// The values of many keys in one batch: one slot per key asked, in order (a repeated key
    /// gets the same answer in each of its slots), `None` for a miss.
    ///
    /// # Errors
    ///
    /// Any invalid key (checked before any I/O); a backend failure.
    async fn get_multiple(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>>;

    /// Stores many values with one TTL in one batch; for a key given twice the later value
    /// wins. A TTL already expired deletes them all.
    ///
    /// # Errors
    ///
    /// Any invalid key (checked before any I/O); a backend failure; values the backend
    /// refuses (the others are still stored; the error names how many were refused).
    async fn set_multiple(&self, values: &[(&str, Bytes)], ttl: Expiration) -> Result<()>;

    /// Deletes many keys in one batch; missing keys are not an error.
    ///
    /// # Errors
    ///
    /// Any invalid key (checked before any I/O); a backend failure.
    async fn delete_multiple(&self, keys: &[&str]) -> Result<()>;

    /// The value of `key`, or `default` on a miss (PSR-16's `get($key, $default)`).
    ///
    /// # Errors
    ///
    /// As [`get`](Self::get).
    async fn get_or(&self, key: &str, default: Bytes) -> Result<Bytes> {
        Ok(self.get(key).await?.unwrap_or(default))
    }

    /// The clock the cache resolves TTLs with (its store's), so that layers over it share its
    /// time.
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }

    /// The codec of [`SimpleCacheExt`]'s typed values: MessagePack, unless the cache stores
    /// another format (PHP's, for a store shared with PHP).
    fn value_codec(&self) -> ValueCodec {
        ValueCodec::MsgPack
    }
}

/// Typed values for every [`SimpleCache`], through its
/// [`value_codec`](SimpleCache::value_codec) (MessagePack unless it stores PHP's format).
///
/// ```
/// use cache_store::Expiration;
/// use cache_store::moka::MokaStore;
/// use simple_cache::{Cache, SimpleCacheExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let cache = Cache::new(MokaStore::builder().build()?);
/// cache.set_as("user.42", &("Ada", 36u8), Expiration::Default).await?;
/// assert_eq!(cache.get_as::<(String, u8)>("user.42").await?, Some(("Ada".into(), 36)));
/// // A value that does not decode as the type asked for is a miss, never a wrong value.
/// assert_eq!(cache.get_as::<u64>("user.42").await?, None);
/// # Ok(())
/// # }
/// ```
pub trait SimpleCacheExt: SimpleCache {
    /// The value of `key` decoded as `T`; `None` on a miss **or** when the value does not
    /// decode as `T` (logged as a warning).
    fn get_as<'a, T: DeserializeOwned + Send + 'a>(
        &'a self,
        key: &'a str,
    ) -> cache_pool::BoxFuture<'a, Result<Option<T>>> {
        Box::pin(async move {
            let Some(bytes) = self.get(key).await? else {
                return Ok(None);
            };
            match self.value_codec().decode(&bytes) {
                Ok(value) => Ok(Some(value)),
                Err(err) => {
                    tracing::warn!(key, error = %err, "cached value does not decode; treating it as a miss");
                    Ok(None)
                }
            }
        })
    }

    /// Encodes `value` with the cache's [`value_codec`](SimpleCache::value_codec) and stores
    /// it.
    fn set_as<'a, T: Serialize + ?Sized + Sync>(
        &'a self,
        key: &'a str,
        value: &'a T,
        ttl: Expiration,
    ) -> cache_pool::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let bytes = self.value_codec().encode(value)?;
            self.set(key, bytes, ttl).await
        })
    }
}

impl<C: SimpleCache + ?Sized> SimpleCacheExt for C {}
