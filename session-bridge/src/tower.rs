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
        Ok(TowerSessionStore { handler })
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

fn encode(record: &Record) -> session_store::Result<bytes::Bytes> {
    MsgPack
        .encode(record)
        .map_err(|err| session_store::Error::Encode(err.to_string()))
}

#[async_trait]
impl<H: SessionHandler + 'static> SessionStore for TowerSessionStore<H> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let lifetime = lifetime(record);
        if lifetime.is_zero() {
            // Born expired: there is nothing to keep, and no id to reserve.
            return Ok(());
        }
        for _ in 0..CREATE_ATTEMPTS {
            let data = encode(record)?;
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
        }
        Err(session_store::Error::Backend(format!(
            "no free session id after {CREATE_ATTEMPTS} attempts: the handler reports every id as taken"
        )))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
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
        let record: Record = MsgPack
            .decode(&data)
            .map_err(|err| session_store::Error::Decode(err.to_string()))?;
        // The backend drops it at its expiry; a record read in the last instant is over too.
        Ok((record.expiry_date > OffsetDateTime::now_utc()).then_some(record))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.handler.destroy(&id.to_string()).await.map_err(backend)
    }
}
