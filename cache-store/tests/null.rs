//! The Store kit over the null backend, against the model of a store that keeps nothing.

use std::sync::Arc;

use async_trait::async_trait;
use cache_store::{NullStore, Store};
use cache_testkit::store::{Model, StoreFactory};

struct Null;

#[async_trait]
impl StoreFactory for Null {
    async fn create(&self, namespace: &str) -> cache_store::Result<Arc<dyn Store>> {
        Ok(Arc::new(NullStore::new(namespace)?))
    }

    fn model(&self) -> Model {
        Model::Null
    }
}

cache_testkit::store_suite!(Null, without: [data]);

/// Nothing written is ever read back; `add` answers that it wrote, `touch` that nothing was
/// there; keys are checked as on every backend.
#[tokio::test]
async fn null_store_keeps_nothing() {
    use cache_store::{ErrorKind, Expiration, Key};
    let store = NullStore::new("null").unwrap();
    let k = Key::new("k").unwrap();
    store.set(k, "v".into(), Expiration::Never).await.unwrap();
    assert_eq!(store.get(k).await.unwrap(), None);
    assert!(!store.contains(k).await.unwrap());
    assert!(store.add(k, "v".into(), Expiration::Never).await.unwrap());
    assert!(!store.touch(k, Expiration::Never).await.unwrap());
    let err = Key::new("a:b").expect_err("reserved characters are refused");
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
}
