//! memcached's `stats`, from every server, summed into the [`Stats`] a store reports.

use std::time::Duration;

use memcached_meta::{Reply, protocol};

use super::ServerConnection;
use crate::error::Result;
use crate::store::Stats;

/// The stats of `servers`, summed (the uptime is the shortest), each asked over its own
/// connection (so through its TLS and authentication).
pub(super) async fn server_stats<'a>(
    servers: impl Iterator<Item = &'a ServerConnection>,
) -> Result<Stats> {
    let mut stats = Stats::default();
    let mut request = Vec::new();
    protocol::stats(&mut request);
    for server in servers {
        let replies = server.call(&request, 1).await?;
        let field = |wanted: &str| -> Option<u64> {
            replies.iter().find_map(|reply| match reply {
                Reply::Stat { name, value } if name == wanted => value.trim().parse().ok(),
                _ => None,
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
