//! Which nodes of a Cluster are primaries, for the watch: each primary tracks the keys it
//! holds, so the watch connects to every one of them.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, ConnectionInfo, Value};

/// How to reach a Cluster's nodes.
pub(super) struct ClusterNodes {
    /// RESP3 clients of the nodes of the URL, asked in turn which nodes are primaries.
    pub(super) seeds: Vec<redis::Client>,
    /// What a client of any node uses but its address: RESP3 and the URL's credentials.
    pub(super) template: ConnectionInfo,
}

impl ClusterNodes {
    /// A client of the node at `host:port`.
    pub(super) fn node(&self, host: &str, port: u16) -> redis::RedisResult<redis::Client> {
        let address = ConnectionAddr::Tcp(host.to_owned(), port);
        redis::Client::open(self.template.clone().set_addr(address))
    }
}

/// A Cluster's primaries' addresses, sorted.
#[derive(PartialEq, Eq)]
pub(super) struct Primaries(pub(super) Vec<(String, u16)>);

/// The primaries, asked of the first seed that answers, on a connection that lives as long
/// as the question (and sends no push messages to the watch).
pub(super) async fn ask_primaries(
    seeds: &[redis::Client],
    timeout: Duration,
) -> redis::RedisResult<Primaries> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let mut failure = None;
    for seed in seeds {
        let host = match seed.get_connection_info().addr() {
            ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => host.clone(),
            _ => String::new(),
        };
        let asked = async {
            let mut connection = seed
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            primaries(&mut connection, &host).await
        };
        match asked.await {
            Ok(primaries) => return Ok(primaries),
            Err(err) => failure = Some(err),
        }
    }
    Err(failure.unwrap_or_else(|| {
        redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "no cluster node"))
    }))
}

/// `CLUSTER SLOTS`, reduced to the primaries' addresses, sorted and without duplicates. A
/// node that gives no address (an empty one) is `host`, the one asked.
pub(super) async fn primaries(
    connection: &mut MultiplexedConnection,
    host: &str,
) -> redis::RedisResult<Primaries> {
    let slots: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(connection)
        .await?;
    let malformed =
        || redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, "CLUSTER SLOTS"));
    let Value::Array(ranges) = slots else {
        return Err(malformed());
    };
    let mut primaries = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Value::Array(range) = range else {
            return Err(malformed());
        };
        let Some(Value::Array(primary)) = range.get(2) else {
            return Err(malformed());
        };
        let address = match (primary.first(), primary.get(1)) {
            (Some(Value::BulkString(ip)), Some(Value::Int(port))) => {
                let ip = String::from_utf8_lossy(ip);
                let ip = if ip.is_empty() { host } else { &ip };
                (
                    ip.to_owned(),
                    u16::try_from(*port).map_err(|_| malformed())?,
                )
            }
            _ => return Err(malformed()),
        };
        primaries.push(address);
    }
    primaries.sort_unstable();
    primaries.dedup();
    Ok(Primaries(primaries))
}
