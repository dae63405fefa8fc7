//! One connection type over standalone Redis and Redis Cluster, with every call bounded in
//! time.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, Pipeline, Value};

use super::error::{from_redis, refused, timed_out};
use super::sentinel::SentinelLink;
use crate::error::{Error, Result};

/// A standalone connection (a `ConnectionManager`, which reconnects on its own), a cluster
/// connection (which follows the slot map), or the primary a set of sentinels names (asked
/// again when it fails). All multiplex every handle's requests over shared sockets, so
/// cloning is cheap.
#[derive(Clone)]
pub(super) enum Connection {
    Standalone(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(Arc<SentinelLink>),
}

/// A primary of a cluster, by address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Node {
    pub(super) host: String,
    pub(super) port: u16,
}

impl Connection {
    /// Runs `cmd`, failing with a timeout error if it takes longer than `limit` (so a server
    /// that went away never hangs a caller, whatever the client's reconnection is doing).
    pub(super) async fn query<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        limit: Duration,
        during: &'static str,
    ) -> Result<T> {
        let call = async {
            match self {
                Connection::Standalone(c) => cmd.query_async(&mut c.clone()).await,
                Connection::Cluster(c) => cmd.query_async(&mut c.clone()).await,
                Connection::Sentinel(link) => {
                    let (mut c, generation) = link.connection();
                    let result = cmd.query_async(&mut c).await;
                    if let Err(err) = &result {
                        link.saw_error(err, generation);
                    }
                    result
                }
            }
        };
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(|e| from_redis(e, during)),
            Err(_) => Err(self.timed_out(during, limit)),
        }
    }

    /// Runs `pipe` in one round trip (on a cluster its keys must share a slot).
    pub(super) async fn query_pipeline<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
        limit: Duration,
        during: &'static str,
    ) -> Result<T> {
        let call = async {
            match self {
                Connection::Standalone(c) => pipe.query_async(&mut c.clone()).await,
                Connection::Cluster(c) => pipe.query_async(&mut c.clone()).await,
                Connection::Sentinel(link) => {
                    let (mut c, generation) = link.connection();
                    let result = pipe.query_async(&mut c).await;
                    if let Err(err) = &result {
                        link.saw_error(err, generation);
                    }
                    result
                }
            }
        };
        match tokio::time::timeout(limit, call).await {
            Ok(result) => result.map_err(|e| from_redis(e, during)),
            Err(_) => Err(self.timed_out(during, limit)),
        }
    }

    /// A call that got no answer within its bound; behind Sentinel, the primary may have
    /// frozen or gone behind a partition, so the sentinels are asked again.
    fn timed_out(&self, during: &'static str, limit: Duration) -> Error {
        if let Connection::Sentinel(link) = self {
            link.look_again(link.connection().1);
        }
        timed_out(during, limit)
    }

    /// Runs `pipe`, built with `ignore_errors` and no ignored command, in one round trip
    /// and answers which of its commands the server refused: `(position in the pipeline,
    /// why)`, empty when every command was carried out. One refused command (a value or
    /// lifetime the server will not take) fails only itself; the outer `Err` is for the
    /// pipeline as a whole (connection, timeout).
    pub(super) async fn write_pipeline(
        &self,
        pipe: &Pipeline,
        limit: Duration,
        during: &'static str,
    ) -> Result<Vec<(usize, Error)>> {
        let replies: Vec<Value> = self.query_pipeline(pipe, limit, during).await?;
        Ok(replies
            .into_iter()
            .enumerate()
            .filter_map(|(index, reply)| match reply {
                Value::ServerError(refusal) => {
                    if let Connection::Sentinel(link) = self {
                        // A write refused as READONLY: the primary we know became a replica.
                        link.saw_refusal(refusal.code(), link.connection().1);
                    }
                    Some((index, refused(&refusal, during)))
                }
                _ => None,
            })
            .collect())
    }

    /// Runs `cmd` on one cluster node (the standalone server for a standalone connection).
    pub(super) async fn query_on(
        &self,
        node: Option<&Node>,
        cmd: &Cmd,
        limit: Duration,
        during: &'static str,
    ) -> Result<Value> {
        match (self, node) {
            (Connection::Cluster(c), Some(node)) => {
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                    host: node.host.clone(),
                    port: node.port,
                });
                let call = async { c.clone().route_command(cmd.clone(), routing).await };
                match tokio::time::timeout(limit, call).await {
                    Ok(result) => result.map_err(|e| from_redis(e, during)),
                    Err(_) => Err(timed_out(during, limit)),
                }
            }
            _ => self.query(cmd, limit, during).await,
        }
    }

    /// The primaries to visit for namespace-wide work: every primary of a cluster, or `[None]`
    /// (the one server) for a standalone connection.
    pub(super) async fn primaries(&self, limit: Duration) -> Result<Vec<Option<Node>>> {
        let Connection::Cluster(_) = self else {
            return Ok(vec![None]);
        };
        let nodes: String = self
            .query(
                &redis::cmd("CLUSTER").arg("NODES").clone(),
                limit,
                "CLUSTER NODES",
            )
            .await?;
        Ok(parse_primaries(&nodes).into_iter().map(Some).collect())
    }
}

/// The live primaries of a `CLUSTER NODES` reply: lines whose flags include `master` and not
/// `fail`, with address `host:port@bus-port`.
fn parse_primaries(nodes: &str) -> Vec<Node> {
    nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _id = fields.next()?;
            let address = fields.next()?;
            let flags = fields.next()?;
            let is_live_primary = flags.split(',').any(|f| f == "master")
                && !flags.split(',').any(|f| f == "fail" || f == "noaddr");
            if !is_live_primary {
                return None;
            }
            let host_port = address.split('@').next()?;
            let (host, port) = host_port.rsplit_once(':')?;
            Some(Node {
                host: host.to_owned(),
                port: port.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes_yield_live_primaries() {
        let reply = "\
07c3 127.0.0.1:30004@40004 slave e7d1 0 1 4 connected
e7d1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
67ed 127.0.0.1:30002@40002 master - 0 1 2 connected 5461-10922
292f 127.0.0.1:30003@40003 master,fail - 0 1 3 connected 10923-16383
";
        assert_eq!(
            parse_primaries(reply),
            vec![
                Node {
                    host: "127.0.0.1".into(),
                    port: 30001
                },
                Node {
                    host: "127.0.0.1".into(),
                    port: 30002
                },
            ]
        );
    }
}
