//! `Store` for `MemoryStore`.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use quick_cache::sync::{EntryAction, EntryResult};

use super::MemoryStore;
use super::entry::{Stored, weigh};
use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::{Deadline, Expiration};
use crate::key::Key;
use crate::store::{Entry, FailedEntries, Found, Stats, Store};

impl MemoryStore {
    /// Refuses an entry the map would evict as soon as it is inserted: a silently dropped
    /// write.
    fn check_size(&self, key: Key<'_>, value: &Bytes) -> Result<()> {
        // +8: the generation prefix of the internal key.
        if weigh(key.len() + 8, value.len()) > self.shared.max_entry_weight {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "a {} byte value does not fit a memory store whose largest entry is {} bytes \
                     (a share of its {} byte capacity)",
                    value.len(),
                    self.shared.max_entry_weight,
                    self.shared.capacity_bytes
                ),
            ));
        }
        Ok(())
    }

    fn write(&self, key: Key<'_>, value: Bytes, deadline: Deadline, now: SystemTime) -> Result<()> {
        if deadline.is_expired(now) {
            self.shared.map.remove(self.lookup_key(key).as_slice());
            return Ok(());
        }
        self.check_size(key, &value)?;
        self.shared.map.insert(
            self.lookup_key(key).into_boxed(),
            Stored { value, deadline },
        );
        Ok(())
    }

    /// The live value under `key` (counted as a hit or a miss); an expired entry found is
    /// dropped.
    fn read(&self, key: Key<'_>) -> Option<Bytes> {
        let found = self.lookup(key);
        self.shared.counts.lookup(found.is_some());
        found
    }

    fn lookup(&self, key: Key<'_>) -> Option<Bytes> {
        self.lookup_stored(key).map(|stored| stored.value)
    }

    /// The live entry under `key`, with its deadline.
    fn lookup_stored(&self, key: Key<'_>) -> Option<Stored> {
        let lookup = self.lookup_key(key);
        let stored = self.shared.map.get(lookup.as_slice())?;
        if self.is_live(stored.deadline) {
            return Some(stored);
        }
        let now = self.shared.clock.now();
        // Only if it is still the expired one: a write may have replaced it since.
        self.shared
            .map
            .remove_if(lookup.as_slice(), |s| s.deadline.is_expired(now));
        None
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        Ok(keys.iter().map(|&key| Ok(self.read(key))).collect())
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        // One `now` for the whole batch, so entries of one call expire together.
        let now = self.shared.clock.now();
        let mut failed = FailedEntries::new();
        for (index, entry) in entries.iter().enumerate() {
            let deadline = entry.expiration.deadline(now, self.shared.default_ttl);
            if let Err(err) = self.write(entry.key, Bytes::clone(&entry.value), deadline, now) {
                failed.push(index, err);
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        for &key in keys {
            self.shared.map.remove(self.lookup_key(key).as_slice());
        }
        Ok(())
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        Ok(self.read(key).is_some())
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        self.check_size(key, &value)?;
        let now = self.shared.clock.now();
        let deadline = expiration.deadline(now, self.shared.default_ttl);
        let owned = self.lookup_key(key).into_boxed();
        // The closure runs under the shard's write lock, and an absent key is claimed with a
        // placeholder that racing `add`s wait on: of racing `add`s exactly one finds the key
        // absent.
        let found = self.shared.map.entry(&owned, None, |_, current| {
            if current.deadline.is_expired(now) {
                EntryAction::ReplaceWithGuard
            } else {
                EntryAction::Retain(())
            }
        });
        let guard = match found {
            EntryResult::Retained(()) => return Ok(false),
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => guard,
            // Not asked for (no removal, no timeout): the key was not taken.
            EntryResult::Removed(..) | EntryResult::Timeout => return Ok(true),
        };
        if !deadline.is_expired(now) {
            // Fails only when a write replaced the placeholder meanwhile: that write came
            // after this add, and its value stands.
            let _ = guard.insert(Stored { value, deadline });
        }
        Ok(true)
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let now = self.shared.clock.now();
        let deadline = expiration.deadline(now, self.shared.default_ttl);
        let owned = self.lookup_key(key).into_boxed();
        let found = self.shared.map.entry(&owned, None, |_, current| {
            if current.deadline.is_expired(now) {
                // A dead entry is as good as absent; drop it while we hold the key.
                EntryAction::Remove
            } else if deadline.is_expired(now) {
                EntryAction::ReplaceWithGuard
            } else {
                current.deadline = deadline;
                EntryAction::Retain(())
            }
        });
        Ok(match found {
            EntryResult::Retained(()) => true,
            // Touched into the past: the live entry is gone (the guard leaves it absent).
            EntryResult::Replaced(..) => true,
            EntryResult::Removed(..) | EntryResult::Vacant(_) | EntryResult::Timeout => false,
        })
    }

    async fn get_many_with_deadlines(
        &self,
        keys: &[Key<'_>],
    ) -> Result<Vec<Result<Option<Found>>>> {
        Ok(keys
            .iter()
            .map(|&key| {
                let found = self.lookup_stored(key);
                self.shared.counts.lookup(found.is_some());
                Ok(found.map(|stored| Found {
                    value: stored.value,
                    deadline: Some(stored.deadline),
                }))
            })
            .collect())
    }

    async fn touch_if_equal(
        &self,
        key: Key<'_>,
        expected: &[u8],
        expiration: Expiration,
    ) -> Result<bool> {
        let now = self.shared.clock.now();
        let deadline = expiration.deadline(now, self.shared.default_ttl);
        let owned = self.lookup_key(key).into_boxed();
        let found = self.shared.map.entry(&owned, None, |_, current| {
            if current.deadline.is_expired(now) || current.value[..] != *expected {
                EntryAction::Retain(false)
            } else if deadline.is_expired(now) {
                EntryAction::Remove
            } else {
                current.deadline = deadline;
                EntryAction::Retain(true)
            }
        });
        Ok(match found {
            EntryResult::Retained(touched) => touched,
            EntryResult::Removed(..) => true,
            EntryResult::Vacant(_) | EntryResult::Replaced(..) | EntryResult::Timeout => false,
        })
    }

    async fn clear(&self) -> Result<()> {
        let prefix = self.shared.namespaces.renew(&self.slot);
        // The namespace is already empty for every handle; this only frees the memory.
        self.shared.map.retain(|key, _| !key.starts_with(&prefix));
        Ok(())
    }

    async fn stats(&self) -> Result<Stats> {
        let used = self.shared.map.weight();
        let (hits, misses) = self.shared.counts.totals();
        Ok(Stats {
            hits: Some(hits),
            misses: Some(misses),
            uptime: Some(self.shared.started.elapsed()),
            memory_usage: Some(used),
            memory_available: Some(self.shared.capacity_bytes.saturating_sub(used)),
            entries: Some(u64::try_from(self.shared.map.len()).unwrap_or(u64::MAX)),
            ..Stats::default()
        })
    }

    fn backend(&self) -> &'static str {
        "memory"
    }

    fn namespace(&self) -> &str {
        self.slot.name()
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.shared.clock)
    }

    async fn get(&self, key: Key<'_>) -> Result<Option<Bytes>> {
        Ok(self.read(key))
    }

    async fn set(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<()> {
        let now = self.shared.clock.now();
        let deadline = expiration.deadline(now, self.shared.default_ttl);
        self.write(key, value, deadline, now)
    }

    async fn delete(&self, key: Key<'_>) -> Result<()> {
        self.shared.map.remove(self.lookup_key(key).as_slice());
        Ok(())
    }
}
