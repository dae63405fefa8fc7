//! `Store` for `MokaStore`.

use std::sync::Arc;

use ::moka::ops::compute::{CompResult, Op};
use async_trait::async_trait;
use bytes::Bytes;

use super::MokaStore;
use super::entry::{Stored, weigh};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{Deadline, Expiration};
use crate::key::Key;
use crate::store::{Entry, FailedEntries, Found, Stats, Store};

impl MokaStore {
    /// The live entry under `key`, counted as a hit or a miss.
    fn read(&self, key: Key<'_>) -> Option<Stored> {
        let found = self
            .shared
            .cache
            .get(self.lookup_key(key).as_slice())
            .filter(|s| self.is_live(s.deadline));
        self.shared.counts.lookup(found.is_some());
        found
    }

    fn deadline(&self, expiration: Expiration) -> Deadline {
        expiration.deadline(self.shared.clock.now(), self.shared.default_ttl)
    }

    /// Refuses an entry that could never fit: moka would accept and evict it at once, which
    /// is a silently dropped write.
    fn check_size(&self, key: Key<'_>, value: &Bytes) -> Result<()> {
        // +8: the generation prefix of the internal key.
        let weight = u64::from(weigh(key.len() + 8, value.len()));
        if weight > self.shared.capacity_bytes || weight == u64::from(u32::MAX) {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "a {} byte value does not fit a moka store of {} bytes",
                    value.len(),
                    self.shared.capacity_bytes
                ),
            ));
        }
        Ok(())
    }

    fn write(&self, key: Key<'_>, value: Bytes, deadline: Deadline) -> Result<()> {
        if deadline.is_expired(self.shared.clock.now()) {
            self.shared
                .cache
                .invalidate(self.lookup_key(key).as_slice());
            return Ok(());
        }
        self.check_size(key, &value)?;
        self.shared
            .cache
            .insert(self.owned_key(key), Stored { value, deadline });
        Ok(())
    }
}

#[async_trait]
impl Store for MokaStore {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        Ok(keys
            .iter()
            .map(|&key| Ok(self.read(key).map(|s| s.value)))
            .collect())
    }

    async fn get_many_with_deadlines(
        &self,
        keys: &[Key<'_>],
    ) -> Result<Vec<Result<Option<Found>>>> {
        Ok(keys
            .iter()
            .map(|&key| {
                Ok(self.read(key).map(|s| Found {
                    value: s.value,
                    deadline: Some(s.deadline),
                }))
            })
            .collect())
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        let now = self.shared.clock.now();
        let mut failed = FailedEntries::new();
        for (index, entry) in entries.iter().enumerate() {
            // One `now` for the whole batch, so entries of one call expire together.
            let deadline = entry.expiration.deadline(now, self.shared.default_ttl);
            if let Err(err) = self.write(entry.key, Bytes::clone(&entry.value), deadline) {
                failed.push(index, err);
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        for &key in keys {
            self.shared
                .cache
                .invalidate(self.lookup_key(key).as_slice());
        }
        Ok(())
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        Ok(self.get(key).await?.is_some())
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        self.check_size(key, &value)?;
        let now = self.shared.clock.now();
        let deadline = expiration.deadline(now, self.shared.default_ttl);
        let expired = deadline.is_expired(now);
        let result = self
            .shared
            .cache
            .entry(self.owned_key(key))
            .and_compute_with(|current| {
                // moka runs this closure under the key's lock: the check and the write are one
                // atomic step, so of racing `add`s exactly one sees the key absent.
                match current {
                    Some(entry) if self.is_live(entry.value().deadline) => Op::Nop,
                    Some(_) if expired => Op::Remove,
                    None if expired => Op::Nop,
                    _ => Op::Put(Stored { value, deadline }),
                }
            });
        // Only a live entry is left `Unchanged`; every other outcome means the key was absent.
        Ok(!matches!(result, CompResult::Unchanged(_)))
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let deadline = self.deadline(expiration);
        let expired = deadline.is_expired(self.shared.clock.now());
        let mut was_live = false;
        self.shared
            .cache
            .entry(self.owned_key(key))
            .and_compute_with(|current| {
                match current {
                    Some(entry) if self.is_live(entry.value().deadline) => {
                        was_live = true;
                        if expired {
                            Op::Remove
                        } else {
                            Op::Put(Stored {
                                value: entry.value().value.clone(),
                                deadline,
                            })
                        }
                    }
                    // A dead entry is as good as absent; drop it while we hold the key.
                    Some(_) => Op::Remove,
                    None => Op::Nop,
                }
            });
        Ok(was_live)
    }

    async fn touch_if_equal(
        &self,
        key: Key<'_>,
        expected: &[u8],
        expiration: Expiration,
    ) -> Result<bool> {
        let deadline = self.deadline(expiration);
        let expired = deadline.is_expired(self.shared.clock.now());
        let mut touched = false;
        self.shared
            .cache
            .entry(self.owned_key(key))
            .and_compute_with(|current| match current {
                Some(entry)
                    if self.is_live(entry.value().deadline)
                        && entry.value().value[..] == *expected =>
                {
                    touched = true;
                    if expired {
                        Op::Remove
                    } else {
                        Op::Put(Stored {
                            value: entry.value().value.clone(),
                            deadline,
                        })
                    }
                }
                _ => Op::Nop,
            });
        Ok(touched)
    }

    async fn clear(&self) -> Result<()> {
        let prefix = self.shared.namespaces.renew(&self.slot);
        // The namespace is already empty for every handle; this only frees the memory.
        self.shared
            .cache
            .invalidate_entries_if(move |key, _| key.starts_with(&prefix))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unsupported,
                    "moka refused to drop cleared entries",
                )
                .with_source(e)
            })?;
        Ok(())
    }

    async fn stats(&self) -> Result<Stats> {
        let used = self.shared.cache.weighted_size();
        let (hits, misses) = self.shared.counts.totals();
        Ok(Stats {
            hits: Some(hits),
            misses: Some(misses),
            uptime: Some(self.shared.started.elapsed()),
            memory_usage: Some(used),
            memory_available: Some(self.shared.capacity_bytes.saturating_sub(used)),
            entries: Some(self.shared.cache.entry_count()),
            ..Stats::default()
        })
    }

    fn backend(&self) -> &'static str {
        "moka"
    }

    fn namespace(&self) -> &str {
        self.slot.name()
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.clock)
    }

    async fn get(&self, key: Key<'_>) -> Result<Option<Bytes>> {
        let found = self
            .shared
            .cache
            .get(self.lookup_key(key).as_slice())
            .filter(|s| self.is_live_after_get(s.deadline))
            .map(|s| s.value);
        self.shared.counts.lookup(found.is_some());
        Ok(found)
    }

    async fn set(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<()> {
        self.write(key, value, self.deadline(expiration))
    }

    async fn delete(&self, key: Key<'_>) -> Result<()> {
        self.shared
            .cache
            .invalidate(self.lookup_key(key).as_slice());
        Ok(())
    }
}
