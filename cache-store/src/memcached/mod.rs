//! The memcached backend: one or many servers, an async multiplexed meta-protocol client of
//! its own, safe keys, correct long TTLs, and an O(1) versioned `clear`.
//!
//! # Its client
//!
//! The `memcache` crate's classic client is synchronous, and its async `exp` client sends a
//! multi-key get as one command per key, rejects empty values (so an empty value cannot
//! round-trip) and does not multiplex (the numbers are in the workspace's
//! `benches/README.md`). This backend speaks the meta protocol through the workspace's own
//! [`memcached_meta`] client: one multiplexed connection per server, every batch one
//! pipelined write per server.
//!
//! # Keys
//!
//! An entry of namespace `ns` and key `k` is stored under the base64 text of `ns:k`, so
//! spaces, CR LF, NUL and control bytes never reach the text protocol raw, and every key is a
//! single word of it. A key too long for memcached is stored as `ns:@` followed by the
//! SHA-256 of the key (`@` cannot occur in a valid key, so hashed and plain keys never meet).
//!
//! # Clear
//!
//! memcached cannot list keys, and `flush_all` would wipe every tenant of the server, so each
//! namespace has a token stored under `ns:{version}` (in its client flags, so that reading it
//! is a one-line `mg … f`; the value holds the same number in digits for people looking at
//! the server), and every value carries the token it
//! was written under in its client flags. Reads fetch the token in the same round trip as the
//! values (pipelined on the token's server) and treat a value with another token as absent;
//! `clear` writes a new token, so it is O(1) and visible at once to every handle and process.
//! The old entries stay in memory until memcached's LRU or their TTL removes them. A write
//! racing with another process's `clear` may land under the old token and read as absent.
//!
//! If the token itself disappears (LRU eviction, or its server restarted empty), a handle
//! that knows it writes it back on its next read, so what it wrote under it stays visible; a
//! handle that never saw it creates a new one, and older entries read as absent (a lost
//! cache, never a wrong value). The one case this cannot tell apart: if another process
//! cleared the namespace and the new token was then lost too, a handle that still remembers
//! the old token restores it, and entries from before that `clear` become visible again.
//! If the token's key holds something that is not a token (no client flags, a zero, damaged
//! digits), it is replaced by a new token, logged: the namespace reads as empty, and nothing
//! written before can come back.
//!
//! # Expiry
//!
//! memcached's clock counts whole seconds and may be a second behind when a write lands, so
//! a lifetime is sent rounded up to whole seconds **plus one**: an entry is never a miss
//! before its deadline, and is a miss at most two seconds after it. Lifetimes over 30 days
//! are sent as absolute Unix times, as memcached requires (rounded up, plus one); deadlines
//! past [`Deadline::latest`](crate::Deadline::latest), which memcached's 32-bit absolute time
//! cannot carry, are written without one (see
//! [the rule](crate::Expiration#one-rule-on-every-backend)); an expired write deletes.
//!
//! # Sharing with PHP
//!
//! With the `php` feature, [`MemcachedStoreBuilder::build_symfony`] builds a
//! [`PhpMemcachedStore`] instead: Symfony's `MemcachedAdapter` layout (its ids, namespace
//! version, php-memcached's flags and compression, libmemcached's choice of server), so a PHP
//! service and a Rust one share entries and `clear()`.
//!
//! # Faults
//!
//! A server that stops gives retryable errors for the keys it owns (per key in `get_many`
//! and `set_many`), while the other servers keep serving; the handle dials it again on the
//! next call once it is back.
//!
//! ```no_run
//! use cache_store::memcached::MemcachedStore;
//! use cache_store::{Expiration, Key, Store};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cache_store::Error> {
//! let store = MemcachedStore::builder("memcache://127.0.0.1:11211,127.0.0.1:11212")
//!     .namespace("app")
//!     .build()?;
//! store.set(Key::new("a b\r\nflush_all")?, "safe".into(), Expiration::Never).await?;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "php")]
mod fastlz;
#[cfg(feature = "php")]
mod php_store;
#[cfg(feature = "php")]
mod php_value;
mod stats;
mod store;

#[cfg(feature = "php")]
#[cfg_attr(docsrs, doc(cfg(feature = "php")))]
pub use php_store::{LongIds, PhpMemcachedStore, PhpPrefix, SymfonyMemcached};

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

#[cfg(feature = "memcached-tls")]
use memcached_meta::Tls;
use memcached_meta::{Connection, Reply, protocol};

/// Without the `memcached-tls` feature there is no TLS to configure.
#[cfg(not(feature = "memcached-tls"))]
#[derive(Clone, Debug)]
enum Tls {}

use crate::error::{Error, ErrorKind, Result};
use crate::key::{Key, validate_namespace};

/// The connect timeout when none is configured.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// The request timeout when none is configured.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Keys (with their namespace prefix) up to this many bytes are stored as they are; longer
/// ones are hashed. 186 bytes of base64 stay within memcached's 250-character key.
const MAX_PLAIN_KEY: usize = 186;

/// A [`Store`](crate::Store) over one or many memcached servers. See the
/// [module docs](self). Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct MemcachedStore {
    shared: Arc<Shared>,
    namespace: Arc<str>,
    /// `namespace:{version}`: the namespace token's key, which starts with the prefix of every
    /// data key, `namespace:` (kept as one buffer: nothing to build per call).
    keys: Arc<[u8]>,
    /// The request that reads the token, `mg <token key> f`, encoded once.
    token_read: Arc<[u8]>,
    /// The server that holds the token.
    token_server: usize,
    /// This namespace's token as last seen, shared by the handles of the namespace.
    token: Arc<TokenSlot>,
}

/// A namespace's token as last seen (0: not known yet), and when it was last read from the
/// server.
#[derive(Default)]
pub(super) struct TokenSlot {
    pub(super) value: AtomicU64,
    /// Milliseconds since [`epoch`] at the last read (0: never read).
    read_at_ms: AtomicU64,
}

/// The instant token read times count from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl TokenSlot {
    fn now_ms() -> u64 {
        u64::try_from(epoch().elapsed().as_millis()).map_or(u64::MAX, |ms| ms.saturating_add(1))
    }

    /// Records that the token was just read from the server.
    pub(super) fn mark_read(&self) {
        self.read_at_ms.store(Self::now_ms(), Ordering::Release);
    }

    /// Whether a read must fetch the token again: it is unknown, or older than `refresh`.
    pub(super) fn is_stale(&self, refresh: Duration) -> bool {
        if refresh.is_zero() || self.value.load(Ordering::Acquire) == 0 {
            return true;
        }
        let read_at = self.read_at_ms.load(Ordering::Acquire);
        let refresh_ms = u64::try_from(refresh.as_millis()).unwrap_or(u64::MAX);
        read_at == 0 || Self::now_ms().saturating_sub(read_at) >= refresh_ms
    }
}

struct Shared {
    servers: Vec<ServerConnection>,
    /// The largest key and value this store sends (see
    /// [`MemcachedStoreBuilder::max_item_bytes`]); `None`: the server decides.
    max_item: Option<usize>,
    tokens: Mutex<HashMap<String, Arc<TokenSlot>>>,
    /// How long a read may rely on the last token read instead of fetching it again.
    token_refresh: Duration,
}

/// Configures a [`MemcachedStore`].
#[derive(Debug)]
pub struct MemcachedStoreBuilder {
    url: String,
    namespace: String,
    connect_timeout: Duration,
    request_timeout: Duration,
    reconnect: (Duration, Duration),
    token_refresh: Duration,
    tls_files: TlsFiles,
    max_item: Option<usize>,
}

/// PEM files for `memcaches://`: the authority to trust instead of the system's, and a client
/// certificate.
#[derive(Debug, Default)]
struct TlsFiles {
    ca: Option<std::path::PathBuf>,
    client: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl MemcachedStore {
    /// Starts configuring a store for `url`: `memcache://[user:password@]host:port[,host:port…]`
    /// (`memcached://` is accepted too; credentials for servers started with `-Y`, memcached's
    /// ASCII authentication, the same for every server), or `memcaches://…` for TLS to servers
    /// started with `-Z` (feature `memcached-tls`). Connections are dialed on first use.
    pub fn builder(url: &str) -> MemcachedStoreBuilder {
        MemcachedStoreBuilder {
            url: url.to_owned(),
            namespace: String::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            reconnect: (
                memcached_meta::DEFAULT_RECONNECT_MIN_DELAY,
                memcached_meta::DEFAULT_RECONNECT_MAX_DELAY,
            ),
            token_refresh: Duration::ZERO,
            tls_files: TlsFiles::default(),
            max_item: None,
        }
    }

    /// A handle for another namespace over the same connections.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for an invalid namespace.
    pub fn with_namespace(&self, namespace: &str) -> Result<MemcachedStore> {
        validate_namespace(namespace)?;
        Ok(MemcachedStore::in_namespace(
            Arc::clone(&self.shared),
            namespace,
        ))
    }

    /// A handle on `namespace` (already validated) over `shared`'s connections, with what
    /// every call needs of the namespace (its keys, the token's request and server) worked
    /// out once.
    fn in_namespace(shared: Arc<Shared>, namespace: &str) -> MemcachedStore {
        let keys = key_buffer(namespace);
        let mut token_read = Vec::new();
        // The token travels in the client flags: a one-line `HD f<token>` reply.
        protocol::meta_get(&mut token_read, &keys, false, false, None);
        let token_server = owner(&shared, &keys);
        MemcachedStore {
            token: token_slot(&shared, namespace),
            namespace: namespace.into(),
            keys,
            token_read: token_read.into(),
            token_server,
            shared,
        }
    }

    /// The memcached key (binary, before base64) of `key`, built on the stack.
    /// Refuses an entry over the store's item limit, when it has one.
    fn check_item(&self, key: Key<'_>, value: &[u8]) -> Result<()> {
        match self.shared.max_item {
            Some(limit) if key.len() + value.len() > limit => Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "a {} byte value is over this memcached store's item limit of {limit} bytes",
                    value.len()
                ),
            )),
            _ => Ok(()),
        }
    }

    fn data_key(&self, key: Key<'_>) -> DataKey {
        let mut out = DataKey {
            bytes: [0; MAX_PLAIN_KEY],
            len: 0,
        };
        let prefix = self.prefix();
        out.push(prefix);
        if prefix.len() + key.len() <= MAX_PLAIN_KEY {
            out.push(key.as_bytes());
        } else {
            out.push(b"@");
            out.push(&Sha256::digest(key.as_bytes()));
        }
        out
    }

    /// The key of this namespace's token: `namespace:{version}` (no valid key holds `{`).
    fn token_key(&self) -> &[u8] {
        &self.keys
    }

    /// `namespace:`, the prefix of every data key.
    fn prefix(&self) -> &[u8] {
        self.keys
            .get(..self.keys.len() - TOKEN_SUFFIX.len())
            .unwrap_or_default()
    }

    /// The server that owns `key`.
    fn server_of(&self, key: &[u8]) -> usize {
        owner(&self.shared, key)
    }
}

/// A memcached data key: at most [`MAX_PLAIN_KEY`] bytes (a plain key within it, or the
/// namespace prefix, at most 65 bytes, with `@` and a 32-byte digest), so it fits on the
/// stack and a call allocates nothing for its keys.
struct DataKey {
    bytes: [u8; MAX_PLAIN_KEY],
    len: usize,
}

impl DataKey {
    fn push(&mut self, part: &[u8]) {
        let end = self.len + part.len();
        self.bytes
            .get_mut(self.len..end)
            .expect("a data key never outgrows MAX_PLAIN_KEY: longer keys are hashed")
            .copy_from_slice(part);
        self.len = end;
    }
}

impl std::ops::Deref for DataKey {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The server of `shared` that owns `key`.
fn owner(shared: &Shared, key: &[u8]) -> usize {
    if shared.servers.len() == 1 {
        return 0;
    }
    memcached_meta::owner(shared.servers.iter().map(ServerConnection::address), key)
}

/// One server's connection ([`memcached_meta::Connection`]), answering in this crate's
/// errors.
struct ServerConnection(Connection);

impl ServerConnection {
    fn new(server: &Server, builder: &MemcachedStoreBuilder, tls: Option<&Tls>) -> Self {
        let (min, max) = builder.reconnect;
        let connection = Connection::new(
            server.address.clone(),
            builder.connect_timeout,
            builder.request_timeout,
        )
        .with_reconnect_delays(min, max);
        let connection = match &server.credentials {
            Some((user, password)) => connection.with_credentials(user, password),
            None => connection,
        };
        #[cfg(feature = "memcached-tls")]
        let connection = match tls {
            Some(tls) => connection.with_tls(tls.clone()),
            None => connection,
        };
        #[cfg(not(feature = "memcached-tls"))]
        let _ = tls;
        ServerConnection(connection)
    }

    fn address(&self) -> &str {
        self.0.address()
    }

    /// `payload`'s pipelined commands, and their `replies` replies, in one round trip.
    #[inline]
    async fn call(&self, payload: &[u8], replies: usize) -> Result<Vec<Reply>> {
        self.0.call(payload, replies).await.map_err(Error::from)
    }
}

/// What the token's key adds to the namespace prefix.
const TOKEN_SUFFIX: &[u8] = b"{version}";

fn key_buffer(namespace: &str) -> Arc<[u8]> {
    let mut keys = namespace.as_bytes().to_vec();
    keys.push(b':');
    keys.extend_from_slice(TOKEN_SUFFIX);
    keys.into()
}

fn token_slot(shared: &Shared, namespace: &str) -> Arc<TokenSlot> {
    let mut tokens = shared
        .tokens
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Arc::clone(tokens.entry(namespace.to_owned()).or_default())
}

impl MemcachedStoreBuilder {
    /// The namespace of the handle (default: the empty namespace).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long dialing a server (and authenticating) may take (default 1 s; URL parameter
    /// `connect_timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The pause after a failed dial of a server before the next one: `min` after the first
    /// failure, doubling while it stays away, at most `max` (defaults 100 ms and 2 s; URL
    /// parameters `reconnect_min` and `reconnect_max`). Calls to that server during a pause
    /// fail at once (retryable [`ErrorKind::Unavailable`]) instead of each waiting for a
    /// connect timeout; zero for both dials again on every call.
    pub fn reconnect_delays(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect = (min, max.max(min));
        self
    }

    /// Refuses, with [`ErrorKind::TooLarge`] and without sending it, an entry whose key and
    /// value together exceed `bytes` (URL parameter `max_item_bytes`). Without it the server
    /// decides, over TCP and TLS alike: memcached refuses items over its `-I` size (1 MiB by
    /// default) with an answer the store turns into `TooLarge`, and the rest of the batch is
    /// written. Applies to [`build`](Self::build)'s store (PHP's layouts are never over TLS).
    pub fn max_item_bytes(mut self, bytes: usize) -> Self {
        self.max_item = Some(bytes);
        self
    }

    /// For `memcaches://`: trust the certificate authority in this PEM file instead of the
    /// system's (URL parameter `tls_ca`).
    pub fn tls_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls_files.ca = Some(path.into());
        self
    }

    /// For `memcaches://` servers that check clients: show this certificate and key, both PEM
    /// files (URL parameters `tls_cert` and `tls_key`).
    pub fn tls_client_cert(
        mut self,
        cert: impl Into<std::path::PathBuf>,
        key: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls_files.client = Some((cert.into(), key.into()));
        self
    }

    /// The TLS of `memcaches://` URLs, read from the files; `None` for plain URLs.
    fn tls(&self) -> Result<Option<Tls>> {
        let tls_url = self.url.starts_with("memcaches://");
        if !tls_url {
            if self.tls_files.ca.is_some() || self.tls_files.client.is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "TLS files are for memcaches:// URLs",
                ));
            }
            return Ok(None);
        }
        #[cfg(feature = "memcached-tls")]
        {
            let client = self
                .tls_files
                .client
                .as_ref()
                .map(|(cert, key)| (cert.as_path(), key.as_path()));
            let tls = Tls::new(self.tls_files.ca.as_deref(), client).map_err(|e| {
                Error::new(ErrorKind::InvalidArgument, e.message().to_owned()).with_source(e)
            })?;
            Ok(Some(tls))
        }
        #[cfg(not(feature = "memcached-tls"))]
        Err(Error::new(
            ErrorKind::Unsupported,
            "memcaches:// needs the `memcached-tls` feature of cache-store",
        ))
    }

    /// How long one batch to one server may take (default 1 s; URL parameter
    /// `request_timeout`). A batch that gets no reply
    /// fails with [`crate::ErrorKind::Timeout`] after this long, and at most a quarter of it
    /// later (one watchdog thread per process keeps every connection's timeout, so a call
    /// arms no timer; the thread starts with the first connection).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long reads may trust the namespace token they last fetched before fetching it again
    /// (default zero: every read fetches it, in the same round trip as the values).
    ///
    /// With zero, a `clear` by any process is seen by the next read everywhere. With a
    /// positive interval, reads skip the token's fetch (a second lookup on the token's server
    /// per read) and a `clear` by **another process** is
    /// seen within that interval; handles in this process share the token, so their own clears
    /// are still seen at once. Symfony's `MemcachedAdapter` memoizes the token for the life of
    /// the adapter, which is this with an unbounded interval.
    pub fn token_refresh(mut self, interval: Duration) -> Self {
        self.token_refresh = interval;
        self
    }

    /// A store in Symfony's `MemcachedAdapter` layout instead of this crate's own, to share
    /// entries with PHP (see [`PhpMemcachedStore`]); `token_refresh` does not apply (the
    /// namespace version is read with every call, in the same round trip). Nothing is
    /// dialed yet.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a malformed URL, or a namespace Symfony refuses.
    #[cfg(feature = "php")]
    #[cfg_attr(docsrs, doc(cfg(feature = "php")))]
    pub fn build_symfony(self, layout: SymfonyMemcached) -> Result<PhpMemcachedStore> {
        self.build_php(php_store::PhpLayout::Symfony(layout))
    }

    /// A store with PHP's plain keys: `<namespace><key>`, as PHP code that prefixes its keys
    /// stores them (php-memcached's session handler: namespace `memc.sess.key.` as
    /// [`PhpPrefix::OptPrefixKey`]; Symfony's `MemcachedSessionHandler`: `sf2s`,
    /// [`PhpPrefix::InKey`]), with php-memcached's value flags, and the servers chosen as
    /// libmemcached's consistent hashing chooses them (see [`PhpMemcachedStore`]). With no
    /// namespace version, `clear` is refused ([`ErrorKind::Unsupported`]). Nothing is
    /// dialed yet.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a malformed URL or namespace.
    #[cfg(feature = "php")]
    #[cfg_attr(docsrs, doc(cfg(feature = "php")))]
    pub fn build_php_keys(self, prefix: PhpPrefix) -> Result<PhpMemcachedStore> {
        self.build_php(php_store::PhpLayout::Plain(prefix))
    }

    #[cfg(feature = "php")]
    fn build_php(self, layout: php_store::PhpLayout) -> Result<PhpMemcachedStore> {
        if self.url.starts_with("memcaches://") {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "PHP's layouts are for sharing with php-memcached, which does not speak TLS",
            ));
        }
        let servers = servers(&self.url)?;
        let tls = self.tls()?;
        let ring = memcached_meta::Ketama::new(servers.iter().map(|s| s.address.as_str()));
        let shared = Arc::new(php_store::Shared {
            servers: servers
                .iter()
                .map(|server| ServerConnection::new(server, &self, tls.as_ref()))
                .collect(),
            ring,
            layout,
            versions: Mutex::new(HashMap::new()),
        });
        PhpMemcachedStore::in_namespace(shared, &self.namespace)
    }

    /// The store. Nothing is dialed yet.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a malformed URL or namespace.
    pub fn build(self) -> Result<MemcachedStore> {
        validate_namespace(&self.namespace)?;
        let servers = servers(&self.url)?;
        let tls = self.tls()?;
        let shared = Arc::new(Shared {
            servers: servers
                .iter()
                .map(|server| ServerConnection::new(server, &self, tls.as_ref()))
                .collect(),
            tokens: Mutex::new(HashMap::new()),
            token_refresh: self.token_refresh,
            max_item: self.max_item,
        });
        Ok(MemcachedStore::in_namespace(shared, &self.namespace))
    }
}

/// A server of the URL: its address and the URL's credentials.
struct Server {
    address: String,
    credentials: Option<(String, String)>,
}

/// `memcache://[user:password@]a:1,b:2` into its servers.
fn servers(url: &str) -> Result<Vec<Server>> {
    let (credentials, rest) = match url
        .split_once("://")
        .and_then(|(_, rest)| rest.rsplit_once('@'))
    {
        Some((credentials, _)) => {
            let (user, password) = credentials.split_once(':').ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    "memcached credentials are user:password@",
                )
            })?;
            (
                Some((user.to_owned(), password.to_owned())),
                url.replacen(&format!("{credentials}@"), "", 1),
            )
        }
        None => (None, url.to_owned()),
    };
    Ok(server_addresses(&rest)?
        .into_iter()
        .map(|address| Server {
            address,
            credentials: credentials.clone(),
        })
        .collect())
}

/// `memcache://a:1,b:2` into `["a:1", "b:2"]`.
fn server_addresses(url: &str) -> Result<Vec<String>> {
    let invalid = |why: &str| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "{url:?} is not a memcached URL: {why} (expected memcache://host:port,host:port)"
            ),
        )
    };
    let rest = url
        .strip_prefix("memcache://")
        .or_else(|| url.strip_prefix("memcached://"))
        .or_else(|| url.strip_prefix("memcaches://"))
        .ok_or_else(|| invalid("unknown scheme"))?;
    let hosts = rest.split(['?', '/']).next().unwrap_or_default();
    let addresses: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| {
            if h.contains(':') {
                h.to_owned()
            } else {
                format!("{h}:11211")
            }
        })
        .collect();
    if addresses.is_empty() {
        return Err(invalid("no server"));
    }
    Ok(addresses)
}

/// The servers' addresses, for `Debug`.
fn addresses(servers: &[ServerConnection]) -> Vec<&str> {
    servers.iter().map(ServerConnection::address).collect()
}

impl fmt::Debug for MemcachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedStore")
            .field("servers", &addresses(&self.shared.servers))
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_list_servers() {
        assert_eq!(
            server_addresses("memcache://a:1,b:2").unwrap(),
            ["a:1", "b:2"]
        );
        assert_eq!(
            server_addresses("memcached://host").unwrap(),
            ["host:11211"]
        );
        assert!(server_addresses("redis://a:1").is_err());
        assert!(server_addresses("memcache://").is_err());
        let with = servers("memcache://u:p@a:1,b:2").unwrap();
        assert_eq!(with[1].address, "b:2");
        assert_eq!(with[0].credentials, Some(("u".into(), "p".into())));
        assert!(servers("memcache://a:1").unwrap()[0].credentials.is_none());
        assert!(servers("memcache://nocolon@a:1").is_err());
    }

    #[test]
    fn long_keys_are_hashed_and_never_meet_plain_ones() {
        let store = MemcachedStore::builder("memcache://127.0.0.1:1")
            .namespace("ns")
            .build()
            .unwrap();
        let short = store.data_key(Key::new("k").unwrap());
        assert_eq!(&*short, b"ns:k");
        let long_name = "x".repeat(400);
        let long = store.data_key(Key::new(&long_name).unwrap());
        assert_eq!(long.len(), 3 + 1 + 32);
        assert_eq!(long[3], b'@');
        let other = store.data_key(Key::new(&"y".repeat(400)).unwrap());
        assert_ne!(&*long, &*other);
        assert_eq!(store.token_key(), b"ns:{version}");
    }
}
