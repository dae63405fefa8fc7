//! The Doctrine Cache interfaces.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::codec::{Codec, ValueCodec};
use cache_store::{Clock, Result, SystemClock};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Fetched;

/// Doctrine's `getStats()`: each field `None` where the backend cannot tell.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// `hits`: lookups that found an entry.
    pub hits: Option<u64>,
    /// `misses`: lookups that found nothing.
    pub misses: Option<u64>,
    /// `uptime`: how long the backend has been up (a duration, as Redis reports it; never
    /// ArrayCache's start timestamp).
    pub uptime: Option<Duration>,
    /// `memory_usage`: bytes used for entries.
    pub memory_usage: Option<u64>,
    /// `memory_available`: bytes still allowed for entries.
    pub memory_available: Option<u64>,
}

impl From<cache_store::Stats> for CacheStats {
    fn from(stats: cache_store::Stats) -> Self {
        CacheStats {
            hits: stats.hits,
            misses: stats.misses,
            uptime: stats.uptime,
            memory_usage: stats.memory_usage,
            memory_available: stats.memory_available,
        }
    }
}

/// Doctrine's `Cache` interface, async and object safe.
///
/// Ids are arbitrary strings (the empty id, `[`, `]`, `:`, `/`, `\`, NUL, 300 characters and
/// more), never confused with one another.
///
/// A **life time** is a [`Duration`] with Doctrine's meaning: [`Duration::ZERO`] keeps the
/// entry forever (until evicted); anything else is a lifetime, sub-second ones included (the
/// PHP bridge turned those into "forever"). Doctrine's negative lifetimes, which its drivers
/// disagreed on, have no representation.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cache_store::moka::MokaStore;
/// use doctrine_compat::{Cache, CacheProvider, ClearableCache};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let cache = CacheProvider::new(MokaStore::builder().build()?).with_namespace("app");
/// cache.save("user:42", "Ada".into(), Duration::ZERO).await?; // forever
/// assert_eq!(cache.fetch("user:42").await?.as_deref(), Some(&b"Ada"[..]));
/// cache.delete_all().await?; // this namespace only, in O(1)
/// assert_eq!(cache.fetch("user:42").await?, None);
/// # Ok(())
/// # }
/// ```
///
/// # Implementer notes
///
/// `Any` is a supertrait so that bridges can recognise each other and unwrap.
#[async_trait]
pub trait Cache: Any + Send + Sync + fmt::Debug {
    /// The entry of `id`, or `None` when there is none. A stored value is never confused with
    /// a miss (PHP's `false`).
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn fetch(&self, id: &str) -> Result<Option<Bytes>>;

    /// Whether `id` has an entry: `true` exactly when [`fetch`](Cache::fetch) would return
    /// one.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn contains(&self, id: &str) -> Result<bool>;

    /// Stores `data` under `id` for `life_time` ([`Duration::ZERO`]: forever).
    ///
    /// # Errors
    ///
    /// A backend failure, or data the backend refuses (too large).
    async fn save(&self, id: &str, data: Bytes, life_time: Duration) -> Result<()>;

    /// Deletes `id`; an absent id is not an error.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn delete(&self, id: &str) -> Result<()>;

    /// What the backend can tell about its use; `None` when it cannot tell anything.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn stats(&self) -> Result<Option<CacheStats>>;

    /// The clock the cache resolves lifetimes with (its store's), so that layers over it share
    /// its time.
    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }

    /// The codec of [`CacheExt`]'s typed data: MessagePack, unless the cache stores another
    /// format (PHP's, for a store shared with PHP).
    fn value_codec(&self) -> ValueCodec {
        ValueCodec::MsgPack
    }
}

/// Doctrine's `ClearableCache`: empties the current namespace.
#[async_trait]
pub trait ClearableCache: Cache {
    /// Deletes every entry of the current namespace (and only it).
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn delete_all(&self) -> Result<()>;
}

/// Doctrine's `FlushableCache`: empties everything the cache owns.
#[async_trait]
pub trait FlushableCache: Cache {
    /// Deletes every entry the cache owns, across all its Doctrine namespaces. What that
    /// covers is the implementation's to document; no implementation here flushes a whole
    /// server or database it merely shares.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn flush_all(&self) -> Result<()>;
}

/// Doctrine's `MultiOperationCache` (`MultiGetCache`, `MultiPutCache`, `MultiDeleteCache`).
#[async_trait]
pub trait MultiOperationCache: Cache {
    /// The entries found among `ids`, keyed by id, in the order asked, each id once (PHP's
    /// array); absent ids are left out. The answer borrows the caller's ids, so a batch
    /// copies no id.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn fetch_multiple<'a>(&self, ids: &[&'a str]) -> Result<Fetched<'a>>;

    /// Stores every entry for `life_time` ([`Duration::ZERO`]: forever).
    ///
    /// # Errors
    ///
    /// A backend failure, or data the backend refuses.
    async fn save_multiple(&self, entries: &[(&str, Bytes)], life_time: Duration) -> Result<()>;

    /// Deletes every id; absent ids are not an error.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn delete_multiple(&self, ids: &[&str]) -> Result<()>;
}

/// All of Doctrine's interfaces at once, as `CacheProvider` implements them: what
/// `Arc<dyn DoctrineCache>` offers.
pub trait DoctrineCache: ClearableCache + FlushableCache + MultiOperationCache {}

impl<C: ClearableCache + FlushableCache + MultiOperationCache> DoctrineCache for C {}

/// Typed data for every Doctrine [`Cache`], through its [`value_codec`](Cache::value_codec)
/// (MessagePack unless it stores PHP's format).
///
/// ```
/// use std::time::Duration;
/// use cache_store::moka::MokaStore;
/// use doctrine_compat::{CacheExt, CacheProvider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let cache = CacheProvider::new(MokaStore::builder().build()?);
/// cache.save_as("flag", &false, Duration::ZERO).await?;
/// // A stored `false` is a value, not a miss.
/// assert_eq!(cache.fetch_as::<bool>("flag").await?, Some(false));
/// # Ok(())
/// # }
/// ```
pub trait CacheExt: Cache {
    /// The entry of `id` decoded as `T`; `None` when absent **or** when it does not decode as
    /// `T` (logged as a warning).
    fn fetch_as<'a, T: DeserializeOwned + Send + 'a>(
        &'a self,
        id: &'a str,
    ) -> cache_pool::BoxFuture<'a, Result<Option<T>>> {
        Box::pin(async move {
            let Some(bytes) = self.fetch(id).await? else {
                return Ok(None);
            };
            match self.value_codec().decode(&bytes) {
                Ok(value) => Ok(Some(value)),
                Err(err) => {
                    tracing::warn!(id, error = %err, "cached data does not decode; treating it as a miss");
                    Ok(None)
                }
            }
        })
    }

    /// Encodes `data` with the cache's [`value_codec`](Cache::value_codec) and saves it.
    fn save_as<'a, T: Serialize + ?Sized + Sync>(
        &'a self,
        id: &'a str,
        data: &'a T,
        life_time: Duration,
    ) -> cache_pool::BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let bytes = self.value_codec().encode(data)?;
            self.save(id, bytes, life_time).await
        })
    }
}

impl<C: Cache + ?Sized> CacheExt for C {}
