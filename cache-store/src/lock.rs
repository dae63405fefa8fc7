//! Locks shared by every process on one store: taken with the store's atomic add, owned by a
//! random token, always ending at an expiry, released and refreshed only by their owner.
//!
//! - [`Locks`]: acquire (once, or waiting up to a timeout with jittered capped backoff),
//!   refresh, release, check and force-release the locks of one store.
//! - [`Lock`]: a held lock: its key, its owner's token, and the lifetime it was taken for.
//! - [`LockBackend`]: the five operations locks need. Every [`Store`] is one (its `add`,
//!   `delete_if_equal` and `touch_if_equal` are atomic on every built-in backend); the session
//!   bridge makes its session storages one, so session locks are these locks.
//!
//! A lock is an entry like any other: a process that crashes while holding one blocks the key
//! until the lock's lifetime ends, never longer. A holder that outlives its lock loses it
//! (another may take it); [`Locks::refresh`] extends a lock still held, and says when it was
//! lost.
//!
//! ```
//! use std::time::Duration;
//! use cache_store::lock::{LockOptions, Locks};
//! use cache_store::moka::MokaStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let locks = Locks::new(MokaStore::builder().build()?)
//!     .with_options(LockOptions::new(Duration::from_secs(30)).wait(Duration::from_millis(50)));
//!
//! let lock = locks.acquire("invoice.42").await?;
//! // Taken: another attempt fails (after waiting up to 50 ms).
//! assert!(locks.try_acquire("invoice.42").await?.is_none());
//! assert!(locks.acquire("invoice.42").await.is_err());
//! // Only the owner's token releases it.
//! assert!(locks.refresh(&lock).await?);
//! assert!(locks.release(&lock).await?);
//! assert!(locks.try_acquire("invoice.42").await?.is_some());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::expiry::Expiration;
use crate::key::Key;
use crate::store::Store;

/// What locks need from where they live. Keys are the lock's full key as the backend takes
/// it; tokens are opaque bytes.
///
/// Implemented for every [`Store`]. Implement it to keep locks elsewhere; the owner checks
/// ([`remove_if_held`](LockBackend::remove_if_held), [`extend_if_held`](LockBackend::extend_if_held))
/// must be atomic, or a holder whose lock expired may release or extend its successor's.
///
/// ```
/// use std::time::Duration;
/// use cache_store::lock::LockBackend;
/// use cache_store::memory::MemoryStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let store = MemoryStore::builder().build()?;
/// let ttl = Duration::from_secs(5);
/// assert!(store.insert_new("job", b"me", ttl).await?);
/// assert!(!store.insert_new("job", b"you", ttl).await?);
/// assert!(!store.remove_if_held("job", b"you").await?);
/// assert!(store.remove_if_held("job", b"me").await?);
/// # Ok(())
/// # }
/// ```
#[async_trait]
pub trait LockBackend: Send + Sync + fmt::Debug {
    /// Writes `token` under `key` for `ttl` if `key` holds nothing, atomically; says whether
    /// it wrote.
    ///
    /// # Errors
    ///
    /// An invalid key; backend failures.
    async fn insert_new(&self, key: &str, token: &[u8], ttl: Duration) -> Result<bool>;

    /// The token under `key`, `None` when the lock is free.
    ///
    /// # Errors
    ///
    /// An invalid key; backend failures.
    async fn holder(&self, key: &str) -> Result<Option<Bytes>>;

    /// Deletes `key` if it holds `token`, atomically; says whether it did.
    ///
    /// # Errors
    ///
    /// An invalid key; backend failures.
    async fn remove_if_held(&self, key: &str, token: &[u8]) -> Result<bool>;

    /// Gives `key` the lifetime `ttl` if it holds `token`, atomically; says whether it did.
    ///
    /// # Errors
    ///
    /// An invalid key; backend failures.
    async fn extend_if_held(&self, key: &str, token: &[u8], ttl: Duration) -> Result<bool>;

    /// Deletes `key` whoever holds it.
    ///
    /// # Errors
    ///
    /// An invalid key; backend failures.
    async fn remove(&self, key: &str) -> Result<()>;
}

#[async_trait]
impl<S: Store + ?Sized> LockBackend for S {
    async fn insert_new(&self, key: &str, token: &[u8], ttl: Duration) -> Result<bool> {
        let value = Bytes::copy_from_slice(token);
        self.add(Key::new(key)?, value, Expiration::After(ttl))
            .await
    }

    async fn holder(&self, key: &str) -> Result<Option<Bytes>> {
        self.get(Key::new(key)?).await
    }

    async fn remove_if_held(&self, key: &str, token: &[u8]) -> Result<bool> {
        self.delete_if_equal(Key::new(key)?, token).await
    }

    async fn extend_if_held(&self, key: &str, token: &[u8], ttl: Duration) -> Result<bool> {
        self.touch_if_equal(Key::new(key)?, token, Expiration::After(ttl))
            .await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.delete(Key::new(key)?).await
    }
}

/// How locks are taken: their lifetime, and how long and how often [`Locks::acquire`] tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockOptions {
    ttl: Duration,
    wait: Duration,
    attempts: u32,
    retry_min: Duration,
    retry_max: Duration,
}

impl LockOptions {
    /// Locks that last `ttl` (made at least 1 ms), tried for up to 5 s by
    /// [`Locks::acquire`], first after 5 ms, then doubling up to 200 ms between attempts.
    pub fn new(ttl: Duration) -> Self {
        LockOptions {
            ttl: ttl.max(Duration::from_millis(1)),
            wait: Duration::from_secs(5),
            attempts: u32::MAX,
            retry_min: Duration::from_millis(5),
            retry_max: Duration::from_millis(200),
        }
    }

    /// How long [`Locks::acquire`] keeps trying before it fails with
    /// [`ErrorKind::Locked`]; zero tries once.
    #[must_use]
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// At most `attempts` attempts (at least one) by [`Locks::acquire`], whatever the
    /// [`wait`](Self::wait) left; unlimited by default.
    #[must_use]
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The pause after the first failed attempt (`min`, doubling per attempt up to `max`;
    /// each pause is drawn from its upper half, so that waiters spread out).
    #[must_use]
    pub fn retry_delays(mut self, min: Duration, max: Duration) -> Self {
        self.retry_min = min.max(Duration::from_micros(100));
        self.retry_max = max.max(self.retry_min);
        self
    }

    /// The lifetime of a lock.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How long [`Locks::acquire`] tries.
    pub fn wait_limit(&self) -> Duration {
        self.wait
    }
}

impl Default for LockOptions {
    /// Locks of 30 s.
    fn default() -> Self {
        LockOptions::new(Duration::from_secs(30))
    }
}

/// A held lock: what proves ownership to [`Locks`]. Dropping it does not release it (it ends
/// at its lifetime); release it with [`Locks::release`].
#[derive(Clone, PartialEq, Eq)]
pub struct Lock {
    key: String,
    token: Bytes,
    ttl: Duration,
}

impl Lock {
    /// The lock's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The owner's token, as stored under the key.
    pub fn token(&self) -> &[u8] {
        &self.token
    }

    /// The lifetime it was taken (or last refreshed) for.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

impl fmt::Debug for Lock {
    /// The token stays out of logs: it is what releases the lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("key", &self.key)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// The locks of one backend. See the [module docs](self).
#[derive(Debug)]
pub struct Locks<B: ?Sized> {
    options: LockOptions,
    backend: Arc<B>,
}

impl<B: ?Sized> Clone for Locks<B> {
    fn clone(&self) -> Self {
        Locks {
            options: self.options,
            backend: Arc::clone(&self.backend),
        }
    }
}

impl<B: LockBackend + 'static> Locks<B> {
    /// The locks kept in `backend`, with the default [`LockOptions`].
    pub fn new(backend: B) -> Self {
        Locks::shared(Arc::new(backend))
    }
}

impl<B: LockBackend + ?Sized + 'static> Locks<B> {
    /// The locks kept in a shared `backend`.
    pub fn shared(backend: Arc<B>) -> Self {
        Locks {
            options: LockOptions::default(),
            backend,
        }
    }

    /// The same locks, taken with `options`.
    #[must_use]
    pub fn with_options(mut self, options: LockOptions) -> Self {
        self.options = options;
        self
    }

    /// The options locks are taken with.
    pub fn options(&self) -> &LockOptions {
        &self.options
    }

    /// One attempt: the lock of `key` if it was free.
    ///
    /// # Errors
    ///
    /// An invalid key; backend failures; the operating system's random source failing.
    pub async fn try_acquire(&self, key: &str) -> Result<Option<Lock>> {
        let lock = Lock {
            key: key.to_owned(),
            token: new_token()?,
            ttl: self.options.ttl,
        };
        Ok(self.attempt(&lock).await?.then_some(lock))
    }

    /// The lock of `key`, waiting for it up to [`LockOptions::wait`] (and
    /// [`LockOptions::attempts`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Locked`] when another owner still holds it after the wait; an invalid
    /// key; backend failures.
    pub async fn acquire(&self, key: &str) -> Result<Lock> {
        let lock = Lock {
            key: key.to_owned(),
            token: new_token()?,
            ttl: self.options.ttl,
        };
        let started = Instant::now();
        let mut pause = self.options.retry_min;
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            if self.attempt(&lock).await? {
                return Ok(lock);
            }
            let left = self.options.wait.saturating_sub(started.elapsed());
            if left.is_zero() || attempts >= self.options.attempts {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "lock {key:?} is held by another owner: {attempts} attempts in {:?} failed",
                        started.elapsed()
                    ),
                ));
            }
            tokio::time::sleep(jittered(pause).min(left)).await;
            pause = pause.saturating_mul(2).min(self.options.retry_max);
        }
    }

    /// One add of `lock`, released in the background if this future is dropped while the add
    /// is in flight (it may have happened, and nobody would know the token) or when it fails
    /// (same reason): a lock nobody holds never blocks its key until it expires.
    async fn attempt(&self, lock: &Lock) -> Result<bool> {
        let mut unconfirmed = Unconfirmed {
            backend: Some(Arc::clone(&self.backend)),
            lock,
        };
        let taken = self
            .backend
            .insert_new(&lock.key, &lock.token, lock.ttl)
            .await;
        if taken.is_ok() {
            unconfirmed.backend = None;
        }
        taken
    }

    /// Extends `lock` by its lifetime from now, if it is still held by its owner; `false`
    /// when it was lost (it expired, and may belong to another owner now).
    ///
    /// # Errors
    ///
    /// Backend failures.
    pub async fn refresh(&self, lock: &Lock) -> Result<bool> {
        self.backend
            .extend_if_held(&lock.key, &lock.token, lock.ttl)
            .await
    }

    /// Whether `lock` is still held by its owner.
    ///
    /// # Errors
    ///
    /// Backend failures.
    pub async fn is_held(&self, lock: &Lock) -> Result<bool> {
        Ok(self.backend.holder(&lock.key).await?.as_deref() == Some(&lock.token[..]))
    }

    /// Releases `lock` if its owner still holds it; `false` when it was lost already (then
    /// nothing is deleted: the key may be another owner's lock now).
    ///
    /// # Errors
    ///
    /// Backend failures.
    pub async fn release(&self, lock: &Lock) -> Result<bool> {
        self.backend.remove_if_held(&lock.key, &lock.token).await
    }

    /// Releases `lock` in a spawned task, where nothing can be awaited (a `Drop`). Without a
    /// tokio runtime the lock is left to its lifetime, with a warning.
    pub fn release_in_background(&self, lock: Lock) {
        release_detached(Arc::clone(&self.backend), lock);
    }

    /// Deletes the lock of `key` whoever holds it: for an operator clearing a lock whose
    /// owner is known to be gone. Its owner is not told; its next refresh says `false`.
    ///
    /// # Errors
    ///
    /// An invalid key; backend failures.
    pub async fn force_release(&self, key: &str) -> Result<()> {
        self.backend.remove(key).await
    }
}

/// Releases an attempt whose outcome was never seen.
struct Unconfirmed<'a, B: LockBackend + ?Sized + 'static> {
    backend: Option<Arc<B>>,
    lock: &'a Lock,
}

impl<B: LockBackend + ?Sized + 'static> Drop for Unconfirmed<'_, B> {
    fn drop(&mut self) {
        if let Some(backend) = self.backend.take() {
            release_detached(backend, self.lock.clone());
        }
    }
}

fn release_detached<B: LockBackend + ?Sized + 'static>(backend: Arc<B>, lock: Lock) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                if let Err(err) = backend.remove_if_held(&lock.key, &lock.token).await {
                    tracing::warn!(key = lock.key, error = %err, "releasing a lock failed; it ends at its expiry");
                }
            });
        }
        Err(_) => tracing::warn!(
            key = lock.key,
            "a lock was left outside a tokio runtime; it ends at its expiry"
        ),
    }
}

/// A token no other owner, in this process or another, holds: 128 bits from the operating
/// system, as 32 hex digits (printable, so a lock reads well in `redis-cli`).
fn new_token() -> Result<Bytes> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|err| {
        Error::new(
            ErrorKind::Unavailable,
            format!("the operating system's random source failed: {err}"),
        )
    })?;
    let mut hex = Vec::with_capacity(32);
    for byte in random {
        hex.push(HEX[usize::from(byte >> 4)]);
        hex.push(HEX[usize::from(byte & 0x0F)]);
    }
    Ok(Bytes::from(hex))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A pause drawn from the upper half of `pause`.
fn jittered(pause: Duration) -> Duration {
    let nanos = u64::try_from(pause.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(nanos / 2..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_hex() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.iter().all(u8::is_ascii_hexdigit));
        assert_ne!(a, b);
    }

    #[test]
    fn the_token_stays_out_of_debug_output() {
        let lock = Lock {
            key: "k".into(),
            token: Bytes::from_static(b"secret-token"),
            ttl: Duration::from_secs(1),
        };
        assert!(!format!("{lock:?}").contains("secret"));
    }
}
