//! Per-session locks: taken with the storage's atomic add and a random token, always with a
//! finite expiry, retried with capped exponential backoff, released only by their owner.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_store::{Error, ErrorKind, Result};

use crate::id::{MIN_ID_LENGTH, create_id};
use crate::options::LockOptions;
use crate::storage::SessionStorage;

/// Takes the lock at `key`, waiting between attempts as `options` says; returns the token
/// that proves ownership.
pub(crate) async fn acquire<S: SessionStorage + ?Sized>(
    storage: &Arc<S>,
    key: &str,
    options: &LockOptions,
) -> Result<String> {
    // 128 random bits: no other request, in this process or another, holds the same token.
    let token = create_id(MIN_ID_LENGTH)?;
    let mut wait = options.wait_min;
    // If this future is dropped while an add is in flight, the add may still have happened:
    // the guard then releases (owner-checked) rather than leave the lock to block the session
    // until it expires. An error leaves it armed for the same reason.
    let mut guard = Unconfirmed::new(storage, key, &token);
    let value = Bytes::from(token.clone());
    for attempt in 0..=options.retries {
        guard.armed = true;
        match storage.store_new(key, value.clone(), options.expiry).await {
            Ok(true) => {
                guard.armed = false;
                return Ok(token);
            }
            Ok(false) => guard.armed = false,
            Err(err) => return Err(err),
        }
        if attempt < options.retries {
            tokio::time::sleep(jittered(wait)).await;
            wait = (wait * 2).min(options.wait_max);
        }
    }
    Err(Error::new(
        ErrorKind::Locked,
        format!(
            "the session is locked by another request: {} attempts over the retry budget failed",
            u64::from(options.retries) + 1
        ),
    ))
}

/// A wait drawn from the upper half of `wait`, so that waiting requests spread out.
fn jittered(wait: Duration) -> Duration {
    let nanos = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(nanos / 2..=nanos))
}

/// Whether the lock at `key` still carries `token` (it did not expire and get taken over).
pub(crate) async fn is_held<S: SessionStorage + ?Sized>(
    storage: &S,
    key: &str,
    token: &str,
) -> Result<bool> {
    Ok(storage.load(key).await?.as_deref() == Some(token.as_bytes()))
}

/// Deletes the lock at `key` if it still carries `token`.
///
/// The check and the delete are two operations, since none of the three abstractions has a
/// compare-and-delete: a lock that expires in the instant between them, and is taken by
/// another request in that instant, would be deleted. That needs the holder to have outlived
/// its lock's expiry already, when mutual exclusion is lost anyway (and `write` refuses to
/// write then); what the check rules out is the common case php-memcached gets wrong, a
/// request deleting a lock that expired long ago and now belongs to someone else.
pub(crate) async fn release<S: SessionStorage + ?Sized>(
    storage: &S,
    key: &str,
    token: &str,
) -> Result<()> {
    if is_held(storage, key, token).await? {
        storage.remove(key).await?;
    }
    Ok(())
}

/// Releases in a spawned task, for `Drop`, where nothing can be awaited. Without a tokio
/// runtime the lock is left to its expiry, loudly.
pub(crate) fn release_in_background<S: SessionStorage + ?Sized>(
    storage: Arc<S>,
    key: String,
    token: String,
) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                if let Err(err) = release(&*storage, &key, &token).await {
                    tracing::warn!(key, error = %err, "releasing a dropped session lock failed; it ends at its expiry");
                }
            });
        }
        Err(_) => tracing::warn!(
            key,
            "a session lock was dropped outside a tokio runtime; it ends at its expiry"
        ),
    }
}

/// Releases a lock attempt whose outcome was never seen (the future was dropped mid-add, or
/// the add failed): armed only while an add is in flight or after it failed.
struct Unconfirmed<S: SessionStorage + ?Sized> {
    storage: Arc<S>,
    key: String,
    token: String,
    armed: bool,
}

impl<S: SessionStorage + ?Sized> Unconfirmed<S> {
    fn new(storage: &Arc<S>, key: &str, token: &str) -> Self {
        Unconfirmed {
            storage: Arc::clone(storage),
            key: key.to_owned(),
            token: token.to_owned(),
            armed: false,
        }
    }
}

impl<S: SessionStorage + ?Sized> Drop for Unconfirmed<S> {
    fn drop(&mut self) {
        if self.armed {
            release_in_background(
                Arc::clone(&self.storage),
                std::mem::take(&mut self.key),
                std::mem::take(&mut self.token),
            );
        }
    }
}
