//! The deferred queue: snapshots waiting for `commit`, and the batches being written.
//!
//! A commit does not copy what it writes. It takes the queued items out whole (a
//! [`Flight`]), writes them, and only then lets them go; until then they stay deferred:
//! readers see them, [`Queue::len`] counts them, and a delete or a clear hides them. If the
//! write fails or the commit is cancelled, what was not hidden in the meantime goes back in
//! the queue. A key is visible in one place at most (the queue, or one flight), so a newer
//! `save_deferred` of a key in flight hides the flight's copy, which then never comes back.
//!
//! A failed write is retried by later commits only while it may succeed: an item goes back
//! to the queue after a transient failure (connection, timeout) at most
//! [`MAX_FAILED_WRITES`]` - 1` times, and is dropped after a failure that trying again cannot
//! mend. What the store refuses for one item alone never comes back here at all: the commit
//! reports it and the flight lands written.

use std::sync::Arc;
use std::time::SystemTime;

use crate::format::{Metadata, ValueFormat};
use bytes::Bytes;
use cache_store::{Entry, Expiration, OwnedKey};
use foldhash::{HashMap, HashSet};

/// How many failed writes an item survives before it is dropped: a store that stays away for
/// three commits in a row is not coming back in time for this value to matter, and an item
/// kept forever would fail every commit after it.
pub(super) const MAX_FAILED_WRITES: u8 = 3;

/// A queued item. `expiration` is resolved against the pool's default lifetime; an `After`
/// counts from the commit that writes it, so it is live while queued unless zero.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) value: Bytes,
    pub(super) metadata: Option<Metadata>,
    pub(super) expiration: Expiration,
    /// Writes of this item that failed so far.
    pub(super) failed_writes: u8,
}

/// How a commit's write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The store took the batch (what it refused for single items was reported).
    Written,
    /// The batch failed as a whole; `retryable` when trying again may succeed.
    Failed { retryable: bool },
    /// The commit was dropped before its write ended: nothing is known to have failed.
    Cancelled,
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

/// Items keyed by their key.
pub(super) type Items = HashMap<OwnedKey, Pending>;

/// The store entries that write `items` in `format`, borrowing their keys and values.
pub(super) fn entries_of(items: &Items, format: ValueFormat) -> Vec<Entry<'_>> {
    items
        .iter()
        .map(|(key, p)| Entry {
            key: key.as_key(),
            value: format.encode(&p.value, p.metadata),
            expiration: p.expiration,
        })
        .collect()
}

/// A batch a commit is writing, as the queue sees it.
#[derive(Debug)]
struct Flight {
    id: u64,
    items: Arc<Items>,
    /// Keys deleted, cleared or queued again since the flight left: no longer visible here,
    /// and not put back if the write fails.
    hidden: HashSet<OwnedKey>,
}

impl Flight {
    fn get(&self, key: &str) -> Option<&Pending> {
        match self.items.get(key) {
            Some(pending) if !self.hidden.contains(key) => Some(pending),
            _ => None,
        }
    }

    /// What this flight still shows: its items not hidden since it left.
    fn visible_items(&self) -> impl Iterator<Item = (&OwnedKey, &Pending)> {
        self.items
            .iter()
            .filter(|(key, _)| !self.hidden.contains(key.as_str()))
    }

    /// Hides everything: a later commit has taken over what was still visible.
    fn hide_all(&mut self) {
        self.hidden.extend(self.items.keys().cloned());
    }

    fn hide(&mut self, key: &str) {
        if let Some((owned, _)) = self.items.get_key_value(key)
            && !self.hidden.contains(key)
        {
            self.hidden.insert(owned.clone());
        }
    }

    fn visible(&self) -> usize {
        self.items.len() - self.hidden.len()
    }
}

/// What a commit takes out of the queue to write.
pub(super) struct Launched {
    pub(super) id: u64,
    pub(super) items: Arc<Items>,
}

#[derive(Debug, Default)]
pub(super) struct Queue {
    items: Items,
    /// Batches being written, oldest first. Usually none, or one.
    flights: Vec<Flight>,
    next_flight: u64,
    /// The table of the last batch written, emptied: the next batch is queued into it, so a
    /// steady save-then-commit cycle never regrows a table.
    spare: Items,
}

impl Queue {
    pub(super) fn insert(
        &mut self,
        key: OwnedKey,
        value: Bytes,
        metadata: Option<Metadata>,
        expiration: Expiration,
    ) {
        for flight in &mut self.flights {
            flight.hide(key.as_str());
        }
        let pending = Pending {
            value,
            metadata,
            expiration,
            failed_writes: 0,
        };
        self.items.insert(key, pending);
    }

    /// The visible deferred item for `key`: queued, or else in the newest flight holding it.
    pub(super) fn get(&self, key: &str) -> Option<&Pending> {
        self.items
            .get(key)
            .or_else(|| self.flights.iter().rev().find_map(|f| f.get(key)))
    }

    pub(super) fn remove(&mut self, key: &str) {
        self.items.remove(key);
        for flight in &mut self.flights {
            flight.hide(key);
        }
    }

    pub(super) fn clear(&mut self) {
        self.items.clear();
        // Their commits find them gone when they land, and put nothing back.
        self.flights.clear();
    }

    /// How many items are deferred and not yet known to be written.
    pub(super) fn len(&self) -> usize {
        self.items.len() + self.flights.iter().map(Flight::visible).sum::<usize>()
    }

    /// Takes everything deferred out to be written: the queue, and what other commits still
    /// have in flight (copied, and from then on this batch's: a commit that returns `Ok` has
    /// written all that was deferred when it started). `None` when nothing is deferred.
    pub(super) fn launch(&mut self) -> Option<Launched> {
        let mut items = std::mem::take(&mut self.spare);
        std::mem::swap(&mut items, &mut self.items);
        for flight in &mut self.flights {
            items.extend(flight.visible_items().map(|(k, p)| (k.clone(), p.clone())));
            flight.hide_all();
        }
        if items.is_empty() {
            self.spare = items;
            return None;
        }
        self.next_flight += 1;
        let items = Arc::new(items);
        self.flights.push(Flight {
            id: self.next_flight,
            items: Arc::clone(&items),
            hidden: HashSet::default(),
        });
        Some(Launched {
            id: self.next_flight,
            items,
        })
    }

    /// Ends flight `id`, once its commit has let go of the items, and answers how many of its
    /// items were dropped. Written: they are no longer deferred. Cancelled, or failed in a way
    /// that may mend: what is still visible is queued again, except items that failed
    /// [`MAX_FAILED_WRITES`] times, which are dropped. Failed for good: the visible items are
    /// dropped.
    pub(super) fn land(&mut self, id: u64, outcome: Outcome) -> usize {
        let Some(at) = self.flights.iter().position(|f| f.id == id) else {
            // Cleared while in flight: nothing of it is deferred any more.
            return 0;
        };
        let Flight { items, hidden, .. } = self.flights.remove(at);
        // Hidden keys were deleted, cleared or queued again: they stay as they are now.
        let visible = |key: &OwnedKey| !hidden.contains(key.as_str());
        let failed = match outcome {
            Outcome::Written => {
                self.recycle(items);
                return 0;
            }
            Outcome::Failed { retryable: false } => {
                let dropped = items.keys().filter(|key| visible(key)).count();
                self.recycle(items);
                return dropped;
            }
            Outcome::Failed { retryable: true } => 1,
            Outcome::Cancelled => 0,
        };
        let mut dropped = 0;
        let mut requeue = |key: OwnedKey, mut pending: Pending| {
            pending.failed_writes = pending.failed_writes.saturating_add(failed);
            if pending.failed_writes >= MAX_FAILED_WRITES {
                dropped += 1;
            } else {
                self.items.insert(key, pending);
            }
        };
        match Arc::try_unwrap(items) {
            Ok(mut items) => {
                for (key, pending) in items.drain().filter(|(key, _)| visible(key)) {
                    requeue(key, pending);
                }
                self.keep_spare(items);
            }
            Err(shared) => {
                for (key, pending) in shared.iter().filter(|(key, _)| visible(key)) {
                    requeue(key.clone(), pending.clone());
                }
            }
        }
        dropped
    }

    /// Keeps a written batch's table for the next one, when nothing else holds it.
    fn recycle(&mut self, items: Arc<Items>) {
        if let Ok(mut items) = Arc::try_unwrap(items) {
            items.clear();
            self.keep_spare(items);
        }
    }

    fn keep_spare(&mut self, items: Items) {
        if items.capacity() > self.spare.capacity() {
            self.spare = items;
        }
    }

    /// Everything deferred, for a pool's last-chance commit when it is dropped.
    pub(super) fn take_all(&mut self) -> Items {
        let mut all = std::mem::take(&mut self.items);
        for flight in self.flights.drain(..) {
            // A key is visible in one place at most, so nothing here overwrites.
            all.extend(flight.visible_items().map(|(k, p)| (k.clone(), p.clone())));
        }
        all
    }
}
