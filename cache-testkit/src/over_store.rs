//! Every abstraction over any store: adapters that turn one [`StoreFactory`] into the
//! factories of the PSR-6, PSR-16 and Doctrine kits, so a backend runs all four kits from one
//! factory (see [`backend_suites!`](crate::backend_suites)).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache_pool::{Pool, PoolValues};
use cache_store::{ManualClock, Result, Store};
use doctrine_compat::{CacheProvider, DoctrineCache};
use simple_cache::{Cache, SimpleCache};

use crate::doctrine::DoctrineFactory;
use crate::pool::PoolFactory;
use crate::simple::SimpleCacheFactory;
use crate::store::StoreFactory;

/// PSR-6 [`Pool`]s over the stores of `F`.
#[derive(Debug)]
pub struct PoolsOver<F>(pub F);

/// PSR-16 [`Cache`]s over the stores of `F`.
#[derive(Debug)]
pub struct SimpleCachesOver<F>(pub F);

/// Doctrine [`CacheProvider`]s over the stores of `F` (the kit's storage name is the store
/// namespace).
#[derive(Debug)]
pub struct DoctrinesOver<F>(pub F);

#[async_trait]
impl<F: StoreFactory> PoolFactory for PoolsOver<F> {
    async fn create(
        &self,
        namespace: &str,
        default_lifetime: Option<Duration>,
    ) -> Result<Arc<dyn PoolValues>> {
        let store: Arc<dyn Store> = self.0.create(namespace).await?;
        let mut pool = Pool::builder(store);
        if let Some(lifetime) = default_lifetime {
            pool = pool.default_lifetime(lifetime);
        }
        Ok(Arc::new(pool.build()))
    }

    fn clock(&self) -> Option<ManualClock> {
        self.0.clock()
    }
    async fn write_unreadable(
        &self,
        namespace: &str,
        key: &str,
        how: crate::unreadable::Unreadable,
    ) -> Result<bool> {
        crate::unreadable::write_unreadable(&self.0, namespace, key, how).await
    }
}

#[async_trait]
impl<F: StoreFactory> SimpleCacheFactory for SimpleCachesOver<F> {
    async fn create(
        &self,
        namespace: &str,
        default_ttl: Option<Duration>,
    ) -> Result<Arc<dyn SimpleCache>> {
        let store: Arc<dyn Store> = self.0.create(namespace).await?;
        let mut cache = Cache::builder(store);
        if let Some(ttl) = default_ttl {
            cache = cache.default_ttl(ttl);
        }
        Ok(Arc::new(cache.build()))
    }

    fn clock(&self) -> Option<ManualClock> {
        self.0.clock()
    }
    async fn write_unreadable(
        &self,
        namespace: &str,
        key: &str,
        how: crate::unreadable::Unreadable,
    ) -> Result<bool> {
        crate::unreadable::write_unreadable(&self.0, namespace, key, how).await
    }
}

#[async_trait]
impl<F: StoreFactory> DoctrineFactory for DoctrinesOver<F> {
    async fn create(&self, storage: &str, namespace: &str) -> Result<Arc<dyn DoctrineCache>> {
        let store: Arc<dyn Store> = self.0.create(storage).await?;
        Ok(Arc::new(
            CacheProvider::new(store).with_namespace(namespace),
        ))
    }

    fn clock(&self) -> Option<ManualClock> {
        self.0.clock()
    }

    async fn pool(&self, storage: &str) -> Result<Option<Arc<dyn PoolValues>>> {
        let store: Arc<dyn Store> = self.0.create(storage).await?;
        Ok(Some(Arc::new(Pool::new(store))))
    }
}
