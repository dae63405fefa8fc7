//! One case per promise of the locks, leases, tags and two-level stores, over any store. Each takes a store factory,
//! makes its own fresh namespace, and panics with a message naming the broken promise.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use cache_pool::{
    CacheItem, CacheItemPool, CacheItemPoolExt, Computed, Lease, Pool, TagAware, TagAwarePool,
};
use cache_store::lock::{LockOptions, Locks};
use cache_store::memory::MemoryStore;
use cache_store::two_level::TwoLevel;
use cache_store::{Error, ErrorKind, Expiration, Key, Store};

use crate::env::unique_namespace;
use crate::store::StoreFactory;
use crate::store::cases::{needs_clock, needs_data};

const HOUR: Duration = Duration::from_secs(3600);

fn key(s: &str) -> Key<'_> {
    Key::new(s).expect("the kit uses only valid keys")
}

/// `count` handles on one fresh namespace: separate handles, as separate processes have.
async fn handles(f: &dyn StoreFactory, count: usize) -> Vec<Arc<dyn Store>> {
    let namespace = unique_namespace("kit");
    let mut handles = Vec::with_capacity(count);
    for _ in 0..count {
        handles.push(
            f.create(&namespace)
                .await
                .expect("the factory could not create a store"),
        );
    }
    handles
}

fn locks(store: &Arc<dyn Store>, ttl: Duration) -> Locks<dyn Store> {
    Locks::shared(Arc::clone(store)).with_options(
        LockOptions::new(ttl)
            .wait(Duration::ZERO)
            .retry_delays(Duration::from_millis(1), Duration::from_millis(10)),
    )
}

/// A lock excludes every other owner until its owner releases it; only the owner's token
/// releases or refreshes it, and a forced release frees it whoever holds it.
pub async fn locks_exclude_other_owners_until_released(f: &dyn StoreFactory) {
    needs_data(f);
    let store = handles(f, 1).await.remove(0);
    let locks = locks(&store, HOUR);
    let held = locks
        .try_acquire("job")
        .await
        .expect("try_acquire")
        .expect("a free lock is taken");
    assert!(
        locks
            .try_acquire("job")
            .await
            .expect("try_acquire")
            .is_none()
    );
    let err = locks
        .acquire("job")
        .await
        .expect_err("a held lock was taken twice");
    assert_eq!(err.kind(), cache_store::ErrorKind::Locked);
    assert!(locks.is_held(&held).await.expect("is_held"));
    assert!(locks.refresh(&held).await.expect("refresh"));
    assert!(locks.release(&held).await.expect("release"));
    assert!(!locks.is_held(&held).await.expect("is_held"));
    assert!(
        !locks.release(&held).await.expect("release"),
        "released twice"
    );
    assert!(
        !locks.refresh(&held).await.expect("refresh"),
        "refreshed a released lock"
    );

    let next = locks.acquire("job").await.expect("a released lock is free");
    locks.force_release("job").await.expect("force_release");
    assert!(!locks.is_held(&next).await.expect("is_held"));
    assert!(
        locks
            .try_acquire("job")
            .await
            .expect("try_acquire")
            .is_some()
    );
}

/// Of many owners racing for one lock, exactly one takes it; the others' `acquire` waits until
/// it is released and then one of them takes it.
pub async fn racing_owners_take_a_lock_one_at_a_time(f: &dyn StoreFactory) {
    needs_data(f);
    let store = handles(f, 1).await.remove(0);
    let locks = locks(&store, HOUR);
    let attempts: Vec<_> = (0..16)
        .map(|_| {
            let locks = locks.clone();
            tokio::spawn(async move { locks.try_acquire("race").await.expect("try_acquire") })
        })
        .collect();
    let mut owners = Vec::new();
    for attempt in attempts {
        owners.extend(attempt.await.expect("the lock task panicked"));
    }
    assert_eq!(owners.len(), 1, "owners of one lock: {}", owners.len());
    let waiting = locks
        .clone()
        .with_options(locks.options().wait(Duration::from_secs(30)));
    let waiter = tokio::spawn(async move { waiting.acquire("race").await });
    tokio::task::yield_now().await;
    assert!(locks.release(&owners[0]).await.expect("release"));
    let next = waiter
        .await
        .expect("the waiting task panicked")
        .expect("a waiter takes the lock once it is released");
    assert!(locks.is_held(&next).await.expect("is_held"));
}

/// A lock ends at its lifetime: then another owner takes it, and the old owner can neither
/// refresh nor release the new owner's lock.
pub async fn an_expired_lock_passes_to_the_next_owner(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let store = handles(f, 1).await.remove(0);
    let locks = locks(&store, Duration::from_secs(10));
    let old = locks.acquire("job").await.expect("acquire");
    clock.advance(Duration::from_secs(5));
    assert!(
        locks.refresh(&old).await.expect("refresh"),
        "a held lock refreshes"
    );
    clock.advance(Duration::from_secs(9));
    assert!(
        locks
            .try_acquire("job")
            .await
            .expect("try_acquire")
            .is_none(),
        "refreshed for 10 s"
    );
    clock.advance(Duration::from_secs(2));
    let new = locks
        .try_acquire("job")
        .await
        .expect("try_acquire")
        .expect("an expired lock is free");
    assert!(!locks.refresh(&old).await.expect("refresh"));
    assert!(!locks.release(&old).await.expect("release"));
    assert!(
        locks.is_held(&new).await.expect("is_held"),
        "the old owner freed the new lock"
    );
}

/// A pool with leases over `store`, its waiters pausing briefly.
fn leased_pool(store: Arc<dyn Store>, lease: Lease) -> Pool<Arc<dyn Store>> {
    Pool::builder(store).lease(lease).build()
}

/// A computation that counts its runs and takes `ms` milliseconds, so that callers overlap.
fn counted(
    runs: &Arc<AtomicUsize>,
    ms: u64,
    value: &'static str,
) -> impl std::future::Future<Output = cache_store::Result<Computed>> + Send + use<> {
    let runs = Arc::clone(runs);
    async move {
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(Computed::new(value).expires_after(HOUR))
    }
}

/// 50 callers of one cold key, spread over four pools on separate handles (four processes'
/// worth), compute it once, and all get its value.
pub async fn a_cold_key_is_computed_once_across_pools(f: &dyn StoreFactory) {
    needs_data(f);
    let pools: Vec<_> = handles(f, 4)
        .await
        .into_iter()
        .map(|store| leased_pool(store, Lease::new(Duration::from_secs(30))))
        .collect();
    let runs = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..50)
        .map(|i| {
            let pool = pools[i % pools.len()].clone();
            let runs = Arc::clone(&runs);
            tokio::spawn(async move {
                pool.get("cold", move |_| counted(&runs, 200, "computed"))
                    .await
                    .expect("get")
            })
        })
        .collect();
    for caller in callers {
        let value = caller.await.expect("a caller panicked");
        assert_eq!(&value[..], b"computed");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the cold key was computed more than once across the pools"
    );
}

/// When the lease's owner fails, its error is its own: a waiter in another process takes the
/// lease and computes the value, and nothing failed is saved.
pub async fn a_failed_computation_passes_the_lease_on(f: &dyn StoreFactory) {
    needs_data(f);
    let stores = handles(f, 2).await;
    // Leases and waits far longer than the case: only the released lease lets the waiter on.
    let lease = Lease::new(Duration::from_secs(600)).wait(Duration::from_secs(3600));
    let owner = leased_pool(Arc::clone(&stores[0]), lease);
    let waiter = leased_pool(Arc::clone(&stores[1]), lease);
    let owner_runs = Arc::new(AtomicUsize::new(0));
    let failing = {
        let runs = Arc::clone(&owner_runs);
        tokio::spawn(async move {
            owner
                .get("k", move |_| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Err::<Computed, _>(Error::new(ErrorKind::Unavailable, "upstream down"))
                })
                .await
        })
    };
    // Let the owner take the lease first.
    while owner_runs.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let recovering = waiter.get("k", {
        let runs = Arc::clone(&runs);
        move |_| counted(&runs, 0, "recovered")
    });
    let value = tokio::time::timeout(Duration::from_secs(30), recovering)
        .await
        .expect("the waiter was left waiting: the failed owner kept its lease")
        .expect("the waiter computes once the owner failed");
    assert_eq!(&value[..], b"recovered");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let failed = failing.await.expect("the owner panicked");
    assert_eq!(
        failed.expect_err("the owner's error").kind(),
        ErrorKind::Unavailable
    );
}

/// A lease whose owner crashed (it never releases) ends at its lifetime; then a waiter takes
/// it over and computes.
pub async fn a_crashed_owners_lease_ends_at_its_lifetime(f: &dyn StoreFactory) {
    needs_data(f);
    let store = handles(f, 1).await.remove(0);
    let lease = Duration::from_millis(500);
    // The crashed owner's lease, as a `get` of another process left it.
    let taken = store
        .add(
            Key::new("k\0lease").expect("key"),
            Bytes::from_static(b"crashed-owner"),
            Expiration::After(lease),
        )
        .await
        .expect("add");
    assert!(taken);
    let clock = f.clock();
    let mover = clock.map(|clock| {
        // A store on the kit's clock sees time pass only when the kit moves it.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            clock.advance(Duration::from_secs(1));
        })
    });
    // The waiter would wait an hour: only the lease's end lets it take over.
    let pool = leased_pool(store, Lease::new(lease).wait(Duration::from_secs(3600)));
    let runs = Arc::new(AtomicUsize::new(0));
    let taking_over = pool.get("k", {
        let runs = Arc::clone(&runs);
        move |_| counted(&runs, 0, "taken over")
    });
    let value = tokio::time::timeout(Duration::from_secs(30), taking_over)
        .await
        .expect("the crashed owner's lease outlived its lifetime")
        .expect("get");
    assert_eq!(&value[..], b"taken over");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    if let Some(mover) = mover {
        mover.await.expect("the clock task panicked");
    }
}

/// With a stale window, an expired value is served to every caller while one recomputes it;
/// the new value replaces it once computed.
pub async fn stale_values_are_served_while_one_caller_recomputes(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let stores = handles(f, 2).await;
    let pools: Vec<_> = stores
        .into_iter()
        .map(|store| {
            Pool::builder(store)
                .lease(Lease::new(Duration::from_secs(30)))
                .stale_while_revalidate(Duration::from_secs(60))
                .build()
        })
        .collect();
    let first = pools[0]
        .get("k", |_| async {
            Ok(Computed::new("v1").expires_after(Duration::from_secs(10)))
        })
        .await
        .expect("get");
    assert_eq!(&first[..], b"v1");
    clock.advance(Duration::from_secs(15));
    // Expired for every other read.
    assert!(
        !pools[1].has_item("k").await.expect("has_item"),
        "the value outlived its expiry for plain reads"
    );
    let (started, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let recomputing = {
        let pool = pools[0].clone();
        let (started, release) = (Arc::clone(&started), Arc::clone(&release));
        tokio::spawn(async move {
            pool.get("k", move |_| async move {
                started.notify_one();
                release.notified().await;
                Ok(Computed::new("v2").expires_after(Duration::from_secs(10)))
            })
            .await
        })
    };
    started.notified().await;
    for pool in &pools {
        let served = pool
            .get("k", |_| async {
                panic!("a second caller recomputed the stale value")
            })
            .await
            .expect("get");
        assert_eq!(&served[..], b"v1", "the stale value is served meanwhile");
    }
    release.notify_one();
    let second = recomputing
        .await
        .expect("the recomputing task panicked")
        .expect("get");
    assert_eq!(&second[..], b"v2");
    let now = pools[1]
        .get("k", |_| async { panic!("recomputed a fresh value") })
        .await
        .expect("get");
    assert_eq!(&now[..], b"v2");
}

/// With a stale window, deleting a value through the pool deletes its stale copy too: a
/// deleted value is never served.
pub async fn a_deleted_value_is_not_served_stale(f: &dyn StoreFactory) {
    needs_data(f);
    let store = handles(f, 1).await.remove(0);
    let pool = Pool::builder(store)
        .stale_while_revalidate(Duration::from_secs(60))
        .build();
    pool.get("k", |_| async {
        Ok(Computed::new("old").expires_after(HOUR))
    })
    .await
    .expect("get");
    pool.delete_item("k").await.expect("delete");
    let runs = Arc::new(AtomicUsize::new(0));
    let value = pool
        .get("k", {
            let runs = Arc::clone(&runs);
            move |_| counted(&runs, 0, "new")
        })
        .await
        .expect("get");
    assert_eq!(&value[..], b"new", "a deleted value was served stale");
}

/// Tag-aware pools on separate handles of one fresh namespace.
async fn tag_pools(f: &dyn StoreFactory, count: usize) -> Vec<TagAwarePool<Arc<dyn Store>>> {
    handles(f, count)
        .await
        .into_iter()
        .map(TagAwarePool::new)
        .collect()
}

async fn save_tagged(pool: &TagAwarePool<Arc<dyn Store>>, key: &str, value: &str, tags: &[&str]) {
    let mut item = pool.get_item(key).await.expect("get_item");
    item.set(value.to_owned());
    for tag in tags {
        item.tag(tag).expect("a valid tag");
    }
    pool.save(item).await.expect("save");
}

async fn hits(pool: &TagAwarePool<Arc<dyn Store>>, keys: &[&str]) -> Vec<bool> {
    pool.get_items(keys)
        .await
        .expect("get_items")
        .iter()
        .map(CacheItem::is_hit)
        .collect()
}

/// Whether `key` is still a hit once `tag` is invalidated.
async fn hit_after_invalidating(pool: &TagAwarePool<Arc<dyn Store>>, tag: &str, key: &str) -> bool {
    pool.invalidate_tags(&[tag]).await.expect("invalidate");
    pool.get_item(key).await.expect("get_item").is_hit()
}

/// Invalidating a tag drops exactly the items saved with it, for every pool on the store
/// (Symfony's `testInvalidateTags`), and reads see it at once.
pub async fn invalidating_a_tag_drops_its_items_for_every_pool(f: &dyn StoreFactory) {
    needs_data(f);
    let pools = tag_pools(f, 2).await;
    save_tagged(&pools[0], "i0", "0", &["bar"]).await;
    save_tagged(&pools[0], "i1", "1", &["foo"]).await;
    save_tagged(&pools[0], "i2", "2", &["foo", "bar"]).await;
    save_tagged(&pools[0], "i3", "3", &["foo", "baz"]).await;
    save_tagged(&pools[0], "foo", "untagged", &[]).await;
    let keys = ["i0", "i1", "i2", "i3", "foo"];
    // Both pools read everything (and learn the items' tags).
    for pool in &pools {
        assert_eq!(hits(pool, &keys).await, [true; 5]);
    }
    let item = pools[1].get_item("i2").await.expect("get_item");
    assert_eq!(item.tags(), ["foo", "bar"], "the tags read back");
    assert_eq!(item.value().map(|v| &v[..]), Some(&b"2"[..]));

    pools[1]
        .invalidate_tags(&["bar"])
        .await
        .expect("invalidate");
    for pool in &pools {
        assert_eq!(hits(pool, &keys).await, [false, true, false, true, true]);
    }
    pools[0]
        .invalidate_tags(&["foo"])
        .await
        .expect("invalidate");
    for pool in &pools {
        assert_eq!(hits(pool, &keys).await, [false, false, false, false, true]);
    }
    // Saved again under a tag invalidated before: a hit under its new version.
    save_tagged(&pools[1], "i0", "again", &["bar"]).await;
    assert!(pools[0].get_item("i0").await.expect("get_item").is_hit());
}

/// Saving an item with other tags replaces its tags, and deleting it removes them
/// (`testTagsAreCleanedOnSave`, `testTagsAreCleanedOnDelete`).
pub async fn an_item_keeps_only_its_latest_tags(f: &dyn StoreFactory) {
    needs_data(f);
    let pool = tag_pools(f, 1).await.remove(0);
    save_tagged(&pool, "k", "v", &["foo"]).await;
    save_tagged(&pool, "k", "v", &["bar"]).await;
    assert!(hit_after_invalidating(&pool, "foo", "k").await, "re-tagged");

    save_tagged(&pool, "d", "v", &["foo"]).await;
    pool.delete_item("d").await.expect("delete");
    save_tagged(&pool, "d", "v", &[]).await;
    assert!(
        hit_after_invalidating(&pool, "foo", "d").await,
        "deleted then untagged"
    );
}

/// Items deferred before an invalidation are committed after it, under the new versions
/// (`testInvalidateCommits`); a clear drops items and tags alike.
pub async fn deferred_items_survive_an_invalidation(f: &dyn StoreFactory) {
    needs_data(f);
    let pool = tag_pools(f, 1).await.remove(0);
    let mut item = pool.get_item("k").await.expect("get_item");
    item.set("v").tag("t").expect("tag");
    pool.save_deferred(item).expect("save_deferred");
    assert!(
        hit_after_invalidating(&pool, "t", "k").await,
        "deferred, then invalidated"
    );

    pool.clear().await.expect("clear");
    save_tagged(&pool, "k", "v", &[]).await;
    assert!(
        hit_after_invalidating(&pool, "t", "k").await,
        "cleared then untagged"
    );
}

/// An item saved without its tags' entry (by a pool that is not tag-aware) is a miss to a
/// tag-aware pool; invalid tags are refused.
pub async fn items_without_tag_entries_are_misses(f: &dyn StoreFactory) {
    needs_data(f);
    let store = handles(f, 1).await.remove(0);
    let plain = Pool::new(Arc::clone(&store));
    let mut item = plain.get_item("k").await.expect("get_item");
    item.set("v");
    plain.save(item).await.expect("save");
    let tagged = TagAwarePool::new(store);
    assert!(!tagged.get_item("k").await.expect("get_item").is_hit());

    let mut item = tagged.get_item("k").await.expect("get_item");
    for bad in ["", "a:b", "{x}", "a/b"] {
        assert!(item.tag(bad).is_err(), "the tag {bad:?} was taken");
    }
    assert!(tagged.invalidate_tags(&["a@b"]).await.is_err());
}

/// A tagged item expires with its lifetime, and its tags' entry with it.
pub async fn tagged_items_expire_at_their_lifetime(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let pool = tag_pools(f, 1).await.remove(0);
    let mut item = pool.get_item("k").await.expect("get_item");
    item.set("v")
        .tag("t")
        .expect("tag")
        .expires(Expiration::After(Duration::from_secs(10)));
    pool.save(item).await.expect("save");
    clock.advance(Duration::from_secs(9));
    assert!(pool.get_item("k").await.expect("get_item").is_hit());
    clock.advance(Duration::from_secs(2));
    assert!(!pool.get_item("k").await.expect("get_item").is_hit());
    assert!(
        !cache_pool::CacheItemPool::has_item(pool.pool(), "\0tags\0k")
            .await
            .expect("has_item"),
        "the tags' entry outlived its item"
    );
}

/// `get` with a callback saves the computed value with the tags it gave.
pub async fn computed_values_carry_their_tags(f: &dyn StoreFactory) {
    needs_data(f);
    let pool = tag_pools(f, 1).await.remove(0);
    let value = pool
        .get("report", |_| async {
            Ok(Computed::new("42").tag("reports"))
        })
        .await
        .expect("get");
    assert_eq!(&value[..], b"42");
    assert_eq!(
        pool.get_item("report").await.expect("get_item").tags(),
        ["reports"]
    );
    pool.invalidate_tags(&["reports"])
        .await
        .expect("invalidate");
    let runs = Arc::new(AtomicUsize::new(0));
    pool.get("report", {
        let runs = Arc::clone(&runs);
        move |_| counted(&runs, 0, "43")
    })
    .await
    .expect("get");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "an invalidated value was served"
    );
}

/// Early recomputation (XFetch) applies to tagged values as to untagged ones: a computed
/// value carries its expiry and how long it took; `beta` 0 never recomputes a hit, a
/// `beta` large enough always does, and the value it gives is saved with its tags.
pub async fn tagged_values_are_recomputed_early(f: &dyn StoreFactory) {
    needs_data(f);
    let pool = tag_pools(f, 1).await.remove(0);
    let runs = Arc::new(AtomicUsize::new(0));
    let compute = |value: &'static str| {
        let runs = Arc::clone(&runs);
        // Long enough that the computation's time is at least a millisecond.
        move |_| async move { Ok(counted(&runs, 2, value).await?.tag("reports")) }
    };
    pool.get("report", compute("first")).await.expect("get");
    let metadata = pool
        .get_item("report")
        .await
        .expect("get_item")
        .metadata()
        .expect("a computed tagged value carries its expiry and computation time");
    assert!(
        metadata.ctime_ms >= 1,
        "a 2 ms computation recorded as {} ms",
        metadata.ctime_ms
    );
    let never = pool
        .get_with_beta("report", 0.0, compute("never"))
        .await
        .expect("get");
    assert_eq!(
        (&never[..], runs.load(Ordering::SeqCst)),
        (&b"first"[..], 1)
    );
    // A head start of a million hours: elected whatever the draw.
    let early = pool
        .get_with_beta("report", 1e9, compute("early"))
        .await
        .expect("get");
    assert_eq!(
        (&early[..], runs.load(Ordering::SeqCst)),
        (&b"early"[..], 2),
        "a tagged hit elected early was not recomputed"
    );
    let item = pool.get_item("report").await.expect("get_item");
    assert_eq!(item.value().map(|v| &v[..]), Some(&b"early"[..]));
    assert_eq!(
        item.tags(),
        ["reports"],
        "the recomputed value lost its tags"
    );
}

/// A two-level store over this backend: a memory first level (on the kit's clock, when the
/// backend has one) in front of `second`.
fn two_level(
    f: &dyn StoreFactory,
    second: Arc<dyn Store>,
    lifetime: Duration,
) -> TwoLevel<MemoryStore, Arc<dyn Store>> {
    let first = MemoryStore::builder();
    let first = match f.clock() {
        Some(clock) => first.clock(clock),
        None => first,
    }
    .build()
    .expect("a memory store");
    TwoLevel::builder(first, second)
        .first_level_lifetime(lifetime)
        .build()
}

/// A two-level store reads through to the second level, copies what it found into the
/// first, and serves it from there.
pub async fn two_levels_read_through_and_promote(f: &dyn StoreFactory) {
    needs_data(f);
    let second = handles(f, 1).await.remove(0);
    let store = two_level(f, Arc::clone(&second), HOUR);
    second
        .set(key("k"), "v".into(), Expiration::After(HOUR))
        .await
        .expect("set");
    let found = store
        .get_many(&[key("k"), key("missing")])
        .await
        .expect("get_many");
    assert!(matches!(&found[0], Ok(Some(v)) if &v[..] == b"v"));
    assert!(matches!(&found[1], Ok(None)));
    assert_eq!(
        store.first().get(key("k")).await.expect("get").as_deref(),
        Some(&b"v"[..]),
        "the value was not promoted"
    );
    assert_eq!(
        store.get(key("k")).await.expect("get").as_deref(),
        Some(&b"v"[..])
    );
}

/// Writes and deletes through a two-level store reach both levels; an `add` or `touch` drops
/// the first level's copy.
pub async fn two_levels_write_and_delete_both(f: &dyn StoreFactory) {
    needs_data(f);
    let second = handles(f, 1).await.remove(0);
    let store = two_level(f, Arc::clone(&second), HOUR);
    store
        .set(key("k"), "v".into(), Expiration::After(HOUR))
        .await
        .expect("set");
    for level in [store.first() as &dyn Store, &*second] {
        assert_eq!(
            level.get(key("k")).await.expect("get").as_deref(),
            Some(&b"v"[..])
        );
    }
    store.delete(key("k")).await.expect("delete");
    for level in [store.first() as &dyn Store, &*second] {
        assert_eq!(
            level.get(key("k")).await.expect("get"),
            None,
            "a level kept a deleted key"
        );
    }
    store
        .set(key("t"), "v".into(), Expiration::After(HOUR))
        .await
        .expect("set");
    assert!(
        store
            .touch(key("t"), Expiration::Never)
            .await
            .expect("touch")
    );
    assert_eq!(store.first().get(key("t")).await.expect("get"), None);
    assert_eq!(
        store.get(key("t")).await.expect("get").as_deref(),
        Some(&b"v"[..])
    );
}

/// A first level's copy never outlives the value it copies (where the second level tells its
/// deadline), and lives at most the first level's lifetime: after that, another writer's
/// change is seen.
pub async fn a_first_level_copy_never_outlives_its_value_or_bound(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let second = handles(f, 1).await.remove(0);
    let store = two_level(f, Arc::clone(&second), Duration::from_secs(60));
    second
        .set(
            key("short"),
            "v1".into(),
            Expiration::After(Duration::from_secs(10)),
        )
        .await
        .expect("set");
    second
        .set(key("long"), "v1".into(), Expiration::Never)
        .await
        .expect("set");
    for k in ["short", "long"] {
        assert_eq!(
            store.get(key(k)).await.expect("get").as_deref(),
            Some(&b"v1"[..])
        );
    }
    second
        .set(key("long"), "v2".into(), Expiration::Never)
        .await
        .expect("set");
    // Only a second level that tells deadlines bounds a copy by its value's end (one that
    // cannot, as memcached, bounds it by the first level's lifetime alone).
    let tells_deadlines = matches!(
        second
            .get_many_with_deadlines(&[key("short")])
            .await
            .expect("get_many_with_deadlines")
            .first(),
        Some(Ok(Some(cache_store::Found {
            deadline: Some(_),
            ..
        })))
    );
    clock.advance(Duration::from_secs(11));
    if tells_deadlines {
        assert_eq!(
            store.get(key("short")).await.expect("get"),
            None,
            "a copy outlived its value"
        );
    }
    clock.advance(Duration::from_secs(50));
    assert_eq!(
        store.get(key("long")).await.expect("get").as_deref(),
        Some(&b"v2"[..]),
        "a copy outlived the first level's lifetime"
    );
}

/// A computation abandoned by its caller (its future dropped) releases its lease at once, in
/// the background: other processes do not wait for the lease's expiry.
pub async fn an_abandoned_computation_releases_its_lease(f: &dyn StoreFactory) {
    needs_data(f);
    let store = handles(f, 1).await.remove(0);
    let pool = leased_pool(Arc::clone(&store), Lease::new(Duration::from_secs(600)));
    let started = Arc::new(tokio::sync::Notify::new());
    let computing = {
        let started = Arc::clone(&started);
        tokio::spawn(async move {
            pool.get("k", move |_| async move {
                started.notify_one();
                std::future::pending::<cache_store::Result<Computed>>().await
            })
            .await
        })
    };
    started.notified().await;
    let lease = key("k\0lease");
    assert!(
        store.get(lease).await.expect("get").is_some(),
        "the lease is held"
    );
    computing.abort();
    assert!(computing.await.is_err(), "the computation was abandoned");
    let gave_up = std::time::Instant::now() + Duration::from_secs(30);
    while store.get(lease).await.expect("get").is_some() {
        assert!(
            std::time::Instant::now() < gave_up,
            "an abandoned lease was left to its expiry"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A tag-aware pool's `get` computes a cold key once: once per process through the pool's
/// flights, once across processes under the lease of the pool underneath; the value is saved
/// with its tags.
pub async fn a_cold_tagged_key_is_computed_once_across_pools(f: &dyn StoreFactory) {
    needs_data(f);
    let pools: Vec<TagAwarePool<Arc<dyn Store>>> = handles(f, 4)
        .await
        .into_iter()
        .map(|store| TagAwarePool::over(leased_pool(store, Lease::new(Duration::from_secs(30)))))
        .collect();
    let runs = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..50)
        .map(|i| {
            let pool = pools[i % pools.len()].clone();
            let runs = Arc::clone(&runs);
            tokio::spawn(async move {
                pool.get("cold", move |_| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    Ok(Computed::new("computed").tag("reports"))
                })
                .await
                .expect("get")
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(&caller.await.expect("a caller panicked")[..], b"computed");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "computed more than once");
    assert_eq!(
        pools[3].get_item("cold").await.expect("get_item").tags(),
        ["reports"]
    );
}
