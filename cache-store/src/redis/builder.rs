//! Configuring and connecting a [`RedisStore`]: URL, namespace, key layout, timeouts,
//! reconnection and TLS.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::AsyncConnectionConfig;
use redis::aio::ConnectionManagerConfig;
use redis::cluster::ClusterClient;
use redis::io::tcp::TcpSettings;
use redis::{ConnectionInfo, IntoConnectionInfo};

use super::cluster_nodes::ClusterNodes;
use super::connection::Connection;
use super::sentinel::{SentinelLink, SentinelUrl};
use super::tracking::{Watch, WatchedServer};
use super::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_RECONNECT_MAX_DELAY, DEFAULT_RECONNECT_MIN_DELAY,
    DEFAULT_RESPONSE_TIMEOUT, RedisStore, Timeouts, error, prefix, redact,
};
use crate::error::{Error, ErrorKind, Result};
use crate::key::validate_namespace;

/// Configures a [`RedisStore`].
///
/// ```no_run
/// use std::time::Duration;
/// use cache_store::redis::RedisStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), cache_store::Error> {
/// let store = RedisStore::builder("redis://app:secret@10.0.0.5:6379/0")
///     .namespace("app")
///     .connect_timeout(Duration::from_millis(500))
///     .response_timeout(Duration::from_millis(250))
///     .reconnect_delays(Duration::from_millis(50), Duration::from_secs(1))
///     .connect()
///     .await?;
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RedisStoreBuilder {
    url: String,
    namespace: String,
    plain: bool,
    timeouts: Timeouts,
    reconnect: (Duration, Duration),
    tls: TlsFiles,
}

/// PEM files for `rediss://`: the authority to trust instead of the system's, and a client
/// certificate for servers that ask for one.
#[derive(Debug, Default)]
pub(super) struct TlsFiles {
    pub(super) ca: Option<PathBuf>,
    pub(super) client: Option<(PathBuf, PathBuf)>,
}

impl RedisStoreBuilder {
    pub(super) fn new(url: &str) -> Self {
        RedisStoreBuilder {
            url: url.to_owned(),
            namespace: String::new(),
            plain: false,
            timeouts: Timeouts {
                connect: DEFAULT_CONNECT_TIMEOUT,
                response: DEFAULT_RESPONSE_TIMEOUT,
            },
            reconnect: (DEFAULT_RECONNECT_MIN_DELAY, DEFAULT_RECONNECT_MAX_DELAY),
            tls: TlsFiles::default(),
        }
    }

    /// The namespace of the handle (default: the empty namespace, whose keys are `:k`).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// PHP's plain keys: `<namespace><key>`, with no `:` between, as PHP code that prefixes
    /// its own keys writes them (Symfony's `RedisSessionHandler`: namespace `sf_s`; a
    /// Symfony pool in the empty namespace: bare keys). `clear` then unlinks every key that
    /// starts with the namespace (so give namespaces that are no prefix of one another), and
    /// is refused in the empty namespace, where it would empty the database.
    pub fn php_keys(mut self, plain: bool) -> Self {
        self.plain = plain;
        self
    }

    /// How long connecting (or reconnecting) may take (default 1 s; URL parameter
    /// `connect_timeout`).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// How long a reply may take (default 1 s; raise it for very large batches; URL
    /// parameter `response_timeout`). A call fails with
    /// [`ErrorKind::Timeout`] after at most the connect timeout plus this one, whatever the
    /// server does.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.response = timeout;
        self
    }

    /// The bounds of the pause between reconnection attempts after the connection is lost:
    /// the first waits `min`, each next one twice as long, never more than `max` (defaults
    /// 100 ms and 2 s; URL parameters `reconnect_min` and `reconnect_max`). Calls made
    /// meanwhile fail within their timeouts; they never wait for the reconnection.
    pub fn reconnect_delays(mut self, min: Duration, max: Duration) -> Self {
        self.reconnect = (min, max.max(min));
        self
    }

    /// For `rediss://`: trust the certificate authority in this PEM file instead of the
    /// system's (URL parameter `tls_ca`). Needs the `redis-tls` feature.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.ca = Some(path.into());
        self
    }

    /// For `rediss://` servers that check clients (`tls-auth-clients yes`): present this
    /// certificate and key, both PEM files (URL parameters `tls_cert` and `tls_key`). Needs
    /// the `redis-tls` feature.
    pub fn tls_client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.client = Some((cert.into(), key.into()));
        self
    }

    /// Connects. Every connection has `TCP_NODELAY` set (a request is never held back to be
    /// merged with the next one).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for a malformed URL or namespace, an unreadable TLS
    /// file, or credentials the server refuses; [`ErrorKind::Unsupported`] for `rediss://`
    /// without the `redis-tls` feature; [`ErrorKind::Unavailable`] or [`ErrorKind::Timeout`]
    /// when the server cannot be reached.
    pub async fn connect(self) -> Result<RedisStore> {
        validate_namespace(&self.namespace)?;
        let limit = self.timeouts.call();
        let tcp = TcpSettings::default().set_nodelay(true);
        let tls = self.tls_certificates()?;
        let (connection, watched) = if let Some(rest) = self.url.strip_prefix("redis+sentinel://") {
            let url = SentinelUrl::parse(rest)?;
            if tls.is_some() {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "TLS behind Sentinel is not supported yet",
                ));
            }
            let sentinels = url.sentinels(tcp.clone(), redis::ProtocolVersion::RESP2)?;
            let link =
                SentinelLink::connect(sentinels, self.manager_config(), limit, self.reconnect.0)
                    .await?;
            let watched = WatchedServer::Sentinel(Arc::new(tokio::sync::Mutex::new(
                url.sentinels(tcp, redis::ProtocolVersion::RESP3)?,
            )));
            (Connection::Sentinel(Arc::new(link)), watched)
        } else if let Some(nodes) = self.url.strip_prefix("redis+cluster://") {
            let nodes = cluster_node_urls(nodes)?;
            let watched = watched_cluster(&nodes, &tcp)?;
            let (min, max) = self.reconnect;
            let client = ClusterClient::builder(nodes)
                .connection_timeout(self.timeouts.connect)
                .response_timeout(self.timeouts.response)
                .min_retry_wait(millis(min))
                .max_retry_wait(millis(max))
                .tcp_settings(tcp);
            #[cfg(feature = "redis-tls")]
            let client = match tls {
                Some(certificates) => client.certs(certificates),
                None => client,
            };
            #[cfg(not(feature = "redis-tls"))]
            let _ = tls;
            let client = client.build().map_err(invalid_url)?;
            let connecting = client.get_async_connection();
            (
                Connection::Cluster(bounded(connecting, limit).await?),
                watched,
            )
        } else {
            let info = self.connection_info()?.set_tcp_settings(tcp);
            // The watch of invalidations needs RESP3 (push messages), on a client of its own.
            let resp3 = info
                .redis_settings()
                .clone()
                .set_protocol(redis::ProtocolVersion::RESP3);
            let watched = WatchedServer::Standalone(Box::new(standalone_client(
                info.clone().set_redis_settings(resp3),
                tls.clone(),
            )?));
            let client = standalone_client(info, tls)?;
            // One plain attempt first: the manager retries a failed first connection until the
            // call's bound, which would report refused credentials or an untrusted
            // certificate as a timeout.
            let probe = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(self.timeouts.connect))
                .set_response_timeout(Some(self.timeouts.response));
            // Connecting (TCP, TLS, the handshake) is bounded by the connect timeout alone.
            let probing = client.get_multiplexed_async_connection_with_config(&probe);
            drop(bounded(probing, self.timeouts.connect).await?);
            let connecting = client.get_connection_manager_with_config(self.manager_config());
            (
                Connection::Standalone(bounded(connecting, limit).await?),
                watched,
            )
        };
        Ok(RedisStore {
            connection,
            prefix: prefix(&self.namespace, self.plain),
            plain: self.plain,
            namespace: self.namespace.into(),
            timeouts: self.timeouts,
            target: redact(&self.url).into(),
            started: Instant::now(),
            watch: Watch {
                server: watched,
                connect_timeout: self.timeouts.connect,
                reconnect: self.reconnect,
            },
        })
    }

    /// How a standalone connection (or the one to a sentinels' primary) reconnects and times
    /// out. No response timeout of the client's own: every call is already bounded by the
    /// store (connect plus response timeout, one timer per call), and a second timer per call
    /// cost a tenth of the throughput of 32 tasks on two threads.
    fn manager_config(&self) -> ConnectionManagerConfig {
        let (min, max) = self.reconnect;
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeouts.connect))
            .set_response_timeout(None)
            .set_min_delay(min)
            .set_max_delay(max)
    }

    fn connection_info(&self) -> Result<ConnectionInfo> {
        if self.url.starts_with("rediss://") && cfg!(not(feature = "redis-tls")) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "rediss:// needs the `redis-tls` feature of cache-store",
            ));
        }
        self.url
            .as_str()
            .into_connection_info()
            .map_err(invalid_url)
    }

    /// The TLS files read, when any is configured.
    #[cfg(feature = "redis-tls")]
    fn tls_certificates(&self) -> Result<Option<redis::TlsCertificates>> {
        super::tls::certificates(&self.tls)
    }

    #[cfg(not(feature = "redis-tls"))]
    fn tls_certificates(&self) -> Result<Option<()>> {
        if self.tls.ca.is_some() || self.tls.client.is_some() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "TLS files need the `redis-tls` feature of cache-store",
            ));
        }
        Ok(None)
    }
}

#[cfg(feature = "redis-tls")]
fn standalone_client(
    info: ConnectionInfo,
    tls: Option<redis::TlsCertificates>,
) -> Result<redis::Client> {
    match tls {
        Some(certificates) => {
            redis::Client::build_with_tls(info, certificates).map_err(invalid_url)
        }
        None => redis::Client::open(info).map_err(invalid_url),
    }
}

#[cfg(not(feature = "redis-tls"))]
fn standalone_client(info: ConnectionInfo, _tls: Option<()>) -> Result<redis::Client> {
    redis::Client::open(info).map_err(invalid_url)
}

fn invalid_url(e: redis::RedisError) -> Error {
    Error::new(ErrorKind::InvalidArgument, "invalid redis URL").with_source(e)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn bounded<T>(
    connecting: impl Future<Output = redis::RedisResult<T>>,
    limit: Duration,
) -> Result<T> {
    match tokio::time::timeout(limit, connecting).await {
        Ok(connected) => connected.map_err(|e| error::from_redis(e, "connect")),
        Err(_) => Err(error::timed_out("connect", limit)),
    }
}

/// What the watch of a Cluster connects to: RESP3 clients of the URL's nodes, and of any
/// other node with the URL's credentials.
fn watched_cluster(nodes: &[String], tcp: &TcpSettings) -> Result<WatchedServer> {
    let resp3 = |info: ConnectionInfo| {
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        info.set_redis_settings(settings)
            .set_tcp_settings(tcp.clone())
    };
    let infos = nodes
        .iter()
        .map(|url| url.as_str().into_connection_info().map(resp3))
        .collect::<redis::RedisResult<Vec<_>>>()
        .map_err(invalid_url)?;
    let seeds = infos
        .iter()
        .map(|info| redis::Client::open(info.clone()))
        .collect::<redis::RedisResult<Vec<_>>>()
        .map_err(invalid_url)?;
    let template = infos.into_iter().next().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            "redis+cluster:// needs at least one host:port",
        )
    })?;
    Ok(WatchedServer::Cluster(Arc::new(ClusterNodes {
        seeds,
        template,
    })))
}

/// `[user:password@]a:1,b:2[/db]` into `redis://[user:password@]a:1[/db]`, ….
pub(super) fn cluster_node_urls(nodes: &str) -> Result<Vec<String>> {
    let (credentials, hosts) = match nodes.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), nodes),
    };
    let hosts = hosts.trim_end_matches('/');
    let urls: Vec<String> = hosts
        .split(',')
        .filter(|h| !h.is_empty())
        .map(|h| format!("redis://{credentials}{h}"))
        .collect();
    if urls.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "redis+cluster:// needs at least one host:port",
        ));
    }
    Ok(urls)
}
