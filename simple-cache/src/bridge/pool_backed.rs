//! PSR-16 over a PSR-6 pool.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cache_pool::{CacheItem, PoolValues};
use cache_store::{Clock, Expiration, Result};

use crate::traits::SimpleCache;

/// A [`SimpleCache`] backed by any PSR-6 pool (its [`PoolValues`]), keeping PSR-16's semantics: `set` writes
/// without reading first (one round trip), the multiple calls are one pool batch each, and
/// `get_multiple` returns plain values (never Symfony's leaked metadata wrapper).
/// Build it with [`simple_cache_over_pool`](super::simple_cache_over_pool), which unwraps
/// bridges instead of stacking them.
#[derive(Debug)]
pub struct PoolBackedCache {
    pool: Arc<dyn PoolValues>,
}

impl PoolBackedCache {
    /// PSR-16 over `pool` (without the unwrapping of
    /// [`simple_cache_over_pool`](super::simple_cache_over_pool)).
    pub fn new(pool: Arc<dyn PoolValues>) -> Self {
        PoolBackedCache { pool }
    }

    /// The pool underneath.
    pub fn pool(&self) -> &Arc<dyn PoolValues> {
        &self.pool
    }
}

fn item(key: &str, value: Bytes, ttl: Expiration) -> Result<CacheItem> {
    let mut item = CacheItem::new(key)?;
    item.set(value).expires(ttl);
    Ok(item)
}

#[async_trait]
impl SimpleCache for PoolBackedCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.pool.get_value(key).await
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Expiration) -> Result<()> {
        self.pool.save(item(key, value, ttl)?).await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.pool.delete_item(key).await
    }

    async fn clear(&self) -> Result<()> {
        self.pool.clear().await
    }

    async fn has(&self, key: &str) -> Result<bool> {
        self.pool.has_item(key).await
    }

    async fn get_multiple(&self, keys: &[&str]) -> Result<Vec<Option<Bytes>>> {
        self.pool.get_values(keys).await
    }

    async fn set_multiple(&self, values: &[(&str, Bytes)], ttl: Expiration) -> Result<()> {
        // Every key is checked before anything is written.
        let values: Vec<(&str, &Bytes)> = values.iter().map(|(key, value)| (*key, value)).collect();
        self.pool.save_values(&values, ttl).await
    }

    async fn delete_multiple(&self, keys: &[&str]) -> Result<()> {
        self.pool.delete_items(keys).await
    }

    fn clock(&self) -> Arc<dyn Clock> {
        self.pool.clock()
    }

    fn value_codec(&self) -> cache_store::codec::ValueCodec {
        self.pool.value_codec()
    }
}
