//! Redis behind Sentinel: the primary is asked of the sentinels, and asked again whenever the
//! connection to it fails or it answers as a replica, so that a failover is followed without
//! rebuilding the store.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ConnectionAddr, ProtocolVersion, RedisError};
use tokio::sync::Mutex;

use super::error;
use crate::error::{Error, ErrorKind, Result};

/// The primary a set of sentinels names, and the connection to it.
pub(super) struct SentinelLink {
    sentinels: Mutex<SentinelClient>,
    config: ConnectionManagerConfig,
    /// Bounds one lookup (asking the sentinels, then connecting to the primary).
    limit: Duration,
    current: RwLock<Current>,
    /// A lookup is under way (at most one at a time, in the background).
    looking: AtomicBool,
    /// When the last lookup started, in milliseconds since `started`: lookups are spaced by
    /// at least the first reconnection delay.
    last_lookup: AtomicU64,
    spacing: Duration,
    started: Instant,
}

struct Current {
    connection: ConnectionManager,
    /// Bumped on every swap, so that a failure seen on an old connection does not trigger
    /// a lookup the new one does not need.
    generation: u64,
}

/// `redis+sentinel://[user:password@]host:port,host:port/<primary name>[/db]`, parsed.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SentinelUrl {
    pub(super) credentials: Option<(Option<String>, String)>,
    pub(super) sentinels: Vec<(String, u16)>,
    pub(super) primary: String,
    pub(super) db: i64,
}

impl SentinelUrl {
    pub(super) fn parse(rest: &str) -> Result<SentinelUrl> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("redis+sentinel://{rest}: {why}"),
            )
        };
        let (credentials, rest) = match rest.rsplit_once('@') {
            Some((credentials, rest)) => {
                let (user, password) = match credentials.split_once(':') {
                    Some((user, password)) => (
                        (!user.is_empty()).then(|| user.to_owned()),
                        password.to_owned(),
                    ),
                    None => (None, credentials.to_owned()),
                };
                (Some((user, password)), rest)
            }
            None => (None, rest),
        };
        let (hosts, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("the primary's name is missing (…/mymaster)"))?;
        let sentinels = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| {
                let (host, port) = h.rsplit_once(':').unwrap_or((h, "26379"));
                let port = port
                    .parse()
                    .map_err(|_| invalid("a port is not a number"))?;
                Ok((host.to_owned(), port))
            })
            .collect::<Result<Vec<_>>>()?;
        if sentinels.is_empty() {
            return Err(invalid("no sentinel address"));
        }
        let (primary, db) = match path.split_once('/') {
            Some((primary, db)) if !db.is_empty() => (
                primary,
                db.parse()
                    .map_err(|_| invalid("the database is not a number"))?,
            ),
            Some((primary, _)) => (primary, 0),
            None => (path, 0),
        };
        if primary.is_empty() {
            return Err(invalid("the primary's name is empty"));
        }
        Ok(SentinelUrl {
            credentials,
            sentinels,
            primary: primary.to_owned(),
            db,
        })
    }

    /// A client of the sentinels that gives clients of the primary they name, speaking
    /// `protocol` to it.
    pub(super) fn sentinels(
        &self,
        tcp: redis::io::tcp::TcpSettings,
        protocol: ProtocolVersion,
    ) -> Result<SentinelClient> {
        let addresses = self
            .sentinels
            .iter()
            .map(|(host, port)| ConnectionAddr::Tcp(host.clone(), *port));
        let mut builder =
            SentinelClientBuilder::new(addresses, &self.primary, SentinelServerType::Master)
                .map_err(invalid)?
                .set_client_to_redis_db(self.db)
                .set_client_to_redis_protocol(protocol)
                .set_client_to_redis_tcp_settings(tcp.clone())
                .set_client_to_sentinel_tcp_settings(tcp);
        if let Some((user, password)) = &self.credentials {
            if let Some(user) = user {
                builder = builder.set_client_to_redis_username(user);
            }
            builder = builder.set_client_to_redis_password(password);
        }
        builder.build().map_err(invalid)
    }
}

impl SentinelLink {
    /// Connects to the primary that `sentinels` name.
    pub(super) async fn connect(
        mut sentinels: SentinelClient,
        config: ConnectionManagerConfig,
        limit: Duration,
        spacing: Duration,
    ) -> Result<SentinelLink> {
        let connection = bounded(primary(&mut sentinels, &config), limit).await?;
        Ok(SentinelLink {
            sentinels: Mutex::new(sentinels),
            config,
            limit,
            current: RwLock::new(Current {
                connection,
                generation: 0,
            }),
            looking: AtomicBool::new(false),
            last_lookup: AtomicU64::new(0),
            spacing,
            started: Instant::now(),
        })
    }

    /// The connection to the primary as last known, and its generation.
    pub(super) fn connection(&self) -> (ConnectionManager, u64) {
        // A poisoned lock only means a panic elsewhere while swapping; the value is whole.
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        (current.connection.clone(), current.generation)
    }

    /// Looks for the primary again, in the background, after `err` on the connection of
    /// `generation` if it says the primary may have moved.
    pub(super) fn saw_error(self: &Arc<Self>, err: &RedisError, generation: u64) {
        let moved = err.is_connection_dropped()
            || err.is_connection_refusal()
            || err.is_io_error()
            || err.is_timeout()
            || matches!(err.code(), Some("READONLY" | "MASTERDOWN" | "LOADING"));
        if moved {
            self.look_again(generation);
        }
    }

    /// [`saw_error`](Self::saw_error) for one refused command of a pipeline.
    pub(super) fn saw_refusal(self: &Arc<Self>, code: &str, generation: u64) {
        if matches!(code, "READONLY" | "MASTERDOWN") {
            self.look_again(generation);
        }
    }

    /// Asks the sentinels for the primary again, in the background, unless a lookup is under
    /// way or one started less than the first reconnection delay ago.
    pub(super) fn look_again(self: &Arc<Self>, generation: u64) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_lookup.load(Ordering::Relaxed);
        let spacing = u64::try_from(self.spacing.as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(last) < spacing && last != 0 {
            return;
        }
        if self.looking.swap(true, Ordering::AcqRel) {
            return;
        }
        self.last_lookup.store(now.max(1), Ordering::Relaxed);
        let link = Arc::clone(self);
        tokio::spawn(async move {
            let found = link.lookup(generation).await;
            if let Err(err) = found {
                tracing::debug!(target: "cache_store", %err, "redis sentinel lookup failed");
            }
            link.looking.store(false, Ordering::Release);
        });
    }

    async fn lookup(&self, generation: u64) -> Result<()> {
        if self.connection().1 != generation {
            return Ok(()); // Someone swapped already.
        }
        let mut sentinels = self.sentinels.lock().await;
        let connection = bounded(primary(&mut sentinels, &self.config), self.limit).await?;
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        current.connection = connection;
        current.generation += 1;
        tracing::debug!(target: "cache_store", generation = current.generation, "redis sentinel: connected to the primary named now");
        Ok(())
    }
}

async fn primary(
    sentinels: &mut SentinelClient,
    config: &ConnectionManagerConfig,
) -> redis::RedisResult<ConnectionManager> {
    let client = sentinels.async_get_client().await?;
    client
        .get_connection_manager_with_config(config.clone())
        .await
}

async fn bounded<T>(
    connecting: impl Future<Output = redis::RedisResult<T>>,
    limit: Duration,
) -> Result<T> {
    match tokio::time::timeout(limit, connecting).await {
        Ok(connected) => connected.map_err(|e| error::from_redis(e, "sentinel lookup")),
        Err(_) => Err(error::timed_out("sentinel lookup", limit)),
    }
}

fn invalid(e: RedisError) -> Error {
    Error::new(ErrorKind::InvalidArgument, "invalid redis+sentinel URL").with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_urls_name_sentinels_primary_credentials_and_db() {
        assert_eq!(
            SentinelUrl::parse("u:p@a:1,b:2/mymaster/3").unwrap(),
            SentinelUrl {
                credentials: Some((Some("u".into()), "p".into())),
                sentinels: vec![("a".into(), 1), ("b".into(), 2)],
                primary: "mymaster".into(),
                db: 3,
            }
        );
        assert_eq!(
            SentinelUrl::parse("a/m").unwrap(),
            SentinelUrl {
                credentials: None,
                sentinels: vec![("a".into(), 26379)],
                primary: "m".into(),
                db: 0,
            }
        );
        for bad in ["a:1", "a:1/", "/m", "a:x/m", "a:1/m/x"] {
            assert!(SentinelUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
