//! The six operations a session handler needs, over each of the three abstractions.
//!
//! One handler ([`CacheSessionHandler`](crate::CacheSessionHandler)) holds every session rule;
//! these adapters only translate, so the three behave the same by construction (and the
//! testkit checks that they do).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_pool::{CacheItem, CacheItemPool};
use cache_store::{Expiration, Result};
use doctrine_compat::Cache as DoctrineCache;
use simple_cache::SimpleCache;

/// Where a session handler keeps its entries: full keys (prefix included) to bytes, each with
/// a lifetime that is never zero.
///
/// Implemented for the three abstractions by [`OverPool`], [`OverSimpleCache`] and
/// [`OverDoctrine`]; implement it to put sessions anywhere else.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use cache_store::moka::MokaStore;
/// use session_bridge::{OverSimpleCache, SessionStorage};
/// use simple_cache::Cache;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let storage = OverSimpleCache::new(Arc::new(Cache::new(MokaStore::builder().build()?)));
/// assert!(storage.store_new("sess_x", "data".into(), Duration::from_secs(60)).await?);
/// assert!(!storage.store_new("sess_x", "other".into(), Duration::from_secs(60)).await?);
/// assert_eq!(storage.load("sess_x").await?.as_deref(), Some(&b"data"[..]));
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait SessionStorage: Send + Sync + fmt::Debug + 'static {
    /// The bytes under `key`, `None` when absent or expired.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn load(&self, key: &str) -> Result<Option<Bytes>>;

    /// Writes `data` under `key` for `lifetime`.
    ///
    /// # Errors
    ///
    /// A backend failure; data the backend refuses (too large).
    async fn store(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<()>;

    /// Writes `data` under `key` for `lifetime` only if `key` is absent, atomically; says
    /// whether it wrote.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`](cache_store::ErrorKind::Unsupported) when the abstraction
    /// underneath has no atomic add; a backend failure.
    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool>;

    /// Restarts the lifetime of `key` without rewriting it; says whether it was present.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`](cache_store::ErrorKind::Unsupported) when the abstraction
    /// underneath cannot; a backend failure.
    async fn refresh(&self, key: &str, lifetime: Duration) -> Result<bool>;

    /// Deletes `key`; absent is not an error.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn remove(&self, key: &str) -> Result<()>;

    /// Whether `key` is present.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn exists(&self, key: &str) -> Result<bool>;
}

/// Session storage over any PSR-6 [`CacheItemPool`] (`Arc<dyn CacheItemPool>` included).
pub struct OverPool<P: ?Sized>(Arc<P>);

/// Session storage over any PSR-16 [`SimpleCache`] (`Arc<dyn SimpleCache>` included).
pub struct OverSimpleCache<C: ?Sized>(Arc<C>);

/// Session storage over any Doctrine [`Cache`](DoctrineCache) (`Arc<dyn Cache>` included).
pub struct OverDoctrine<D: ?Sized>(Arc<D>);

macro_rules! adapter_basics {
    ($adapter:ident, $bound:path, $what:literal) => {
        impl<T: $bound + ?Sized> $adapter<T> {
            #[doc = concat!("Session storage over ", $what, ".")]
            pub fn new(inner: Arc<T>) -> Self {
                $adapter(inner)
            }

            #[doc = concat!("The ", $what, " underneath.")]
            pub fn inner(&self) -> &Arc<T> {
                &self.0
            }
        }

        impl<T: $bound + ?Sized> fmt::Debug for $adapter<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($adapter)).field(&self.0).finish()
            }
        }
    };
}

adapter_basics!(OverPool, CacheItemPool, "a PSR-6 pool");
adapter_basics!(OverSimpleCache, SimpleCache, "a PSR-16 cache");
adapter_basics!(OverDoctrine, DoctrineCache, "a Doctrine cache");

fn item(key: &str, data: Bytes, lifetime: Duration) -> Result<CacheItem> {
    let mut item = CacheItem::new(key)?;
    item.set(data).expires(Expiration::After(lifetime));
    Ok(item)
}

#[async_trait]
impl<P: CacheItemPool + ?Sized> SessionStorage for OverPool<P> {
    async fn load(&self, key: &str) -> Result<Option<Bytes>> {
        self.0.get_value(key).await
    }

    async fn store(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<()> {
        self.0.save(item(key, data, lifetime)?).await
    }

    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool> {
        self.0.add_item(item(key, data, lifetime)?).await
    }

    async fn refresh(&self, key: &str, lifetime: Duration) -> Result<bool> {
        self.0.touch_item(key, Expiration::After(lifetime)).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.0.delete_item(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.0.has_item(key).await
    }
}

#[async_trait]
impl<C: SimpleCache + ?Sized> SessionStorage for OverSimpleCache<C> {
    async fn load(&self, key: &str) -> Result<Option<Bytes>> {
        self.0.get(key).await
    }

    async fn store(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<()> {
        self.0.set(key, data, Expiration::After(lifetime)).await
    }

    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool> {
        self.0.add(key, data, Expiration::After(lifetime)).await
    }

    async fn refresh(&self, key: &str, lifetime: Duration) -> Result<bool> {
        self.0.touch(key, Expiration::After(lifetime)).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.0.delete(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.0.has(key).await
    }
}

#[async_trait]
impl<D: DoctrineCache + ?Sized> SessionStorage for OverDoctrine<D> {
    // Doctrine reads a zero life time as "forever"; the handler never passes zero.
    async fn load(&self, key: &str) -> Result<Option<Bytes>> {
        self.0.fetch(key).await
    }

    async fn store(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<()> {
        self.0.save(key, data, lifetime).await
    }

    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool> {
        self.0.add(key, data, lifetime).await
    }

    async fn refresh(&self, key: &str, lifetime: Duration) -> Result<bool> {
        self.0.touch(key, lifetime).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.0.delete(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.0.contains(key).await
    }
}
