//! memcached: `MemcachedStore` (and PSR-16 over it) beside async-memcached, the reference raw
//! async client, in the same group and runtime flavour.
//!
//! async-memcached takes `&mut self`, so its side owns its clients for a whole measurement
//! (`iter_custom`) instead of paying for a lock per call; for 32 concurrent tasks it gets one
//! client per task, while `MemcachedStore` shares one handle.
//!
//! Needs `CACHE_TEST_MEMCACHED_URL`; without it the groups are skipped with a printed reason.
//! `taskset -c 0 scripts/test-servers.sh taskset -c 0 cargo bench -p benches --bench memcached`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use async_memcached::{AsciiProtocol, Client};
use benches::{
    SESSION_LIFETIME_SECS, criterion, keys, runtime, session_data, session_handlers, session_ids,
    value,
};
use bytes::Bytes;
use cache_pool::{CacheItemPool, Pool};
use cache_store::memcached::MemcachedStore;
use cache_store::{Entry, Expiration, Key, Store};
use criterion::{Criterion, criterion_group, criterion_main};
use futures_util::future::join_all;
use simple_cache::{Cache, SimpleCache};
use tokio::sync::Mutex;

const BATCH: usize = 100;
const CONCURRENT: usize = 32;
const TTL: Duration = Duration::from_secs(3600);

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("CACHE_TEST_MEMCACHED_URL") else {
        eprintln!(
            "skipped the memcached benches: CACHE_TEST_MEMCACHED_URL is not set (scripts/test-servers.sh starts a server)"
        );
        return;
    };
    let address = url
        .trim_start_matches("memcache://")
        .split(',')
        .next()
        .unwrap_or_default()
        .to_owned();
    let rt = runtime();
    let keys = keys();
    let raw_keys: Vec<String> = keys.iter().map(|k| format!("raw:{k}")).collect();
    let store = MemcachedStore::builder(&url)
        .namespace("bench")
        .build()
        .expect("store");
    // The same namespace, with reads trusting the namespace token for a second.
    let trusting = MemcachedStore::builder(&url)
        .namespace("bench")
        .token_refresh(Duration::from_secs(1))
        .build()
        .expect("store");
    let simple = Cache::new(store.clone());
    let pool = Pool::new(store.clone());
    let clients: Vec<Mutex<Client>> = rt.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..CONCURRENT {
            clients.push(Mutex::new(
                Client::new(format!("tcp://{address}"))
                    .await
                    .expect("async-memcached client"),
            ));
        }
        let mut raw = clients[0].lock().await;
        for (k, raw_k) in keys.iter().zip(&raw_keys) {
            raw.set(raw_k, &value()[..], Some(3600), None)
                .await
                .expect("raw set");
            store
                .set(Key::new(k).expect("key"), value(), Expiration::After(TTL))
                .await
                .expect("set");
        }
        drop(raw);
        clients
    });
    let template = rt.block_on(pool.get_item(&keys[0])).expect("get_item");
    let (store, trusting, simple, pool, keys, raw_keys, clients) = (
        &store, &trusting, &simple, &pool, &keys, &raw_keys, &clients,
    );
    let batch_count = keys.len() / BATCH;
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % keys.len();
        i
    };

    let mut group = c.benchmark_group("memcached/get_hit");
    group.bench_function("async-memcached", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut raw = clients[0].lock().await;
            let start = Instant::now();
            for n in 0..iters {
                black_box(raw.get(&raw_keys[n as usize % raw_keys.len()]).await.ok());
            }
            start.elapsed()
        })
    });
    group.bench_function("MemcachedStore", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(store.get(Key::new(k).expect("key")).await) }
        })
    });
    group.bench_function("MemcachedStore, token_refresh 1 s", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(trusting.get(Key::new(k).expect("key")).await) }
        })
    });
    group.bench_function("PSR-6 Pool get_item over it", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(pool.get_item(k).await) }
        })
    });
    group.bench_function("PSR-16 Cache over it", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(simple.get(k).await) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("memcached/set");
    group.bench_function("async-memcached", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut raw = clients[0].lock().await;
            let start = Instant::now();
            for n in 0..iters {
                let k = &raw_keys[n as usize % raw_keys.len()];
                black_box(raw.set(k, &value()[..], Some(3600), None).await.ok());
            }
            start.elapsed()
        })
    });
    group.bench_function("MemcachedStore", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move {
                store
                    .set(Key::new(k).expect("key"), value(), Expiration::After(TTL))
                    .await
            }
        })
    });
    group.bench_function("PSR-6 Pool save over it", |b| {
        b.to_async(&rt).iter(|| {
            let mut item = template.clone();
            item.set(value()).expires(Expiration::After(TTL));
            async move { pool.save(item).await }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("memcached/get_many_100");
    group.bench_function("async-memcached get_multi", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut raw = clients[0].lock().await;
            let start = Instant::now();
            for n in 0..iters {
                let batch = (n as usize % batch_count) * BATCH;
                black_box(raw.get_multi(&raw_keys[batch..batch + BATCH]).await.ok());
            }
            start.elapsed()
        })
    });
    for (name, store) in [
        ("MemcachedStore get_many", store),
        ("MemcachedStore get_many, token_refresh 1 s", trusting),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| async move {
                let start = Instant::now();
                for n in 0..iters {
                    let batch = (n as usize % batch_count) * BATCH;
                    let asked: Vec<Key<'_>> = keys[batch..batch + BATCH]
                        .iter()
                        .map(|k| Key::new(k).expect("key"))
                        .collect();
                    black_box(store.get_many(&asked).await.ok());
                }
                start.elapsed()
            })
        });
    }
    group.bench_function("PSR-16 get_multiple over it", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let start = Instant::now();
            for n in 0..iters {
                let batch = (n as usize % batch_count) * BATCH;
                let asked: Vec<&str> = keys[batch..batch + BATCH]
                    .iter()
                    .map(String::as_str)
                    .collect();
                black_box(simple.get_multiple(&asked).await.ok());
            }
            start.elapsed()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("memcached/set_many_100");
    group.bench_function("async-memcached set_multi", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut raw = clients[0].lock().await;
            let v = value();
            let start = Instant::now();
            for n in 0..iters {
                let batch = (n as usize % batch_count) * BATCH;
                let pairs: Vec<(&String, &[u8])> = raw_keys[batch..batch + BATCH]
                    .iter()
                    .map(|k| (k, &v[..]))
                    .collect();
                black_box(raw.set_multi(&pairs, Some(3600), None).await.ok());
            }
            start.elapsed()
        })
    });
    group.bench_function("async-memcached, 100 sequential sets", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut raw = clients[0].lock().await;
            let start = Instant::now();
            for n in 0..iters {
                let batch = (n as usize % batch_count) * BATCH;
                for k in &raw_keys[batch..batch + BATCH] {
                    black_box(raw.set(k, &value()[..], Some(3600), None).await.ok());
                }
            }
            start.elapsed()
        })
    });
    group.bench_function("MemcachedStore set_many", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let start = Instant::now();
            for n in 0..iters {
                let batch = (n as usize % batch_count) * BATCH;
                let entries: Vec<Entry<'_>> = keys[batch..batch + BATCH]
                    .iter()
                    .map(|k| Entry::new(Key::new(k).expect("key"), value(), Expiration::After(TTL)))
                    .collect();
                black_box(store.set_many(&entries).await.ok());
            }
            start.elapsed()
        })
    });
    group.bench_function("PSR-16 set_multiple over it", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let start = Instant::now();
            for n in 0..iters {
                let batch = (n as usize % batch_count) * BATCH;
                let values: Vec<(&str, Bytes)> = keys[batch..batch + BATCH]
                    .iter()
                    .map(|k| (k.as_str(), value()))
                    .collect();
                black_box(
                    simple
                        .set_multiple(&values, Expiration::After(TTL))
                        .await
                        .ok(),
                );
            }
            start.elapsed()
        })
    });
    group.finish();

    // A session cycle, as php-memcached's handler does it: get, then set with the lifetime.
    let ids = session_ids();
    let raw_session_keys: Vec<String> = ids.iter().map(|id| format!("raw:sess_{id}")).collect();
    let handlers = session_handlers(store);
    let lifetime = i64::try_from(SESSION_LIFETIME_SECS).expect("a small lifetime");
    rt.block_on(async {
        let mut raw = clients[0].lock().await;
        for (id, raw_key) in ids.iter().zip(&raw_session_keys) {
            raw.set(raw_key, &session_data()[..], Some(lifetime), None)
                .await
                .expect("raw set");
            for (_, handler) in &handlers {
                handler.write(id, session_data()).await.expect("write");
            }
        }
    });
    let (ids, raw_session_keys) = (&ids, &raw_session_keys);
    let mut group = c.benchmark_group("memcached/session_cycle");
    group.bench_function("async-memcached get + set", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut raw = clients[0].lock().await;
            let start = Instant::now();
            for n in 0..iters {
                let k = &raw_session_keys[n as usize % raw_session_keys.len()];
                let data = raw
                    .get(k)
                    .await
                    .expect("get")
                    .and_then(|v| v.data)
                    .unwrap_or_default();
                raw.set(k, &black_box(data)[..], Some(lifetime), None)
                    .await
                    .expect("set");
            }
            start.elapsed()
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

    let mut group = c.benchmark_group("memcached/32_concurrent_gets");
    group.bench_function("async-memcached, one client per task", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut locked = Vec::with_capacity(CONCURRENT);
            for client in clients {
                locked.push(client.lock().await);
            }
            let start = Instant::now();
            for _ in 0..iters {
                let gets = locked
                    .iter_mut()
                    .enumerate()
                    .map(|(j, raw)| raw.get(&raw_keys[j]));
                black_box(join_all(gets).await);
            }
            start.elapsed()
        })
    });
    group.bench_function("MemcachedStore, one shared handle", |b| {
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
