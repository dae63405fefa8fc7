//! Promotions that race changes: a change to the promoted key drops the copy, a change to
//! another key does not.
#![cfg(feature = "memory")]

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{Notify, Semaphore};

use super::TwoLevel;
use crate::error::Result;
use crate::expiry::Expiration;
use crate::key::Key;
use crate::memory::MemoryStore;
use crate::store::{Entry, FailedEntries, Found, Stats, Store};

/// A second level whose reads with deadlines pause after reading, until released: what a
/// read in flight on the network looks like to a change made meanwhile.
#[derive(Debug)]
struct Paused {
    inner: MemoryStore,
    read: Notify,
    release: Semaphore,
}

#[async_trait]
impl Store for Arc<Paused> {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        self.inner.get_many(keys).await
    }
    async fn get_many_with_deadlines(
        &self,
        keys: &[Key<'_>],
    ) -> Result<Vec<Result<Option<Found>>>> {
        let found = self.inner.get_many_with_deadlines(keys).await;
        self.read.notify_one();
        self.release.acquire().await.expect("open").forget();
        found
    }
    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        self.inner.set_many(entries).await
    }
    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        self.inner.delete_many(keys).await
    }
    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        self.inner.contains(key).await
    }
    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        self.inner.add(key, value, expiration).await
    }
    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        self.inner.touch(key, expiration).await
    }
    async fn clear(&self) -> Result<()> {
        self.inner.clear().await
    }
    async fn stats(&self) -> Result<Stats> {
        self.inner.stats().await
    }
    fn namespace(&self) -> &str {
        self.inner.namespace()
    }
}

fn key(s: &str) -> Key<'_> {
    Key::new(s).unwrap()
}

/// A two-level store over a paused second level holding `a = old`, and a read of `a` paused
/// after the second level answered.
async fn read_in_flight() -> (
    TwoLevel<MemoryStore, Arc<Paused>>,
    Arc<Paused>,
    tokio::task::JoinHandle<Option<Bytes>>,
) {
    let second = Arc::new(Paused {
        inner: MemoryStore::builder().build().unwrap(),
        read: Notify::new(),
        release: Semaphore::new(0),
    });
    second
        .inner
        .set(key("a"), "old".into(), Expiration::Never)
        .await
        .unwrap();
    let store =
        TwoLevel::builder(MemoryStore::builder().build().unwrap(), Arc::clone(&second)).build();
    let reader = store.clone();
    let read = tokio::spawn(async move { reader.get(key("a")).await.unwrap() });
    second.read.notified().await;
    (store, second, read)
}

#[tokio::test]
async fn a_change_to_the_key_during_its_promotion_drops_the_copy() {
    let (store, second, read) = read_in_flight().await;
    store
        .set(key("a"), "new".into(), Expiration::Never)
        .await
        .unwrap();
    second.release.add_permits(1);
    assert_eq!(read.await.unwrap().as_deref(), Some(&b"old"[..]));
    assert_ne!(
        store.first().get(key("a")).await.unwrap().as_deref(),
        Some(&b"old"[..]),
        "the first level kept a value older than the write"
    );
    assert_eq!(
        store.get(key("a")).await.unwrap().as_deref(),
        Some(&b"new"[..])
    );
}

#[tokio::test]
async fn a_change_to_another_key_during_a_promotion_keeps_the_copy() {
    let (store, second, read) = read_in_flight().await;
    // "b" is in another stripe than "a" (the stripes' own tests check such pairs exist).
    let other = ["b", "c", "d", "e", "f"]
        .into_iter()
        .find(|other| super::epochs::stripe(key(other)) != super::epochs::stripe(key("a")))
        .unwrap();
    store.delete(key(other)).await.unwrap();
    second.release.add_permits(1);
    assert_eq!(read.await.unwrap().as_deref(), Some(&b"old"[..]));
    assert_eq!(
        store.first().get(key("a")).await.unwrap().as_deref(),
        Some(&b"old"[..]),
        "a change to another key cancelled the promotion"
    );
}
