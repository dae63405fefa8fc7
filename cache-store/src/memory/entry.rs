//! What the memory backend stores per entry and how it is weighed.

use bytes::Bytes;

use crate::expiry::Deadline;

/// A stored value with its absolute deadline (checked against the store's clock on read).
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub(super) value: Bytes,
    pub(super) deadline: Deadline,
}

/// Bytes counted per entry beyond key and value: the map's slot, the `Stored` and the key box.
pub(super) const ENTRY_OVERHEAD: usize = 80;

/// The weight of an entry in bytes (saturating, so a huge value is heavier than any cache).
pub(super) fn weigh(key_len: usize, value_len: usize) -> u64 {
    u64::try_from(
        key_len
            .saturating_add(value_len)
            .saturating_add(ENTRY_OVERHEAD),
    )
    .unwrap_or(u64::MAX)
}

/// quick_cache's view of [`weigh`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Weigh;

impl quick_cache::Weighter<Box<[u8]>, Stored> for Weigh {
    fn weight(&self, key: &Box<[u8]>, stored: &Stored) -> u64 {
        weigh(key.len(), stored.value.len())
    }
}
