//! A [`StoreFactory`] over the embedded moka backend (feature `moka`).

use std::sync::Arc;

use async_trait::async_trait;
use cache_store::moka::MokaStore;
use cache_store::{ManualClock, Result, Store};

use crate::store::StoreFactory;

/// Namespaces of one shared moka cache (as in production), optionally on a manual clock so
/// that the kits test expiry without sleeping.
#[derive(Debug)]
pub struct MokaFactory {
    root: MokaStore,
    clock: Option<ManualClock>,
}

impl MokaFactory {
    /// A 256 MiB cache on a [`ManualClock`] the kits move.
    ///
    /// # Panics
    ///
    /// When the store cannot be built (never, for these settings).
    pub fn with_manual_clock() -> Self {
        let clock = ManualClock::starting_now();
        let root = MokaStore::builder()
            .max_capacity_bytes(256 * 1024 * 1024)
            .clock(clock.clone())
            .build()
            .expect("a moka store");
        MokaFactory {
            root,
            clock: Some(clock),
        }
    }

    /// A cache on the wall clock, where moka's own timers expire entries (its suites declare
    /// `without: [clock]`, and the cases that need to move time are ignored).
    ///
    /// # Panics
    ///
    /// When the store cannot be built (never, for these settings).
    pub fn with_wall_clock() -> Self {
        MokaFactory {
            root: MokaStore::builder().build().expect("a moka store"),
            clock: None,
        }
    }
}

#[async_trait]
impl StoreFactory for MokaFactory {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(self.root.with_namespace(namespace)?))
    }

    fn clock(&self) -> Option<ManualClock> {
        self.clock.clone()
    }
}
