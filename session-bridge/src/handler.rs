//! The PHP session handler contract, async and object safe.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::Result;

/// PHP's `SessionHandlerInterface`, `SessionIdInterface` and
/// `SessionUpdateTimestampHandlerInterface` in one async, object-safe trait
/// (`Arc<dyn SessionHandler>` works), with PHP's booleans replaced by `Result`.
///
/// A request goes `open → [validate_id] → read → … → write | update_timestamp → close`, as in
/// PHP. Two methods go beyond PHP, whose lifetime is one global setting:
/// [`write_with_lifetime`](Self::write_with_lifetime) and [`create`](Self::create), what a
/// store for tower-sessions needs.
///
/// ```
/// use std::sync::Arc;
/// use cache_pool::Pool;
/// use cache_store::moka::MokaStore;
/// use session_bridge::{CacheSessionHandler, SessionHandler, SessionOptions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let pool = Arc::new(Pool::new(MokaStore::builder().build()?));
/// let handler = CacheSessionHandler::new(pool, SessionOptions::new());
///
/// let id = handler.create_sid()?;
/// handler.open("", "PHPSESSID").await?;
/// assert!(handler.read(&id).await?.is_empty()); // a new session reads as empty data
/// handler.write(&id, "count|i:1;".into()).await?;
/// handler.close().await?;
///
/// assert_eq!(&handler.read(&id).await?[..], b"count|i:1;");
/// handler.destroy(&id).await?;
/// assert!(handler.read(&id).await?.is_empty());
/// assert!(!handler.validate_id("../../etc/passwd").await?); // never becomes a key
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait SessionHandler: Send + Sync + fmt::Debug {
    /// The first call of a request, with PHP's `session.save_path` and `session.name`.
    ///
    /// # Errors
    ///
    /// When the storage cannot be used.
    async fn open(&self, save_path: &str, name: &str) -> Result<()>;

    /// The last call of a request: releases the locks this handler holds.
    ///
    /// # Errors
    ///
    /// A backend failure while releasing (the locks still expire on their own).
    async fn close(&self) -> Result<()>;

    /// The data of session `id`, **empty for an unknown or expired id** (a new session), never
    /// an error for that. With locking on, it first takes the session's lock.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`](cache_store::ErrorKind::InvalidKey) for a malformed id
    /// (before any I/O); [`ErrorKind::Locked`](cache_store::ErrorKind::Locked) when the lock
    /// stays held by another request past the retries; a backend failure.
    async fn read(&self, id: &str) -> Result<Bytes>;

    /// Stores `data` (which may be empty) as session `id` for the configured maximum lifetime.
    ///
    /// # Errors
    ///
    /// A malformed id; [`ErrorKind::Locked`](cache_store::ErrorKind::Locked) when locking is
    /// on and the lock expired and was taken by another request (the write is refused rather
    /// than overwrite that request's session); data the backend refuses; a backend failure.
    async fn write(&self, id: &str, data: Bytes) -> Result<()>;

    /// Deletes session `id` (success when it is absent) and releases its lock.
    ///
    /// # Errors
    ///
    /// A malformed id; a backend failure.
    async fn destroy(&self, id: &str) -> Result<()>;

    /// Removes sessions idle longer than `max_lifetime` and says how many. Cache backends
    /// expire entries themselves, so the handlers here remove none and return 0.
    ///
    /// # Errors
    ///
    /// A backend failure, for handlers that do work here.
    async fn gc(&self, max_lifetime: Duration) -> Result<u64>;

    /// Whether `id` may be used: well formed, and in strict mode also present in the store
    /// (so a client cannot pick its own session id). A malformed id is `false`, not an
    /// error, and never reaches the backend.
    ///
    /// # Errors
    ///
    /// A backend failure.
    async fn validate_id(&self, id: &str) -> Result<bool>;

    /// Restarts the lifetime of session `id` without rewriting its data (PHP calls it instead
    /// of `write` when the data did not change). If the session is gone by now, or the
    /// storage cannot change a lifetime alone, `data` is written instead, so it is never lost.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    async fn update_timestamp(&self, id: &str, data: Bytes) -> Result<()>;

    /// A new session id from a CSPRNG (at least 128 bits, URL-safe).
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails.
    fn create_sid(&self) -> Result<String>;

    /// [`write`](Self::write) with an explicit lifetime instead of the configured one; a zero
    /// lifetime deletes the session.
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write).
    async fn write_with_lifetime(&self, id: &str, data: Bytes, lifetime: Duration) -> Result<()>;

    /// Stores `data` as session `id` for `lifetime` only if no session `id` exists,
    /// atomically; `false` means the id is taken and nothing was written.
    ///
    /// # Errors
    ///
    /// A malformed id; a zero lifetime; a storage without an atomic add; a backend failure.
    async fn create(&self, id: &str, data: Bytes, lifetime: Duration) -> Result<bool>;

    /// Whether `read` takes a lock that only `close` or `destroy` releases.
    fn is_locking(&self) -> bool {
        false
    }
}

/// A boxed future, as `#[async_trait]` methods return them.
type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A shared handler is a handler.
///
/// Written out rather than through `#[async_trait]`: each method hands back the inner
/// handler's own future, where an `async fn` here would box a second one around it.
impl<H: SessionHandler + ?Sized> SessionHandler for Arc<H> {
    fn open<'s, 'a1, 'a2, 'f>(
        &'s self,
        save_path: &'a1 str,
        name: &'a2 str,
    ) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'a1: 'f,
        'a2: 'f,
        Self: 'f,
    {
        (**self).open(save_path, name)
    }

    fn close<'s, 'f>(&'s self) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).close()
    }

    fn read<'s, 'a1, 'f>(&'s self, id: &'a1 str) -> Boxed<'f, Result<Bytes>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).read(id)
    }

    fn write<'s, 'a1, 'f>(&'s self, id: &'a1 str, data: Bytes) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).write(id, data)
    }

    fn destroy<'s, 'a1, 'f>(&'s self, id: &'a1 str) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).destroy(id)
    }

    fn gc<'s, 'f>(&'s self, max_lifetime: Duration) -> Boxed<'f, Result<u64>>
    where
        's: 'f,
        Self: 'f,
    {
        (**self).gc(max_lifetime)
    }

    fn validate_id<'s, 'a1, 'f>(&'s self, id: &'a1 str) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).validate_id(id)
    }

    fn update_timestamp<'s, 'a1, 'f>(&'s self, id: &'a1 str, data: Bytes) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).update_timestamp(id, data)
    }

    fn write_with_lifetime<'s, 'a1, 'f>(
        &'s self,
        id: &'a1 str,
        data: Bytes,
        lifetime: Duration,
    ) -> Boxed<'f, Result<()>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).write_with_lifetime(id, data, lifetime)
    }

    fn create<'s, 'a1, 'f>(
        &'s self,
        id: &'a1 str,
        data: Bytes,
        lifetime: Duration,
    ) -> Boxed<'f, Result<bool>>
    where
        's: 'f,
        'a1: 'f,
        Self: 'f,
    {
        (**self).create(id, data, lifetime)
    }

    fn create_sid(&self) -> Result<String> {
        (**self).create_sid()
    }

    fn is_locking(&self) -> bool {
        (**self).is_locking()
    }
}
