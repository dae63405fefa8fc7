//! A [`StoreFactory`] for the Redis test servers (feature `redis`).

use std::sync::Arc;

use async_trait::async_trait;
use cache_store::redis::RedisStore;
use cache_store::{Result, Store};
use tokio::sync::OnceCell;

use crate::env::server_url;
use crate::store::StoreFactory;

/// Stores on the Redis server (or cluster) whose URL is in an environment variable; every
/// namespace shares one connection, made on first use.
#[derive(Debug)]
pub struct RedisFactory {
    url: String,
    connection: OnceCell<RedisStore>,
}

impl RedisFactory {
    /// The factory for the URL in `var` (`redis://…` or `redis+cluster://…`), or `None`
    /// (with the skip reason printed) when it is unset; see [`server_url`] for CI.
    pub fn from_env(var: &str) -> Option<Self> {
        server_url(var).map(|url| RedisFactory {
            url,
            connection: OnceCell::new(),
        })
    }
}

#[async_trait]
impl StoreFactory for RedisFactory {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        let root = self
            .connection
            .get_or_try_init(|| RedisStore::builder(&self.url).connect())
            .await?;
        Ok(Arc::new(root.with_namespace(namespace)?))
    }
}
