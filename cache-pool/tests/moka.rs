//! The PSR-6 kit over `Pool` on the moka backend, on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache_pool::{Pool, PoolValues};
use cache_store::ManualClock;
use cache_store::moka::MokaStore;
use cache_testkit::pool::PoolFactory;

struct Moka {
    clock: ManualClock,
    root: MokaStore,
}

impl Moka {
    fn new() -> Self {
        let clock = ManualClock::starting_now();
        let root = MokaStore::builder()
            .clock(clock.clone())
            .build()
            .expect("moka store");
        Moka { clock, root }
    }
}

#[async_trait]
impl PoolFactory for Moka {
    async fn create(
        &self,
        namespace: &str,
        default_lifetime: Option<Duration>,
    ) -> cache_store::Result<Arc<dyn PoolValues>> {
        let mut builder = Pool::builder(self.root.with_namespace(namespace)?);
        if let Some(lifetime) = default_lifetime {
            builder = builder.default_lifetime(lifetime);
        }
        Ok(Arc::new(builder.build()))
    }

    fn clock(&self) -> Option<ManualClock> {
        Some(self.clock.clone())
    }
}

cache_testkit::pool_suite!(Moka::new(), without: [damaged_bytes, foreign_data]);

/// The same kit with the pool over `Arc<dyn Store>`, the run-time-chosen form (the kit's own
/// adapter from a store factory).
mod dyn_store {
    use cache_testkit::moka::MokaFactory;
    use cache_testkit::over_store::PoolsOver;

    cache_testkit::pool_suite!(PoolsOver(MokaFactory::with_manual_clock()), without: [foreign_data]);
}
