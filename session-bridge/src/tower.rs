//! A tower-sessions store over any [`SessionHandler`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use cache_store::codec::{Codec, MsgPack};
use cache_store::{Error, ErrorKind};
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{self, SessionStore};

use crate::handler::SessionHandler;

/// How many fresh ids [`create`](SessionStore::create) tries before giving up. With 128-bit
/// ids a second try is already a once-in-the-universe event; the bound keeps a broken store
/// (one whose `create` always reports a collision) from looping forever.
const CREATE_ATTEMPTS: usize = 8;

/// A [`tower_sessions_core::SessionStore`] over any [`SessionHandler`], so an axum (or any
/// tower) application keeps its sessions in a PSR-6 pool, a PSR-16 cache or a Doctrine cache
/// on any backend.
///
/// - `create` is collision-safe: it stores the record with the handler's atomic
///   [`create`](SessionHandler::create) and draws a new id while the id is taken.
/// - `save` writes the record with the lifetime left until its `expiry_date` (an expiry in
///   the past deletes it); the backend drops it when that lifetime ends.
/// - Records are stored as tagged MessagePack ([`MsgPack`]); stored bytes that are not a record
///   (another program's data under the same key) load as a decode error, never as a wrong
///   session.
///
/// tower-sessions saves at the end of a request and has no "close" step, and its model is
/// "last write wins"; a handler with locking does not fit it, so [`new`](Self::new) refuses one.
///
/// ```
/// use std::sync::Arc;
/// use cache_store::moka::MokaStore;
/// use session_bridge::{CacheSessionHandler, SessionOptions, TowerSessionStore};
/// use simple_cache::Cache;
/// use tower_sessions_core::SessionStore;
/// use tower_sessions_core::session::{Id, Record};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let cache = Arc::new(Cache::new(MokaStore::builder().build()?));
/// let store = TowerSessionStore::new(CacheSessionHandler::new(cache, SessionOptions::new()))?;
///
/// let mut record = Record {
///     id: Id::default(),
///     data: [("user".to_owned(), "alice".into())].into(),
///     expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
/// };
/// store.create(&mut record).await?;
/// assert_eq!(store.load(&record.id).await?, Some(record.clone()));
/// store.delete(&record.id).await?;
/// assert_eq!(store.load(&record.id).await?, None);
/// # Ok(())
/// # }
/// ```
pub struct TowerSessionStore<H> {
    handler: H,
    /// How records are stored: tagged MessagePack, or PHP's session data.
    data: DataLayout,
}

/// How a [`TowerSessionStore`] stores a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataLayout {
    /// The whole record, as tagged MessagePack.
    Record,
    /// PHP's session data (see [`TowerSessionStore::with_php_data`]).
    #[cfg(feature = "php")]
    Php {
        format: php_marshal::session::SessionFormat,
        lifetime: Duration,
    },
}

impl<H: SessionHandler + 'static> TowerSessionStore<H> {
    /// A store over `handler`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a handler with locking on (see the type's docs).
    pub fn new(handler: H) -> Result<Self, Error> {
        if handler.is_locking() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "tower-sessions has no end-of-request hook to release a session lock; give TowerSessionStore a handler without locking",
            ));
        }
        Ok(TowerSessionStore {
            handler,
            data: DataLayout::Record,
        })
    }

    /// Stores a record's data as PHP's session data in `format`, so that a PHP application
    /// on the same sessions (a [`PhpSessions`](crate::PhpSessions) handler, without locks)
    /// reads in `$_SESSION` what tower-sessions wrote, and the reverse: each record entry is
    /// a session variable, its JSON value a PHP value (objects become arrays with string
    /// keys; PHP arrays read back as JSON arrays when their keys are `0..n`, objects
    /// otherwise). PHP keeps no expiry in the data: a loaded record expires `lifetime` after
    /// the load (PHP's `session.gc_maxlifetime`, the lifetime the key was written with).
    ///
    /// Ids: tower-sessions' ids are 22 characters of base64url, and PHP refuses the `_` among
    /// them, so `create` draws ids until one has none (PHP takes the rest). Sessions PHP
    /// starts carry PHP's ids, which tower-sessions cannot parse; to share a login PHP
    /// starts, give PHP an id generator of the same form:
    ///
    /// ```php
    /// session_set_save_handler(new class extends SessionHandler {
    ///     public function create_sid(): string {
    ///         do { $id = rtrim(strtr(base64_encode(random_bytes(16)), '+/', '-_'), '='); }
    ///         while (str_contains($id, '_'));
    ///         return $id;
    ///     }
    /// }, true);
    /// ```
    ///
    /// A stored session whose data is not in `format`, or whose variables have names that
    /// are not UTF-8, loads as a decode error, and is left as it is.
    #[cfg(feature = "php")]
    #[cfg_attr(docsrs, doc(cfg(feature = "php")))]
    pub fn with_php_data(
        mut self,
        format: php_marshal::session::SessionFormat,
        lifetime: Duration,
    ) -> Self {
        self.data = DataLayout::Php { format, lifetime };
        self
    }

    /// The handler underneath.
    pub fn handler(&self) -> &H {
        &self.handler
    }
}

impl<H: Clone> Clone for TowerSessionStore<H> {
    fn clone(&self) -> Self {
        TowerSessionStore {
            handler: self.handler.clone(),
            data: self.data,
        }
    }
}

impl<H: fmt::Debug> fmt::Debug for TowerSessionStore<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TowerSessionStore")
            .field("handler", &self.handler)
            .finish()
    }
}

/// The lifetime left until `record` expires; zero when it already has.
fn lifetime(record: &Record) -> Duration {
    let left = record.expiry_date - OffsetDateTime::now_utc();
    Duration::try_from(left).unwrap_or(Duration::ZERO)
}

fn backend(err: Error) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

fn encode(record: &Record, layout: DataLayout) -> session_store::Result<bytes::Bytes> {
    match layout {
        DataLayout::Record => MsgPack
            .encode(record)
            .map_err(|err| session_store::Error::Encode(err.to_string())),
        #[cfg(feature = "php")]
        DataLayout::Php { format, .. } => php_data::encode(record, format),
    }
}

/// The record stored as `data` under `id` (which only PHP's data, holding no id, needs).
#[cfg_attr(not(feature = "php"), allow(unused_variables))]
fn decode(data: &[u8], layout: DataLayout, id: Id) -> session_store::Result<Record> {
    match layout {
        DataLayout::Record => MsgPack
            .decode(data)
            .map_err(|err| session_store::Error::Decode(err.to_string())),
        #[cfg(feature = "php")]
        DataLayout::Php { format, lifetime } => php_data::decode(data, format, lifetime, id),
    }
}

/// Whether a new session may have `id`: PHP refuses ids with `_` (see
/// [`TowerSessionStore::with_php_data`]).
#[cfg_attr(not(feature = "php"), allow(unused_variables))]
fn usable(id: &Id, layout: DataLayout) -> bool {
    match layout {
        DataLayout::Record => true,
        #[cfg(feature = "php")]
        DataLayout::Php { .. } => !id.to_string().contains('_'),
    }
}

/// Records as PHP's session data.
#[cfg(feature = "php")]
mod php_data {
    use std::borrow::Cow;
    use std::time::Duration;

    use php_marshal::session::{self, SessionFormat};
    use php_marshal::{ArrayKey, Value};
    use time::OffsetDateTime;
    use tower_sessions_core::session::{Id, Record};
    use tower_sessions_core::session_store;

    pub(super) fn encode(
        record: &Record,
        format: SessionFormat,
    ) -> session_store::Result<bytes::Bytes> {
        let failed = |err: php_marshal::Error| session_store::Error::Encode(err.to_string());
        let vars = record
            .data
            .iter()
            .map(|(name, value)| Ok((name.as_bytes().to_vec(), php_marshal::to_value(value)?)))
            .collect::<Result<Vec<_>, php_marshal::Error>>()
            .map_err(failed)?;
        session::encode(format, &vars)
            .map(bytes::Bytes::from)
            .map_err(failed)
    }

    pub(super) fn decode(
        data: &[u8],
        format: SessionFormat,
        lifetime: Duration,
        id: Id,
    ) -> session_store::Result<Record> {
        let failed = |why: String| session_store::Error::Decode(why);
        let vars = session::decode(format, data).map_err(|err| failed(err.to_string()))?;
        let entries = vars
            .into_iter()
            .map(|(name, value)| {
                let name = String::from_utf8(name)
                    .map_err(|_| failed("a session variable name that is not UTF-8".to_owned()))?;
                Ok((ArrayKey::String(Cow::Owned(name.into_bytes())), value))
            })
            .collect::<session_store::Result<Vec<_>>>()?;
        let data = php_marshal::from_value(Value::Array(entries))
            .map_err(|err| failed(err.to_string()))?;
        let lifetime = time::Duration::try_from(lifetime).unwrap_or(time::Duration::MAX);
        Ok(Record {
            id,
            data,
            expiry_date: OffsetDateTime::now_utc().saturating_add(lifetime),
        })
    }
}

#[async_trait]
impl<H: SessionHandler + 'static> SessionStore for TowerSessionStore<H> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let lifetime = lifetime(record);
        if lifetime.is_zero() {
            // Born expired: there is nothing to keep, and no id to reserve.
            return Ok(());
        }
        while !usable(&record.id, self.data) {
            record.id = Id::default();
        }
        for _ in 0..CREATE_ATTEMPTS {
            let data = encode(record, self.data)?;
            let id = record.id.to_string();
            if self
                .handler
                .create(&id, data, lifetime)
                .await
                .map_err(backend)?
            {
                return Ok(());
            }
            tracing::debug!("session id collision; drawing a new id");
            record.id = Id::default();
            while !usable(&record.id, self.data) {
                record.id = Id::default();
            }
        }
        Err(session_store::Error::Backend(format!(
            "no free session id after {CREATE_ATTEMPTS} attempts: the handler reports every id as taken"
        )))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record, self.data)?;
        self.handler
            .write_with_lifetime(&record.id.to_string(), data, lifetime(record))
            .await
            .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data = self.handler.read(&id.to_string()).await.map_err(backend)?;
        if data.is_empty() {
            return Ok(None);
        }
        let record = decode(&data, self.data, *id)?;
        // The backend drops it at its expiry; a record read in the last instant is over too.
        Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.handler.destroy(&id.to_string()).await.map_err(backend)
    }
}
