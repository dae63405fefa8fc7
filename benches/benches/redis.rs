//! Redis: the store and every abstraction beside raw redis-rs on the same kind of connection
//! (a `ConnectionManager`) and the same runtime flavour, in the same group.
//!
//! Needs `CACHE_TEST_REDIS_URL`; without it the groups are skipped with a printed reason.
//! Pin client and server to one CPU when comparing (see the README):
//! `taskset -c 0 scripts/test-servers.sh taskset -c 0 cargo bench -p benches --bench redis`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use benches::{
    SESSION_LIFETIME_SECS, criterion, keys, runtime, session_data, session_handlers, session_ids,
    value,
};
use bytes::Bytes;
use cache_pool::{CacheItemPool, Pool};
use cache_store::redis::RedisStore;
use cache_store::{Entry, Expiration, Key, Store};
use criterion::{Criterion, criterion_group, criterion_main};
use doctrine_compat::{Cache as _, CacheProvider, MultiOperationCache};
use futures_util::future::join_all;
use redis::AsyncCommands;
use simple_cache::{Cache, SimpleCache};

const BATCH: usize = 100;
const CONCURRENT: usize = 32;
const TTL: Duration = Duration::from_secs(3600);

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("CACHE_TEST_REDIS_URL") else {
        eprintln!(
            "skipped the redis benches: CACHE_TEST_REDIS_URL is not set (scripts/test-servers.sh starts a server)"
        );
        return;
    };
    let rt = runtime();
    let keys = keys();
    let (raw, store) = rt.block_on(async {
        let raw = redis::Client::open(url.as_str())
            .expect("url")
            .get_connection_manager()
            .await
            .expect("raw connection");
        let store = RedisStore::builder(&url)
            .namespace("bench")
            .connect()
            .await
            .expect("store");
        (raw, store)
    });
    let dyn_store: Arc<dyn Store> = Arc::new(store.clone());
    let pool = Pool::new(store.clone());
    let simple = Cache::new(store.clone());
    let doctrine = CacheProvider::new(store.clone()).with_namespace("d");
    rt.block_on(async {
        let mut raw = raw.clone();
        for k in &keys {
            let _: () = raw
                .set_ex(format!("raw:{k}"), &value()[..], 3600)
                .await
                .expect("raw set");
            store
                .set(Key::new(k).expect("key"), value(), Expiration::After(TTL))
                .await
                .expect("set");
            doctrine.save(k, value(), TTL).await.expect("save");
        }
    });
    let raw_keys: Vec<String> = keys.iter().map(|k| format!("raw:{k}")).collect();
    let (raw, store, dyn_store, pool, simple, doctrine) =
        (&raw, &store, &dyn_store, &pool, &simple, &doctrine);
    let (keys, raw_keys) = (&keys, &raw_keys);
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % keys.len();
        i
    };
    let batch_count = keys.len() / BATCH;
    let mut b_i = 0usize;
    let mut next_batch = move || {
        b_i = (b_i + 1) % batch_count;
        b_i * BATCH..(b_i + 1) * BATCH
    };

    let mut group = c.benchmark_group("redis/get_hit");
    group.bench_function("raw redis-rs GET", |b| {
        b.to_async(&rt).iter(|| {
            let k = &raw_keys[next()];
            let mut raw = raw.clone();
            async move { black_box(raw.get::<_, Option<Vec<u8>>>(k).await) }
        })
    });
    group.bench_function("RedisStore", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(store.get(Key::new(k).expect("key")).await) }
        })
    });
    group.bench_function("Arc<dyn Store>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(dyn_store.get(Key::new(k).expect("key")).await) }
        })
    });
    group.bench_function("PSR-6 Pool get_item", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(pool.get_item(k).await) }
        })
    });
    group.bench_function("PSR-16 Cache get", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(simple.get(k).await) }
        })
    });
    group.bench_function("Doctrine fetch", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(doctrine.fetch(k).await) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("redis/set");
    group.bench_function("raw redis-rs SET PX", |b| {
        b.to_async(&rt).iter(|| {
            let k = &raw_keys[next()];
            let mut raw = raw.clone();
            async move {
                let r: redis::RedisResult<()> = redis::cmd("SET")
                    .arg(k)
                    .arg(&value()[..])
                    .arg("PX")
                    .arg(3_600_000)
                    .query_async(&mut raw)
                    .await;
                black_box(r)
            }
        })
    });
    group.bench_function("RedisStore", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move {
                store
                    .set(Key::new(k).expect("key"), value(), Expiration::After(TTL))
                    .await
            }
        })
    });
    let template = rt.block_on(pool.get_item(&keys[0])).expect("get_item");
    group.bench_function("PSR-6 Pool save", |b| {
        b.to_async(&rt).iter(|| {
            let mut item = template.clone();
            item.set(value()).expires(Expiration::After(TTL));
            async move { pool.save(item).await }
        })
    });
    group.bench_function("PSR-16 Cache set", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { simple.set(k, value(), Expiration::After(TTL)).await }
        })
    });
    group.bench_function("Doctrine save", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { doctrine.save(k, value(), TTL).await }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("redis/get_many_100");
    group.bench_function("raw redis-rs MGET", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            let mut raw = raw.clone();
            async move { black_box(raw.mget::<_, Vec<Option<Vec<u8>>>>(&raw_keys[range]).await) }
        })
    });
    group.bench_function("RedisStore get_many", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            async move {
                let batch: Vec<Key<'_>> = keys[range]
                    .iter()
                    .map(|k| Key::new(k).expect("key"))
                    .collect();
                black_box(store.get_many(&batch).await)
            }
        })
    });
    group.bench_function("PSR-6 Pool get_items", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            async move {
                let batch: Vec<&str> = keys[range].iter().map(String::as_str).collect();
                black_box(pool.get_items(&batch).await)
            }
        })
    });
    group.bench_function("PSR-16 Cache get_multiple", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            async move {
                let batch: Vec<&str> = keys[range].iter().map(String::as_str).collect();
                black_box(simple.get_multiple(&batch).await)
            }
        })
    });
    group.bench_function("Doctrine fetch_multiple", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            async move {
                let batch: Vec<&str> = keys[range].iter().map(String::as_str).collect();
                black_box(doctrine.fetch_multiple(&batch).await)
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("redis/set_many_100");
    group.bench_function("raw redis-rs pipeline of SET PX", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            let mut raw = raw.clone();
            async move {
                let mut pipe = redis::pipe();
                for k in &raw_keys[range] {
                    pipe.cmd("SET")
                        .arg(k)
                        .arg(&value()[..])
                        .arg("PX")
                        .arg(3_600_000)
                        .ignore();
                }
                let r: redis::RedisResult<()> = pipe.query_async(&mut raw).await;
                black_box(r)
            }
        })
    });
    group.bench_function("RedisStore set_many", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            async move {
                let entries: Vec<Entry<'_>> = keys[range]
                    .iter()
                    .map(|k| Entry::new(Key::new(k).expect("key"), value(), Expiration::After(TTL)))
                    .collect();
                black_box(store.set_many(&entries).await)
            }
        })
    });
    group.bench_function("PSR-16 Cache set_multiple", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            async move {
                let values: Vec<(&str, Bytes)> =
                    keys[range].iter().map(|k| (k.as_str(), value())).collect();
                black_box(simple.set_multiple(&values, Expiration::After(TTL)).await)
            }
        })
    });
    group.bench_function("PSR-6 get_items + save_deferred + commit", |b| {
        b.to_async(&rt).iter(|| {
            let range = next_batch();
            async move {
                let batch: Vec<&str> = keys[range].iter().map(String::as_str).collect();
                for mut item in pool.get_items(&batch).await.expect("get_items") {
                    item.set(value()).expires(Expiration::After(TTL));
                    pool.save_deferred(item).await.expect("save_deferred");
                }
                black_box(pool.commit().await)
            }
        })
    });
    group.finish();

    // A session cycle, as PHP's phpredis handler does it: GET, then SET with EX.
    let ids = session_ids();
    let raw_session_keys: Vec<String> = ids.iter().map(|id| format!("raw:sess_{id}")).collect();
    let handlers = session_handlers(store);
    rt.block_on(async {
        let mut raw = raw.clone();
        for (id, raw_key) in ids.iter().zip(&raw_session_keys) {
            let _: () = raw
                .set_ex(raw_key, &session_data()[..], SESSION_LIFETIME_SECS)
                .await
                .expect("raw set");
            for (_, handler) in &handlers {
                handler.write(id, session_data()).await.expect("write");
            }
        }
    });
    let (ids, raw_session_keys) = (&ids, &raw_session_keys);
    let mut group = c.benchmark_group("redis/session_cycle");
    group.bench_function("raw redis-rs GET + SET EX", |b| {
        b.to_async(&rt).iter(|| {
            let k = &raw_session_keys[next()];
            let mut raw = raw.clone();
            async move {
                let data: Option<Vec<u8>> = raw.get(k).await.expect("get");
                let data = data.unwrap_or_default();
                let _: () = raw
                    .set_ex(k, black_box(data), SESSION_LIFETIME_SECS)
                    .await
                    .expect("set");
            }
        })
    });
    for (name, handler) in &handlers {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| {
                let id = &ids[next()];
                async move {
                    let data = handler.read(id).await.expect("read");
                    handler.write(id, black_box(data)).await.expect("write");
                }
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("redis/32_concurrent_gets");
    group.bench_function("raw redis-rs, one multiplexed connection", |b| {
        b.to_async(&rt).iter(|| async {
            let gets = (0..CONCURRENT).map(|j| {
                let mut raw = raw.clone();
                let k = &raw_keys[j];
                async move { raw.get::<_, Option<Vec<u8>>>(k).await }
            });
            black_box(join_all(gets).await)
        })
    });
    group.bench_function("RedisStore, one handle", |b| {
        b.to_async(&rt).iter(|| async {
            let gets = (0..CONCURRENT).map(|j| store.get(Key::new(&keys[j]).expect("key")));
            black_box(join_all(gets).await)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
