//! The deferred queue: snapshots waiting for `commit`.

use std::time::SystemTime;

use bytes::Bytes;
use cache_store::envelope::Metadata;
use cache_store::{Expiration, OwnedKey};
use foldhash::HashMap;

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

/// The queue as [`Queue::snapshot`] saw it.
pub(super) struct Snapshot {
    pub(super) items: Vec<(OwnedKey, Pending)>,
    /// The last sequence number given out when the snapshot was taken.
    upto: u64,
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
    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            items: self
                .items
                .iter()
                .map(|(k, p)| (k.clone(), p.clone()))
                .collect(),
            upto: self.next_seq,
        }
    }

    /// Removes what `snapshot` holds, except the keys queued again since: in one pass and
    /// without a lookup per key, since an entry still carrying a sequence number up to the
    /// snapshot's is one the snapshot took unchanged.
    pub(super) fn remove_written(&mut self, snapshot: &Snapshot) {
        if self.next_seq == snapshot.upto {
            // Nothing queued since (the usual case): all of it was written. Clearing also
            // leaves the table without the tombstones removals would, so the next batch of
            // inserts does not rehash.
            self.items.clear();
        } else {
            self.items.retain(|_, pending| pending.seq > snapshot.upto);
        }
    }

    pub(super) fn take_all(&mut self) -> HashMap<OwnedKey, Pending> {
        std::mem::take(&mut self.items)
    }
}
