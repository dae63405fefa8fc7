//! What `fetch_multiple` answers: PHP's array of the entries found, in the order asked.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::BuildHasher;

use bytes::Bytes;

/// What [`fetch_multiple`](crate::MultiOperationCache::fetch_multiple) answers, as PHP's array
/// does: the data found, keyed by the caller's own ids (borrowed, so a batch copies no id),
/// in the order they were asked, each id once.
///
/// An answer is built once and then read: iterated in order, or looked up by id. Its index
/// is built with it and never changes, so it is the simplest of hash tables: the places of
/// the entries, at twice as many slots as entries, probed one slot after another. Building it
/// costs a fraction of a general hash map's insert per id, and the batch read is the path
/// this crate keeps close to the raw client.
///
/// ```
/// use bytes::Bytes;
/// use doctrine_compat::Fetched;
///
/// let found: Fetched<'_> = [("b", Bytes::from("2")), ("a", Bytes::from("1"))]
///     .into_iter()
///     .collect();
/// assert_eq!(found.get("a"), Some(&Bytes::from("1")));
/// assert!(!found.contains_key("c"));
/// assert_eq!(found.keys().collect::<Vec<_>>(), ["b", "a"]); // in the order given
/// ```
#[derive(Clone, Default)]
pub struct Fetched<'a> {
    /// The entries, in the order asked, each id once.
    entries: Vec<(&'a str, Bytes)>,
    /// `(hash of an id, 1 + its place in entries)`, or `(0, 0)` for an empty slot: a power of
    /// two at least twice the entries, so a probe always reaches an empty slot.
    slots: Vec<(u64, usize)>,
    /// Seeded at random, so that no one can choose ids that share hashes.
    hasher: foldhash::fast::RandomState,
}

impl<'a> Fetched<'a> {
    /// The answer holding `entries`, in their order. An id given twice keeps its first place
    /// and its last data, as in a PHP array.
    pub(crate) fn from_entries(entries: Vec<(&'a str, Bytes)>) -> Self {
        let mut fetched = Fetched {
            entries,
            slots: Vec::new(),
            hasher: foldhash::fast::RandomState::default(),
        };
        if fetched.index().is_err() {
            // An id given twice: drop the repeats and index again. Rare, so a hash map may do
            // it, in linear time whatever the input.
            fetched.entries = without_repeats(std::mem::take(&mut fetched.entries));
            // Without repeats, indexing cannot fail.
            let _ = fetched.index();
        }
        fetched
    }

    /// Indexes every entry, or stops at the first id seen before.
    fn index(&mut self) -> Result<(), Repeated> {
        let size = (self.entries.len() * 2).next_power_of_two();
        let mask = size - 1;
        self.slots.clear();
        self.slots.resize(size, (0, 0));
        for (at, (id, _)) in self.entries.iter().enumerate() {
            let hash = self.hasher.hash_one(id);
            let mut slot = hash as usize & mask;
            while let Some(taken) = self.slots.get_mut(slot) {
                if taken.1 == 0 {
                    *taken = (hash, at + 1);
                    break;
                }
                if taken.0 == hash && self.entries.get(taken.1 - 1).map(|e| e.0) == Some(id) {
                    return Err(Repeated);
                }
                slot = (slot + 1) & mask;
            }
        }
        Ok(())
    }

    /// The data of `id`, if it was found.
    pub fn get(&self, id: &str) -> Option<&Bytes> {
        let mask = self.slots.len().checked_sub(1)?;
        let hash = self.hasher.hash_one(id);
        let mut slot = hash as usize & mask;
        loop {
            let &(stored, place) = self.slots.get(slot)?;
            if place == 0 {
                return None;
            }
            if stored == hash {
                match self.entries.get(place - 1) {
                    Some((found, data)) if *found == id => return Some(data),
                    _ => {}
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Whether `id` was found.
    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// How many ids were found.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The ids found and their data, in the order asked.
    pub fn iter(&self) -> FetchedIter<'_, 'a> {
        self.entries.iter().map(borrow_entry)
    }

    /// The ids found, in the order asked.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &'a str> + '_ {
        self.entries.iter().map(|(id, _)| *id)
    }

    /// The data found, in the order asked.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &Bytes> + '_ {
        self.entries.iter().map(|(_, data)| data)
    }
}

/// [`Fetched::iter`]'s iterator.
pub type FetchedIter<'f, 'a> = std::iter::Map<
    std::slice::Iter<'f, (&'a str, Bytes)>,
    fn(&'f (&'a str, Bytes)) -> (&'a str, &'f Bytes),
>;

fn borrow_entry<'f, 'a>(entry: &'f (&'a str, Bytes)) -> (&'a str, &'f Bytes) {
    (entry.0, &entry.1)
}

/// An id seen twice while indexing.
struct Repeated;

/// `entries` with each id once, at its first place, with its last data.
fn without_repeats<'a>(entries: Vec<(&'a str, Bytes)>) -> Vec<(&'a str, Bytes)> {
    let mut place: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    let mut kept: Vec<(&'a str, Bytes)> = Vec::with_capacity(entries.len());
    for (id, data) in entries {
        match place.entry(id) {
            Entry::Occupied(first) => {
                if let Some(entry) = kept.get_mut(*first.get()) {
                    entry.1 = data;
                }
            }
            Entry::Vacant(slot) => {
                slot.insert(kept.len());
                kept.push((id, data));
            }
        }
    }
    kept
}

impl<'a> FromIterator<(&'a str, Bytes)> for Fetched<'a> {
    /// The answer holding these entries, in their order; an id given twice keeps its first
    /// place and its last data.
    fn from_iter<I: IntoIterator<Item = (&'a str, Bytes)>>(entries: I) -> Self {
        Fetched::from_entries(entries.into_iter().collect())
    }
}

impl<'a> IntoIterator for Fetched<'a> {
    type Item = (&'a str, Bytes);
    type IntoIter = std::vec::IntoIter<(&'a str, Bytes)>;

    /// The ids found and their data, in the order asked.
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'f, 'a> IntoIterator for &'f Fetched<'a> {
    type Item = (&'a str, &'f Bytes);
    type IntoIter = FetchedIter<'f, 'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Equal when the same ids hold the same data in the same order (PHP's `===` on arrays).
impl PartialEq for Fetched<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Eq for Fetched<'_> {}

impl fmt::Debug for Fetched<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn data(text: &str) -> Bytes {
        Bytes::copy_from_slice(text.as_bytes())
    }

    #[test]
    fn repeats_keep_the_first_place_and_the_last_data() {
        let found: Fetched<'_> = [("a", data("1")), ("b", data("2")), ("a", data("3"))]
            .into_iter()
            .collect();
        assert_eq!(found.len(), 2);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(found.get("a"), Some(&data("3")));
        assert_eq!(found.get("b"), Some(&data("2")));
    }

    #[test]
    fn an_empty_answer_finds_nothing() {
        let found = Fetched::default();
        assert!(found.is_empty() && found.get("").is_none() && found.iter().next().is_none());
        let one: Fetched<'_> = [("", data("empty id"))].into_iter().collect();
        assert_eq!(one.get(""), Some(&data("empty id")));
    }

    proptest! {
        #[test]
        fn it_answers_as_an_ordered_map(
            // Few distinct ids, so that repeats are common.
            entries in proptest::collection::vec(("[a-e]{0,2}", "[0-9]{1,3}"), 0..40),
            probes in proptest::collection::vec("[a-f]{0,2}", 0..10),
        ) {
            let entries: Vec<(&str, Bytes)> =
                entries.iter().map(|(id, d)| (id.as_str(), data(d))).collect();
            let found: Fetched<'_> = entries.iter().cloned().collect();
            // The model: the first place of each id, the last data.
            let mut order: Vec<&str> = Vec::new();
            let mut last: HashMap<&str, Bytes> = HashMap::new();
            for (id, d) in &entries {
                if last.insert(id, d.clone()).is_none() {
                    order.push(id);
                }
            }
            prop_assert_eq!(found.keys().collect::<Vec<_>>(), order.clone());
            prop_assert_eq!(found.len(), order.len());
            for (id, d) in &found {
                prop_assert_eq!(Some(d), last.get(id));
            }
            for id in order.iter().copied().chain(probes.iter().map(String::as_str)) {
                prop_assert_eq!(found.get(id), last.get(id));
                prop_assert_eq!(found.contains_key(id), last.contains_key(id));
            }
            let owned: Vec<(&str, Bytes)> = found.clone().into_iter().collect();
            prop_assert_eq!(owned.len(), found.len());
            prop_assert_eq!(&found, &owned.into_iter().collect::<Fetched<'_>>());
        }
    }
}
