//! Server-assisted client-side caching: Redis tells which keys of a namespace any client
//! changed (`CLIENT TRACKING on BCAST PREFIX`, RESP3 push messages), so that a cache in front
//! of it drops its copies.

use std::sync::Arc;
use std::time::Duration;

use redis::{AsyncConnectionConfig, PushKind, Value};
use tokio::sync::mpsc;

use super::RedisStore;
use crate::error::{Error, ErrorKind, Result};
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

/// How the watch connects and reconnects.
#[derive(Clone, Debug)]
pub(super) struct Watch {
    /// A RESP3 client for the watch's own connection.
    pub(super) client: redis::Client,
    pub(super) connect_timeout: Duration,
    pub(super) reconnect: (Duration, Duration),
}

impl RedisStore {
    /// Watches this namespace for changes by any client, on a connection of its own: the
    /// server pushes the keys written, deleted, expired or evicted (`CLIENT TRACKING on BCAST
    /// PREFIX <namespace>:`, Redis 6+). The first message is [`Invalidation::Resumed`] once
    /// the watch is up; after a lost connection, [`Invalidation::Lost`], then `Resumed` when
    /// it is back. The watch ends when the receiver is dropped.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unsupported`] on a Cluster or behind Sentinel (standalone servers only,
    /// for now).
    pub fn watch(&self) -> Result<mpsc::UnboundedReceiver<Invalidation>> {
        let Some(watch) = self.watch.clone() else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "watching keys needs a standalone Redis (not a Cluster or Sentinel yet)",
            ));
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(watch, Arc::clone(&self.prefix), sender));
        Ok(receiver)
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
        let tracking = async {
            let mut connection = watch
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            let mut command = redis::cmd("CLIENT");
            command.arg("TRACKING").arg("ON").arg("BCAST");
            if !prefix.is_empty() {
                command.arg("PREFIX").arg(&prefix[..]);
            }
            command.query_async::<()>(&mut connection).await?;
            Ok::<_, redis::RedisError>(connection)
        };
        match tokio::time::timeout(watch.connect_timeout * 2, tracking).await {
            Ok(Ok(connection)) => {
                pause = min;
                if sender.send(Invalidation::Resumed).is_err() {
                    return;
                }
                while let Some(push) = pushed.recv().await {
                    let message = match push.kind {
                        PushKind::Invalidate => invalidated(&prefix, push.data),
                        PushKind::Disconnection => break,
                        _ => None,
                    };
                    if let Some(message) = message
                        && sender.send(message).is_err()
                    {
                        return;
                    }
                }
                drop(connection);
                if sender.send(Invalidation::Lost).is_err() {
                    return;
                }
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "watching redis keys failed; retrying");
            }
            Err(_) => tracing::warn!("watching redis keys timed out; retrying"),
        }
        if sender.is_closed() {
            return;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(max);
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
