//! Doctrine `CacheProvider` on moka beside raw `moka::future::Cache` doing the same work. The
//! provider's namespace version is read once before measuring (it is memoized per instance).

use std::hint::black_box;
use std::time::Duration;

use benches::{criterion, keys, raw_moka, runtime, value};
use cache_store::moka::MokaStore;
use criterion::{Criterion, criterion_group, criterion_main};
use doctrine_compat::{Cache, CacheProvider, MultiOperationCache};

const BATCH: usize = 100;
const LIFE_TIME: Duration = Duration::from_secs(3600);

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let keys = keys();
    let raw = raw_moka();
    let cache = CacheProvider::new(
        MokaStore::builder()
            .namespace("bench")
            .build()
            .expect("store"),
    )
    .with_namespace("app");
    rt.block_on(async {
        for k in &keys {
            raw.insert(k.clone(), value()).await;
            cache.save(k, value(), LIFE_TIME).await.expect("save");
        }
    });
    let (raw, cache, keys) = (&raw, &cache, &keys);
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

    let mut group = c.benchmark_group("doctrine-moka/fetch_hit");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(raw.get(k.as_str()).await) }
        })
    });
    group.bench_function("CacheProvider<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(cache.fetch(k).await) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("doctrine-moka/save");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = keys[next()].clone();
            async move { raw.insert(k, value()).await }
        })
    });
    group.bench_function("CacheProvider<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { cache.save(k, value(), LIFE_TIME).await }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("doctrine-moka/fetch_multiple_100");
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
    group.bench_function("CacheProvider<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let batch = &batches[next_batch()];
            async move { black_box(cache.fetch_multiple(batch).await) }
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
