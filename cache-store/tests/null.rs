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

cache_testkit::store_suite!(Null);
