//! A case that cannot run on a factory never passes: when the suite did not declare the lack,
//! it fails and names the entry to add to `without: [...]`.

use std::sync::Arc;

use async_trait::async_trait;
use cache_store::moka::MokaStore;
use cache_store::{Result, Store};
use cache_testkit::store::StoreFactory;

/// A store on the wall clock whose factory gives the kit no clock to move, and holds nothing
/// but values.
struct WallClock(MokaStore);

#[async_trait]
impl StoreFactory for WallClock {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        Ok(Arc::new(self.0.with_namespace(namespace)?))
    }
}

fn factory() -> WallClock {
    WallClock(MokaStore::builder().build().expect("a moka store"))
}

#[test]
#[should_panic(expected = "add `clock` to the suite's `without: [...]` list")]
fn a_case_needing_a_clock_fails_on_a_factory_without_one() {
    cache_testkit::block_on(
        cache_testkit::store::cases::entries_expire_exactly_at_their_deadline(&factory()),
    );
}

#[test]
#[should_panic(expected = "add `foreign_data` to the suite's `without: [...]` list")]
fn a_case_needing_foreign_data_fails_on_a_backend_of_values_only() {
    cache_testkit::block_on(
        cache_testkit::store::cases::foreign_data_reads_the_same_from_every_read(&factory()),
    );
}

/// The same store with its lacks declared: the two cases above are ignored, with the reasons,
/// and every other case runs.
mod declared {
    use super::*;
    cache_testkit::store_suite!(factory(), without: [clock, foreign_data]);
}
