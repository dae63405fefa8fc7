//! What a promotion checks before and after it copies a value: whether the key changed
//! meanwhile. One counter per stripe of keys, so that a change to one key does not cancel
//! the promotions of the others (on a namespace written thousands of times a second, a single
//! counter would move during most promotions), and one counter for changes to every key.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::key::Key;

/// How many stripes the keys are spread over: a change to a key cancels the promotions of
/// 1/128 of the other keys, for 1 KiB per store.
const STRIPES: usize = 128;

pub(super) struct Epochs {
    all: AtomicU64,
    stripes: [AtomicU64; STRIPES],
}

impl Epochs {
    pub(super) fn new() -> Epochs {
        Epochs {
            all: AtomicU64::new(0),
            stripes: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// The epoch of `key`: it moves whenever `key` (or a key of its stripe) changes, and
    /// whenever every key does. Both counters only grow, so their sum moves when either does.
    pub(super) fn of(&self, key: Key<'_>) -> u64 {
        let all = self.all.load(Ordering::Acquire);
        all.wrapping_add(self.stripes[stripe(key)].load(Ordering::Acquire))
    }

    /// Marks a change to `keys`.
    pub(super) fn bump(&self, keys: &[Key<'_>]) {
        for &key in keys {
            self.stripes[stripe(key)].fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Marks a change to every key.
    pub(super) fn bump_all(&self) {
        self.all.fetch_add(1, Ordering::AcqRel);
    }
}

/// The stripe of `key` (a fixed hash: the spread need not resist an adversary, since a
/// collision only cancels a promotion).
pub(super) fn stripe(key: Key<'_>) -> usize {
    let hash = foldhash::fast::FixedState::default().hash_one(key.as_bytes());
    // The remainder is below STRIPES, so it fits a usize.
    (hash % STRIPES as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key<'_> {
        Key::new(s).unwrap()
    }

    /// Two keys of different stripes.
    fn apart() -> (Key<'static>, Key<'static>) {
        let a = key("a");
        let b = ["b", "c", "d", "e", "f"]
            .into_iter()
            .map(key)
            .find(|b| stripe(*b) != stripe(a))
            .unwrap();
        (a, b)
    }

    #[test]
    fn a_change_moves_its_key_and_not_a_key_of_another_stripe() {
        let epochs = Epochs::new();
        let (a, b) = apart();
        let (before_a, before_b) = (epochs.of(a), epochs.of(b));
        epochs.bump(&[a]);
        assert_ne!(epochs.of(a), before_a);
        assert_eq!(epochs.of(b), before_b);
    }

    #[test]
    fn a_change_to_every_key_moves_them_all() {
        let epochs = Epochs::new();
        let (a, b) = apart();
        let (before_a, before_b) = (epochs.of(a), epochs.of(b));
        epochs.bump_all();
        assert_ne!(epochs.of(a), before_a);
        assert_ne!(epochs.of(b), before_b);
    }

    #[test]
    fn keys_spread_over_the_stripes() {
        let names: Vec<String> = (0..4096).map(|i| format!("user.{i}")).collect();
        let mut used = [0_u32; STRIPES];
        for name in &names {
            used[stripe(key(name))] += 1;
        }
        // 32 keys a stripe on average: none empty, none with four times its share.
        assert!(used.iter().all(|&n| n > 0 && n < 128), "{used:?}");
    }
}
