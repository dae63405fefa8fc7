//! `Store` for `TwoLevel`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use foldhash::HashSetExt;

use super::{Shared, TwoLevel};
use crate::clock::Clock;
use crate::error::Result;
use crate::expiry::{Deadline, Expiration};
use crate::key::Key;
use crate::store::{Entry, FailedEntries, Found, Stats, Store};

impl<L1: Store, L2: Store> Shared<L1, L2> {
    /// The first level's expiration for a copy of a value that ends at `deadline` (`None`:
    /// unknown), promoted at `now` (the second level's time): never past the value's end, nor
    /// past the first level's lifetime. Relative, so that it holds on the first level's
    /// clock too.
    fn copy_expiration(&self, deadline: Option<Deadline>, now: SystemTime) -> Expiration {
        match deadline {
            Some(Deadline::At(end)) => Expiration::After(
                end.duration_since(now)
                    .unwrap_or(Duration::ZERO)
                    .min(self.lifetime),
            ),
            _ => Expiration::After(self.lifetime),
        }
    }

    /// The first level's expiration for a copy of a write with `expiration`; `None` when the
    /// write's end is the second level's to decide (its default lifetime), so no copy is
    /// kept until a read learns it.
    fn write_expiration(&self, expiration: Expiration, now: SystemTime) -> Option<Expiration> {
        match expiration {
            Expiration::Default => None,
            Expiration::Never => Some(Expiration::After(self.lifetime)),
            Expiration::After(ttl) => Some(Expiration::After(ttl.min(self.lifetime))),
            Expiration::At(at) => Some(self.copy_expiration(Some(Deadline::At(at)), now)),
        }
    }

    /// Reads `keys` from the second level, and copies what it has into the first.
    async fn read_through(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        let epochs: Vec<u64> = keys.iter().map(|&key| self.epochs.of(key)).collect();
        let found = self.second.get_many_with_deadlines(keys).await?;
        self.promote(keys, &found, &epochs).await;
        Ok(found
            .into_iter()
            .map(|slot| slot.map(|found| found.map(|f| f.value)))
            .collect())
    }

    /// Copies what the second level answered into the first, but for keys that changed
    /// since their `epochs` were read (before the second level was asked).
    async fn promote(&self, keys: &[Key<'_>], found: &[Result<Option<Found>>], epochs: &[u64]) {
        if !self.usable() {
            return;
        }
        let now = self.second.clock().now();
        let mut copied = Vec::new();
        let entries: Vec<Entry<'_>> = keys
            .iter()
            .zip(found)
            .zip(epochs)
            .filter_map(|((&key, slot), &epoch)| match slot {
                Ok(Some(found)) if self.epochs.of(key) == epoch => {
                    copied.push(epoch);
                    Some(Entry::borrowed(
                        key,
                        &found.value,
                        self.copy_expiration(found.deadline, now),
                    ))
                }
                _ => None,
            })
            .collect();
        if entries.is_empty() {
            return;
        }
        // A refused copy (too large for the first level) is simply not kept.
        let _ = self.first.set_many(&entries).await;
        self.drop_raced(&entries, &copied).await;
    }

    /// Drops the copies of `entries` whose keys changed since their `epochs` were read: a
    /// change raced the copy, which may hold a stale value.
    async fn drop_raced(&self, entries: &[Entry<'_>], epochs: &[u64]) {
        let raced: Vec<Key<'_>> = entries
            .iter()
            .zip(epochs)
            .filter(|(entry, epoch)| self.epochs.of(entry.key) != **epoch)
            .map(|(entry, _)| entry.key)
            .collect();
        if !raced.is_empty() {
            self.drop_copies(&raced).await;
        }
    }
}

#[async_trait]
impl<L1: Store + 'static, L2: Store + 'static> Store for TwoLevel<L1, L2> {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        let shared = &*self.shared;
        let mut out: Vec<Result<Option<Bytes>>> = if shared.usable() {
            shared
                .first
                .get_many(keys)
                .await
                .unwrap_or_else(|_| keys.iter().map(|_| Ok(None)).collect())
        } else {
            keys.iter().map(|_| Ok(None)).collect()
        };
        let missing: Vec<usize> = (0..keys.len())
            .filter(|&i| !matches!(out[i], Ok(Some(_))))
            .collect();
        if missing.is_empty() {
            return Ok(out);
        }
        let asked: Vec<Key<'_>> = missing.iter().map(|&i| keys[i]).collect();
        let found = shared.read_through(&asked).await?;
        for (index, slot) in missing.into_iter().zip(found) {
            out[index] = slot;
        }
        Ok(out)
    }

    async fn get(&self, key: Key<'_>) -> Result<Option<Bytes>> {
        let shared = &*self.shared;
        if shared.usable()
            && let Ok(Some(value)) = shared.first.get(key).await
        {
            return Ok(Some(value));
        }
        // The first level missed: straight to the second, without asking the first again.
        let mut values = shared.read_through(std::slice::from_ref(&key)).await?;
        values.pop().unwrap_or(Ok(None))
    }

    async fn get_many_with_deadlines(
        &self,
        keys: &[Key<'_>],
    ) -> Result<Vec<Result<Option<Found>>>> {
        self.shared.second.get_many_with_deadlines(keys).await
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        let shared = &*self.shared;
        let written = shared.second.set_many(entries).await;
        let keys: Vec<Key<'_>> = entries.iter().map(|e| e.key).collect();
        shared.drop_copies(&keys).await;
        let failed = written?;
        if !shared.usable() {
            return Ok(failed);
        }
        let now = shared.second.clock().now();
        // The last entry of a key is the one that stands (as in the second level): walking
        // back, a key's first entry seen is its last.
        let mut seen = foldhash::HashSet::with_capacity(entries.len());
        let mut copies: Vec<Entry<'_>> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.iter().enumerate().rev() {
            if !seen.insert(entry.key) || failed.iter().any(|(i, _)| *i == index) {
                continue;
            }
            if let Some(expiration) = shared.write_expiration(entry.expiration, now) {
                copies.push(Entry::borrowed(entry.key, &entry.value, expiration));
            }
        }
        if !copies.is_empty() {
            let epochs: Vec<u64> = copies.iter().map(|e| shared.epochs.of(e.key)).collect();
            if shared.first.set_many(&copies).await.is_err() {
                let copied: Vec<Key<'_>> = copies.iter().map(|e| e.key).collect();
                shared.drop_copies(&copied).await;
            } else {
                shared.drop_raced(&copies, &epochs).await;
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        let deleted = self.shared.second.delete_many(keys).await;
        self.shared.drop_copies(keys).await;
        deleted
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        if self.shared.usable() && matches!(self.shared.first.contains(key).await, Ok(true)) {
            return Ok(true);
        }
        self.shared.second.contains(key).await
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        let added = self.shared.second.add(key, value, expiration).await;
        self.shared.drop_copies(&[key]).await;
        added
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let touched = self.shared.second.touch(key, expiration).await;
        self.shared.drop_copies(&[key]).await;
        touched
    }

    async fn touch_if_equal(
        &self,
        key: Key<'_>,
        expected: &[u8],
        expiration: Expiration,
    ) -> Result<bool> {
        let touched = self
            .shared
            .second
            .touch_if_equal(key, expected, expiration)
            .await;
        self.shared.drop_copies(&[key]).await;
        touched
    }

    async fn clear(&self) -> Result<()> {
        let cleared = self.shared.second.clear().await;
        self.shared.epochs.bump_all();
        if let Err(err) = self.shared.first.clear().await {
            self.shared.lose_first_level(&err).await;
        }
        cleared
    }

    async fn stats(&self) -> Result<Stats> {
        self.shared.second.stats().await
    }

    fn namespace(&self) -> &str {
        self.shared.second.namespace()
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.shared.second.clock()
    }

    fn backend(&self) -> &'static str {
        "two_level"
    }
}
