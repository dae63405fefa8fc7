//! An async memcached client for the meta protocol, over tokio: one multiplexed connection
//! per server, every request a pipeline of commands answered in one round trip, a request
//! timeout kept by one watchdog thread per process, and rendezvous hashing to spread keys
//! over servers. No cache semantics: build requests with [`protocol`], send them with
//! [`Connection::call`], and pick a key's server with [`owner`].
//!
//! It is the wire client under `cache-store`'s memcached backend (which adds namespaces,
//! lifetimes and the `Store` contract), as redis-rs is under its Redis backend.
//!
//! - [`Connection`]: one server's connection, dialed on first use and again after a failure;
//!   concurrent callers share its socket and read their own replies, with no reader task.
//! - [`protocol`]: the commands (`mg`, `ms`, `md`, and the classic multi-key `get`), keys
//!   always sent as base64 (as the key's text, or with the `b` flag as a binary key), and
//!   the reply parser.
//! - [`owner`]: which of many servers owns a key, the same in every process; [`Ketama`]:
//!   the server libmemcached (and so PHP's php-memcached) picks, for servers shared with PHP.
//! - [`Error`]: unavailable or timed out, with the cause and whether a retry may help.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use memcached_meta::{Connection, Reply, owner, protocol};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), memcached_meta::Error> {
//! let servers = ["127.0.0.1:11211", "127.0.0.1:11212"]
//!     .map(|address| Connection::new(address, Duration::from_secs(1), Duration::from_secs(1)));
//! let key = b"user.42";
//! let server = &servers[owner(servers.iter().map(Connection::address), key)];
//!
//! // Two commands, one round trip: set for 60 s, then read back with the client flags.
//! let mut request = Vec::new();
//! protocol::meta_set(&mut request, key, b"Ada", 7, 60, protocol::SetMode::Set);
//! protocol::meta_get(&mut request, key, true, false, None);
//! match &server.call(&request, 2).await?[1] {
//!     Reply::Value { data, flags } => assert_eq!((&data[..], flags.client), (&b"Ada"[..], Some(7))),
//!     other => panic!("unexpected {other:?}"),
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod auth;
mod backoff;
mod connection;
mod error;
mod ketama;
pub mod protocol;
mod rendezvous;
mod socket;
#[cfg(feature = "tls")]
mod tls;
mod watchdog;

pub use connection::{Connection, DEFAULT_RECONNECT_MAX_DELAY, DEFAULT_RECONNECT_MIN_DELAY};
pub use error::{Error, ErrorKind, Result};
pub use ketama::Ketama;
pub use protocol::{Flags, Reply, SetMode};
pub use rendezvous::owner;
#[cfg(feature = "tls")]
pub use tls::Tls;

/// The crate README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
