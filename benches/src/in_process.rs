//! The raw client of the embedded backends: a bare in-process map (moka's, quick_cache's)
//! used as its users would, for the shared groups and for the tasks groups alike.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::harness::{self, CONCURRENT, RawClient};
use crate::tasks::TaskClient;
use crate::{KeyAndValueBytes, value};

/// A map the benches time raw: a shared handle (cheap to clone) with a get and an insert.
/// No per-entry TTL: its writes carry none and its reads check none, so it is the floor of
/// its groups, not an equal.
pub trait RawMap: Clone + Send + Sync + 'static {
    /// The function name in every group.
    const NAME: &'static str;
    /// The value under `key`.
    fn lookup(&self, key: &str) -> Option<Bytes>;
    /// Writes `value` under `key`.
    fn store(&self, key: &str, value: Bytes);
}

impl RawMap for moka::sync::Cache<String, Bytes> {
    const NAME: &'static str = "raw moka";

    fn lookup(&self, key: &str) -> Option<Bytes> {
        self.get(key)
    }

    fn store(&self, key: &str, value: Bytes) {
        self.insert(key.to_owned(), value);
    }
}

impl RawMap for Arc<quick_cache::sync::Cache<String, Bytes, KeyAndValueBytes>> {
    const NAME: &'static str = "raw quick_cache";

    fn lookup(&self, key: &str) -> Option<Bytes> {
        self.get(key)
    }

    fn store(&self, key: &str, value: Bytes) {
        self.insert(key.to_owned(), value);
    }
}

/// A [`RawMap`] as the harness's raw client and as every task's.
#[derive(Clone, Debug)]
pub struct InProcess<M>(pub M);

impl<M: RawMap> RawClient for InProcess<M> {
    fn name(&self) -> &'static str {
        M::NAME
    }

    async fn get(&self, key: &str) -> Option<Bytes> {
        self.0.lookup(key)
    }

    async fn set(&self, key: &str, value: Bytes, _ttl: Duration) {
        self.0.store(key, value);
    }

    async fn get_many(&self, keys: &[&str]) -> usize {
        keys.iter()
            .filter(|key| self.0.lookup(key).is_some())
            .count()
    }

    async fn set_many(&self, entries: &[(&str, Bytes)], _ttl: Duration) {
        for (key, value) in entries {
            self.0.store(key, value.clone());
        }
    }

    async fn concurrent_gets(&self, keys: &[&str]) -> usize {
        debug_assert_eq!(keys.len(), CONCURRENT);
        harness::count_found(keys.iter().map(|k| async { self.0.lookup(k).is_some() })).await
    }
}

impl<M: RawMap> TaskClient for InProcess<M> {
    fn for_task(&self, _task: usize) -> Self {
        self.clone()
    }

    async fn get(&mut self, key: &str) -> bool {
        self.0.lookup(key).is_some()
    }

    async fn seed(&mut self, keys: &[String]) {
        for key in keys {
            self.0.store(key, value());
        }
    }
}
