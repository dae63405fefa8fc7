//! Processes sharing one server, each as a tokio runtime with connections of its own: a cold
//! key computed once by 50 callers across 4 of them (leases), one invalidation seen by every
//! reader (tags), and a write in one not served stale from another's first level once the
//! server's invalidation has arrived (two levels, watched Redis: one server, a Cluster, the
//! primary Sentinel names), with the delay measured.
//!
//! Runs on `CACHE_TEST_REDIS_URL`, `CACHE_TEST_REDIS_CLUSTER_URLS`,
//! `CACHE_TEST_REDIS_SENTINEL_URL` and `CACHE_TEST_MEMCACHED_URL` (scripts/test-servers.sh
//! sets them); skipped without them, failing instead when `CACHE_TEST_REQUIRE_SERVERS` is set.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use cache_pool::{CacheItemPool, CacheItemPoolExt, Computed, Lease, Pool, TagAware, TagAwarePool};
use cache_store::moka::MokaStore;
use cache_store::redis::RedisStore;
use cache_store::two_level::TwoLevel;
use cache_store::{Expiration, Key, Store};
use cache_testkit::{server_url, unique_namespace};
use tokio::runtime::Runtime;

const PROCESSES: usize = 4;
const CALLERS: usize = 50;

/// One runtime per "process": its connections are driven by its own threads.
fn processes() -> Vec<Runtime> {
    (0..PROCESSES)
        .map(|_| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime")
        })
        .collect()
}

fn urls() -> Vec<String> {
    ["CACHE_TEST_REDIS_URL", "CACHE_TEST_MEMCACHED_URL"]
        .into_iter()
        .filter_map(server_url)
        .collect()
}

#[test]
fn a_cold_key_is_computed_once_by_50_callers_across_4_processes() {
    for url in urls() {
        let namespace = unique_namespace("lease");
        let runtimes = processes();
        let runs = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(CALLERS));
        let mut threads = Vec::new();
        for (process, runtime) in runtimes.iter().enumerate() {
            // Each process opens its own connection and pool.
            let pool: Pool<Arc<dyn Store>> = runtime.block_on(async {
                let store = cache_store::open(&format!("{url}?namespace={namespace}"))
                    .await
                    .expect("open");
                Pool::builder(store)
                    .lease(Lease::new(Duration::from_secs(30)))
                    .build()
            });
            for _ in (process..CALLERS).step_by(PROCESSES) {
                let (pool, runs, start) = (pool.clone(), Arc::clone(&runs), Arc::clone(&start));
                let handle = runtime.handle().clone();
                threads.push(std::thread::spawn(move || {
                    start.wait();
                    handle.block_on(pool.get("cold", |_| async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Ok(Computed::new("computed once"))
                    }))
                }));
            }
        }
        for thread in threads {
            let value = thread.join().expect("a caller panicked").expect("get");
            assert_eq!(&value[..], b"computed once");
        }
        let runs = runs.load(Ordering::SeqCst);
        eprintln!(
            "{url}: {CALLERS} callers across {PROCESSES} processes computed the cold key {runs} time(s)"
        );
        assert_eq!(runs, 1, "{url}");
    }
}

#[test]
fn one_invalidation_drops_tagged_items_for_every_process() {
    for url in urls() {
        let namespace = unique_namespace("tags");
        let runtimes = processes();
        let pools: Vec<TagAwarePool<Arc<dyn Store>>> = runtimes
            .iter()
            .map(|runtime| {
                runtime.block_on(async {
                    let store = cache_store::open(&format!("{url}?namespace={namespace}"))
                        .await
                        .expect("open");
                    TagAwarePool::new(store)
                })
            })
            .collect();
        runtimes[0].block_on(async {
            for (key, tag) in [("a", "red"), ("b", "red"), ("c", "blue")] {
                let mut item = pools[0].get_item(key).await.expect("get_item");
                item.set("v").tag(tag).expect("tag");
                pools[0].save(item).await.expect("save");
            }
        });
        let hits = |process: usize| {
            runtimes[process].block_on(async {
                pools[process]
                    .get_items(&["a", "b", "c"])
                    .await
                    .expect("get_items")
                    .iter()
                    .map(cache_pool::CacheItem::is_hit)
                    .collect::<Vec<_>>()
            })
        };
        for process in 1..PROCESSES {
            assert_eq!(hits(process), [true, true, true], "{url}");
        }
        runtimes[0].block_on(async {
            pools[0]
                .invalidate_tags(&["red"])
                .await
                .expect("invalidate")
        });
        for process in 1..PROCESSES {
            assert_eq!(
                hits(process),
                [false, false, true],
                "process {process} on {url}"
            );
        }
    }
}

#[test]
fn a_write_is_not_served_stale_from_another_process_first_level() {
    if let Some(url) = server_url("CACHE_TEST_REDIS_URL") {
        stale_window(&url);
    }
}

#[test]
fn on_a_cluster_a_write_is_not_served_stale_from_another_process_first_level() {
    if let Some(url) = server_url("CACHE_TEST_REDIS_CLUSTER_URLS") {
        stale_window(&url);
    }
}

#[test]
fn behind_sentinel_a_write_is_not_served_stale_from_another_process_first_level() {
    if let Some(url) = server_url("CACHE_TEST_REDIS_SENTINEL_URL") {
        stale_window(&url);
    }
}

/// Over the watched Redis at `url`: after one process writes a key the others hold in their
/// first level, each drops its copy once the server's invalidation arrives (how long that
/// takes is printed), then reads the new value.
fn stale_window(url: &str) {
    let namespace = unique_namespace("coherent");
    let runtimes = processes();
    let stores: Vec<TwoLevel<MokaStore, RedisStore>> = runtimes
        .iter()
        .map(|runtime| {
            runtime.block_on(async {
                let second = RedisStore::builder(url)
                    .namespace(namespace.as_str())
                    .connect()
                    .await
                    .expect("connect");
                let watch = second.watch();
                let store = TwoLevel::builder(MokaStore::builder().build().expect("moka"), second)
                    .first_level_lifetime(Duration::from_secs(3600))
                    .invalidations(watch)
                    .build();
                while !store.first_level_in_use() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                store
            })
        })
        .collect();
    let mut delays = Vec::new();
    for round in 0..20 {
        // A key per round: on a Cluster, keys on every node.
        let name = format!("k{round}");
        let key = Key::new(&name).expect("key");
        let old = format!("v{round}");
        let new = format!("v{round}-new");
        runtimes[0].block_on(async {
            stores[0]
                .set(key, old.clone().into(), Expiration::Never)
                .await
                .expect("set")
        });
        // Every other process reads it into its first level.
        for process in 1..PROCESSES {
            runtimes[process].block_on(async {
                let deadline = Instant::now() + Duration::from_secs(10);
                loop {
                    let read = stores[process].get(key).await.expect("get");
                    let copied = stores[process].first().get(key).await.expect("get");
                    if read.as_deref() == Some(old.as_bytes()) && copied.is_some() {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "process {process} never read {old}"
                    );
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            });
        }
        let written = Instant::now();
        runtimes[0].block_on(async {
            stores[0]
                .set(key, new.clone().into(), Expiration::Never)
                .await
                .expect("set")
        });
        // Each other process drops its copy when the server's invalidation arrives, and then
        // reads the new value.
        for process in 1..PROCESSES {
            let delay = runtimes[process].block_on(async {
                loop {
                    if stores[process]
                        .first()
                        .get(key)
                        .await
                        .expect("get")
                        .as_deref()
                        != Some(old.as_bytes())
                    {
                        break written.elapsed();
                    }
                    assert!(
                        written.elapsed() < Duration::from_secs(10),
                        "process {process} kept a stale copy"
                    );
                    tokio::task::yield_now().await;
                }
            });
            delays.push(delay);
            let read =
                runtimes[process].block_on(async { stores[process].get(key).await.expect("get") });
            assert_eq!(read.as_deref(), Some(new.as_bytes()), "process {process}");
        }
    }
    delays.sort();
    eprintln!(
        "{url}: stale window after another process's write (60 samples): median {:?}, p95 {:?}, \
         max {:?}",
        delays[delays.len() / 2],
        delays[delays.len() * 95 / 100],
        delays[delays.len() - 1]
    );
}
