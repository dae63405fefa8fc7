//! Server-assisted client-side caching: Redis tells which keys of a namespace any client
//! changed (`CLIENT TRACKING on BCAST PREFIX`, RESP3 push messages), so that a cache in front
//! of it drops its copies.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::sentinel::SentinelClient;
use redis::{AsyncConnectionConfig, PushKind, Value};
use tokio::sync::mpsc;

use super::RedisStore;
use super::cluster_nodes::{ClusterNodes, Primaries, ask_primaries, primaries};
use crate::key::OwnedKey;

/// What the server says changed in a watched namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Invalidation {
    /// These keys were written, deleted, expired or evicted, by any client.
    Keys(Vec<OwnedKey>),
    /// Anything may have changed (the database was flushed).
    All,
    /// The watch is down: changes are not seen until [`Resumed`](Self::Resumed).
    Lost,
    /// The watch is up (again); what changed while it was down is unknown.
    Resumed,
}

/// How often the watch checks that its connections answer, and on a Cluster which nodes are
/// primaries (to watch a new one, after a failover or when the cluster grows).
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How the watch connects and reconnects.
#[derive(Clone)]
pub(super) struct Watch {
    pub(super) server: WatchedServer,
    pub(super) connect_timeout: Duration,
    pub(super) reconnect: (Duration, Duration),
}

/// The servers the watch connects to, speaking RESP3 (push messages) on connections of its
/// own.
#[derive(Clone)]
pub(super) enum WatchedServer {
    /// One server.
    Standalone(Box<redis::Client>),
    /// The primary the sentinels name at each connection, so that the watch follows a
    /// failover: the sentinels disconnect the clients of a demoted primary.
    Sentinel(Arc<tokio::sync::Mutex<SentinelClient>>),
    /// Every primary of a Cluster, each with its own connection: a key is tracked by the node
    /// that holds it.
    Cluster(Arc<ClusterNodes>),
}

/// The watch's connections, each tracking the namespace, and on a Cluster the primaries
/// they were opened to.
struct Tracked {
    connections: Vec<MultiplexedConnection>,
    primaries: Option<Primaries>,
}

impl RedisStore {
    /// Watches this namespace for changes by any client, on connections of its own: the
    /// server pushes the keys written, deleted, expired or evicted (`CLIENT TRACKING on BCAST
    /// PREFIX <namespace>:`, Redis 6+). The first message is [`Invalidation::Resumed`] once
    /// the watch is up; after a lost connection, [`Invalidation::Lost`], then `Resumed` when
    /// it is back. The watch ends when the receiver is dropped.
    ///
    /// Every second the watch checks that its connections answer a `PING` (within the
    /// connect timeout), so a frozen server or a connection cut off without closing costs a
    /// `Lost` too. Behind Sentinel, the watch follows the primary across failovers. On a
    /// Cluster, it watches every primary; a change of primaries (a failover, a node added) is
    /// seen within a second and costs a `Lost`, then a `Resumed` once every new primary is
    /// watched.
    ///
    /// A server that cannot track keys (Redis before 6) never sends `Resumed`: the watch
    /// retries, with a warning each time.
    ///
    /// The watch is a task of its own: called outside a Tokio runtime, it cannot start, and
    /// the receiver ends at once with nothing sent (an error is logged), so a first level
    /// that follows it is never used.
    pub fn watch(&self) -> mpsc::UnboundedReceiver<Invalidation> {
        let (sender, receiver) = mpsc::unbounded_channel();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(run(self.watch.clone(), Arc::clone(&self.prefix), sender));
            }
            Err(_) => tracing::error!(
                "RedisStore::watch was called outside a Tokio runtime; nothing is watched"
            ),
        }
        receiver
    }
}

async fn run(watch: Watch, prefix: Arc<[u8]>, sender: mpsc::UnboundedSender<Invalidation>) {
    let (min, max) = watch.reconnect;
    let mut pause = min;
    loop {
        let (pushes, mut pushed) = mpsc::unbounded_channel();
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(watch.connect_timeout))
            .set_response_timeout(Some(watch.connect_timeout))
            .set_push_sender(pushes);
        let tracking = track(&watch, &config, &prefix);
        match tokio::time::timeout(watch.connect_timeout * 2, tracking).await {
            Ok(Ok(mut tracked)) => {
                pause = min;
                if sender.send(Invalidation::Resumed).is_err() {
                    return;
                }
                {
                    // One check for as long as the connections live: its pauses run across
                    // the messages, which would otherwise postpone it forever on a busy
                    // namespace.
                    let check = untrusted(&mut tracked);
                    tokio::pin!(check);
                    loop {
                        let push = tokio::select! {
                            push = pushed.recv() => push,
                            () = &mut check => None,
                            () = sender.closed() => return,
                        };
                        let message = match push {
                            Some(push) if push.kind == PushKind::Invalidate => {
                                invalidated(&prefix, push.data)
                            }
                            Some(push) if push.kind == PushKind::Disconnection => break,
                            Some(_) => None,
                            None => break,
                        };
                        if let Some(message) = message
                            && sender.send(message).is_err()
                        {
                            return;
                        }
                    }
                }
                drop(tracked);
                if sender.send(Invalidation::Lost).is_err() {
                    return;
                }
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "watching redis keys failed; retrying");
            }
            Err(_) => tracing::warn!("watching redis keys timed out; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = sender.closed() => return,
        }
        pause = (pause * 2).min(max);
    }
}

/// Opens the watch's connections and turns tracking on for the namespace on each.
async fn track(
    watch: &Watch,
    config: &AsyncConnectionConfig,
    prefix: &[u8],
) -> redis::RedisResult<Tracked> {
    let (clients, primaries) = match &watch.server {
        WatchedServer::Standalone(client) => (vec![(**client).clone()], None),
        WatchedServer::Sentinel(sentinels) => {
            (vec![sentinels.lock().await.async_get_client().await?], None)
        }
        WatchedServer::Cluster(nodes) => {
            let primaries = ask_primaries(&nodes.seeds, watch.connect_timeout).await?;
            let clients = primaries
                .0
                .iter()
                .map(|(host, port)| nodes.node(host, *port))
                .collect::<redis::RedisResult<_>>()?;
            (clients, Some(primaries))
        }
    };
    let mut connections = Vec::with_capacity(clients.len());
    for client in clients {
        let mut connection = client
            .get_multiplexed_async_connection_with_config(config)
            .await?;
        let mut command = redis::cmd("CLIENT");
        command.arg("TRACKING").arg("ON").arg("BCAST");
        if !prefix.is_empty() {
            command.arg("PREFIX").arg(prefix);
        }
        command.query_async::<()>(&mut connection).await?;
        connections.push(connection);
    }
    Ok(Tracked {
        connections,
        primaries,
    })
}

/// Returns when the watch can no longer be trusted: a connection does not answer a `PING`
/// within its response timeout, or a Cluster's primaries are no longer those watched. A
/// frozen server, or one cut off without its connection closing, sends nothing, and that
/// silence must not pass for "nothing changed".
async fn untrusted(tracked: &mut Tracked) {
    // On a Cluster, the first connection is to the first primary.
    let host = tracked
        .primaries
        .as_ref()
        .and_then(|known| known.0.first())
        .map(|(host, _)| host.clone())
        .unwrap_or_default();
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        for connection in &mut tracked.connections {
            if redis::cmd("PING")
                .query_async::<()>(connection)
                .await
                .is_err()
            {
                return;
            }
        }
        if let (Some(known), Some(connection)) =
            (&tracked.primaries, tracked.connections.first_mut())
        {
            match primaries(connection, &host).await {
                Ok(now) if now == *known => {}
                _ => return,
            }
        }
    }
}

/// The message of an `invalidate` push: its keys of this namespace, or everything (`nil`:
/// the server flushed).
fn invalidated(prefix: &[u8], data: Vec<Value>) -> Option<Invalidation> {
    match data.into_iter().next()? {
        Value::Array(keys) => {
            let keys: Vec<OwnedKey> = keys
                .into_iter()
                .filter_map(|key| match key {
                    Value::BulkString(bytes) => {
                        let key = bytes.strip_prefix(prefix)?;
                        OwnedKey::new(std::str::from_utf8(key).ok()?).ok()
                    }
                    _ => None,
                })
                .collect();
            (!keys.is_empty()).then_some(Invalidation::Keys(keys))
        }
        _ => Some(Invalidation::All),
    }
}
