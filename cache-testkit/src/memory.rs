//! A [`StoreFactory`] over the fast embedded backend (feature `memory`).

use std::sync::Arc;

use async_trait::async_trait;
use cache_store::memory::MemoryStore;
use cache_store::{ManualClock, Result, Store};

use crate::store::StoreFactory;

/// Namespaces of one shared memory cache (as in production), optionally on a manual clock so
/// that the kits test expiry without sleeping.
#[derive(Debug)]
pub struct MemoryFactory {
    root: MemoryStore,
    clock: Option<ManualClock>,
}

impl MemoryFactory {
    /// A 256 MiB cache on a [`ManualClock`] the kits move.
    ///
    /// # Panics
    ///
    /// When the store cannot be built (never, for these settings).
    pub fn with_manual_clock() -> Self {
        let clock = ManualClock::starting_now();
        let root = MemoryStore::builder()
            .max_capacity_bytes(256 * 1024 * 1024)
            .clock(clock.clone())
            .build()
            .expect("a memory store");
        MemoryFactory {
            root,
            clock: Some(clock),
        }
    }

    /// A cache on the wall clock (its suites declare `without: [clock]`, and the cases that
    /// need to move time are ignored).
    ///
    /// # Panics
    ///
    /// When the store cannot be built (never, for these settings).
    pub fn with_wall_clock() -> Self {
        MemoryFactory {
            root: MemoryStore::builder().build().expect("a memory store"),
            clock: None,
        }
    }
}

#[async_trait]
impl StoreFactory for MemoryFactory {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(self.root.with_namespace(namespace)?))
    }

    fn clock(&self) -> Option<ManualClock> {
        self.clock.clone()
    }
}
