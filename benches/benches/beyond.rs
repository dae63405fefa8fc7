//! Beyond PHP: what a first-level hit of a two-level store costs beside a plain moka hit (the
//! first level *is* moka), and what a tagged read costs on Redis beside an untagged one (one
//! round trip each, when the item's tags are known).
//!
//! `beyond/first_level_hit/*` needs no server (the second level is in memory; a hit never
//! reaches it). `beyond/tagged_read/*` needs `CACHE_TEST_REDIS_URL`; pin client and server
//! to one CPU when comparing:
//! `taskset -c 0 scripts/test-servers.sh taskset -c 0 cargo bench -p benches --bench beyond`.

use std::hint::black_box;
use std::sync::Arc;

use benches::{criterion, runtime};
use cache_pool::{CacheItemPool, Pool, TagAwarePool};
use cache_store::memory::MemoryStore;
use cache_store::moka::MokaStore;
use cache_store::two_level::TwoLevel;
use cache_store::{Expiration, Key, Store};
use criterion::{Criterion, criterion_group, criterion_main};

fn moka() -> MokaStore {
    MokaStore::builder()
        .max_capacity_bytes(benches::CAPACITY)
        .namespace("bench")
        .build()
        .expect("moka")
}

fn first_level_hit(c: &mut Criterion) {
    let rt = runtime();
    let key = Key::new("hot.key").expect("key");
    let plain = moka();
    let second = MemoryStore::builder()
        .namespace("bench")
        .build()
        .expect("memory");
    let two = TwoLevel::builder(moka(), second).build();
    rt.block_on(async {
        plain
            .set(key, benches::value(), Expiration::Never)
            .await
            .expect("set");
        two.set(key, benches::value(), Expiration::Never)
            .await
            .expect("set");
        assert!(
            two.first().get(key).await.expect("get").is_some(),
            "a first-level copy"
        );
    });
    let mut group = c.benchmark_group("beyond/first_level_hit");
    group.bench_function("plain moka get", |b| {
        b.iter(|| rt.block_on(async { black_box(plain.get(key).await.expect("get")) }));
    });
    group.bench_function("two-level get (moka before memory)", |b| {
        b.iter(|| rt.block_on(async { black_box(two.get(key).await.expect("get")) }));
    });
    group.finish();
}

fn tagged_read(c: &mut Criterion) {
    let Some(url) = benches::server_url("CACHE_TEST_REDIS_URL", "tagged read") else {
        return;
    };
    let rt = runtime();
    let (plain, tagged) = rt.block_on(async {
        let store: Arc<dyn Store> = cache_store::open(&format!("{url}?namespace=bench-tags"))
            .await
            .expect("open");
        let plain = Pool::new(Arc::clone(&store));
        let tagged = TagAwarePool::new(store);
        let mut item = plain.get_item("plain").await.expect("get_item");
        item.set(benches::value());
        plain.save(item).await.expect("save");
        let mut item = tagged.get_item("tagged").await.expect("get_item");
        item.set(benches::value())
            .tag("products")
            .expect("tag")
            .tag("vendor.7")
            .expect("tag");
        tagged.save(item).await.expect("save");
        // Read once: from now on its tags are known and read along.
        assert!(tagged.get_item("tagged").await.expect("get_item").is_hit());
        (plain, tagged)
    });
    let mut group = c.benchmark_group("beyond/tagged_read");
    group.bench_function("PSR-6 get_item", |b| {
        b.iter(|| rt.block_on(async { black_box(plain.get_item("plain").await.expect("get")) }));
    });
    group.bench_function("PSR-6 get_items (the 4 keys of a tagged read)", |b| {
        b.iter(|| {
            rt.block_on(async {
                black_box(
                    plain
                        .get_items(&[
                            "plain",
                            "\0tags\0plain",
                            "products\0tags\0",
                            "vendor.7\0tags\0",
                        ])
                        .await
                        .expect("get"),
                )
            })
        });
    });
    group.bench_function("tag-aware get_item (2 tags)", |b| {
        b.iter(|| rt.block_on(async { black_box(tagged.get_item("tagged").await.expect("get")) }));
    });
    group.finish();
}

criterion_group! {
    name = beyond;
    config = criterion();
    targets = first_level_hit, tagged_read
}
criterion_main!(beyond);
