//! A [`StoreFactory`] for the memcached test servers (feature `memcached`).

use std::sync::Arc;

use async_trait::async_trait;
use cache_store::memcached::MemcachedStore;
use cache_store::{Result, Store};

use crate::env::server_url;
use crate::store::StoreFactory;

/// Stores on the memcached server(s) whose URL is in an environment variable; every
/// namespace shares the connections.
#[derive(Debug)]
pub struct MemcachedFactory {
    url: String,
    root: Root,
}

/// The store whose namespaces the factory hands out.
#[derive(Debug)]
enum Root {
    Native(MemcachedStore),
    #[cfg(feature = "php")]
    Symfony(cache_store::memcached::PhpMemcachedStore),
}

impl MemcachedFactory {
    /// The factory for the URL in `var` (`memcache://host:port[,host:port…]`), or `None`
    /// (with the skip reason printed) when it is unset; see [`server_url`] for CI.
    ///
    /// # Panics
    ///
    /// When the URL is malformed.
    pub fn from_env(var: &str) -> Option<Self> {
        server_url(var).map(|url| MemcachedFactory {
            url: url.clone(),
            root: Root::Native(
                MemcachedStore::builder(&url)
                    .build()
                    .unwrap_or_else(|e| panic!("{var} holds a bad memcached URL: {e}")),
            ),
        })
    }

    /// The same servers, with reads trusting the namespace token for `interval`
    /// ([`MemcachedStoreBuilder::token_refresh`](cache_store::memcached::MemcachedStoreBuilder::token_refresh)).
    ///
    /// # Panics
    ///
    /// Never: the URL was checked already.
    pub fn with_token_refresh(self, interval: std::time::Duration) -> Self {
        let root = MemcachedStore::builder(&self.url)
            .token_refresh(interval)
            .build()
            .expect("a URL that was accepted once");
        MemcachedFactory {
            root: Root::Native(root),
            ..self
        }
    }

    /// For a `memcaches://` URL: the same servers, trusting the authority in this PEM file.
    ///
    /// # Panics
    ///
    /// When the file cannot be used.
    pub fn with_tls_ca(self, ca: impl Into<std::path::PathBuf>) -> Self {
        let root = MemcachedStore::builder(&self.url)
            .tls_ca_file(ca)
            .build()
            .unwrap_or_else(|e| panic!("a TLS authority that cannot be used: {e}"));
        MemcachedFactory {
            root: Root::Native(root),
            ..self
        }
    }

    /// The same servers in Symfony's `MemcachedAdapter` layout (feature `php`).
    ///
    /// # Panics
    ///
    /// Never: the URL was checked already.
    #[cfg(feature = "php")]
    pub fn symfony(self, layout: cache_store::memcached::SymfonyMemcached) -> Self {
        let root = MemcachedStore::builder(&self.url)
            .build_symfony(layout)
            .expect("a URL that was accepted once");
        MemcachedFactory {
            root: Root::Symfony(root),
            ..self
        }
    }
}

#[async_trait]
impl StoreFactory for MemcachedFactory {
    async fn create(&self, namespace: &str) -> Result<Arc<dyn Store>> {
        Ok(match &self.root {
            Root::Native(root) => Arc::new(root.with_namespace(namespace)?),
            #[cfg(feature = "php")]
            Root::Symfony(root) => Arc::new(root.with_namespace(namespace)?),
        })
    }
}
