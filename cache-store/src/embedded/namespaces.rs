//! The namespaces of one embedded cache.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::LookupKey;
use crate::error::Result;
use crate::key::{Key, validate_namespace};

/// One slot per namespace ever used in a cache, so that all handles of a namespace share its
/// generation. Locked only when a handle is made.
#[derive(Debug)]
pub(crate) struct Namespaces {
    slots: Mutex<HashMap<Box<str>, Arc<NamespaceSlot>>>,
    /// Generations are unique across namespaces, so no two namespaces share a key prefix.
    next_generation: AtomicU64,
}

/// A namespace's current generation: the 8-byte prefix of each of its internal keys.
#[derive(Debug)]
pub(crate) struct NamespaceSlot {
    name: Box<str>,
    generation: AtomicU64,
}

impl Namespaces {
    pub(crate) fn new() -> Self {
        Namespaces {
            slots: Mutex::new(HashMap::new()),
            next_generation: AtomicU64::new(1),
        }
    }

    /// The slot of `namespace`, made on first use.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an invalid
    /// namespace (see [`validate_namespace`]).
    pub(crate) fn slot(&self, namespace: &str) -> Result<Arc<NamespaceSlot>> {
        validate_namespace(namespace)?;
        // A poisoned lock only means another thread panicked while inserting; the map itself
        // is still consistent.
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Arc::clone(slots.entry(namespace.into()).or_insert_with(
            || {
                Arc::new(NamespaceSlot {
                    name: namespace.into(),
                    generation: AtomicU64::new(self.fresh_generation()),
                })
            },
        )))
    }

    fn fresh_generation(&self) -> u64 {
        self.next_generation.fetch_add(1, Ordering::Relaxed)
    }

    /// Gives `slot` a fresh generation, so its entries vanish at once for every handle, and
    /// returns the prefix of the entries left behind, for the backend to free.
    pub(crate) fn renew(&self, slot: &NamespaceSlot) -> [u8; 8] {
        let old = slot
            .generation
            .swap(self.fresh_generation(), Ordering::AcqRel);
        old.to_le_bytes()
    }
}

impl NamespaceSlot {
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The internal key of `key` in this namespace now.
    pub(crate) fn lookup_key(&self, key: Key<'_>) -> LookupKey {
        LookupKey::new(self.generation.load(Ordering::Acquire), key)
    }
}
