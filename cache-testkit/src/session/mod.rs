//! The session kit: the contract of a [`SessionHandler`] (PHP's handler interfaces as the
//! spec, section 5, pins them, with nofw/session-handlers' bugs fixed), and a property test
//! that runs the same random session operations through the three adapters and requires the
//! same results from each, all equal to a reference model.
//!
//! Implement [`SessionFactory`] and invoke [`session_suite!`](crate::session_suite), or give
//! a [`crate::store::StoreFactory`] to
//! [`session_suites!`](crate::session_suites) for all three adapters at once.

pub mod cases;
mod model;

use std::sync::Arc;

use async_trait::async_trait;
use cache_pool::Pool;
use cache_store::{ManualClock, Result, Store};
use doctrine_compat::CacheProvider;
use session_bridge::{CacheSessionHandler, SessionHandler, SessionOptions};
use simple_cache::Cache;

use crate::store::StoreFactory;

pub use model::check_sessions_agree;

/// Makes session handlers for the kit.
///
/// # Implementer notes
///
/// Each call is one request's handler (it holds its own locks); handlers made for the same
/// namespace share sessions, as two requests (or two processes) on one store do. Return a
/// clock from [`clock`](SessionFactory::clock) only if the handlers take their time from it.
#[async_trait]
pub trait SessionFactory: Send + Sync {
    /// A handler for one request on the sessions of `namespace`, configured by `options`.
    async fn create(
        &self,
        namespace: &str,
        options: SessionOptions,
    ) -> Result<Arc<dyn SessionHandler>>;

    /// The manual clock the handlers follow, if they follow one.
    fn clock(&self) -> Option<ManualClock> {
        None
    }
}

/// Which abstraction a [`SessionsOver`] factory puts between the handler and the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// [`CacheSessionHandler`] over a PSR-6 [`Pool`].
    Pool,
    /// [`CacheSessionHandler`] over a PSR-16 [`Cache`].
    SimpleCache,
    /// [`CacheSessionHandler`] over a Doctrine [`CacheProvider`].
    Doctrine,
}

impl Adapter {
    /// The three adapters.
    pub const ALL: [Adapter; 3] = [Adapter::Pool, Adapter::SimpleCache, Adapter::Doctrine];
}

/// Session handlers through one of the three adapters over the stores of `F`.
#[derive(Debug)]
pub struct SessionsOver<F> {
    /// Where the stores come from.
    pub stores: F,
    /// Which abstraction sits on them.
    pub adapter: Adapter,
}

impl<F> SessionsOver<F> {
    /// Handlers through `adapter` over the stores of `stores`.
    pub fn new(stores: F, adapter: Adapter) -> Self {
        SessionsOver { stores, adapter }
    }
}

#[async_trait]
impl<F: StoreFactory> SessionFactory for SessionsOver<F> {
    async fn create(
        &self,
        namespace: &str,
        options: SessionOptions,
    ) -> Result<Arc<dyn SessionHandler>> {
        let store: Arc<dyn Store> = self.stores.create(namespace).await?;
        Ok(match self.adapter {
            Adapter::Pool => Arc::new(CacheSessionHandler::new(
                Arc::new(Pool::new(store)),
                options,
            )),
            Adapter::SimpleCache => Arc::new(CacheSessionHandler::new(
                Arc::new(Cache::new(store)),
                options,
            )),
            Adapter::Doctrine => Arc::new(CacheSessionHandler::new(
                Arc::new(CacheProvider::new(store).with_namespace("sessions")),
                options,
            )),
        })
    }

    fn clock(&self) -> Option<ManualClock> {
        self.stores.clock()
    }
}
