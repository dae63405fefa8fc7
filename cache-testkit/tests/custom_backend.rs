//! The custom-backend story, end to end: a backend author's whole test file.
//!
//! `BTreeStore` is a small `Store` of our own (a `BTreeMap` behind a mutex, on an injectable
//! clock). Implementing the eight methods is all it takes: `backend_suites!` then runs the
//! `Store` contract, the PSR-6, PSR-16 and Doctrine kits over it, so PSR-6 pools, PSR-16
//! caches and Doctrine providers come for free and are proven on it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use cache_store::{
    Clock, Deadline, Entry, Expiration, FailedEntries, Key, ManualClock, Result, Stats, Store,
};
use cache_testkit::store::StoreFactory;

/// (namespace, key) to (value, deadline): every handle of one map shares it.
type Map = Arc<Mutex<BTreeMap<(String, String), (Bytes, Deadline)>>>;

#[derive(Debug, Clone)]
struct BTreeStore {
    map: Map,
    namespace: String,
    clock: ManualClock,
    /// A deliberate bug, for the test that the kit catches it: entries never expire.
    ignores_expiry: bool,
}

impl BTreeStore {
    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), (Bytes, Deadline)>> {
        self.map.lock().expect("the map")
    }

    fn id(&self, key: Key<'_>) -> (String, String) {
        (self.namespace.clone(), key.as_str().to_owned())
    }

    fn live(&self, slot: Option<&(Bytes, Deadline)>) -> Option<Bytes> {
        slot.filter(|(_, deadline)| self.ignores_expiry || !deadline.is_expired(self.clock.now()))
            .map(|(value, _)| value.clone())
    }

    fn write(&self, key: Key<'_>, value: Bytes, expiration: Expiration) {
        let deadline = expiration.deadline(self.clock.now(), None);
        let mut entries = self.entries();
        if deadline.is_expired(self.clock.now()) {
            entries.remove(&self.id(key));
        } else {
            entries.insert(self.id(key), (value, deadline));
        }
    }
}

#[async_trait]
impl Store for BTreeStore {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        let entries = self.entries();
        Ok(keys
            .iter()
            .map(|&k| Ok(self.live(entries.get(&self.id(k)))))
            .collect())
    }

    async fn set_many(&self, batch: &[Entry<'_>]) -> Result<FailedEntries> {
        for entry in batch {
            self.write(entry.key, Bytes::clone(&entry.value), entry.expiration);
        }
        Ok(FailedEntries::new())
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        let mut entries = self.entries();
        for &key in keys {
            entries.remove(&self.id(key));
        }
        Ok(())
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        Ok(self.live(self.entries().get(&self.id(key))).is_some())
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        // Check and write under one lock: that is what makes it atomic.
        let mut entries = self.entries();
        if self.live(entries.get(&self.id(key))).is_some() {
            return Ok(false);
        }
        let deadline = expiration.deadline(self.clock.now(), None);
        if deadline.is_expired(self.clock.now()) {
            entries.remove(&self.id(key));
        } else {
            entries.insert(self.id(key), (value, deadline));
        }
        Ok(true)
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let mut entries = self.entries();
        let id = self.id(key);
        let Some(value) = self.live(entries.get(&id)) else {
            entries.remove(&id);
            return Ok(false);
        };
        let deadline = expiration.deadline(self.clock.now(), None);
        if deadline.is_expired(self.clock.now()) {
            entries.remove(&id);
        } else {
            entries.insert(id, (value, deadline));
        }
        Ok(true)
    }

    async fn clear(&self) -> Result<()> {
        self.entries()
            .retain(|(namespace, _), _| *namespace != self.namespace);
        Ok(())
    }

    async fn stats(&self) -> Result<Stats> {
        let mut stats = Stats::default();
        stats.entries = Some(self.entries().len() as u64);
        Ok(stats)
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(self.clock.clone())
    }
}

/// The factory the kits call: one shared map, a namespace per handle, one manual clock (so
/// the TTL cases move time instead of sleeping).
struct BTreeFactory {
    map: Map,
    clock: ManualClock,
    ignores_expiry: bool,
}

impl BTreeFactory {
    fn new() -> Self {
        BTreeFactory {
            map: Map::default(),
            clock: ManualClock::starting_now(),
            ignores_expiry: false,
        }
    }

    /// The same backend with a bug: it keeps entries past their deadline.
    fn ignoring_expiry() -> Self {
        BTreeFactory {
            ignores_expiry: true,
            ..BTreeFactory::new()
        }
    }
}

#[async_trait]
impl StoreFactory for BTreeFactory {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        cache_store::validate_namespace(namespace)?;
        Ok(Arc::new(BTreeStore {
            map: Arc::clone(&self.map),
            namespace: namespace.to_owned(),
            clock: self.clock.clone(),
            ignores_expiry: self.ignores_expiry,
        }))
    }

    fn clock(&self) -> Option<ManualClock> {
        Some(self.clock.clone())
    }
}

// The whole suite for this backend: the Store contract, then PSR-6, PSR-16 and Doctrine over
// it, each as its own module of tests.
cache_testkit::backend_suites!(BTreeFactory::new(), without: [foreign_data]);

/// Every abstraction and bridge over this backend answers like the one reference model.
mod equivalence {
    use super::*;
    cache_testkit::equivalence_suite!(BTreeFactory::new());
}

/// The kit catches the broken variant: the Store model test, a contract case, the PSR-16 kit
/// and the equivalence test each fail on a backend that ignores expiry.
#[test]
fn the_kit_catches_a_backend_that_ignores_expiry() {
    use cache_testkit::store::ModelOptions;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let fails = |check: &dyn Fn()| catch_unwind(AssertUnwindSafe(check)).is_err();
    assert!(fails(&|| cache_testkit::store::check_model(
        &BTreeFactory::ignoring_expiry(),
        ModelOptions::default()
    )));
    assert!(fails(&|| cache_testkit::block_on(
        cache_testkit::store::cases::entries_expire_exactly_at_their_deadline(
            &BTreeFactory::ignoring_expiry()
        )
    )));
    assert!(fails(&|| cache_testkit::simple::check_simple_model(
        &cache_testkit::over_store::SimpleCachesOver(BTreeFactory::ignoring_expiry()),
        ModelOptions::default()
    )));
    assert!(fails(&|| cache_testkit::equivalence::check_equivalence(
        &BTreeFactory::ignoring_expiry(),
        cache_testkit::equivalence::Combination::PoolOverDoctrine,
        ModelOptions::default()
    )));
    // And the correct backend passes the same checks.
    cache_testkit::store::check_model(&BTreeFactory::new(), ModelOptions::default());
}
