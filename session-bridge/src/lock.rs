//! Session locks are [`cache_store::lock`]'s locks, kept in the session storage: taken with
//! its atomic add and a random token, always with a finite expiry, retried with capped
//! exponential backoff, released and refreshed only by their owner.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::Result;
use cache_store::lock::{self, LockBackend, Locks};

use crate::options::LockOptions;
use crate::storage::SessionStorage;

/// A session storage as the place locks live.
#[derive(Debug)]
pub(crate) struct InStorage<S: ?Sized>(Arc<S>);

#[async_trait]
impl<S: SessionStorage + ?Sized> LockBackend for InStorage<S> {
    async fn insert_new(&self, key: &str, token: &[u8], ttl: Duration) -> Result<bool> {
        self.0
            .store_new(key, Bytes::copy_from_slice(token), ttl)
            .await
    }

    async fn holder(&self, key: &str) -> Result<Option<Bytes>> {
        self.0.load(key).await
    }

    async fn remove_if_held(&self, key: &str, token: &[u8]) -> Result<bool> {
        self.0.remove_if_holds(key, token).await
    }

    async fn extend_if_held(&self, key: &str, token: &[u8], ttl: Duration) -> Result<bool> {
        self.0.refresh_if_holds(key, token, ttl).await
    }

    async fn remove(&self, key: &str) -> Result<()> {
        self.0.remove(key).await
    }
}

/// The session locks of `storage`, taken as `options` says: `retries + 1` attempts, the
/// pauses between them doubling from `wait_min` to `wait_max`.
pub(crate) fn locks<S: SessionStorage + ?Sized>(
    storage: &Arc<S>,
    options: &LockOptions,
) -> Locks<InStorage<S>> {
    Locks::new(InStorage(Arc::clone(storage))).with_options(
        lock::LockOptions::new(options.expiry)
            .wait(Duration::MAX)
            .attempts(options.retries.saturating_add(1))
            .retry_delays(options.wait_min, options.wait_max),
    )
}
