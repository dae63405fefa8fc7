//! A `Store` over a PSR-16 cache, so that PSR-6's `Pool` runs over any `SimpleCache`.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::{Clock, Entry, ErrorKind, Expiration, FailedEntries, Key, Result, Stats, Store};

use crate::traits::SimpleCache;

/// A [`Store`] whose storage is a [`SimpleCache`]: what lets
/// [`CacheBackedPool`](super::CacheBackedPool) give full PSR-6 semantics over any PSR-16
/// cache. [`add`](Store::add) and [`touch`](Store::touch), which PSR-16 has no word for,
/// answer [`ErrorKind::Unsupported`]: so a pool over it has no `add_item`, and sessions go on
/// the PSR-16 cache directly.
#[derive(Debug)]
pub struct StoreOverSimpleCache {
    cache: Arc<dyn SimpleCache>,
}

impl StoreOverSimpleCache {
    /// A store over `cache`.
    pub fn new(cache: Arc<dyn SimpleCache>) -> Self {
        StoreOverSimpleCache { cache }
    }

    /// The cache underneath.
    pub fn inner(&self) -> &Arc<dyn SimpleCache> {
        &self.cache
    }
}

/// A refused value fails its entries (PSR-16 does not say which of a multiple call were
/// refused, so all of the call's entries are reported); any other error fails the batch.
fn record(failed: &mut FailedEntries, members: &[usize], written: Result<()>) -> Result<()> {
    match written {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == ErrorKind::TooLarge => {
            for &index in members {
                failed.push(index, err.clone());
            }
            Ok(())
        }
        Err(err) => Err(err),
    }
}

#[async_trait]
impl Store for StoreOverSimpleCache {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        Ok(self
            .cache
            .get_multiple(&keys)
            .await?
            .into_iter()
            .map(Ok)
            .collect())
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        // PSR-16 takes one TTL per call: one set_multiple per distinct expiration.
        let mut groups: Vec<(Expiration, Vec<usize>)> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            match groups.iter_mut().find(|(e, _)| *e == entry.expiration) {
                Some((_, members)) => members.push(index),
                None => groups.push((entry.expiration, vec![index])),
            }
        }
        let distinct_keys: HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let mut failed = FailedEntries::new();
        if groups.len() > 1 && distinct_keys.len() < entries.len() {
            // A key repeated under different expirations: only writing in order keeps "the
            // later entry wins".
            for (index, entry) in entries.iter().enumerate() {
                let written = self
                    .cache
                    .set(
                        entry.key.as_str(),
                        Bytes::clone(&entry.value),
                        entry.expiration,
                    )
                    .await;
                record(&mut failed, &[index], written)?;
            }
            return Ok(failed);
        }
        for (expiration, members) in groups {
            let values: Vec<(&str, Bytes)> = members
                .iter()
                .map(|&i| (entries[i].key.as_str(), Bytes::clone(&entries[i].value)))
                .collect();
            let written = self.cache.set_multiple(&values, expiration).await;
            record(&mut failed, &members, written)?;
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        self.cache.delete_multiple(&keys).await
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        self.cache.has(key.as_str()).await
    }

    /// PSR-16 has no atomic add, and emulating one with a read and a write would let two
    /// callers both win: refused.
    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        let _ = (key, value, expiration);
        Err(unsupported("an atomic add"))
    }

    /// PSR-16 cannot change a lifetime without rewriting the value: refused.
    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let _ = (key, expiration);
        Err(unsupported("a touch"))
    }

    async fn clear(&self) -> Result<()> {
        self.cache.clear().await
    }

    async fn stats(&self) -> Result<Stats> {
        Ok(Stats::default())
    }

    fn namespace(&self) -> &str {
        ""
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.cache.clock()
    }
}

fn unsupported(what: &str) -> cache_store::Error {
    cache_store::Error::new(
        cache_store::ErrorKind::Unsupported,
        format!("a store over a PSR-16 cache has no {what}: PSR-16 has no such operation"),
    )
}
