//! The narrow waist of the workspace: every cache abstraction (PSR-6 pools, PSR-16 simple
//! caches, the Doctrine Cache API, session handlers) is written once against the [`Store`]
//! trait, and every backend implements it once.
//!
//! - [`Store`]: the batch-first, object-safe async backend contract. Its rustdoc states each
//!   method's behavior; `cache-testkit` checks any implementation against it.
//! - [`Key`]: PSR key rules, enforced in every build, before any I/O.
//! - [`Expiration`], [`Deadline`], [`Remaining`]: one expiry type and one rounding rule.
//! - [`Clock`], [`SystemClock`], [`ManualClock`]: injectable time, so TTL tests never sleep.
//! - [`Error`], [`ErrorKind`]: one error type with a kind, a kept source and `is_retryable`.
//! - [`codec`]: typed values over the byte store (MessagePack by default, JSON with the
//!   `json` feature).
//! - Backends: [`moka::MokaStore`] and [`memory::MemoryStore`] (features `moka` and
//!   `memory`, both on by default; embedded, no server; see [`memory`] for which to pick),
//!   `redis::RedisStore` (feature `redis`; standalone and Cluster), `memcached::MemcachedStore`
//!   (feature `memcached`; one or many servers) and [`NullStore`] (caching switched off).
//!   [`open`] picks one from a URL.
//! - [`two_level`]: a first level (in memory) in front of a second (Redis, memcached), kept
//!   coherent with other processes' writes (on Redis, by the server's invalidations).
//! - [`lock`]: locks every process sharing a store honours (acquire with a timeout, refresh,
//!   release by owner, force release), over any store's atomic add.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cache_store::{Expiration, Key, Store};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! // The backend is configuration: swap this URL for another backend's.
//! let store = cache_store::open("moka://?capacity=16MiB&namespace=app").await?;
//!
//! let key = Key::new("user.42")?;
//! store.set(key, "ada".into(), Expiration::After(Duration::from_secs(60))).await?;
//! assert_eq!(store.get(key).await?.as_deref(), Some(&b"ada"[..]));
//!
//! // Invalid keys never reach a backend.
//! assert!(Key::new("user:42").is_err());
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `moka` (default): the embedded [`moka::MokaStore`].
//! - `memory` (default): the faster embedded [`memory::MemoryStore`], over quick_cache.
//! - `redis`: the Redis backend, standalone and Cluster.
//! - `memcached`: the memcached backend, one or many servers.
//! - `lock` (default): [`lock::Locks`], locks shared by every process on one store.
//! - `json`: [`codec::Json`].
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod clock;
pub mod codec;
#[cfg(any(feature = "moka", feature = "memory"))]
mod embedded;
mod error;
mod expiry;
mod key;
#[cfg(feature = "lock")]
#[cfg_attr(docsrs, doc(cfg(feature = "lock")))]
pub mod lock;
#[cfg(feature = "memcached")]
#[cfg_attr(docsrs, doc(cfg(feature = "memcached")))]
pub mod memcached;
#[cfg(feature = "memory")]
#[cfg_attr(docsrs, doc(cfg(feature = "memory")))]
pub mod memory;
#[cfg(feature = "moka")]
#[cfg_attr(docsrs, doc(cfg(feature = "moka")))]
pub mod moka;
mod null;
pub mod observe;
mod open;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
mod store;
pub mod two_level;

pub use bytes::Bytes;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, ErrorKind, Result};
pub use expiry::{Deadline, Expiration, Remaining};
pub use key::{
    Key, MAX_NAMESPACE_LEN, OwnedKey, RESERVED_KEY_CHARS, validate_key, validate_namespace,
};
pub use null::NullStore;
pub use observe::Observed;
pub use open::open;
pub use store::{Entry, FailedEntries, Found, Stats, Store};
