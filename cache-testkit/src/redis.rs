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
    tls_ca: Option<std::path::PathBuf>,
    connection: OnceCell<RedisStore>,
}

impl RedisFactory {
    /// The factory for the URL in `var` (`redis://…` or `redis+cluster://…`), or `None`
    /// (with the skip reason printed) when it is unset; see [`server_url`] for CI.
    pub fn from_env(var: &str) -> Option<Self> {
        server_url(var).map(|url| RedisFactory {
            url,
            tls_ca: None,
            connection: OnceCell::new(),
        })
    }

    /// For a `rediss://` server: trust the authority in this PEM file.
    pub fn with_tls_ca(mut self, ca: impl Into<std::path::PathBuf>) -> Self {
        self.tls_ca = Some(ca.into());
        self
    }
}

#[async_trait]
impl StoreFactory for RedisFactory {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        let root = self
            .connection
            .get_or_try_init(|| {
                let builder = RedisStore::builder(&self.url);
                match &self.tls_ca {
                    Some(ca) => builder.tls_ca_file(ca),
                    None => builder,
                }
                .connect()
            })
            .await?;
        Ok(Arc::new(root.with_namespace(namespace)?))
    }

    /// A list under the store's key for `key` (`namespace:key`), pushed by a plain client.
    async fn write_foreign(&self, namespace: &str, key: &str) -> Result<bool> {
        let failed = |e: redis::RedisError| {
            cache_store::Error::new(cache_store::ErrorKind::Unavailable, "write_foreign")
                .with_source(e)
        };
        let redis_key = format!("{namespace}:{key}");
        let mut push = redis::cmd("RPUSH");
        push.arg(&redis_key).arg("foreign");
        if self.url.starts_with("redis+cluster://") {
            let nodes: Vec<String> = self
                .url
                .trim_start_matches("redis+cluster://")
                .split(',')
                .map(|node| format!("redis://{node}"))
                .collect();
            let client = redis::cluster::ClusterClient::new(nodes).map_err(failed)?;
            let mut connection = client.get_async_connection().await.map_err(failed)?;
            let _: i64 = push.query_async(&mut connection).await.map_err(failed)?;
        } else {
            let client = redis::Client::open(self.url.as_str()).map_err(failed)?;
            let mut connection = client
                .get_multiplexed_async_connection()
                .await
                .map_err(failed)?;
            let _: i64 = push.query_async(&mut connection).await.map_err(failed)?;
        }
        Ok(true)
    }
}

/// The next message of a [`RedisStore::watch`], waiting at most 30 s.
///
/// # Panics
///
/// When none comes within 30 s, or the watch ended.
pub async fn next_invalidation(
    watch: &mut tokio::sync::mpsc::UnboundedReceiver<cache_store::redis::Invalidation>,
) -> cache_store::redis::Invalidation {
    tokio::time::timeout(std::time::Duration::from_secs(30), watch.recv())
        .await
        .expect("a message within 30 s")
        .expect("the watch runs")
}

/// [`Invalidation::Keys`](cache_store::redis::Invalidation::Keys) of one key.
///
/// # Panics
///
/// When `key` is not a valid key.
pub fn written(key: &str) -> cache_store::redis::Invalidation {
    cache_store::redis::Invalidation::Keys(vec![
        cache_store::OwnedKey::new(key).expect("a valid key"),
    ])
}
