//! What a session handler asks of a cache, and the three abstractions' answers.
//!
//! One handler ([`CacheSessionHandler`](crate::CacheSessionHandler)) holds every session rule;
//! each abstraction only says how it reads, writes, adds and touches, so the three behave the
//! same by construction (and the testkit checks that they do).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_pool::{CacheItem, CacheItemPool, Pool, PoolValues};
use cache_store::{Expiration, Result, Store};
use doctrine_compat::{Cache as _, CacheProvider};
use simple_cache::{Cache, SimpleCache};

use crate::php_string::{from_stored, to_stored};

/// Where a session handler keeps its entries: full keys (prefix included) to bytes, each with
/// a lifetime that is never zero. Besides reading and writing, sessions need two operations no
/// PHP cache interface has: an atomic add (collision-safe new sessions, locks) and a touch
/// (`update_timestamp` without a rewrite). They live here, not on the PSR traits.
///
/// Implemented for the PSR-6 [`Pool`], the PSR-16 [`Cache`] and Doctrine's [`CacheProvider`]
/// over any store (their add and touch go to the store, which every backend makes atomic),
/// and for `Arc`s of them; implement it to put sessions anywhere else. Over one whose values
/// are PHP's (a Symfony format, shared with PHP), data is stored as the PHP string a PHP
/// session handler over that cache saves, so PHP and Rust read each other's sessions.
///
/// ```
/// use std::time::Duration;
/// use cache_store::moka::MokaStore;
/// use session_bridge::SessionStorage;
/// use simple_cache::Cache;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let storage = Cache::new(MokaStore::builder().build()?);
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
    /// A backend failure.
    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool>;

    /// Restarts the lifetime of `key` without rewriting it; says whether it was present.
    ///
    /// # Errors
    ///
    /// A backend failure.
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

    /// Deletes `key` only while it holds exactly `data`, and says whether it did: how a lock
    /// is released by its owner alone. Atomic in the three abstractions' implementations (the
    /// store compares and deletes in one step); the provided method reads, compares and
    /// deletes in two steps, which an implementation over a backend that can do better should
    /// override.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn remove_if_holds(&self, key: &str, data: &[u8]) -> Result<bool> {
        if self.load(key).await?.as_deref() != Some(data) {
            return Ok(false);
        }
        self.remove(key).await?;
        Ok(true)
    }

    /// Restarts the lifetime of `key` only while it holds exactly `data`, and says whether
    /// it did: how a lock is extended by its owner alone. Atomic as
    /// [`remove_if_holds`](SessionStorage::remove_if_holds) is.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn refresh_if_holds(&self, key: &str, data: &[u8], lifetime: Duration) -> Result<bool> {
        if self.load(key).await?.as_deref() != Some(data) {
            return Ok(false);
        }
        self.refresh(key, lifetime).await
    }
}

fn item(key: &str, data: Bytes, lifetime: Duration) -> Result<CacheItem> {
    let mut item = CacheItem::new(key)?;
    item.set(data).expires(Expiration::After(lifetime));
    Ok(item)
}

#[async_trait]
impl<S: Store + 'static> SessionStorage for Pool<S> {
    async fn load(&self, key: &str) -> Result<Option<Bytes>> {
        from_stored(self.value_codec(), self.get_value(key).await?)
    }

    async fn store(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<()> {
        let data = to_stored(self.value_codec(), data)?;
        self.save(item(key, data, lifetime)?).await
    }

    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool> {
        let data = to_stored(self.value_codec(), data)?;
        self.add_item(item(key, data, lifetime)?).await
    }

    async fn refresh(&self, key: &str, lifetime: Duration) -> Result<bool> {
        self.touch_item(key, Expiration::After(lifetime)).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.delete_item(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.has_item(key).await
    }

    async fn remove_if_holds(&self, key: &str, data: &[u8]) -> Result<bool> {
        let data = to_stored(self.value_codec(), Bytes::copy_from_slice(data))?;
        self.delete_item_if(key, data).await
    }

    async fn refresh_if_holds(&self, key: &str, data: &[u8], lifetime: Duration) -> Result<bool> {
        let data = to_stored(self.value_codec(), Bytes::copy_from_slice(data))?;
        self.touch_item_if(key, data, Expiration::After(lifetime))
            .await
    }
}

#[async_trait]
impl<S: Store + 'static> SessionStorage for Cache<S> {
    async fn load(&self, key: &str) -> Result<Option<Bytes>> {
        from_stored(self.value_codec(), self.get(key).await?)
    }

    async fn store(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<()> {
        let data = to_stored(self.value_codec(), data)?;
        self.set(key, data, Expiration::After(lifetime)).await
    }

    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool> {
        let data = to_stored(self.value_codec(), data)?;
        self.add(key, data, Expiration::After(lifetime)).await
    }

    async fn refresh(&self, key: &str, lifetime: Duration) -> Result<bool> {
        self.touch(key, Expiration::After(lifetime)).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.delete(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.has(key).await
    }

    async fn remove_if_holds(&self, key: &str, data: &[u8]) -> Result<bool> {
        let data = to_stored(self.value_codec(), Bytes::copy_from_slice(data))?;
        self.delete_if(key, data).await
    }

    async fn refresh_if_holds(&self, key: &str, data: &[u8], lifetime: Duration) -> Result<bool> {
        let data = to_stored(self.value_codec(), Bytes::copy_from_slice(data))?;
        self.touch_if(key, data, Expiration::After(lifetime)).await
    }
}

#[async_trait]
impl<S: Store + 'static> SessionStorage for CacheProvider<S> {
    // Doctrine reads a zero life time as "forever"; the handler never passes zero.
    async fn load(&self, key: &str) -> Result<Option<Bytes>> {
        from_stored(self.value_codec(), self.fetch(key).await?)
    }

    async fn store(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<()> {
        let data = to_stored(self.value_codec(), data)?;
        self.save(key, data, lifetime).await
    }

    async fn store_new(&self, key: &str, data: Bytes, lifetime: Duration) -> Result<bool> {
        let data = to_stored(self.value_codec(), data)?;
        self.add(key, data, lifetime).await
    }

    async fn refresh(&self, key: &str, lifetime: Duration) -> Result<bool> {
        self.touch(key, lifetime).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.delete(key).await
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        self.contains(key).await
    }

    async fn remove_if_holds(&self, key: &str, data: &[u8]) -> Result<bool> {
        let data = to_stored(self.value_codec(), Bytes::copy_from_slice(data))?;
        self.delete_if(key, data).await
    }

    async fn refresh_if_holds(&self, key: &str, data: &[u8], lifetime: Duration) -> Result<bool> {
        let data = to_stored(self.value_codec(), Bytes::copy_from_slice(data))?;
        self.touch_if(key, data, lifetime).await
    }
}

/// A boxed future, as `#[async_trait]` methods return them.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A shared storage is a storage.
///
/// Written out rather than through `#[async_trait]`: each method hands back the inner
/// storage's own future, where an `async fn` here would box a second one around it.
impl<T: SessionStorage + ?Sized> SessionStorage for Arc<T> {
    fn load<'s, 'a1, 'f>(&'s self, key: &'a1 str) -> Boxed<'f, Result<Option<Bytes>>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).load(key)
    }

    fn store<'s, 'a1, 'f>(
        &'s self,
        key: &'a1 str,
        data: Bytes,
        lifetime: Duration,
    ) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).store(key, data, lifetime)
    }

    fn store_new<'s, 'a1, 'f>(
        &'s self,
        key: &'a1 str,
        data: Bytes,
        lifetime: Duration,
    ) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).store_new(key, data, lifetime)
    }

    fn refresh<'s, 'a1, 'f>(&'s self, key: &'a1 str, lifetime: Duration) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).refresh(key, lifetime)
    }

    fn remove<'s, 'a1, 'f>(&'s self, key: &'a1 str) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).remove(key)
    }

    fn exists<'s, 'a1, 'f>(&'s self, key: &'a1 str) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).exists(key)
    }

    fn remove_if_holds<'s, 'a1, 'a2, 'f>(
        &'s self,
        key: &'a1 str,
        data: &'a2 [u8],
    ) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'a1: 'f,
        'a2: 'f,
        Self: 'f,
    {
        (**self).remove_if_holds(key, data)
    }

    fn refresh_if_holds<'s, 'a1, 'a2, 'f>(
        &'s self,
        key: &'a1 str,
        data: &'a2 [u8],
        lifetime: Duration,
    ) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'a1: 'f,
        'a2: 'f,
        Self: 'f,
    {
        (**self).refresh_if_holds(key, data, lifetime)
    }
}
