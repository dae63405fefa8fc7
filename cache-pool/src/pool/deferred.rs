//! The deferred queue: snapshots waiting for `commit`.

use std::collections::HashMap;
use std::time::SystemTime;

use bytes::Bytes;
use cache_store::envelope::Metadata;
use cache_store::{Expiration, OwnedKey};

/// A queued item. `expiration` is already resolved: `Default` (the store's default), `Never`
/// or `At`, never `After`.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) value: Bytes,
    pub(super) metadata: Option<Metadata>,
    pub(super) expiration: Expiration,
    /// Bumped on every queueing, so a commit removes only what it wrote.
    pub(super) seq: u64,
}

impl Pending {
    pub(super) fn is_live(&self, now: SystemTime) -> bool {
        match self.expiration {
            Expiration::At(at) => at > now,
            Expiration::After(ttl) => !ttl.is_zero(),
            Expiration::Default | Expiration::Never => true,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Queue {
    items: HashMap<OwnedKey, Pending>,
    next_seq: u64,
}

impl Queue {
    pub(super) fn insert(
        &mut self,
        key: OwnedKey,
        value: Bytes,
        metadata: Option<Metadata>,
        expiration: Expiration,
    ) {
        self.next_seq += 1;
        let pending = Pending {
            value,
            metadata,
            expiration,
            seq: self.next_seq,
        };
        self.items.insert(key, pending);
    }

    pub(super) fn get(&self, key: &str) -> Option<&Pending> {
        self.items.get(key)
    }

    pub(super) fn remove(&mut self, key: &str) {
        self.items.remove(key);
    }

    pub(super) fn clear(&mut self) {
        self.items.clear();
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    /// Everything queued, left in place until the write is known to have succeeded.
    pub(super) fn snapshot(&self) -> Vec<(OwnedKey, Pending)> {
        self.items
            .iter()
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect()
    }

    /// Removes `key` if it still holds the snapshot `seq` (not re-queued since).
    pub(super) fn remove_if_unchanged(&mut self, key: &OwnedKey, seq: u64) {
        if self.items.get(key).is_some_and(|p| p.seq == seq) {
            self.items.remove(key);
        }
    }

    pub(super) fn take_all(&mut self) -> HashMap<OwnedKey, Pending> {
        std::mem::take(&mut self.items)
    }
}
