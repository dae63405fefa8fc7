//! What the moka backend stores per entry, how it is weighed, and how it expires.

use std::time::{Duration, Instant, SystemTime};

use ::moka::Expiry;
use bytes::Bytes;

use crate::expiry::Deadline;

/// A stored value with its absolute deadline (checked against the store's clock on read).
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub(super) value: Bytes,
    pub(super) deadline: Deadline,
}

/// Bytes counted per entry beyond key and value: moka's node, the `Stored` and the key box.
pub(super) const ENTRY_OVERHEAD: usize = 96;

/// The weight of an entry in bytes, saturating at moka's `u32` weight limit.
pub(super) fn weigh(key_len: usize, value_len: usize) -> u32 {
    u32::try_from(
        key_len
            .saturating_add(value_len)
            .saturating_add(ENTRY_OVERHEAD),
    )
    .unwrap_or(u32::MAX)
}

/// Hands each entry's deadline to moka's timers, on creation **and on update**: moka's default
/// `expire_after_update` keeps the old deadline, so a re-saved key would keep its first TTL.
#[derive(Debug)]
pub(super) struct DeadlineExpiry;

impl DeadlineExpiry {
    fn time_left(stored: &Stored) -> Option<Duration> {
        match stored.deadline {
            Deadline::Never => None,
            Deadline::At(at) => Some(at.duration_since(SystemTime::now()).unwrap_or_default()),
        }
    }
}

impl Expiry<Box<[u8]>, Stored> for DeadlineExpiry {
    fn expire_after_create(
        &self,
        _key: &Box<[u8]>,
        stored: &Stored,
        _created_at: Instant,
    ) -> Option<Duration> {
        Self::time_left(stored)
    }

    fn expire_after_update(
        &self,
        _key: &Box<[u8]>,
        stored: &Stored,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Self::time_left(stored)
    }
}
