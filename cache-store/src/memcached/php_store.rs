//! [`PhpMemcachedStore`]: memcached keyed as PHP keys it: Symfony's `MemcachedAdapter`
//! layout, or php-memcached's plain prefixed keys.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::future::join_all;
use md5::{Digest, Md5};

use memcached_meta::Ketama;
use memcached_meta::protocol::{self, Reply, SetMode};

use super::stats::server_stats;
use super::store::{exptime, new_token, reply_error, write_room, written};
use super::{ServerConnection, php_value};
use crate::codec::{Codec, Php};
use crate::error::{Error, ErrorKind, Result};
use crate::expiry::Expiration;
use crate::key::{Key, validate_namespace};
use crate::store::{Entry, FailedEntries, Stats, Store};

/// memcached's longest key, and Symfony's `maxIdLength`.
const MAX_ID: usize = 250;
/// Symfony's namespace limit on memcached: room for a hashed key after it.
const MAX_NAMESPACE: usize = MAX_ID - 24;
/// The version that Symfony reads as "none yet" and replaces.
const UNLOADED_VERSION: &[u8] = b"1:";
/// Room for the commands of one key.
const SMALL_PAYLOAD: usize = 512;

/// How Symfony hashes an id too long for memcached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LongIds {
    /// MD5, as Symfony up to 6.2 hashes.
    #[default]
    Md5,
    /// XXH3-128, as Symfony 6.3 and later hash.
    Xxh128,
}

/// The Symfony layout a [`PhpMemcachedStore`] keeps: the marshaller of the namespace
/// version (the pool's own marshaller, so PHP reads it) and how long ids are hashed.
///
/// ```
/// use cache_store::codec::Php;
/// use cache_store::memcached::{LongIds, SymfonyMemcached};
///
/// // Symfony 6.4 with igbinary installed.
/// let layout = SymfonyMemcached::new(Php::IGBINARY).long_ids(LongIds::Xxh128);
/// assert_eq!(layout.marshaller(), Php::IGBINARY);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SymfonyMemcached {
    marshaller: Php,
    long_ids: LongIds,
}

impl SymfonyMemcached {
    /// The layout with `marshaller` for the namespace version, hashing long ids with MD5.
    pub const fn new(marshaller: Php) -> SymfonyMemcached {
        SymfonyMemcached {
            marshaller,
            long_ids: LongIds::Md5,
        }
    }

    /// Hashes long ids with `hash`.
    pub const fn long_ids(mut self, hash: LongIds) -> SymfonyMemcached {
        self.long_ids = hash;
        self
    }

    /// The marshaller of the namespace version.
    pub const fn marshaller(&self) -> Php {
        self.marshaller
    }
}

/// Symfony's `MemcachedAdapter` layout on memcached, so that a Rust store and a PHP pool with
/// the same namespace share entries, versions and `clear()`.
///
/// What Symfony writes, and so what this store reads and writes (Symfony Cache 5.4 to 7.x):
///
/// - **Ids**: `<namespace>:<version><key>` (`<version><key>` in the empty namespace), where
///   `<version>` is the namespace version, a 6-character token ending in `:`. An id longer
///   than 250 bytes keeps the namespace and version and replaces the key by its hash, base64,
///   cut to end in `:` (`mns:lOIVa:6wPLolyBeJY+kByU:`): MD5 up to Symfony 6.2, XXH3-128 from
///   6.3 ([`LongIds`]). Then the bytes memcached's text protocol cannot carry become
///   characters no cache key holds: space `@`, LF `(`, CR `)`, tab `\`, VT `{`, FF `}`,
///   NUL `/`. Keys travel as binary keys (the meta protocol's `b` flag), as php-memcached
///   sends them over the binary protocol Symfony turns on, so any other byte is kept.
/// - **The version** lives under `:<namespace>:` (`:` in the empty namespace), marshalled as
///   a PHP string, with no lifetime. `clear()` writes a new one: every entry of the old
///   version is out of reach at once, for PHP and Rust alike, and memcached's LRU or the
///   entries' lifetimes take them away later.
/// - **Values**: the marshalled bytes as a string (client flags 0); what php-memcached
///   compressed (FastLZ by default, or zlib) reads decompressed.
/// - **Servers**: libmemcached's consistent hashing, as Symfony's `createConnection` sets it
///   (`OPT_LIBKETAMA_COMPATIBLE`), over the servers in the order PHP lists them: give both
///   sides the same list, in the same order.
///
/// Symfony reads the version once per adapter, so a PHP process sees another process's
/// `clear()` from its next request. This store reads it with every call, in the same round
/// trip as the call's entries (the ids are built on the version last seen, and built again
/// on the one read if it changed), so a `clear()` anywhere is seen by its next call.
///
/// Built by
/// [`MemcachedStoreBuilder::build_symfony`](super::MemcachedStoreBuilder::build_symfony), or
/// by [`open`](crate::open) with `symfony=<serialize|igbinary>` in the URL. Cloning is cheap
/// and shares the connections.
///
/// ```no_run
/// use cache_store::codec::{Codec, Php};
/// use cache_store::memcached::{MemcachedStore, SymfonyMemcached};
/// use cache_store::{Expiration, Key, Store};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// // PHP: new MemcachedAdapter(MemcachedAdapter::createConnection(
/// //     ['memcached://10.0.0.1:11211', 'memcached://10.0.0.2:11211']), 'app')
/// let store = MemcachedStore::builder("memcache://10.0.0.1:11211,10.0.0.2:11211")
///     .namespace("app")
///     .build_symfony(SymfonyMemcached::new(Php::IGBINARY))?;
/// let value = Php::IGBINARY.encode("read by PHP as a string")?;
/// store.set(Key::new("greeting")?, value, Expiration::Never).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PhpMemcachedStore {
    shared: Arc<Shared>,
    namespace: Arc<str>,
    /// `<namespace>:` (empty in the empty namespace): the start of every id.
    prefix: Arc<[u8]>,
    /// `:<namespace>:`: the version's id.
    version_id: Arc<[u8]>,
    version_server: usize,
    /// The version as last read, shared by this process's handles on the namespace.
    version: VersionSlot,
}

pub(super) struct Shared {
    pub(super) servers: Vec<ServerConnection>,
    pub(super) ring: Ketama,
    pub(super) layout: PhpLayout,
    pub(super) versions: Mutex<HashMap<String, VersionSlot>>,
}

/// Which PHP layout a [`PhpMemcachedStore`] keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PhpLayout {
    /// Symfony's `MemcachedAdapter`.
    Symfony(SymfonyMemcached),
    /// PHP's plain keys: `<namespace><key>`, the namespace placed as `PhpPrefix` says.
    Plain(PhpPrefix),
}

/// Where PHP puts the namespace of [plain keys](super::MemcachedStoreBuilder::build_php_keys),
/// which decides the server: libmemcached picks it from the key it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhpPrefix {
    /// In the key: `$memcached->set($prefix . $key, …)` (Symfony's
    /// `MemcachedSessionHandler`, prefix `sf2s`). The server is picked from the whole key.
    InKey,
    /// As the client's `Memcached::OPT_PREFIX_KEY` (php-memcached's session handler,
    /// `memc.sess.key.`): the server is picked from the key without it.
    OptPrefixKey,
}

impl PhpLayout {
    /// The marshaller that typed php-memcached values (ints, floats, bools) read as.
    fn marshaller(self) -> Php {
        match self {
            PhpLayout::Symfony(layout) => layout.marshaller,
            PhpLayout::Plain(_) => Php::SERIALIZE,
        }
    }
}

/// A namespace's version as last read (`None`: not read yet).
pub(super) type VersionSlot = Arc<RwLock<Option<Arc<[u8]>>>>;

/// Per server: pipelined commands, and how many replies they get.
type Payloads = [(Vec<u8>, usize)];

/// Appends the command for the `index`th key, whose memcached key is `id`.
type KeyCommand<'a> = dyn Fn(usize, &[u8], &mut Vec<u8>) + Sync + 'a;

/// What the version's id holds.
enum VersionRead {
    /// A version.
    Version(Arc<[u8]>),
    /// Nothing (never written, or evicted).
    Absent,
    /// Something that is no version (not a PHP string, too long, Symfony's "unloaded"
    /// marker): replaced, as Symfony replaces it.
    Corrupt,
}

impl PhpMemcachedStore {
    pub(super) fn in_namespace(shared: Arc<Shared>, namespace: &str) -> Result<Self> {
        validate_namespace(namespace)?;
        if namespace.len() > MAX_NAMESPACE {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("a PHP namespace on memcached is at most {MAX_NAMESPACE} bytes"),
            ));
        }
        let prefix: Vec<u8> = match shared.layout {
            PhpLayout::Symfony(_) if !namespace.is_empty() => [namespace.as_bytes(), b":"].concat(),
            _ => namespace.as_bytes().to_vec(),
        };
        let version_id: Arc<[u8]> = [b":", &prefix[..]].concat().into();
        let version = {
            let mut versions = shared
                .versions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Arc::clone(versions.entry(namespace.to_owned()).or_default())
        };
        Ok(PhpMemcachedStore {
            version_server: shared.ring.owner(&version_id),
            namespace: namespace.into(),
            prefix: prefix.into(),
            version_id,
            version,
            shared,
        })
    }

    /// A handle for another namespace over the same connections.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for an invalid namespace.
    pub fn with_namespace(&self, namespace: &str) -> Result<PhpMemcachedStore> {
        PhpMemcachedStore::in_namespace(Arc::clone(&self.shared), namespace)
    }

    /// The memcached key PHP gives `key` (under `version`, in Symfony's layout).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] for a plain key memcached cannot hold as PHP writes it: over
    /// 250 bytes with the namespace, or with a space or control byte.
    fn id(&self, key: Key<'_>, version: &[u8]) -> Result<Vec<u8>> {
        let PhpLayout::Symfony(layout) = self.shared.layout else {
            return self.plain_id(key);
        };
        let key = key.as_bytes();
        let mut id = Vec::with_capacity(self.prefix.len() + version.len() + key.len().min(24));
        id.extend_from_slice(&self.prefix);
        id.extend_from_slice(version);
        if id.len() + key.len() <= MAX_ID {
            id.extend_from_slice(key);
        } else {
            let digest: [u8; 16] = match layout.long_ids {
                LongIds::Md5 => Md5::digest(key).into(),
                LongIds::Xxh128 => xxhash_rust::xxh3::xxh3_128(key).to_be_bytes(),
            };
            let hash = base64(&digest);
            // Symfony's substr_replace($hash, ':', -(strlen($version) + 2)).
            let keep = hash.len().saturating_sub(version.len() + 2);
            id.extend_from_slice(&hash[..keep]);
            id.push(b':');
        }
        for byte in &mut id {
            *byte = match *byte {
                b' ' => b'@',
                b'\n' => b'(',
                b'\r' => b')',
                b'\t' => b'\\',
                0x0b => b'{',
                0x0c => b'}',
                0 => b'/',
                other => other,
            };
        }
        Ok(id)
    }

    /// `<namespace><key>`, as php-memcached stores it.
    fn plain_id(&self, key: Key<'_>) -> Result<Vec<u8>> {
        let key = key.as_bytes();
        if self.prefix.len() + key.len() > MAX_ID {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!(
                    "php-memcached keys are at most {MAX_ID} bytes with their prefix; this one is {}",
                    self.prefix.len() + key.len()
                ),
            ));
        }
        if key.iter().any(|&b| b <= b' ' || b == 0x7f) {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                "php-memcached keys hold no space or control byte",
            ));
        }
        Ok([&self.prefix[..], key].concat())
    }

    /// The server of `id`: libmemcached hashes the id without the client's key prefix
    /// (`OPT_PREFIX_KEY`); Symfony's ids have no such prefix.
    fn server_of(&self, id: &[u8]) -> usize {
        let hashed = match self.shared.layout {
            PhpLayout::Plain(PhpPrefix::OptPrefixKey) => id.get(self.prefix.len()..).unwrap_or(id),
            PhpLayout::Plain(PhpPrefix::InKey) | PhpLayout::Symfony(_) => id,
        };
        self.shared.ring.owner(hashed)
    }

    fn known_version(&self) -> Option<Arc<[u8]>> {
        self.version
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn remember(&self, version: Arc<[u8]>) {
        *self
            .version
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(version);
    }

    fn read_version(&self, reply: Option<&Reply>) -> Result<VersionRead> {
        let (data, flags) = match reply {
            Some(Reply::Value { data, flags }) => (data.clone(), flags.client.unwrap_or(0)),
            Some(Reply::Miss) => return Ok(VersionRead::Absent),
            Some(other) => return Err(reply_error(other)),
            None => return Err(reply_error(&Reply::Miss)),
        };
        let Ok(bytes) = php_value::read(data, flags, self.shared.layout.marshaller()) else {
            return Ok(VersionRead::Corrupt);
        };
        let version = match php_marshal::Format::of(&bytes).parse(&bytes) {
            Ok(php_marshal::Value::String(version)) => version,
            _ => return Ok(VersionRead::Corrupt),
        };
        if version.is_empty() || version.len() > 24 || version.as_ref() == UNLOADED_VERSION {
            return Ok(VersionRead::Corrupt);
        }
        Ok(VersionRead::Version(Arc::from(version.as_ref())))
    }

    /// The marshalled form of a new version from `n`, as Symfony's
    /// `formatNamespaceVersion`: the first five base64 digits of `n` (little-endian), then
    /// `:`, with `/` as `_`.
    fn new_version(&self, n: u32) -> Result<(Arc<[u8]>, Bytes)> {
        let mut version = base64(&n.to_le_bytes());
        version.truncate(5);
        version.push(b':');
        for byte in &mut version {
            if *byte == b'/' {
                *byte = b'_';
            }
        }
        let text = String::from_utf8(version)
            .map_err(|_| Error::new(ErrorKind::Decode, "a namespace version is base64 text"))?;
        let stored = self.shared.layout.marshaller().encode(text.as_str())?;
        Ok((Arc::from(text.as_bytes()), stored))
    }

    /// Writes a new version (never the one last seen) under the version's id (`Add`: only
    /// if there is none; `Set`: over what is there, which is `clear`), reads what is there
    /// then, and returns it, remembered.
    async fn write_version(&self, mode: SetMode) -> Result<Arc<[u8]>> {
        let known = self.known_version();
        for _ in 0..3 {
            let (version, stored) = loop {
                let (version, stored) = self.new_version(new_token(0))?;
                if known.as_deref() != Some(&version[..]) {
                    break (version, stored);
                }
            };
            let mut payload = Vec::with_capacity(SMALL_PAYLOAD);
            protocol::meta_set_binary(
                &mut payload,
                &self.version_id,
                &stored,
                php_value::STRING,
                0,
                mode,
            );
            protocol::meta_get_binary(&mut payload, &self.version_id, true, false, None);
            let replies = self.shared.servers[self.version_server]
                .call(&payload, 2)
                .await?;
            match replies.first() {
                Some(Reply::Done { .. } | Reply::NotStored) => {}
                other => return Err(reply_error(other.unwrap_or(&Reply::Miss))),
            }
            match self.read_version(replies.get(1))? {
                VersionRead::Version(read) => {
                    self.remember(Arc::clone(&read));
                    return Ok(read);
                }
                // Damaged (or evicted) again at once: the next try writes over it.
                VersionRead::Corrupt | VersionRead::Absent => {
                    tracing::warn!(
                        namespace = %self.namespace,
                        version = ?String::from_utf8_lossy(&version),
                        "replacing the Symfony namespace version on memcached, which held no version"
                    );
                }
            }
            if mode == SetMode::Add {
                // An `Add` that lost to something damaged replaces it on the next turn.
                return Box::pin(self.write_version(SetMode::Set)).await;
            }
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            "the Symfony namespace version on memcached kept changing while it was written",
        ))
    }

    /// Runs the commands `build` makes for a version (per server: the payload and how many
    /// replies it gets) in one round trip, with the version read ahead of them on its server.
    /// If the version read is not the one the commands were built on (another process
    /// cleared, or this is the first call), they are built and sent again on the new one.
    /// Returns each server's replies, without the version's.
    async fn versioned(
        &self,
        build: &(dyn Fn(&[u8], &mut Payloads) + Sync),
    ) -> Result<Vec<Result<Vec<Reply>>>> {
        if let PhpLayout::Plain(_) = self.shared.layout {
            let mut payloads = vec![(Vec::new(), 0); self.shared.servers.len()];
            build(b"", &mut payloads);
            return Ok(self.send(&payloads).await);
        }
        let mut version = match self.known_version() {
            Some(version) => version,
            None => self.current_version().await?,
        };
        for _ in 0..3 {
            let mut payloads = vec![(Vec::new(), 0); self.shared.servers.len()];
            let own = &mut payloads[self.version_server];
            own.0.reserve(SMALL_PAYLOAD);
            protocol::meta_get_binary(&mut own.0, &self.version_id, true, false, None);
            own.1 += 1;
            build(&version, &mut payloads);
            let calls = self.shared.servers.iter().zip(&payloads).map(
                |(server, (payload, replies))| async move {
                    if *replies == 0 {
                        Ok(Vec::new())
                    } else {
                        server.call(payload, *replies).await
                    }
                },
            );
            let mut replies = join_all(calls).await;
            let read = match &mut replies[self.version_server] {
                Ok(own) if !own.is_empty() => self.read_version(Some(&own.remove(0)))?,
                Ok(_) => return Err(reply_error(&Reply::Miss)),
                Err(err) => return Err(err.clone()),
            };
            match read {
                VersionRead::Version(read) if read == version => return Ok(replies),
                VersionRead::Version(read) => {
                    self.remember(Arc::clone(&read));
                    version = read;
                }
                VersionRead::Absent => version = self.write_version(SetMode::Add).await?,
                VersionRead::Corrupt => version = self.write_version(SetMode::Set).await?,
            }
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            "the Symfony namespace version on memcached kept changing during a call",
        ))
    }

    /// Sends each server its payload, at once: one round trip.
    async fn send(&self, payloads: &Payloads) -> Vec<Result<Vec<Reply>>> {
        let calls = self.shared.servers.iter().zip(payloads).map(
            |(server, (payload, replies))| async move {
                if *replies == 0 {
                    Ok(Vec::new())
                } else {
                    server.call(payload, *replies).await
                }
            },
        );
        join_all(calls).await
    }

    /// The version on the server, created if there is none.
    async fn current_version(&self) -> Result<Arc<[u8]>> {
        let mut payload = Vec::with_capacity(SMALL_PAYLOAD);
        protocol::meta_get_binary(&mut payload, &self.version_id, true, false, None);
        let replies = self.shared.servers[self.version_server]
            .call(&payload, 1)
            .await?;
        match self.read_version(replies.first())? {
            VersionRead::Version(version) => {
                self.remember(Arc::clone(&version));
                Ok(version)
            }
            VersionRead::Absent => self.write_version(SetMode::Add).await,
            VersionRead::Corrupt => self.write_version(SetMode::Set).await,
        }
    }

    /// Sends one command per key (each to its server), under the version; each key's reply.
    async fn per_key(
        &self,
        keys: &[Key<'_>],
        command: &KeyCommand<'_>,
    ) -> Result<Vec<Result<Reply>>> {
        let owners = Mutex::new(Vec::with_capacity(keys.len()));
        let replies = self
            .versioned(&|version, payloads| {
                let mut owners = owners.lock().unwrap_or_else(|p| p.into_inner());
                owners.clear();
                for (index, &key) in keys.iter().enumerate() {
                    // A key PHP's layout cannot hold fails alone, sending nothing.
                    owners.push(self.id(key, version).map(|id| {
                        let server = self.server_of(&id);
                        command(index, &id, &mut payloads[server].0);
                        payloads[server].1 += 1;
                        server
                    }));
                }
            })
            .await?;
        let owners = owners.into_inner().unwrap_or_else(|p| p.into_inner());
        let mut per_server: Vec<Result<std::vec::IntoIter<Reply>>> =
            replies.into_iter().map(|r| r.map(Vec::into_iter)).collect();
        Ok(owners
            .into_iter()
            .map(|owner| match &mut per_server[owner?] {
                Ok(replies) => replies.next().ok_or_else(|| reply_error(&Reply::Miss)),
                Err(err) => Err(err.clone()),
            })
            .collect())
    }

    fn value_of(&self, reply: Reply) -> Result<Option<Bytes>> {
        match reply {
            Reply::Value { data, flags } => php_value::read(
                data,
                flags.client.unwrap_or(0),
                self.shared.layout.marshaller(),
            )
            .map(Some),
            Reply::Miss => Ok(None),
            other => Err(reply_error(&other)),
        }
    }
}

#[async_trait]
impl Store for PhpMemcachedStore {
    async fn get_many(&self, keys: &[Key<'_>]) -> Result<Vec<Result<Option<Bytes>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let replies = self
            .per_key(keys, &|_, id, out| {
                protocol::meta_get_binary(out, id, true, false, None);
            })
            .await?;
        Ok(replies
            .into_iter()
            .map(|reply| reply.and_then(|reply| self.value_of(reply)))
            .collect())
    }

    async fn set_many(&self, entries: &[Entry<'_>]) -> Result<FailedEntries> {
        if entries.is_empty() {
            return Ok(FailedEntries::new());
        }
        let keys: Vec<Key<'_>> = entries.iter().map(|entry| entry.key).collect();
        let replies = self
            .per_key(&keys, &|index, id, out| {
                let entry = &entries[index];
                out.reserve(write_room(id, &entry.value));
                match exptime(entry.expiration) {
                    None => protocol::meta_delete_binary(out, id),
                    Some(ttl) => protocol::meta_set_binary(
                        out,
                        id,
                        &entry.value,
                        php_value::STRING,
                        ttl,
                        SetMode::Set,
                    ),
                }
            })
            .await?;
        if replies.iter().all(Result::is_err)
            && let Some(Err(err)) = replies.first()
        {
            return Err(err.clone());
        }
        let mut failed = FailedEntries::new();
        for (index, reply) in replies.into_iter().enumerate() {
            if let Err(err) = reply.and_then(|reply| written(Some(&reply))) {
                failed.push(index, err);
            }
        }
        Ok(failed)
    }

    async fn delete_many(&self, keys: &[Key<'_>]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let replies = self
            .per_key(keys, &|_, id, out| protocol::meta_delete_binary(out, id))
            .await?;
        for reply in replies {
            written(Some(&reply?))?;
        }
        Ok(())
    }

    async fn contains(&self, key: Key<'_>) -> Result<bool> {
        let probe = |id: &[u8], out: &mut Vec<u8>| {
            protocol::meta_get_binary(out, id, false, false, None);
        };
        match self.single(key, &probe).await? {
            Reply::Done { .. } | Reply::Value { .. } => Ok(true),
            Reply::Miss => Ok(false),
            other => Err(reply_error(&other)),
        }
    }

    async fn add(&self, key: Key<'_>, value: Bytes, expiration: Expiration) -> Result<bool> {
        let Some(ttl) = exptime(expiration) else {
            return Ok(!self.contains(key).await?);
        };
        let add = |id: &[u8], out: &mut Vec<u8>| {
            out.reserve(write_room(id, &value));
            protocol::meta_set_binary(out, id, &value, php_value::STRING, ttl, SetMode::Add);
        };
        match self.single(key, &add).await? {
            Reply::Done { .. } => Ok(true),
            Reply::NotStored => Ok(false),
            other => Err(reply_error(&other)),
        }
    }

    async fn touch(&self, key: Key<'_>, expiration: Expiration) -> Result<bool> {
        let ttl = exptime(expiration);
        let touch = |id: &[u8], out: &mut Vec<u8>| match ttl {
            // Already expired: gone, as on every backend.
            None => protocol::meta_delete_binary(out, id),
            Some(ttl) => protocol::meta_get_binary(out, id, false, false, Some(ttl)),
        };
        match self.single(key, &touch).await? {
            Reply::Done { .. } | Reply::Value { .. } => Ok(true),
            Reply::Miss | Reply::NotFound => Ok(false),
            other => Err(reply_error(&other)),
        }
    }

    async fn touch_if_equal(
        &self,
        key: Key<'_>,
        expected: &[u8],
        expiration: Expiration,
    ) -> Result<bool> {
        let Some(cas) = self.cas_if_equal(key, expected).await? else {
            return Ok(false);
        };
        let ttl = exptime(expiration);
        // The same value again (as this store writes it), with the new lifetime, if nothing
        // wrote the key since it was read.
        let touch = |id: &[u8], out: &mut Vec<u8>| match ttl {
            None => protocol::meta_delete_binary_if(out, id, cas),
            Some(ttl) => protocol::meta_set_binary(
                out,
                id,
                expected,
                php_value::STRING,
                ttl,
                SetMode::Cas(cas),
            ),
        };
        cas_applied(self.single(key, &touch).await?)
    }

    async fn clear(&self) -> Result<()> {
        if let PhpLayout::Plain(_) = self.shared.layout {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "php-memcached's plain keys have no namespace version to clear by, and flush_all would empty every tenant of the servers",
            ));
        }
        self.write_version(SetMode::Set).await.map(drop)
    }

    async fn stats(&self) -> Result<Stats> {
        server_stats(self.shared.servers.iter()).await
    }

    fn backend(&self) -> &'static str {
        "memcached"
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }
}

impl PhpMemcachedStore {
    /// One command for one key, under the version: its reply.
    /// The CAS value of `key` when it holds exactly `expected` (as read back through PHP's
    /// flags: decompressed, a string).
    async fn cas_if_equal(&self, key: Key<'_>, expected: &[u8]) -> Result<Option<u64>> {
        let read =
            |id: &[u8], out: &mut Vec<u8>| protocol::meta_get_binary(out, id, true, true, None);
        match self.single(key, &read).await? {
            Reply::Value { data, flags } => {
                let value = php_value::read(
                    data,
                    flags.client.unwrap_or(0),
                    self.shared.layout.marshaller(),
                );
                Ok(match value {
                    Ok(value) if value[..] == *expected => flags.cas,
                    _ => None,
                })
            }
            Reply::Miss => Ok(None),
            other => Err(reply_error(&other)),
        }
    }

    async fn single(
        &self,
        key: Key<'_>,
        command: &(dyn Fn(&[u8], &mut Vec<u8>) + Sync),
    ) -> Result<Reply> {
        let mut replies = self
            .per_key(std::slice::from_ref(&key), &|_, id, out| command(id, out))
            .await?;
        replies
            .pop()
            .unwrap_or_else(|| Err(reply_error(&Reply::Miss)))
    }
}

/// Standard base64 with padding (as PHP's `base64_encode`).
fn base64(data: &[u8]) -> Vec<u8> {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        let digits = chunk.len() + 1;
        for i in 0..4 {
            out.push(if i < digits {
                TABLE[(n >> (18 - 6 * i)) as usize & 63]
            } else {
                b'='
            });
        }
    }
    out
}

impl fmt::Debug for PhpMemcachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhpMemcachedStore")
            .field("servers", &super::addresses(&self.shared.servers))
            .field("namespace", &self.namespace)
            .field("layout", &self.shared.layout)
            .finish_non_exhaustive()
    }
}

/// Whether a compare-and-swap request applied.
fn cas_applied(reply: Reply) -> Result<bool> {
    match reply {
        Reply::Done { .. } => Ok(true),
        Reply::Exists | Reply::NotFound | Reply::NotStored => Ok(false),
        other => Err(reply_error(&other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(namespace: &str, long_ids: LongIds) -> PhpMemcachedStore {
        super::super::MemcachedStore::builder("memcache://127.0.0.1:1")
            .namespace(namespace)
            .build_symfony(SymfonyMemcached::new(Php::SERIALIZE).long_ids(long_ids))
            .unwrap()
    }

    #[test]
    fn ids_are_symfonys() {
        let store = store("mns", LongIds::Md5);
        fn key(k: &str) -> Key<'_> {
            Key::new(k).unwrap()
        }
        assert_eq!(store.id(key("foo"), b"QiQHa:").unwrap(), b"mns:QiQHa:foo");
        assert_eq!(
            store.id(key("a b\n\0\t"), b"QiQHa:").unwrap(),
            b"mns:QiQHa:a@b(/\\"
        );
        assert_eq!(&*store.version_id, b":mns:");
        assert_eq!(&*self::store("", LongIds::Md5).version_id, b":");
        // The examples Symfony's own runs give (php-wire-formats.md §4.1, §4.11.4).
        let long = "k".repeat(300);
        let xxh = self::store("mns", LongIds::Xxh128);
        assert_eq!(
            xxh.id(key(&long), b"lOIVa:").unwrap(),
            b"mns:lOIVa:6wPLolyBeJY+kByU:"
        );
    }

    #[test]
    fn plain_keys_are_the_namespace_and_the_key() {
        let store = super::super::MemcachedStore::builder("memcache://127.0.0.1:1")
            .namespace("memc.sess.key.")
            .build_php_keys(PhpPrefix::OptPrefixKey)
            .unwrap();
        let id = |k: &str| store.id(Key::new(k).unwrap(), b"");
        assert_eq!(id("abc,-9").unwrap(), b"memc.sess.key.abc,-9");
        assert_eq!(id("lock.abc").unwrap(), b"memc.sess.key.lock.abc");
        for bad in ["a b", "a\r\nset", &"k".repeat(240)] {
            assert_eq!(
                id(bad).unwrap_err().kind(),
                ErrorKind::InvalidKey,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn versions_are_formatted_as_symfony_does() {
        let store = store("mns", LongIds::Md5);
        // base64(pack('V', 0x12345678)) = "eFY0Eg==".
        let (version, stored) = store.new_version(0x1234_5678).unwrap();
        assert_eq!(&*version, b"eFY0E:");
        assert_eq!(&stored[..], br#"s:6:"eFY0E:";"#);
        // '/' becomes '_': 0xfc = 0b111111_00 starts with the digit '/'.
        let (version, _) = store.new_version(0xfc).unwrap();
        assert_eq!(&*version, b"_AAAA:");
    }

    #[test]
    fn base64_is_phps() {
        assert_eq!(base64(b""), b"");
        assert_eq!(base64(b"f"), b"Zg==");
        assert_eq!(base64(b"fo"), b"Zm8=");
        assert_eq!(base64(b"foo"), b"Zm9v");
        assert_eq!(base64(b"foobar"), b"Zm9vYmFy");
    }
}
