//! Round trips, counted by the server: a tagged read whose tags the pool knows is one command
//! (`MGET` of the item, its tags' entry and their versions), as an untagged read is.
//!
//! Runs on `CACHE_TEST_REDIS_URL` (scripts/test-servers.sh sets it); skipped without it,
//! failing instead when `CACHE_TEST_REQUIRE_SERVERS` is set. The only test of its file: it
//! reads the server's command counter, which other tests running at once would move.

use std::sync::Arc;

use cache_pool::{CacheItemPool, TagAwarePool};
use cache_store::Store;
use cache_testkit::{server_url, unique_namespace};

/// Commands the server has processed (the `INFO` asking it included).
async fn commands_processed(connection: &mut redis::aio::MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(connection)
        .await
        .expect("INFO");
    info.lines()
        .find_map(|line| line.strip_prefix("total_commands_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("total_commands_processed")
}

#[tokio::test]
async fn a_tagged_read_is_one_round_trip() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    let namespace = unique_namespace("rt");
    let store: Arc<dyn Store> = cache_store::open(&format!("{url}?namespace={namespace}"))
        .await
        .expect("open");
    let pool = TagAwarePool::new(store);
    let mut item = pool.get_item("k").await.expect("get_item");
    item.set("v").tag("a").expect("tag").tag("b").expect("tag");
    pool.save(item).await.expect("save");

    let client = redis::Client::open(url.as_str()).expect("client");
    let mut counter = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let reads = 20;
    let before = commands_processed(&mut counter).await;
    for _ in 0..reads {
        assert!(pool.get_item("k").await.expect("get_item").is_hit());
    }
    let after = commands_processed(&mut counter).await;
    // One INFO of the two counted the reads' commands' neighbour: subtract it.
    let per_read = (after - before - 1) as f64 / f64::from(reads);
    assert!(
        per_read <= 1.0,
        "a tagged read took {per_read} commands (one is one round trip)"
    );
}
