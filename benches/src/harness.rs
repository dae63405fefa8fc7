//! The one set of groups every backend runs: each operation in its own group, the raw client
//! first, then the store and every abstraction over it, so every row's ratio to the raw client
//! comes from one group of one run.
//!
//! | group | raw client | beside it |
//! |---|---|---|
//! | `<backend>/get_hit` | get | `Store`, `Arc<dyn Store>`, `Observed` store (traced, no subscriber), PSR-6 `get_item`, PSR-16 `get`, Doctrine `fetch` |
//! | `<backend>/get_miss` | get of an absent key | the same |
//! | `<backend>/set` | set with a 1 h TTL | `Store::set`, `Observed` store, PSR-6 `save`, PSR-16 `set`, Doctrine `save` |
//! | `<backend>/get_many_100` | one multi-get of 100 keys | `get_many`, PSR-6 `get_items`, PSR-16 `get_multiple`, Doctrine `fetch_multiple` |
//! | `<backend>/set_many_100` | 100 sets in one batch | `set_many`, PSR-16 `set_multiple`, Doctrine `save_multiple` |
//! | `<backend>/save_deferred_100_commit` | 100 sets in one batch | PSR-6: 100 `save_deferred`, then `commit` |
//! | `<backend>/session_cycle` | get + set of 1 KiB with the 1440 s TTL | the session handler over PSR-6, PSR-16, Doctrine |
//! | `<backend>/32_concurrent_gets` | 32 gets at once | the same through one shared handle of each |
//!
//! Doctrine stores an id under PHP's key layout, `<namespace>%5B<id>%5D%5B<version>%5D`,
//! which is longer than the id, and on one vCPU the server's work on the longer keys counts
//! against the client. So the single-key and 100-key groups also time the raw client on keys
//! of that layout (`<raw client>, Doctrine's keys`): beside it, Doctrine's rows show what the
//! implementation adds over what the layout costs.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_pool::{CacheItem, CacheItemPool, Pool};
use cache_store::{Entry, Expiration, Key, Observed, Store};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use doctrine_compat::{Cache as _, CacheProvider, MultiOperationCache};
use futures_util::future::join_all;
use simple_cache::{Cache, SimpleCache};
use tokio::runtime::Runtime;

use crate::{
    ENTRIES, SESSION_LIFETIME_SECS, keys, missing_keys, session_data, session_handlers,
    session_ids, value,
};

/// Keys per batch.
pub const BATCH: usize = 100;
/// Tasks of the concurrency group.
pub const CONCURRENT: usize = 32;
/// The TTL of every write but the sessions'.
pub const TTL: Duration = Duration::from_secs(3600);

/// A backend's raw client, doing each operation the way a user of that client would.
#[allow(async_fn_in_trait)]
pub trait RawClient {
    /// The function name in every group (must start with `raw` or name the reference
    /// client, which is how the summary finds the baseline).
    fn name(&self) -> &'static str;
    /// Reads one key.
    async fn get(&self, key: &str) -> Option<Bytes>;
    /// Writes one key with `ttl`.
    async fn set(&self, key: &str, value: Bytes, ttl: Duration);
    /// Reads many keys in one round trip; returns how many were found.
    async fn get_many(&self, keys: &[&str]) -> usize;
    /// Writes many keys in one round trip.
    async fn set_many(&self, entries: &[(&str, Bytes)], ttl: Duration);
    /// Reads `keys` from as many concurrent tasks; returns how many were found.
    async fn concurrent_gets(&self, keys: &[&str]) -> usize;
}

/// Runs every group for `backend` over `store` beside `raw`. `raw` gets keys prefixed with
/// `raw:`, so it never reads what the abstractions wrote. Each of `variants` (another
/// configuration of the same store on the same namespace) is measured too, as
/// `Store, <label>`, in the read groups. `rt` must be the runtime the clients were made on
/// (their connections belong to it).
pub fn run<S, R>(
    c: &mut Criterion,
    rt: &Runtime,
    backend: &str,
    store: S,
    raw: R,
    variants: &[(&str, S)],
) where
    S: Store + Clone + 'static,
    R: RawClient,
{
    let keys = keys();
    let missing = missing_keys();
    let raw_keys: Vec<String> = keys.iter().map(|k| format!("raw:{k}")).collect();
    let raw_doctrine_keys: Vec<String> = keys.iter().map(|k| doctrine_layout(k)).collect();
    let ids = session_ids();
    let raw_sessions: Vec<String> = ids.iter().map(|id| format!("raw:sess_{id}")).collect();
    let dyn_store: Arc<dyn Store> = Arc::new(store.clone());
    // What `cache_store::open` gives: traced (no subscriber listens here).
    let observed = Observed::new(store.clone());
    let pool = Pool::new(store.clone());
    let simple = Cache::new(store.clone());
    let doctrine = CacheProvider::new(store.clone()).with_namespace("d");
    let sessions = session_handlers(&store);

    rt.block_on(async {
        for start in (0..ENTRIES).step_by(BATCH) {
            let chunk = start..(start + BATCH).min(ENTRIES);
            raw.set_many(&with_values(&raw_keys[chunk.clone()]), TTL)
                .await;
            raw.set_many(&with_values(&raw_doctrine_keys[chunk.clone()]), TTL)
                .await;
            let entries: Vec<Entry<'_>> = keys[chunk.clone()]
                .iter()
                .map(|k| Entry::new(Key::new(k).expect("key"), value(), Expiration::After(TTL)))
                .collect();
            store.set_many(&entries).await.expect("set_many");
            doctrine
                .save_multiple(&with_values(&keys[chunk.clone()]), TTL)
                .await
                .expect("save_multiple");
            let raw_session_entries: Vec<(&str, Bytes)> = raw_sessions[chunk.clone()]
                .iter()
                .map(|k| (k.as_str(), session_data()))
                .collect();
            raw.set_many(
                &raw_session_entries,
                Duration::from_secs(SESSION_LIFETIME_SECS),
            )
            .await;
            for id in &ids[chunk] {
                for (_, handler) in &sessions {
                    handler.write(id, session_data()).await.expect("write");
                }
            }
        }
    });

    let (raw, store, dyn_store, observed, pool, simple, doctrine) = (
        &raw, &store, &dyn_store, &observed, &pool, &simple, &doctrine,
    );
    let (keys, missing, raw_keys, ids, raw_sessions) =
        (&keys, &missing, &raw_keys, &ids, &raw_sessions);
    let raw_missing: Vec<String> = missing.iter().map(|k| format!("raw:{k}")).collect();
    let raw_missing = &raw_missing;
    let raw_doctrine_missing: Vec<String> = missing.iter().map(|k| doctrine_layout(k)).collect();
    let (raw_doctrine_keys, raw_doctrine_missing) = (&raw_doctrine_keys, &raw_doctrine_missing);
    let on_doctrine_keys = format!("{}, Doctrine's keys", raw.name());
    let on_doctrine_keys = on_doctrine_keys.as_str();
    let at = |i: u64| i as usize % ENTRIES;
    let batch = |i: u64| {
        let start = (i as usize % (ENTRIES / BATCH)) * BATCH;
        start..start + BATCH
    };

    for (name, raw_list, raw_doctrine_list, list) in [
        ("get_hit", raw_keys, raw_doctrine_keys, keys),
        ("get_miss", raw_missing, raw_doctrine_missing, missing),
    ] {
        let mut group = c.benchmark_group(format!("{backend}/{name}"));
        measure(&mut group, rt, raw.name(), |i| async move {
            black_box(raw.get(&raw_list[at(i)]).await)
        });
        measure(&mut group, rt, on_doctrine_keys, |i| async move {
            black_box(raw.get(&raw_doctrine_list[at(i)]).await)
        });
        measure(&mut group, rt, "Store", |i| async move {
            black_box(store.get(Key::new(&list[at(i)]).expect("key")).await.ok())
        });
        measure(&mut group, rt, "Arc<dyn Store>", |i| async move {
            black_box(
                dyn_store
                    .get(Key::new(&list[at(i)]).expect("key"))
                    .await
                    .ok(),
            )
        });
        measure(&mut group, rt, "Store, observed", |i| async move {
            black_box(
                observed
                    .get(Key::new(&list[at(i)]).expect("key"))
                    .await
                    .ok(),
            )
        });
        for (label, variant) in variants {
            measure(&mut group, rt, format!("Store, {label}"), |i| async move {
                black_box(variant.get(Key::new(&list[at(i)]).expect("key")).await.ok())
            });
        }
        measure(&mut group, rt, "PSR-6 Pool", |i| async move {
            black_box(pool.get_item(&list[at(i)]).await.ok())
        });
        measure(&mut group, rt, "PSR-16 Cache", |i| async move {
            black_box(simple.get(&list[at(i)]).await.ok())
        });
        measure(&mut group, rt, "Doctrine CacheProvider", |i| async move {
            black_box(doctrine.fetch(&list[at(i)]).await.ok())
        });
        group.finish();
    }

    let mut group = c.benchmark_group(format!("{backend}/set"));
    measure(&mut group, rt, raw.name(), |i| async move {
        raw.set(&raw_keys[at(i)], value(), TTL).await
    });
    measure(&mut group, rt, on_doctrine_keys, |i| async move {
        raw.set(&raw_doctrine_keys[at(i)], value(), TTL).await
    });
    measure(&mut group, rt, "Store", |i| async move {
        let key = Key::new(&keys[at(i)]).expect("key");
        black_box(store.set(key, value(), Expiration::After(TTL)).await.ok())
    });
    measure(&mut group, rt, "Store, observed", |i| async move {
        let key = Key::new(&keys[at(i)]).expect("key");
        black_box(
            observed
                .set(key, value(), Expiration::After(TTL))
                .await
                .ok(),
        )
    });
    measure(&mut group, rt, "PSR-6 Pool", |i| async move {
        let mut item = CacheItem::new(&keys[at(i)]).expect("key");
        item.set(value()).expires(Expiration::After(TTL));
        black_box(pool.save(item).await.ok())
    });
    measure(&mut group, rt, "PSR-16 Cache", |i| async move {
        black_box(
            simple
                .set(&keys[at(i)], value(), Expiration::After(TTL))
                .await
                .ok(),
        )
    });
    measure(&mut group, rt, "Doctrine CacheProvider", |i| async move {
        black_box(doctrine.save(&keys[at(i)], value(), TTL).await.ok())
    });
    group.finish();

    let mut group = c.benchmark_group(format!("{backend}/get_many_100"));
    measure(&mut group, rt, raw.name(), |i| async move {
        let asked: Vec<&str> = raw_keys[batch(i)].iter().map(String::as_str).collect();
        black_box(raw.get_many(&asked).await)
    });
    measure(&mut group, rt, on_doctrine_keys, |i| async move {
        let asked: Vec<&str> = raw_doctrine_keys[batch(i)]
            .iter()
            .map(String::as_str)
            .collect();
        black_box(raw.get_many(&asked).await)
    });
    measure(&mut group, rt, "Store", |i| async move {
        let asked: Vec<Key<'_>> = keys[batch(i)]
            .iter()
            .map(|k| Key::new(k).expect("key"))
            .collect();
        black_box(store.get_many(&asked).await.ok())
    });
    for (label, variant) in variants {
        measure(&mut group, rt, format!("Store, {label}"), |i| async move {
            let asked: Vec<Key<'_>> = keys[batch(i)]
                .iter()
                .map(|k| Key::new(k).expect("key"))
                .collect();
            black_box(variant.get_many(&asked).await.ok())
        });
    }
    measure(&mut group, rt, "PSR-6 Pool", |i| async move {
        let asked: Vec<&str> = keys[batch(i)].iter().map(String::as_str).collect();
        black_box(pool.get_items(&asked).await.ok())
    });
    measure(&mut group, rt, "PSR-16 Cache", |i| async move {
        let asked: Vec<&str> = keys[batch(i)].iter().map(String::as_str).collect();
        black_box(simple.get_multiple(&asked).await.ok())
    });
    measure(&mut group, rt, "Doctrine CacheProvider", |i| async move {
        let asked: Vec<&str> = keys[batch(i)].iter().map(String::as_str).collect();
        black_box(doctrine.fetch_multiple(&asked).await.ok())
    });
    group.finish();

    for name in ["set_many_100", "save_deferred_100_commit"] {
        let mut group = c.benchmark_group(format!("{backend}/{name}"));
        measure(&mut group, rt, raw.name(), |i| async move {
            let entries = with_values(&raw_keys[batch(i)]);
            raw.set_many(&entries, TTL).await
        });
        if name == "set_many_100" {
            measure(&mut group, rt, on_doctrine_keys, |i| async move {
                let entries = with_values(&raw_doctrine_keys[batch(i)]);
                raw.set_many(&entries, TTL).await
            });
        }
        if name == "save_deferred_100_commit" {
            measure(&mut group, rt, "PSR-6 Pool", |i| async move {
                for k in &keys[batch(i)] {
                    let mut item = CacheItem::new(k).expect("key");
                    item.set(value()).expires(Expiration::After(TTL));
                    pool.save_deferred(item).expect("save_deferred");
                }
                black_box(pool.commit().await.ok())
            });
            group.finish();
            continue;
        }
        measure(&mut group, rt, "Store", |i| async move {
            let entries: Vec<Entry<'_>> = keys[batch(i)]
                .iter()
                .map(|k| Entry::new(Key::new(k).expect("key"), value(), Expiration::After(TTL)))
                .collect();
            black_box(store.set_many(&entries).await.ok())
        });
        measure(&mut group, rt, "PSR-16 Cache", |i| async move {
            let entries = with_values(&keys[batch(i)]);
            black_box(
                simple
                    .set_multiple(&entries, Expiration::After(TTL))
                    .await
                    .ok(),
            )
        });
        measure(&mut group, rt, "Doctrine CacheProvider", |i| async move {
            let entries = with_values(&keys[batch(i)]);
            black_box(doctrine.save_multiple(&entries, TTL).await.ok())
        });
        group.finish();
    }

    let mut group = c.benchmark_group(format!("{backend}/session_cycle"));
    let lifetime = Duration::from_secs(SESSION_LIFETIME_SECS);
    measure(&mut group, rt, raw.name(), |i| async move {
        let key = &raw_sessions[at(i)];
        let data = raw.get(key).await.unwrap_or_default();
        raw.set(key, black_box(data), lifetime).await
    });
    for (name, handler) in &sessions {
        measure(&mut group, rt, *name, |i| async move {
            let id = &ids[at(i)];
            let data = handler.read(id).await.expect("read");
            handler.write(id, black_box(data)).await.expect("write")
        });
    }
    group.finish();

    let mut group = c.benchmark_group(format!("{backend}/{CONCURRENT}_concurrent_gets"));
    measure(&mut group, rt, raw.name(), |i| async move {
        let first = at(i * CONCURRENT as u64).min(ENTRIES - CONCURRENT);
        let asked: Vec<&str> = raw_keys[first..first + CONCURRENT]
            .iter()
            .map(String::as_str)
            .collect();
        black_box(raw.concurrent_gets(&asked).await)
    });
    let first = |i: u64| at(i * CONCURRENT as u64).min(ENTRIES - CONCURRENT);
    measure(&mut group, rt, "Store", |i| async move {
        let gets = keys[first(i)..first(i) + CONCURRENT]
            .iter()
            .map(|k| store.get(Key::new(k).expect("key")));
        black_box(join_all(gets).await)
    });
    measure(&mut group, rt, "PSR-6 Pool", |i| async move {
        let gets = keys[first(i)..first(i) + CONCURRENT]
            .iter()
            .map(|k| pool.get_item(k));
        black_box(join_all(gets).await)
    });
    measure(&mut group, rt, "PSR-16 Cache", |i| async move {
        let gets = keys[first(i)..first(i) + CONCURRENT]
            .iter()
            .map(|k| simple.get(k));
        black_box(join_all(gets).await)
    });
    measure(&mut group, rt, "Doctrine CacheProvider", |i| async move {
        let gets = keys[first(i)..first(i) + CONCURRENT]
            .iter()
            .map(|k| doctrine.fetch(k));
        black_box(join_all(gets).await)
    });
    group.finish();
}

/// Each of `keys` with a fresh 100-byte value: a batch to write.
fn with_values(keys: &[String]) -> Vec<(&str, Bytes)> {
    keys.iter().map(|k| (k.as_str(), value())).collect()
}

/// How many of `lookups`, run at once, found their key: what a raw client's
/// [`RawClient::concurrent_gets`] answers.
pub async fn count_found<F>(lookups: impl IntoIterator<Item = F>) -> usize
where
    F: std::future::Future<Output = bool>,
{
    join_all(lookups)
        .await
        .into_iter()
        .filter(|&found| found)
        .count()
}

/// The raw client's key for `key` in Doctrine's layout: what `CacheProvider` with namespace
/// `d` at version 1 stores `key` under (the keys are plain ASCII, so nothing else is encoded),
/// behind the raw client's own `raw:` prefix.
fn doctrine_layout(key: &str) -> String {
    format!("raw:d%5B{key}%5D%5B1%5D")
}

/// Adds `name` to `group`: criterion's iterations of `op(i)`, one after the other.
fn measure<F, Fut, T>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: impl Into<String>,
    op: F,
) where
    F: Fn(u64) -> Fut + Copy,
    Fut: std::future::Future<Output = T>,
{
    group.bench_function(name.into(), |b| {
        b.to_async(rt)
            .iter_custom(|n| async move { timed(n, op).await })
    });
}

/// Runs `op(0..n)` one after the other and returns the time it took.
async fn timed<F, Fut, T>(n: u64, op: F) -> Duration
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let start = std::time::Instant::now();
    for i in 0..n {
        black_box(op(i).await);
    }
    start.elapsed()
}
