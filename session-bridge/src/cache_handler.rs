//! The one session handler, over any [`SessionStorage`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::lock::{Lock, Locks};
use cache_store::{Error, ErrorKind, Result};

use crate::handler::SessionHandler;
use crate::id::{self, create_id};
use crate::lock::{self, InStorage};
use crate::options::SessionOptions;
use crate::storage::SessionStorage;

/// A [`SessionHandler`] over any [`SessionStorage`]: a PSR-6 `Pool`, a PSR-16 `Cache` or a
/// Doctrine `CacheProvider` over any store, or storage of your own.
///
/// What it does, whichever the abstraction:
///
/// - Keys are the configured prefix followed by the id. Ids are checked first (22 to 256
///   characters of `[A-Za-z0-9,_-]`), so an attacker-chosen id never reaches the backend.
/// - Every write gives the session the configured maximum lifetime (1440 s by default);
///   [`update_timestamp`](SessionHandler::update_timestamp) restarts it without a rewrite.
/// - With locking on, the lock of session `id` lives at `<prefix><id>.lock` (`.` never occurs
///   in an id, so it cannot clash with a session).
///
/// # One handler per request
///
/// As in PHP, where each request has its own handler object, a handler value is one
/// request's view: the locks it takes are its own, and [`close`](SessionHandler::close)
/// releases them. Clone it for each request: a clone shares the storage and the options but
/// starts with no locks. Without locking, one handler can serve every request. A handler
/// dropped while holding locks releases them in the background.
pub struct CacheSessionHandler<S: SessionStorage + ?Sized> {
    storage: Arc<S>,
    options: Arc<SessionOptions>,
    /// The session locks, with locking on.
    locks: Option<Locks<InStorage<S>>>,
    /// Session id to the lock this handler holds on it.
    held: Mutex<HashMap<String, Lock>>,
}

impl<S: SessionStorage + ?Sized> CacheSessionHandler<S> {
    /// Sessions in `storage`.
    pub fn new(storage: Arc<S>, options: SessionOptions) -> Self {
        let locks = options
            .locking()
            .map(|locking| lock::locks(&storage, locking));
        CacheSessionHandler {
            storage,
            options: Arc::new(options),
            locks,
            held: Mutex::new(HashMap::new()),
        }
    }

    /// The options.
    pub fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// The storage.
    pub fn storage(&self) -> &Arc<S> {
        &self.storage
    }

    fn key(&self, id: &str) -> Result<String> {
        id::check(id)?;
        Ok(self.prefixed(id, ""))
    }

    fn lock_key(&self, id: &str) -> String {
        match self.options.locking() {
            Some(lock) => lock.key.key(self.options.prefix(), id),
            None => self.prefixed(id, ".lock"),
        }
    }

    /// `<prefix><id><suffix>`, built with one allocation (this runs on every call; the
    /// formatting machinery costs more than the copy).
    fn prefixed(&self, id: &str, suffix: &str) -> String {
        let prefix = self.options.prefix();
        let mut key = String::with_capacity(prefix.len() + id.len() + suffix.len());
        key.push_str(prefix);
        key.push_str(id);
        key.push_str(suffix);
        key
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, Lock>> {
        // The map is only ever inserted into or removed from; a panic elsewhere cannot leave
        // it inconsistent, so a poisoned lock is still usable.
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn held_lock(&self, id: &str) -> Option<Lock> {
        self.held().get(id).cloned()
    }

    /// Takes the lock of `id` unless this handler holds it already.
    async fn lock(&self, id: &str) -> Result<()> {
        let Some(locks) = &self.locks else {
            return Ok(());
        };
        if self.held().contains_key(id) {
            return Ok(());
        }
        let lock = locks.acquire(&self.lock_key(id)).await.map_err(|err| {
            if err.kind() == ErrorKind::Locked {
                Error::new(
                    ErrorKind::Locked,
                    format!(
                        "the session is locked by another request: {}",
                        err.message()
                    ),
                )
            } else {
                err
            }
        })?;
        self.held().insert(id.to_owned(), lock);
        Ok(())
    }

    /// Before a write: with locking on, the lock of `id` must be this handler's (taken now if
    /// it was not taken by `read`), and still be, so an expired lock that another request took
    /// over never lets this one overwrite that request's session. A lock still held is
    /// extended by its expiry, so a long request keeps it.
    async fn ensure_lock(&self, id: &str) -> Result<()> {
        let Some(locks) = &self.locks else {
            return Ok(());
        };
        let Some(lock) = self.held_lock(id) else {
            return self.lock(id).await;
        };
        if locks.refresh(&lock).await? {
            return Ok(());
        }
        self.held().remove(id);
        Err(Error::new(
            ErrorKind::Locked,
            "the session lock expired and another request took it; the write was refused so as not to overwrite that request's session (raise LockOptions::expiry above the longest request)",
        ))
    }

    async fn unlock(&self, id: &str) -> Result<()> {
        let lock = self.held().remove(id);
        match (lock, &self.locks) {
            (Some(lock), Some(locks)) => locks.release(&lock).await.map(drop),
            _ => Ok(()),
        }
    }
}

impl<S: SessionStorage + ?Sized> Clone for CacheSessionHandler<S> {
    /// A handler for another request: same storage and options, no locks.
    fn clone(&self) -> Self {
        CacheSessionHandler {
            storage: Arc::clone(&self.storage),
            options: Arc::clone(&self.options),
            locks: self.locks.clone(),
            held: Mutex::new(HashMap::new()),
        }
    }
}

impl<S: SessionStorage + ?Sized> fmt::Debug for CacheSessionHandler<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheSessionHandler")
            .field("storage", &self.storage)
            .field("options", &self.options)
            .field("locks_held", &self.held().len())
            .finish()
    }
}

impl<S: SessionStorage + ?Sized> Drop for CacheSessionHandler<S> {
    fn drop(&mut self) {
        let held = std::mem::take(&mut *self.held());
        if let Some(locks) = &self.locks {
            for lock in held.into_values() {
                locks.release_in_background(lock);
            }
        }
    }
}

#[async_trait]
impl<S: SessionStorage + ?Sized> SessionHandler for CacheSessionHandler<S> {
    async fn open(&self, _save_path: &str, _name: &str) -> Result<()> {
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        let held = std::mem::take(&mut *self.held());
        let Some(locks) = &self.locks else {
            return Ok(());
        };
        let mut first_error = None;
        for lock in held.into_values() {
            if let Err(err) = locks.release(&lock).await {
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn read(&self, id: &str) -> Result<Bytes> {
        let key = self.key(id)?;
        self.lock(id).await?;
        Ok(self.storage.load(&key).await?.unwrap_or_default())
    }

    async fn write(&self, id: &str, data: Bytes) -> Result<()> {
        self.write_with_lifetime(id, data, self.options.max_lifetime())
            .await
    }

    async fn destroy(&self, id: &str) -> Result<()> {
        let key = self.key(id)?;
        let removed = self.storage.remove(&key).await;
        let unlocked = self.unlock(id).await;
        removed.and(unlocked)
    }

    async fn gc(&self, _max_lifetime: Duration) -> Result<u64> {
        // Every entry carries its own lifetime; the backend drops it.
        Ok(0)
    }

    async fn validate_id(&self, id: &str) -> Result<bool> {
        let Ok(key) = self.key(id) else {
            return Ok(false);
        };
        if self.options.is_strict() {
            self.storage.exists(&key).await
        } else {
            Ok(true)
        }
    }

    async fn update_timestamp(&self, id: &str, data: Bytes) -> Result<()> {
        let key = self.key(id)?;
        self.ensure_lock(id).await?;
        let lifetime = self.options.max_lifetime();
        match self.storage.refresh(&key, lifetime).await {
            Ok(true) => Ok(()),
            // Gone meanwhile (expired, or destroyed by another request), or the storage cannot
            // touch: write, so the data PHP considers saved is saved.
            Ok(false) => self.storage.store(&key, data, lifetime).await,
            Err(err) if err.kind() == ErrorKind::Unsupported => {
                self.storage.store(&key, data, lifetime).await
            }
            Err(err) => Err(err),
        }
    }

    fn create_sid(&self) -> Result<String> {
        create_id(self.options.id_length())
    }

    async fn write_with_lifetime(&self, id: &str, data: Bytes, lifetime: Duration) -> Result<()> {
        let key = self.key(id)?;
        self.ensure_lock(id).await?;
        if lifetime.is_zero() {
            return self.storage.remove(&key).await;
        }
        self.storage.store(&key, data, lifetime).await
    }

    async fn create(&self, id: &str, data: Bytes, lifetime: Duration) -> Result<bool> {
        let key = self.key(id)?;
        if lifetime.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "a session cannot be created already expired",
            ));
        }
        self.storage.store_new(&key, data, lifetime).await
    }

    fn is_locking(&self) -> bool {
        self.options.locking().is_some()
    }
}
