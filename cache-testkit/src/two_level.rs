//! A [`StoreFactory`] of two-level stores: moka in front of the stores of another factory
//! (feature `moka`), or of a Redis test server (one, a Cluster, or Sentinel's primary) with
//! its invalidations watched (and feature `redis`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cache_store::moka::MokaStore;
use cache_store::two_level::TwoLevel;
use cache_store::{ManualClock, Result, Store};

use crate::store::{Model, StoreFactory};

/// Where the second levels come from.
enum Second<F> {
    Factory(F),
    #[cfg(feature = "redis")]
    WatchedRedis {
        url: String,
        root: Box<tokio::sync::OnceCell<cache_store::redis::RedisStore>>,
    },
}

/// Two-level stores: a moka first level (on the second level's clock, when the kit moves
/// one) in front of another factory's stores. One two-level store per namespace, shared by
/// every handle of it, as one process has (coherence between processes is tested on its own).
pub struct TwoLevelFactory<F> {
    second: Second<F>,
    first: MokaStore,
    clock: Option<ManualClock>,
    lifetime: Duration,
    made: Mutex<HashMap<String, Arc<dyn Store>>>,
}

impl<F: StoreFactory> TwoLevelFactory<F> {
    /// Moka in front of the stores of `second`, copies kept up to an hour (the kits' cases
    /// are about values, not staleness).
    ///
    /// # Panics
    ///
    /// When the first level cannot be built (never, for these settings).
    pub fn over(second: F) -> Self {
        let clock = second.clock();
        TwoLevelFactory {
            first: first_level(clock.clone()),
            clock,
            second: Second::Factory(second),
            lifetime: Duration::from_secs(3600),
            made: Mutex::new(HashMap::new()),
        }
    }
}

#[cfg(feature = "redis")]
impl TwoLevelFactory<WatchedRedis> {
    /// Moka in front of the Redis whose URL is in `var` (a server, a Cluster, or Sentinel's
    /// primary), each namespace watched
    /// (`RedisStore::watch`), or `None` when it is unset (see [`server_url`](crate::server_url)).
    pub fn over_watched_redis(var: &str) -> Option<Self> {
        crate::env::server_url(var).map(|url| TwoLevelFactory {
            first: first_level(None),
            clock: None,
            second: Second::WatchedRedis {
                url,
                root: Box::default(),
            },
            lifetime: Duration::from_secs(3600),
            made: Mutex::new(HashMap::new()),
        })
    }
}

/// The factory parameter of [`TwoLevelFactory::over_watched_redis`]: no other factory (its
/// second levels are the Redis server's own).
#[cfg(feature = "redis")]
#[derive(Debug)]
pub enum WatchedRedis {}

#[cfg(feature = "redis")]
#[async_trait]
impl StoreFactory for WatchedRedis {
    async fn create(&self, _namespace: &str) -> Result<Arc<dyn Store>> {
        match *self {}
    }
}

fn first_level(clock: Option<ManualClock>) -> MokaStore {
    let builder = MokaStore::builder().max_capacity_bytes(64 * 1024 * 1024);
    match clock {
        Some(clock) => builder.clock(clock),
        None => builder,
    }
    .build()
    .expect("a moka store")
}

impl<F: StoreFactory> TwoLevelFactory<F> {
    async fn make(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        let first = self.first.with_namespace(namespace)?;
        let store: Arc<dyn Store> = match &self.second {
            Second::Factory(factory) => Arc::new(
                TwoLevel::builder(first, factory.create(namespace).await?)
                    .first_level_lifetime(self.lifetime)
                    .build(),
            ),
            #[cfg(feature = "redis")]
            Second::WatchedRedis { url, root } => {
                let root = root
                    .get_or_try_init(|| cache_store::redis::RedisStore::builder(url).connect())
                    .await?;
                let second = root.with_namespace(namespace)?;
                let watch = second.watch();
                Arc::new(
                    TwoLevel::builder(first, second)
                        .first_level_lifetime(self.lifetime)
                        .invalidations(watch)
                        .build(),
                )
            }
        };
        Ok(store)
    }
}

#[async_trait]
impl<F: StoreFactory> StoreFactory for TwoLevelFactory<F> {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        if let Some(made) = self.made().get(namespace) {
            return Ok(Arc::clone(made));
        }
        let store = self.make(namespace).await?;
        Ok(Arc::clone(
            self.made().entry(namespace.to_owned()).or_insert(store),
        ))
    }

    fn clock(&self) -> Option<ManualClock> {
        self.clock.clone()
    }

    fn model(&self) -> Model {
        match &self.second {
            Second::Factory(factory) => factory.model(),
            #[cfg(feature = "redis")]
            Second::WatchedRedis { .. } => Model::Cache,
        }
    }

    fn default_ttl(&self) -> Option<Duration> {
        match &self.second {
            Second::Factory(factory) => factory.default_ttl(),
            #[cfg(feature = "redis")]
            Second::WatchedRedis { .. } => None,
        }
    }

    fn max_value_len(&self) -> usize {
        match &self.second {
            Second::Factory(factory) => factory.max_value_len(),
            #[cfg(feature = "redis")]
            Second::WatchedRedis { .. } => 512 * 1024,
        }
    }
}

impl<F> TwoLevelFactory<F> {
    fn made(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<dyn Store>>> {
        self.made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<F> std::fmt::Debug for TwoLevelFactory<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoLevelFactory")
            .field("first_level_lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}
