//! The Redis backend: standalone (over a `ConnectionManager`) and Cluster, one round trip per
//! batch, namespace-scoped `clear`, and recovery after the server comes back.
//!
//! # Layout
//!
//! An entry of namespace `ns` and key `k` is the Redis string `ns:k` (the key's bytes as
//! they are: Redis keys are binary safe). Namespaces cannot contain `:` or any glob
//! metacharacter, and keys cannot contain `{` or `}`, so a namespace's keys are exactly those
//! matching `ns:*`, and no key ever carries a cluster hash tag.
//!
//! # Commands
//!
//! | `Store` | Redis |
//! |---|---|
//! | `get_many` | one `MGET` (split per slot by the cluster client) |
//! | `set_many` | one pipeline of `SET k v [PX ms]` / `UNLINK k` (one per slot on a cluster, sent concurrently) |
//! | `delete_many` | one `UNLINK` |
//! | `contains` | `EXISTS` |
//! | `add` | `SET k v NX [PX ms]` |
//! | `touch` | `PEXPIRE`, `PERSIST` (pipelined with `EXISTS`), `UNLINK` for an expired deadline |
//! | `clear` | `SCAN MATCH ns:* COUNT 1000` + `UNLINK`, on every primary; never `FLUSHDB` |
//! | `stats` | `INFO`, summed over the primaries |
//!
//! A key that another program stored as a non-string (a list, a hash) reads as a miss through
//! `get_many` (`MGET` answers `nil` for it) and as a [`Decode`](crate::ErrorKind::Decode)
//! error through `get`; it never fails a batch.
//!
//! # Faults
//!
//! Every call is bounded by the connect and response timeouts. While the server is down calls
//! fail with retryable [`Unavailable`](crate::ErrorKind::Unavailable) or
//! [`Timeout`](crate::ErrorKind::Timeout) errors; once it is back, the same handle works again.
//!
//! ```no_run
//! use cache_store::redis::RedisStore;
//! use cache_store::{Expiration, Key, Store};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379/0")
//!     .namespace("app")
//!     .connect()
//!     .await?;
//! store.set(Key::new("k")?, "v".into(), Expiration::Never).await?;
//! let cluster = RedisStore::builder("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
//!     .connect()
//!     .await?;
//! # let _ = cluster;
//! # Ok(())
//! # }
//! ```

mod builder;
mod cluster_nodes;
mod connection;
mod error;
mod sentinel;
mod store;
#[cfg(feature = "redis-tls")]
mod tls;
mod tracking;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use builder::RedisStoreBuilder;
use connection::Connection;
pub use tracking::Invalidation;

use crate::error::Result;
use crate::key::{Key, validate_namespace};

/// The connect timeout when none is configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The response timeout when none is configured.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// The first delay before reconnecting when none is configured (it doubles per attempt).
pub const DEFAULT_RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest delay between reconnection attempts when none is configured.
pub const DEFAULT_RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);

/// A [`Store`](crate::Store) over Redis or Redis Cluster. See the [module docs](self).
/// Cloning is cheap and shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    connection: Connection,
    namespace: Arc<str>,
    /// `namespace:` (or `namespace` with PHP's plain keys), the prefix of every key of this
    /// handle.
    prefix: Arc<[u8]>,
    /// Whether keys are `namespace` + key, with no `:` (see [`RedisStoreBuilder::php_keys`]).
    plain: bool,
    timeouts: Timeouts,
    target: Arc<str>,
    started: Instant,
    /// How to watch the namespace's keys.
    watch: tracking::Watch,
}

#[derive(Clone, Copy, Debug)]
struct Timeouts {
    connect: Duration,
    response: Duration,
}

impl Timeouts {
    /// The bound of one call: reconnecting may take a connect timeout before the response
    /// timeout starts.
    fn call(self) -> Duration {
        self.connect + self.response
    }
}

impl RedisStore {
    /// Starts configuring a store for `url`:
    ///
    /// - `redis://[user:password@]host[:port][/db]`, `rediss://…` (needs the client's TLS
    ///   features), `redis+unix:///path/to/socket` or `unix:///path/to/socket`: standalone;
    /// - `redis+cluster://[user:password@]host:port,host:port,…`: Redis Cluster (any reachable
    ///   nodes; the client discovers the rest).
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder::new(url)
    }

    /// A handle for another namespace over the same connection.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an invalid
    /// namespace.
    pub fn with_namespace(&self, namespace: &str) -> Result<RedisStore> {
        validate_namespace(namespace)?;
        Ok(RedisStore {
            namespace: namespace.into(),
            prefix: prefix(namespace, self.plain),
            ..self.clone()
        })
    }

    /// The Redis key of `key` in this namespace, as a command argument written straight into
    /// the command's buffer (no key is built on its own first).
    fn arg<'a>(&'a self, key: Key<'a>) -> PrefixedKey<'a> {
        PrefixedKey {
            prefix: &self.prefix,
            key: key.as_bytes(),
        }
    }

    /// The Redis key of `key` in this namespace, as owned bytes.
    fn redis_key(&self, key: Key<'_>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.prefix.len() + key.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(key.as_bytes());
        out
    }
}

/// `prefix ++ key` as one Redis argument.
struct PrefixedKey<'a> {
    prefix: &'a [u8],
    key: &'a [u8],
}

impl redis::ToRedisArgs for PrefixedKey<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + redis::RedisWrite,
    {
        use bytes::BufMut as _;
        // Two plain copies into the command's buffer, reserved once (the `io::Write` route
        // costs a loop and a `Result` per part, which a 100-key batch feels).
        let mut arg = out.bufmut_for_next_arg(self.prefix.len() + self.key.len());
        arg.put_slice(self.prefix);
        arg.put_slice(self.key);
    }
}

fn prefix(namespace: &str, plain: bool) -> Arc<[u8]> {
    let mut prefix = Vec::with_capacity(namespace.len() + 1);
    prefix.extend_from_slice(namespace.as_bytes());
    if !plain {
        prefix.push(b':');
    }
    prefix.into()
}

/// The URL without its password, for `Debug` and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.connection {
            Connection::Standalone(_) => "standalone",
            Connection::Cluster(_) => "cluster",
            Connection::Sentinel(_) => "sentinel",
        };
        f.debug_struct("RedisStore")
            .field("target", &self.target)
            .field("mode", &mode)
            .field("namespace", &self.namespace)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::builder::cluster_node_urls;
    use super::*;

    #[test]
    fn cluster_urls_keep_credentials_for_every_node() {
        assert_eq!(
            cluster_node_urls("a:1,b:2").unwrap(),
            ["redis://a:1", "redis://b:2"]
        );
        assert_eq!(
            cluster_node_urls("u:p@a:1,b:2/").unwrap(),
            ["redis://u:p@a:1", "redis://u:p@b:2"]
        );
        assert!(cluster_node_urls("").is_err());
    }

    #[test]
    fn passwords_never_reach_debug_output() {
        assert_eq!(
            redact("redis://user:secret@host:6379/0"),
            "redis://…@host:6379/0"
        );
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
    }
}
