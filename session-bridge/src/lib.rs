//! Session storage over any of the three cache abstractions.
//!
//! **Work in progress** (tracked as the session-bridge issue): this crate will hold a
//! PHP-style `SessionHandler` trait with an adapter per abstraction, optional per-session
//! locking, and a `tower_sessions_core::SessionStore`.
//!
//! Until then it re-exports [`cache_store`], the layer it is built on, so the workspace's
//! crate graph and features are already in place.
#![deny(missing_docs)]

pub use cache_store;
