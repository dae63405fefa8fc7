//! `Store` on moka beside raw `moka::future::Cache`, same group, same runtime flavour.
//!
//! Both caches are configured alike (bounded in bytes by a weigher) and hold the same 1,000
//! entries of 100 bytes, so the difference is the store layer: namespace prefix, deadline
//! check, and the boxed future of the object-safe trait. `raw moka + Expiry` shows how much
//! of the difference is moka's own per-entry expiry, which any per-entry TTL on moka pays.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use benches::{CAPACITY, ENTRIES, criterion, keys, missing_keys, raw_moka, runtime, value};
use bytes::Bytes;
use cache_store::moka::MokaStore;
use cache_store::{Expiration, Key, Store};
use criterion::{Criterion, criterion_group, criterion_main};
use moka::future::Cache;

/// What per-entry TTL costs moka itself: the same deadline for every entry, through moka's
/// `Expiry` (the mechanism `MokaStore` uses).
struct OneHour;

impl moka::Expiry<String, Bytes> for OneHour {
    fn expire_after_create(
        &self,
        _: &String,
        _: &Bytes,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(3600))
    }
}

struct Subjects {
    raw: Cache<String, Bytes>,
    raw_expiry: Cache<String, Bytes>,
    store: MokaStore,
    dyn_store: Arc<dyn Store>,
}

fn subjects(rt: &tokio::runtime::Runtime, keys: &[String]) -> Subjects {
    let raw = raw_moka();
    let raw_expiry: Cache<String, Bytes> = Cache::builder()
        .max_capacity(CAPACITY)
        .weigher(|k: &String, v: &Bytes| u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX))
        .expire_after(OneHour)
        .build();
    let store = MokaStore::builder()
        .max_capacity_bytes(CAPACITY)
        .namespace("bench")
        .build()
        .expect("store");
    let dyn_store: Arc<dyn Store> = Arc::new(store.with_namespace("bench-dyn").expect("ns"));
    rt.block_on(async {
        for k in keys {
            raw.insert(k.clone(), value()).await;
            raw_expiry.insert(k.clone(), value()).await;
            let key = Key::new(k).expect("key");
            store
                .set(key, value(), Expiration::After(Duration::from_secs(3600)))
                .await
                .expect("set");
            dyn_store
                .set(key, value(), Expiration::After(Duration::from_secs(3600)))
                .await
                .expect("set");
        }
    });
    Subjects {
        raw,
        raw_expiry,
        store,
        dyn_store,
    }
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let keys = keys();
    let s = &subjects(&rt, &keys);
    let mut i = 0usize;
    let mut next = || {
        i = (i + 1) % ENTRIES;
        i
    };

    let mut group = c.benchmark_group("moka/get_hit");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(s.raw.get(k.as_str()).await) }
        })
    });
    group.bench_function("raw moka + Expiry", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(s.raw_expiry.get(k.as_str()).await) }
        })
    });
    group.bench_function("MokaStore", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(s.store.get(Key::new(k).expect("key")).await) }
        })
    });
    group.bench_function("Arc<dyn Store>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(s.dyn_store.get(Key::new(k).expect("key")).await) }
        })
    });
    group.finish();

    let missing = missing_keys();
    let mut group = c.benchmark_group("moka/get_miss");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = &missing[next()];
            async move { black_box(s.raw.get(k.as_str()).await) }
        })
    });
    group.bench_function("MokaStore", |b| {
        b.to_async(&rt).iter(|| {
            let k = &missing[next()];
            async move { black_box(s.store.get(Key::new(k).expect("key")).await) }
        })
    });
    group.bench_function("Arc<dyn Store>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &missing[next()];
            async move { black_box(s.dyn_store.get(Key::new(k).expect("key")).await) }
        })
    });
    group.finish();

    // Overwrites of existing keys, so the cache size stays constant during the run.
    let mut group = c.benchmark_group("moka/set");
    let v = value();
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = keys[next()].clone();
            let v = v.clone();
            async move { s.raw.insert(k, v).await }
        })
    });
    group.bench_function("MokaStore", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            let v = v.clone();
            async move {
                s.store
                    .set(
                        Key::new(k).expect("key"),
                        v,
                        Expiration::After(Duration::from_secs(3600)),
                    )
                    .await
            }
        })
    });
    group.bench_function("Arc<dyn Store>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            let v = v.clone();
            async move {
                s.dyn_store
                    .set(
                        Key::new(k).expect("key"),
                        v,
                        Expiration::After(Duration::from_secs(3600)),
                    )
                    .await
            }
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
