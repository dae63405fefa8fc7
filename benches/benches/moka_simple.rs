//! PSR-16 `Cache` on moka beside raw `moka::future::Cache` doing the same work.

use std::hint::black_box;
use std::time::Duration;

use benches::{criterion, keys, missing_keys, raw_moka, runtime, value};
use bytes::Bytes;
use cache_store::Expiration;
use cache_store::moka::MokaStore;
use criterion::{Criterion, criterion_group, criterion_main};
use simple_cache::{Cache, SimpleCache};

const BATCH: usize = 100;
const TTL: Expiration = Expiration::After(Duration::from_secs(3600));

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let keys = keys();
    let missing = missing_keys();
    let raw = raw_moka();
    let cache = Cache::new(
        MokaStore::builder()
            .namespace("bench")
            .build()
            .expect("store"),
    );
    rt.block_on(async {
        for k in &keys {
            raw.insert(k.clone(), value()).await;
            cache.set(k, value(), TTL).await.expect("set");
        }
    });
    let (raw, cache, keys, missing) = (&raw, &cache, &keys, &missing);
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % keys.len();
        i
    };
    let batches: Vec<Vec<&str>> = keys
        .chunks(BATCH)
        .map(|chunk| chunk.iter().map(String::as_str).collect())
        .collect();
    let batch_count = batches.len();
    let mut b_i = 0usize;
    let mut next_batch = move || {
        b_i = (b_i + 1) % batch_count;
        b_i
    };

    let mut group = c.benchmark_group("psr16-moka/get_hit");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(raw.get(k.as_str()).await) }
        })
    });
    group.bench_function("Cache<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(cache.get(k).await) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("psr16-moka/get_miss");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = &missing[next()];
            async move { black_box(raw.get(k.as_str()).await) }
        })
    });
    group.bench_function("Cache<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &missing[next()];
            async move { black_box(cache.get(k).await) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("psr16-moka/set");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = keys[next()].clone();
            async move { raw.insert(k, value()).await }
        })
    });
    group.bench_function("Cache<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { cache.set(k, value(), TTL).await }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("psr16-moka/get_multiple_100");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let batch = &batches[next_batch()];
            async move {
                let mut out = Vec::with_capacity(BATCH);
                for k in batch {
                    out.push(raw.get(*k).await);
                }
                black_box(out)
            }
        })
    });
    group.bench_function("Cache<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let batch = &batches[next_batch()];
            async move { black_box(cache.get_multiple(batch).await) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("psr16-moka/set_multiple_100");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let batch = &batches[next_batch()];
            async move {
                for k in batch {
                    raw.insert((*k).to_owned(), value()).await;
                }
            }
        })
    });
    group.bench_function("Cache<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let batch = &batches[next_batch()];
            async move {
                let values: Vec<(&str, Bytes)> = batch.iter().map(|k| (*k, value())).collect();
                cache.set_multiple(&values, TTL).await
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
