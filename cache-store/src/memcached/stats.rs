//! memcached's `stats`, from every server, summed into the [`Stats`] a store reports.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{Error, ErrorKind, Result};
use crate::store::Stats;

/// The stats of `addresses`' servers, summed (the uptime is the shortest).
pub(super) async fn server_stats<'a>(addresses: impl Iterator<Item = &'a str>) -> Result<Stats> {
    let mut stats = Stats::default();
    for address in addresses {
        let text = stats_of(address).await?;
        let field = |name: &str| -> Option<u64> {
            text.lines().find_map(|line| {
                let rest = line.strip_prefix("STAT ")?.strip_prefix(name)?;
                rest.strip_prefix(' ')?.trim().parse().ok()
            })
        };
        let sum = |slot: &mut Option<u64>, value: Option<u64>| {
            if let Some(value) = value {
                *slot = Some(slot.unwrap_or(0) + value);
            }
        };
        sum(&mut stats.hits, field("get_hits"));
        sum(&mut stats.misses, field("get_misses"));
        sum(&mut stats.memory_usage, field("bytes"));
        sum(&mut stats.entries, field("curr_items"));
        if let (Some(limit), Some(used)) = (field("limit_maxbytes"), field("bytes")) {
            sum(
                &mut stats.memory_available,
                Some(limit.saturating_sub(used)),
            );
        }
        if let Some(uptime) = field("uptime") {
            let uptime = Duration::from_secs(uptime);
            stats.uptime = Some(stats.uptime.map_or(uptime, |u| u.min(uptime)));
        }
    }
    Ok(stats)
}

async fn stats_of(address: &str) -> Result<String> {
    let unavailable = |e: std::io::Error| {
        Error::new(ErrorKind::Unavailable, format!("memcached {address} stats")).with_source(e)
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(unavailable)?;
        stream.write_all(b"stats\r\n").await.map_err(unavailable)?;
        let mut text = Vec::new();
        let mut chunk = [0u8; 4096];
        while !text.ends_with(b"END\r\n") {
            let n = stream.read(&mut chunk).await.map_err(unavailable)?;
            if n == 0 {
                break;
            }
            text.extend_from_slice(&chunk[..n]);
        }
        Ok(String::from_utf8_lossy(&text).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .map_err(|_| Error::new(ErrorKind::Timeout, format!("memcached {address} stats")))?
}
