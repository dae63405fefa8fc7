//! PSR-6 `Pool` on moka beside raw `moka::future::Cache` doing the same work.
//!
//! The raw side does the least that gives the same result: `get` per key, `insert` per
//! entry. The pool side adds PSR-6 (key checks, items, the deferred queue) over `MokaStore`;
//! its batch write also reads the batch once (`get_items`), since PSR-6 saves only items a
//! pool handed out.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use benches::{criterion, keys, raw_moka, runtime, value};
use cache_pool::{CacheItemPool, Pool};
use cache_store::moka::MokaStore;
use criterion::{Criterion, criterion_group, criterion_main};

const BATCH: usize = 100;

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let keys = keys();
    let raw = raw_moka();
    let store = MokaStore::builder()
        .namespace("bench")
        .build()
        .expect("store");
    let pool = Pool::builder(store.clone())
        .default_lifetime(Duration::from_secs(3600))
        .build();
    let dyn_pool: Arc<dyn CacheItemPool> = Arc::new(
        Pool::builder(store.with_namespace("bench-dyn").expect("ns"))
            .default_lifetime(Duration::from_secs(3600))
            .build(),
    );
    rt.block_on(async {
        for k in &keys {
            raw.insert(k.clone(), value()).await;
            for p in [&pool as &dyn CacheItemPool, &*dyn_pool] {
                let mut item = p.get_item(k).await.expect("get_item");
                item.set(value());
                p.save_deferred(item).await.expect("save_deferred");
            }
        }
        pool.commit().await.expect("commit");
        dyn_pool.commit().await.expect("commit");
    });
    let (raw, pool, dyn_pool, keys) = (&raw, &pool, &dyn_pool, &keys);
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % keys.len();
        i
    };

    let mut group = c.benchmark_group("psr6-moka/get_item_hit");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(raw.get(k.as_str()).await) }
        })
    });
    group.bench_function("Pool<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(pool.get_item(k).await) }
        })
    });
    group.bench_function("Arc<dyn CacheItemPool>", |b| {
        b.to_async(&rt).iter(|| {
            let k = &keys[next()];
            async move { black_box(dyn_pool.get_item(k).await) }
        })
    });
    group.finish();

    let template = rt.block_on(pool.get_item(&keys[0])).expect("get_item");
    let mut group = c.benchmark_group("psr6-moka/save");
    group.bench_function("raw moka", |b| {
        b.to_async(&rt).iter(|| {
            let k = keys[next()].clone();
            async move { raw.insert(k, value()).await }
        })
    });
    group.bench_function("Pool<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let mut item = template.clone();
            item.set(value());
            async move { pool.save(item).await }
        })
    });
    group.finish();

    let batches = keys
        .chunks(BATCH)
        .map(|chunk| chunk.iter().map(String::as_str).collect::<Vec<_>>())
        .collect::<Vec<_>>();
    let batch_count = batches.len();
    let mut b_i = 0usize;
    let mut next_batch = move || {
        b_i = (b_i + 1) % batch_count;
        b_i
    };
    let mut group = c.benchmark_group("psr6-moka/get_items_100");
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
    group.bench_function("Pool<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let batch = &batches[next_batch()];
            async move { black_box(pool.get_items(batch).await) }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("psr6-moka/save_deferred_100_commit");
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
    group.bench_function("Pool<MokaStore>", |b| {
        b.to_async(&rt).iter(|| {
            let batch = &batches[next_batch()];
            async move {
                // The PSR-6 way to write a batch: one get_items for the items, then queue them.
                for mut item in pool.get_items(batch).await.expect("get_items") {
                    item.set(value());
                    pool.save_deferred(item).await.expect("save_deferred");
                }
                pool.commit().await
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
