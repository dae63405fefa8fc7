//! Session storage over any of the three cache abstractions: PHP-style session handlers, and
//! a store for tower-sessions.
//!
//! - [`SessionHandler`]: PHP's session handler interfaces (`open`, `close`, `read`, `write`,
//!   `destroy`, `gc`, `validate_id`, `update_timestamp`, `create_sid`), async and object safe.
//! - [`CacheSessionHandler`]: the handler, over any [`SessionStorage`] (a PSR-6 pool, a
//!   PSR-16 cache or a Doctrine cache over any store), with one set of rules for all three,
//!   and optional per-session locking.
//! - [`PhpSessions`]: PHP's own handlers' sessions (phpredis, php-memcached): their keys and
//!   their locks, so PHP and Rust share sessions and take turns on one.
//! - [`SessionStorage`]: what the handler asks of a cache, atomic add and touch included,
//!   which PHP's cache interfaces lack (so they stay off the PSR traits).
//! - [`TowerSessionStore`] (feature `tower-sessions`, on by default): a
//!   `tower_sessions_core::SessionStore` over any handler, for axum and other tower apps.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use cache_store::moka::MokaStore;
//! use doctrine_compat::CacheProvider;
//! use session_bridge::{CacheSessionHandler, LockOptions, SessionHandler, SessionOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let doctrine = Arc::new(CacheProvider::new(MokaStore::builder().build()?));
//! let options = SessionOptions::new()
//!     .with_max_lifetime(Duration::from_secs(1800))?
//!     .strict(true)
//!     .with_locking(LockOptions::default())?;
//! let sessions = CacheSessionHandler::new(doctrine, options);
//!
//! // One request: a handler clone per request, as PHP has one handler object per request.
//! let request = sessions.clone();
//! let id = request.create_sid()?;
//! assert!(!request.validate_id(&id).await?); // strict: unknown ids are refused
//! let data = request.read(&id).await?; // takes the session's lock
//! assert!(data.is_empty());
//! request.write(&id, "user|s:5:\"alice\";".into()).await?;
//! request.close().await?; // releases it
//! assert!(sessions.validate_id(&id).await?);
//! # Ok(())
//! # }
//! ```
//!
//! # Choices where PHP (and nofw/session-handlers) is broken
//!
//! - `read` of an unknown id is empty data, never a failure (nofw's PSR-16 handler returns
//!   `null`, which makes PHP refuse to start the session).
//! - Every write carries the lifetime (nofw stores sessions forever).
//! - Ids are checked before they become keys, and keys carry a prefix (nofw uses the raw,
//!   attacker-chosen id as the key).
//! - Locks always expire, carry a random 128-bit token instead of `host|pid`, and are released
//!   only by their owner (php-memcached deletes whatever lock is there).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod cache_handler;
mod handler;
mod id;
mod lock;
mod options;
mod php;
mod php_string;
mod storage;
#[cfg(feature = "tower-sessions")]
mod tower;

pub use cache_handler::CacheSessionHandler;
pub use handler::SessionHandler;
pub use id::{DEFAULT_ID_LENGTH, MAX_ID_LENGTH, MIN_ID_LENGTH, create_id, is_well_formed};
pub use options::{DEFAULT_MAX_LIFETIME, DEFAULT_PREFIX, LockKey, LockOptions, SessionOptions};
pub use php::PhpSessions;
pub use storage::SessionStorage;
#[cfg(feature = "tower-sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions")))]
pub use tower::TowerSessionStore;
#[cfg(feature = "tower-sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions")))]
pub use tower_sessions_core;

/// The workspace README's examples, compiled and run as doctests (this crate depends on all
/// three abstractions), so that what a newcomer copies works.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
