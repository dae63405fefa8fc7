//! A `Store` over a Doctrine cache, so that PSR-6's `Pool` runs over any Doctrine cache.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::{
    Clock, Entry, ErrorKind, Expiration, FailedEntries, Key, Remaining, Result, Stats, Store,
};

use crate::traits::DoctrineCache;

/// A [`Store`] whose storage is a [`DoctrineCache`], what lets
/// [`DoctrineBackedPool`](super::DoctrineBackedPool) give full PSR-6 semantics over Doctrine.
/// Keys go to Doctrine unchanged (every PSR-6 key is a Doctrine id). [`add`](Store::add) and
/// [`touch`](Store::touch), which Doctrine has no word for, answer
/// [`ErrorKind::Unsupported`].
#[derive(Debug)]
pub struct StoreOverDoctrine {
    cache: Arc<dyn DoctrineCache>,
}

impl StoreOverDoctrine {
    /// A store over `cache`.
    pub fn new(cache: Arc<dyn DoctrineCache>) -> Self {
        StoreOverDoctrine { cache }
    }

    /// The Doctrine cache underneath.
    pub fn inner(&self) -> &Arc<dyn DoctrineCache> {
        &self.cache
    }

    /// Doctrine's life time for an expiration: `None` when already expired. Whatever is left
    /// is kept exactly, so `0 < t < 1 s` never truncates to 0, which Doctrine reads as forever.
    fn life_time(&self, expiration: Expiration) -> Option<Duration> {
        match expiration
            .deadline(self.cache.clock().now(), None)
            .remaining(self.cache.clock().now())
        {
            Remaining::Forever => Some(Duration::ZERO),
            Remaining::For(left) => Some(left),
            Remaining::Expired => None,
        }
    }
}

#[async_trait]
impl Store for StoreOverDoctrine {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        let found = self.cache.fetch_multiple(&ids).await?;
        Ok(ids.iter().map(|id| Ok(found.get(id).cloned())).collect())
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        // Doctrine's save_multiple takes one life time: one call per distinct life time, in
        // order, so a key given twice ends with its later value.
        let mut failed = FailedEntries::new();
        let mut expired = Vec::new();
        let mut run: Vec<(usize, &str, Bytes)> = Vec::new();
        let mut run_life_time = None;
        for (index, entry) in entries.iter().enumerate() {
            match self.life_time(entry.expiration) {
                None => expired.push(entry.key.as_str()),
                Some(life_time) => {
                    if run_life_time.is_some_and(|lt| lt != life_time) {
                        self.flush_run(&mut run, run_life_time, &mut failed).await?;
                    }
                    run_life_time = Some(life_time);
                    run.push((index, entry.key.as_str(), Bytes::clone(&entry.value)));
                }
            }
        }
        self.flush_run(&mut run, run_life_time, &mut failed).await?;
        if !expired.is_empty() {
            self.cache.delete_multiple(&expired).await?;
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        let ids: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
        self.cache.delete_multiple(&ids).await
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        self.cache.contains(key.as_str()).await
    }

    /// Doctrine has no atomic add, and emulating one with a read and a write would let two
    /// callers both win: refused.
    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        let _ = (key, value, expiration);
        Err(unsupported("an atomic add"))
    }

    /// Doctrine cannot change a lifetime without rewriting the data: refused.
    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let _ = (key, expiration);
        Err(unsupported("a touch"))
    }

    async fn clear(&self) -> Result<()> {
        self.cache.delete_all().await
    }

    async fn stats(&self) -> Result<Stats> {
        let Some(stats) = self.cache.stats().await? else {
            return Ok(Stats::default());
        };
        // `Stats` is non-exhaustive: filled field by field from outside its crate.
        let mut out = Stats::default();
        out.hits = stats.hits;
        out.misses = stats.misses;
        out.uptime = stats.uptime;
        out.memory_usage = stats.memory_usage;
        out.memory_available = stats.memory_available;
        Ok(out)
    }

    fn namespace(&self) -> &str {
        ""
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.cache.clock()
    }
}

impl StoreOverDoctrine {
    async fn flush_run(
        &self,
        run: &mut Vec<(usize, &str, Bytes)>,
        life_time: Option<Duration>,
        failed: &mut FailedEntries,
    ) -> Result<()> {
        let (Some(life_time), false) = (life_time, run.is_empty()) else {
            return Ok(());
        };
        let values: Vec<(&str, Bytes)> = run.iter().map(|(_, k, v)| (*k, v.clone())).collect();
        match self.cache.save_multiple(&values, life_time).await {
            Ok(()) => {}
            // Doctrine does not say which entries were refused: report the call's entries.
            Err(err) if err.kind() == ErrorKind::TooLarge => {
                for (index, _, _) in run.iter() {
                    failed.push(*index, err.clone());
                }
            }
            Err(err) => return Err(err),
        }
        run.clear();
        Ok(())
    }
}

fn unsupported(what: &str) -> cache_store::Error {
    cache_store::Error::new(
        cache_store::ErrorKind::Unsupported,
        format!("a store over a Doctrine cache has no {what}: Doctrine has no such operation"),
    )
}
