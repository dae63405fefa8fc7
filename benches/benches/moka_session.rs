//! A session cycle on moka (read 1 KiB, write it back with the lifetime) through the session
//! handler over each abstraction, beside raw moka doing a get and an insert.
//!
//! Raw moka has no per-entry lifetime without an `Expiry` type, so its side writes without
//! one: it is the floor, not an equal.

use std::hint::black_box;

use benches::{criterion, raw_moka, runtime, session_data, session_handlers, session_ids};
use cache_store::moka::MokaStore;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let ids = session_ids();
    let raw = raw_moka();
    let store = MokaStore::builder()
        .namespace("bench")
        .build()
        .expect("store");
    let handlers = session_handlers(&store);
    rt.block_on(async {
        for id in &ids {
            raw.insert(format!("sess_{id}"), session_data()).await;
            for (_, handler) in &handlers {
                handler.write(id, session_data()).await.expect("write");
            }
        }
    });
    let raw_keys: Vec<String> = ids.iter().map(|id| format!("sess_{id}")).collect();
    let (raw, ids, raw_keys) = (&raw, &ids, &raw_keys);
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % ids.len();
        i
    };

    let mut group = c.benchmark_group("moka/session_cycle");
    group.bench_function("raw moka get + insert", |b| {
        b.to_async(&rt).iter(|| {
            let k = &raw_keys[next()];
            async move {
                let data = raw.get(k.as_str()).await.unwrap_or_default();
                raw.insert(k.clone(), black_box(data)).await;
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
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = bench
}
criterion_main!(benches);
