//! What happens to deferred items when the last handle of a pool goes.

use cache_pool::{CacheItemPool, Pool};
use cache_store::moka::MokaStore;
use cache_store::{Key, Store};

/// Dropped inside a runtime: the items are committed in the background, not lost.
#[tokio::test]
async fn a_dropped_pool_commits_its_deferred_items() {
    let store = MokaStore::builder().build().unwrap();
    let pool = Pool::new(store.clone());
    let mut item = pool.get_item("k").await.unwrap();
    item.set("v");
    pool.save_deferred(item).unwrap();
    let clone = pool.clone();
    drop(pool);
    assert_eq!(clone.pending(), 1, "a clone keeps the queue alive");
    drop(clone);
    let key = Key::new("k").unwrap();
    let mut found = None;
    for _ in 0..1_000 {
        found = store.get(key).await.unwrap();
        if found.is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(found.as_deref(), Some(&b"v"[..]));
}

/// Dropped outside any runtime: nothing can be awaited, so the pool logs an error naming the
/// lost items, and does not panic.
#[test]
fn dropping_outside_a_runtime_does_not_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let pool = runtime.block_on(async {
        let pool = Pool::new(MokaStore::builder().build().unwrap());
        let mut item = pool.get_item("k").await.unwrap();
        item.set("v");
        pool.save_deferred(item).unwrap();
        pool
    });
    drop(runtime);
    assert_eq!(pool.pending(), 1);
    drop(pool);
}

/// A tag-aware pool dropped inside a runtime commits its deferred items in the background,
/// with their tags.
#[tokio::test]
async fn a_dropped_tag_aware_pool_commits_its_deferred_items() {
    let store = MokaStore::builder().build().unwrap();
    let pool = cache_pool::TagAwarePool::new(store.clone());
    let mut item = pool.get_item("k").await.unwrap();
    item.set("v").tag("t").unwrap();
    pool.save_deferred(item).unwrap();
    drop(pool);
    let reader = cache_pool::TagAwarePool::new(store);
    let mut found = None;
    for _ in 0..1_000 {
        let item = reader.get_item("k").await.unwrap();
        if item.is_hit() {
            found = Some(item);
            break;
        }
        tokio::task::yield_now().await;
    }
    let found = found.expect("the deferred item was committed");
    assert_eq!(found.value().map(|v| &v[..]), Some(&b"v"[..]));
    assert_eq!(found.tags(), ["t"]);
}
