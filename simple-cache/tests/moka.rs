//! The PSR-16 kit over `Cache` on moka, over the PSR-16-over-PSR-6 bridge, and the PSR-6 kit
//! over the PSR-6-over-PSR-16 bridge; all on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache_pool::{CacheItemPool, Pool, PoolValues};
use cache_store::ManualClock;
use cache_store::moka::MokaStore;
use cache_testkit::pool::PoolFactory;
use cache_testkit::simple::SimpleCacheFactory;
use simple_cache::{Cache, SimpleCache, bridge};

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

    fn cache(
        &self,
        namespace: &str,
        ttl: Option<Duration>,
    ) -> cache_store::Result<Cache<MokaStore>> {
        let mut builder = Cache::builder(self.root.with_namespace(namespace)?);
        if let Some(ttl) = ttl {
            builder = builder.default_ttl(ttl);
        }
        Ok(builder.build())
    }

    fn pool(
        &self,
        namespace: &str,
        lifetime: Option<Duration>,
    ) -> cache_store::Result<Pool<MokaStore>> {
        let mut builder = Pool::builder(self.root.with_namespace(namespace)?);
        if let Some(lifetime) = lifetime {
            builder = builder.default_lifetime(lifetime);
        }
        Ok(builder.build())
    }
}

/// PSR-16 directly over the store.
mod direct {
    use super::*;

    #[async_trait]
    impl SimpleCacheFactory for Moka {
        async fn create(
            &self,
            namespace: &str,
            default_ttl: Option<Duration>,
        ) -> cache_store::Result<Arc<dyn SimpleCache>> {
            Ok(Arc::new(self.cache(namespace, default_ttl)?))
        }

        fn clock(&self) -> Option<ManualClock> {
            Some(self.clock.clone())
        }
    }

    cache_testkit::simple_suite!(Moka::new(), without: [damaged_bytes, foreign_data]);
}

/// PSR-16 over a PSR-6 `Pool` (Symfony's `Psr16Cache`).
mod over_pool {
    use super::*;

    struct OverPool(Moka);

    #[async_trait]
    impl SimpleCacheFactory for OverPool {
        async fn create(
            &self,
            namespace: &str,
            default_ttl: Option<Duration>,
        ) -> cache_store::Result<Arc<dyn SimpleCache>> {
            let pool: Arc<dyn PoolValues> = Arc::new(self.0.pool(namespace, default_ttl)?);
            Ok(bridge::simple_cache_over_pool(pool))
        }

        fn clock(&self) -> Option<ManualClock> {
            Some(self.0.clock.clone())
        }
    }

    cache_testkit::simple_suite!(OverPool(Moka::new()), without: [damaged_bytes, foreign_data]);
}

/// PSR-6 over a PSR-16 `Cache` (Symfony's `Psr16Adapter`), through the PSR-6 kit.
mod pool_over_cache {
    use super::*;

    struct PoolOverCache(Moka);

    #[async_trait]
    impl PoolFactory for PoolOverCache {
        async fn create(
            &self,
            namespace: &str,
            default_lifetime: Option<Duration>,
        ) -> cache_store::Result<Arc<dyn PoolValues>> {
            let cache: Arc<dyn SimpleCache> = Arc::new(self.0.cache(namespace, default_lifetime)?);
            Ok(bridge::pool_over_simple_cache(cache))
        }

        fn clock(&self) -> Option<ManualClock> {
            Some(self.0.clock.clone())
        }
    }

    cache_testkit::pool_suite!(PoolOverCache(Moka::new()), without: [damaged_bytes, foreign_data]);
}

/// Bridging a bridge back returns the original, in both directions.
#[test]
fn bridges_unwrap_instead_of_stacking() {
    let moka = Moka::new();
    let cache: Arc<dyn SimpleCache> = Arc::new(moka.cache("unwrap", None).unwrap());
    let pool = bridge::pool_over_simple_cache(Arc::clone(&cache));
    assert!(Arc::ptr_eq(&bridge::simple_cache_over_pool(pool), &cache));

    let pool: Arc<dyn PoolValues> = Arc::new(moka.pool("unwrap", None).unwrap());
    let cache = bridge::simple_cache_over_pool(Arc::clone(&pool));
    assert!(Arc::ptr_eq(&bridge::pool_over_simple_cache(cache), &pool));
}

/// PSR-6 and PSR-16 on one namespace read each other's values, metadata included.
#[tokio::test]
async fn a_pool_and_a_cache_on_one_namespace_share_values() {
    use cache_pool::{CacheItemPoolExt, Computed};
    let moka = Moka::new();
    let pool = moka.pool("shared", None).unwrap();
    let cache = moka.cache("shared", None).unwrap();
    pool.get("computed", |_| async {
        Ok(Computed::new("v").expires_after(Duration::from_secs(60)))
    })
    .await
    .unwrap();
    assert_eq!(
        cache.get("computed").await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
    let marker_value = vec![cache_pool::envelope::MARKER, 1, 2];
    cache
        .set(
            "weird",
            marker_value.clone().into(),
            cache_store::Expiration::Default,
        )
        .await
        .unwrap();
    let item = pool.get_item("weird").await.unwrap();
    assert_eq!(item.value().map(|v| v.to_vec()), Some(marker_value));
}
