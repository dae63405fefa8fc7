//! The Doctrine kit over `CacheProvider` on moka and over the Doctrine-over-PSR-6 bridge; the
//! PSR-6 kit over the PSR-6-over-Doctrine bridge; the storage layout PHP shares.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cache_pool::{Pool, PoolValues};
use cache_store::moka::MokaStore;
use cache_store::{Key, ManualClock, Store};
use cache_testkit::doctrine::DoctrineFactory;
use cache_testkit::pool::PoolFactory;
use doctrine_compat::{CacheProvider, ClearableCache, DoctrineCache, DoctrineProvider, bridge};

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

/// `CacheProvider` directly over the store.
mod provider {
    use super::*;

    #[async_trait]
    impl DoctrineFactory for Moka {
        async fn create(
            &self,
            storage: &str,
            namespace: &str,
        ) -> cache_store::Result<Arc<dyn DoctrineCache>> {
            let store = self.root.with_namespace(storage)?;
            Ok(Arc::new(
                CacheProvider::new(store).with_namespace(namespace),
            ))
        }

        fn clock(&self) -> Option<ManualClock> {
            Some(self.clock.clone())
        }
    }

    cache_testkit::doctrine_suite!(Moka::new(), without: [pool]);
}

/// Doctrine over a PSR-6 pool given as `Arc<dyn PoolValues>` (PHP's `DoctrineProvider`).
mod over_pool {
    use super::*;

    struct OverPool(Moka);

    #[async_trait]
    impl DoctrineFactory for OverPool {
        async fn create(
            &self,
            storage: &str,
            namespace: &str,
        ) -> cache_store::Result<Arc<dyn DoctrineCache>> {
            let pool: Arc<dyn PoolValues> =
                Arc::new(Pool::new(self.0.root.with_namespace(storage)?));
            Ok(Arc::new(
                DoctrineProvider::over_pool(pool).with_namespace(namespace),
            ))
        }

        fn clock(&self) -> Option<ManualClock> {
            Some(self.0.clock.clone())
        }
    }

    cache_testkit::doctrine_suite!(OverPool(Moka::new()), without: [pool]);
}

/// PSR-6 over a Doctrine `CacheProvider` (PHP's `CacheAdapter`), through the PSR-6 kit.
mod pool_over_doctrine {
    use super::*;

    /// Pools of one namespace share one Doctrine instance, as they must: each Doctrine
    /// instance memoizes its namespace version, so pools over separate instances stop seeing
    /// each other after a `clear` (Doctrine's documented staleness).
    struct PoolOverDoctrine(
        Moka,
        std::sync::Mutex<std::collections::HashMap<String, Arc<dyn DoctrineCache>>>,
    );

    #[async_trait]
    impl PoolFactory for PoolOverDoctrine {
        async fn create(
            &self,
            namespace: &str,
            default_lifetime: Option<Duration>,
        ) -> cache_store::Result<Arc<dyn PoolValues>> {
            let store = self.0.root.with_namespace(namespace)?;
            let doctrine = Arc::clone(
                self.1
                    .lock()
                    .expect("the factory's map")
                    .entry(namespace.to_owned())
                    .or_insert_with(|| Arc::new(CacheProvider::new(store))),
            );
            let store = bridge::StoreOverDoctrine::new(doctrine);
            let mut pool = Pool::builder(store);
            if let Some(lifetime) = default_lifetime {
                pool = pool.default_lifetime(lifetime);
            }
            Ok(Arc::new(pool.build()))
        }

        fn clock(&self) -> Option<ManualClock> {
            Some(self.0.clock.clone())
        }
    }

    cache_testkit::pool_suite!(
        PoolOverDoctrine(Moka::new(), Default::default()),
        without: [damaged_bytes, foreign_data]
    );
}

/// The exact keys PHP's doctrine/cache writes through a PSR-6 pool, before and after
/// `delete_all`, so a Rust and a PHP process can share a namespace.
#[tokio::test]
async fn storage_layout_matches_doctrine() {
    let store = MokaStore::builder().build().unwrap();
    let cache = CacheProvider::new(store.clone()).with_namespace("ns");
    let raw = |key: &'static str| {
        let store = store.clone();
        async move { store.get(Key::new(key).unwrap()).await.unwrap() }
    };
    use doctrine_compat::Cache;
    cache
        .save("foo", "v1".into(), Duration::ZERO)
        .await
        .unwrap();
    cache
        .save("a:b/c", "v2".into(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(raw("ns%5Bfoo%5D%5B1%5D").await.as_deref(), Some(&b"v1"[..]));
    assert_eq!(
        raw("ns%5Ba%3Ab%2Fc%5D%5B1%5D").await.as_deref(),
        Some(&b"v2"[..])
    );
    assert_eq!(
        raw("DoctrineNamespaceCacheKey%5Bns%5D").await,
        None,
        "no version before delete_all"
    );

    cache.delete_all().await.unwrap();
    assert_eq!(
        raw("DoctrineNamespaceCacheKey%5Bns%5D").await.as_deref(),
        Some(&b"i:2;"[..]),
        "the version is PHP's serialized int"
    );
    cache
        .save("foo", "v3".into(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(raw("ns%5Bfoo%5D%5B2%5D").await.as_deref(), Some(&b"v3"[..]));
    assert_eq!(
        raw("ns%5Bfoo%5D%5B1%5D").await.as_deref(),
        Some(&b"v1"[..]),
        "old entries stay until evicted"
    );

    // A version written by PHP is read back.
    store
        .set(
            Key::new("DoctrineNamespaceCacheKey%5Bphp%5D").unwrap(),
            "i:7;".into(),
            cache_store::Expiration::Never,
        )
        .await
        .unwrap();
    let php = CacheProvider::new(store.clone()).with_namespace("php");
    php.save("x", "y".into(), Duration::ZERO).await.unwrap();
    assert!(raw("php%5Bx%5D%5B7%5D").await.is_some());
}

/// `refresh_namespace_version` picks up another instance's `delete_all`.
#[tokio::test]
async fn refreshing_the_version_ends_the_staleness() {
    use doctrine_compat::Cache;
    let store = MokaStore::builder().build().unwrap();
    let a = CacheProvider::new(store.clone()).with_namespace("ns");
    let b = CacheProvider::new(store.clone()).with_namespace("ns");
    a.save("k", "v".into(), Duration::ZERO).await.unwrap();
    assert!(b.contains("k").await.unwrap());
    a.delete_all().await.unwrap();
    assert!(
        b.contains("k").await.unwrap(),
        "b still uses the memoized version"
    );
    b.refresh_namespace_version();
    assert!(!b.contains("k").await.unwrap());
}

/// Bridging a bridge back returns the original; a namespaced provider is not unwrapped.
#[test]
fn bridges_unwrap_instead_of_stacking() {
    let pool: Arc<dyn PoolValues> = Arc::new(Pool::new(MokaStore::builder().build().unwrap()));
    let doctrine = bridge::doctrine_over_pool(Arc::clone(&pool));
    assert!(Arc::ptr_eq(&bridge::pool_over_doctrine(doctrine), &pool));

    let doctrine: Arc<dyn DoctrineCache> =
        Arc::new(CacheProvider::new(MokaStore::builder().build().unwrap()));
    let pool = bridge::pool_over_doctrine(Arc::clone(&doctrine));
    assert!(Arc::ptr_eq(&bridge::doctrine_over_pool(pool), &doctrine));

    let namespaced: Arc<dyn DoctrineCache> =
        Arc::new(DoctrineProvider::over_pool(Arc::clone(&pool_dyn())).with_namespace("ns"));
    let wrapped = bridge::pool_over_doctrine(namespaced);
    let any: Arc<dyn std::any::Any + Send + Sync> = wrapped;
    assert!(
        any.downcast::<bridge::DoctrineBackedPool>().is_ok(),
        "a namespace must not be dropped"
    );
}

fn pool_dyn() -> Arc<dyn PoolValues> {
    Arc::new(Pool::new(MokaStore::builder().build().expect("moka store")))
}
