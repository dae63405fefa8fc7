//! One case per applicable test of Doctrine's `CacheTest` (spec catalogue 6.8).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_pool::PoolValues;
use cache_store::ManualClock;
use cache_store::codec::{Codec, MsgPack};
use doctrine_compat::{DoctrineCache, Fetched};
use serde::Serialize;

use super::DoctrineFactory;
use crate::env::unique_namespace;

const FOREVER: Duration = Duration::ZERO;

fn encode<T: Serialize + ?Sized>(value: &T) -> Bytes {
    MsgPack.encode(value).expect("encode")
}

/// `provideDataToCache`: the 16 values Doctrine stores, as stored bytes.
pub fn data_to_cache() -> Vec<(&'static str, Bytes)> {
    #[derive(Serialize)]
    struct Node {
        name: &'static str,
        children: Vec<Node>,
    }
    let mut map = std::collections::BTreeMap::new();
    map.insert("one", 1);
    vec![
        ("array", encode(&("one", 2, 3.01))),
        ("string", encode("value")),
        ("invalid utf-8", Bytes::from_static(b"\xc3\x28")),
        ("string with nul", encode("with\0nul")),
        ("integer", encode(&1)),
        ("float", encode(&1.5)),
        ("object", encode(&map)),
        (
            "object graph",
            encode(&Node {
                name: "root",
                children: vec![Node {
                    name: "leaf",
                    children: vec![],
                }],
            }),
        ),
        ("true", encode(&true)),
        ("null", encode(&None::<u8>)),
        ("false", encode(&false)),
        ("empty array", encode(&Vec::<u8>::new())),
        ("string zero", encode("0")),
        ("integer zero", encode(&0)),
        ("float zero", encode(&0.0)),
        ("empty string", Bytes::new()),
    ]
}

/// `provideCacheIds`: the 26 ids Doctrine requires to work without collisions.
pub fn cache_ids() -> Vec<String> {
    let mut ids: Vec<String> = [
        ":", "\\", "/", "<", ">", "\"", "*", "?", "|", "[", "]", "ä", "a", "é", "e", ".", "..",
        "-", "_", "$", "%", " ", "\0", "",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    ids.push("a".repeat(300));
    ids.push("a".repeat(113));
    ids
}

async fn fresh(f: &dyn DoctrineFactory) -> Arc<dyn DoctrineCache> {
    f.create(&unique_namespace("doctrine"), "")
        .await
        .expect("the factory could not create a cache")
}

async fn fetch(c: &dyn DoctrineCache, id: &str) -> Option<Bytes> {
    c.fetch(id).await.expect("fetch")
}

async fn contains(c: &dyn DoctrineCache, id: &str) -> bool {
    c.contains(id).await.expect("contains")
}

async fn save(c: &dyn DoctrineCache, id: &str, data: &'static str) {
    c.save(id, Bytes::from_static(data.as_bytes()), FOREVER)
        .await
        .expect("save");
}

fn b(s: &'static str) -> Option<Bytes> {
    Some(Bytes::from_static(s.as_bytes()))
}

/// The case needs a clock the kit moves.
fn needs_clock(f: &dyn DoctrineFactory) -> ManualClock {
    crate::needs::clock(f.clock())
}

/// testSetContainsFetchDelete ×16 and testValueThatIsFalseBooleanIsProperlyRetrieved.
pub async fn set_contains_fetch_delete(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    for (name, value) in data_to_cache() {
        c.save("key", value.clone(), FOREVER).await.expect("save");
        assert!(contains(&*c, "key").await, "{name}");
        assert_eq!(fetch(&*c, "key").await, Some(value), "{name}");
        c.delete("key").await.expect("delete");
        assert!(!contains(&*c, "key").await, "{name}");
        assert_eq!(fetch(&*c, "key").await, None, "{name}");
    }
}

/// testUpdateExistingEntry ×16.
pub async fn update_existing_entry(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    for (name, value) in data_to_cache() {
        save(&*c, "key", "old-value").await;
        c.save("key", value.clone(), FOREVER).await.expect("save");
        assert_eq!(fetch(&*c, "key").await, Some(value), "{name}");
    }
}

/// testCacheKeyIsCaseSensitive.
pub async fn cache_key_is_case_sensitive(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    save(&*c, "key", "value").await;
    assert!(!contains(&*c, "KEY").await);
    c.delete("KEY").await.expect("delete");
    assert!(contains(&*c, "key").await);
}

/// testFetchMultiple and testFetchMultipleWithNoKeys: found entries only.
pub async fn fetch_multiple(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    assert!(
        c.fetch_multiple(&[])
            .await
            .expect("fetch_multiple")
            .is_empty()
    );
    let data = data_to_cache();
    for (id, value) in &data {
        c.save(id, value.clone(), FOREVER).await.expect("save");
    }
    let ids: Vec<&str> = data.iter().map(|(id, _)| *id).collect();
    let expected: Fetched<'_> = data.iter().map(|(id, v)| (*id, v.clone())).collect();
    assert_eq!(
        c.fetch_multiple(&ids).await.expect("fetch_multiple"),
        expected
    );
    let one = c.fetch_multiple(&["false"]).await.expect("fetch_multiple");
    assert_eq!(one.len(), 1, "a stored false must be fetched");
    let mixed = c
        .fetch_multiple(&["string", "absent", "integer zero"])
        .await
        .expect("fetch_multiple");
    let keys: Vec<&str> = mixed.keys().collect();
    assert_eq!(
        keys,
        ["string", "integer zero"],
        "found entries in the order asked"
    );
    let reversed: Vec<&str> = ids.iter().rev().copied().collect();
    let found = c.fetch_multiple(&reversed).await.expect("fetch_multiple");
    assert_eq!(
        found.keys().collect::<Vec<_>>(),
        reversed,
        "in the order asked"
    );
}

/// testSaveMultiple.
pub async fn save_multiple(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    c.delete_all().await.expect("delete_all");
    let data = data_to_cache();
    let entries: Vec<(&str, Bytes)> = data.iter().map(|(id, v)| (*id, v.clone())).collect();
    c.save_multiple(&entries, FOREVER)
        .await
        .expect("save_multiple");
    let ids: Vec<&str> = data.iter().map(|(id, _)| *id).collect();
    let found = c.fetch_multiple(&ids).await.expect("fetch_multiple");
    assert_eq!(found.len(), data.len());
    for (id, value) in data {
        assert_eq!(found.get(id), Some(&value), "{id}");
    }
}

/// testDeleteIsSuccessfulWhenKeyDoesNotExist.
pub async fn delete_of_an_absent_id_succeeds(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    c.delete("absent").await.expect("delete");
    assert!(!contains(&*c, "absent").await);
}

/// testDeleteAll.
pub async fn delete_all(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    save(&*c, "key1", "1").await;
    save(&*c, "key2", "2").await;
    c.delete_all().await.expect("delete_all");
    assert!(!contains(&*c, "key1").await);
    assert!(!contains(&*c, "key2").await);
}

/// testDeleteMulti.
pub async fn delete_multiple(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    save(&*c, "key1", "1").await;
    save(&*c, "key2", "2").await;
    c.delete_multiple(&["key1", "key2", "key3"])
        .await
        .expect("delete_multiple");
    for id in ["key1", "key2", "key3"] {
        assert!(!contains(&*c, id).await, "{id}");
    }
}

/// testCanHandleSpecialCacheIds ×26.
pub async fn special_cache_ids(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    for id in cache_ids() {
        c.save(&id, "value".into(), FOREVER).await.expect("save");
        assert!(contains(&*c, &id).await, "{id:?}");
        assert_eq!(fetch(&*c, &id).await, b("value"), "{id:?}");
        c.delete(&id).await.expect("delete");
        assert!(!contains(&*c, &id).await, "{id:?}");
        assert_eq!(fetch(&*c, &id).await, None, "{id:?}");
    }
}

/// testNoCacheIdCollisions.
pub async fn no_cache_id_collisions(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    let ids = cache_ids();
    for (i, id) in ids.iter().enumerate() {
        c.save(id, format!("value-{i}").into(), FOREVER)
            .await
            .expect("save");
    }
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            fetch(&*c, id).await.as_deref(),
            Some(format!("value-{i}").as_bytes()),
            "{id:?}"
        );
    }
}

/// testLifetime: a 1 s entry is gone 2 s later.
pub async fn lifetime(f: &dyn DoctrineFactory) {
    let clock = needs_clock(f);
    let c = fresh(f).await;
    c.save("expire", "value".into(), Duration::from_secs(1))
        .await
        .expect("save");
    assert!(contains(&*c, "expire").await);
    clock.advance(Duration::from_secs(2));
    assert!(!contains(&*c, "expire").await);
    assert_eq!(fetch(&*c, "expire").await, None);
}

/// A sub-second lifetime stays sub-second (PHP's bridge made it "forever").
pub async fn sub_second_lifetime_is_not_forever(f: &dyn DoctrineFactory) {
    let clock = needs_clock(f);
    let c = fresh(f).await;
    c.save("k", "v".into(), Duration::from_millis(500))
        .await
        .expect("save");
    clock.advance(Duration::from_millis(499));
    assert!(contains(&*c, "k").await);
    clock.advance(Duration::from_millis(1));
    assert!(!contains(&*c, "k").await, "a 500 ms lifetime must end");
}

/// testNoExpire: lifetime 0 is forever.
pub async fn zero_lifetime_never_expires(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    save(&*c, "noexpire", "value").await;
    if let Some(clock) = f.clock() {
        clock.advance(Duration::from_secs(400 * 86_400));
    }
    assert!(contains(&*c, "noexpire").await);
}

/// testLongLifetime: 30 days + 1 s (memcached's absolute-time rule).
pub async fn long_lifetime(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    c.save("long", "value".into(), Duration::from_secs(30 * 86_400 + 1))
        .await
        .expect("save");
    assert!(contains(&*c, "long").await);
}

/// testDeleteAllAndNamespaceVersioningBetweenCaches.
pub async fn delete_all_and_versioning_between_instances(f: &dyn DoctrineFactory) {
    let storage = unique_namespace("doctrine");
    let c1 = f.create(&storage, "ns").await.expect("create");
    let c2 = f.create(&storage, "ns").await.expect("create");
    save(&*c1, "key1", "1").await;
    save(&*c2, "key2", "2").await;
    for c in [&c1, &c2] {
        assert!(contains(&**c, "key1").await && contains(&**c, "key2").await);
    }
    c1.delete_all().await.expect("delete_all");
    assert!(!contains(&*c1, "key1").await && !contains(&*c1, "key2").await);
    // Doctrine's documented staleness: c2 memoized version 1.
    assert!(contains(&*c2, "key1").await && contains(&*c2, "key2").await);
    let c3 = f.create(&storage, "ns").await.expect("create");
    assert!(!contains(&*c3, "key1").await && !contains(&*c3, "key2").await);
}

/// testFlushAll.
pub async fn flush_all(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    save(&*c, "key1", "1").await;
    save(&*c, "key2", "2").await;
    c.flush_all().await.expect("flush_all");
    assert!(!contains(&*c, "key1").await && !contains(&*c, "key2").await);
}

/// testFlushAllAndNamespaceVersioningBetweenCaches.
pub async fn flush_all_and_versioning_between_instances(f: &dyn DoctrineFactory) {
    let storage = unique_namespace("doctrine");
    let c1 = f.create(&storage, "ns").await.expect("create");
    c1.delete_all().await.expect("delete_all"); // version 2
    save(&*c1, "key1", "1").await;
    let c2 = f.create(&storage, "ns").await.expect("create");
    save(&*c2, "key2", "2").await;
    for c in [&c1, &c2] {
        assert!(contains(&**c, "key1").await && contains(&**c, "key2").await);
    }
    c1.flush_all().await.expect("flush_all");
    for c in [&c1, &c2] {
        assert!(!contains(&**c, "key1").await && !contains(&**c, "key2").await);
    }
    save(&*c1, "key1", "1").await; // both still on version 2
    assert!(contains(&*c1, "key1").await && contains(&*c2, "key1").await);
    let c3 = f.create(&storage, "ns").await.expect("create"); // version 1 again
    assert!(!contains(&*c3, "key1").await && !contains(&*c3, "key2").await);
    save(&*c3, "key3", "3").await;
    assert!(contains(&*c3, "key3").await);
}

/// testNamespace: a key of one namespace is invisible in another.
pub async fn namespaces_are_isolated(f: &dyn DoctrineFactory) {
    let storage = unique_namespace("doctrine");
    let ns1 = f.create(&storage, "ns1_").await.expect("create");
    let ns2 = f.create(&storage, "ns2_").await.expect("create");
    save(&*ns1, "key1", "1").await;
    assert!(contains(&*ns1, "key1").await);
    assert!(!contains(&*ns2, "key1").await);
}

/// testDeleteAllNamespace: delete_all of one namespace leaves the other.
pub async fn delete_all_touches_only_its_namespace(f: &dyn DoctrineFactory) {
    let storage = unique_namespace("doctrine");
    let ns1 = f.create(&storage, "ns1").await.expect("create");
    let ns2 = f.create(&storage, "ns2").await.expect("create");
    save(&*ns1, "key1", "1").await;
    save(&*ns2, "key2", "2").await;
    ns1.delete_all().await.expect("delete_all");
    assert!(!contains(&*ns1, "key1").await);
    assert!(contains(&*ns2, "key2").await);
    ns2.delete_all().await.expect("delete_all");
    assert!(!contains(&*ns2, "key2").await);
}

/// testGetStats: stats answer without error.
pub async fn stats(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    c.stats().await.expect("stats");
}

/// testSaveReturnsTrueWithAndWithoutTTlSet, testFetchingANonExistingKeyShouldNeverCauseANoticeOrWarning.
pub async fn save_with_and_without_lifetime(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    c.save("without", "v".into(), FOREVER).await.expect("save");
    c.save("with", "v".into(), Duration::from_secs(10))
        .await
        .expect("save");
    assert_eq!(fetch(&*c, "nonexistent").await, None);
}

/// Namespace versions no PHP process counts to: past PHP's ints, negative, not an int.
const DAMAGED_VERSIONS: [&str; 6] = [
    "i:18446744073709551615;",
    "i:9223372036854775808;",
    "i:-1;",
    "d:1.0E+19;",
    "not a version",
    "",
];

/// The case needs the PSR-6 pool under the caches of `storage`, to write through it.
async fn needs_pool(f: &dyn DoctrineFactory, storage: &str) -> Arc<dyn PoolValues> {
    f.pool(storage)
        .await
        .expect("pool")
        .unwrap_or_else(|| crate::needs::undeclared(crate::needs::Capability::Pool))
}

/// Stores `stored` as the version of Doctrine namespace `namespace`, through `pool`.
async fn write_version(pool: &dyn PoolValues, namespace: &str, stored: &str) {
    let mut item = cache_pool::CacheItem::new(&doctrine_compat::namespace_version_key(namespace))
        .expect("the version key is a valid key");
    item.set(Bytes::copy_from_slice(stored.as_bytes()))
        .never_expires();
    pool.save(item).await.expect("write the version");
}

/// A damaged namespace version (past PHP's ints, negative, not an int) never panics and never
/// brings back what a `delete_all` retired: it is replaced by a version no entry was written
/// under, which every instance then shares.
pub async fn damaged_namespace_versions_never_bring_old_entries_back(f: &dyn DoctrineFactory) {
    let storage = unique_namespace("doctrine");
    let pool = needs_pool(f, &storage).await;
    for (i, damaged) in DAMAGED_VERSIONS.into_iter().enumerate() {
        let namespace = format!("ns{i}");
        let first = f.create(&storage, &namespace).await.expect("create");
        save(&*first, "k", "retired").await; // under version 1
        first.delete_all().await.expect("delete_all"); // version 2
        write_version(&*pool, &namespace, damaged).await;
        let second = f.create(&storage, &namespace).await.expect("create");
        assert_eq!(
            fetch(&*second, "k").await,
            None,
            "with the version {damaged:?}, an entry from before delete_all came back"
        );
        save(&*second, "k", "new").await;
        let third = f.create(&storage, &namespace).await.expect("create");
        assert_eq!(
            fetch(&*third, "k").await,
            b("new"),
            "the replacement of {damaged:?} is not shared by a new instance"
        );
        third.delete_all().await.expect("delete_all");
        assert_eq!(fetch(&*third, "k").await, None, "{damaged:?}");
    }
}

/// `delete_all` at PHP's largest int neither overflows nor wraps to a version whose entries
/// may still exist: it goes on from a version no entry was written under.
pub async fn delete_all_at_phps_largest_version_goes_on(f: &dyn DoctrineFactory) {
    let storage = unique_namespace("doctrine");
    let pool = needs_pool(f, &storage).await;
    let early = f.create(&storage, "ns").await.expect("create");
    save(&*early, "k", "version 1").await;
    write_version(&*pool, "ns", "i:9223372036854775807;").await;
    let c = f.create(&storage, "ns").await.expect("create");
    assert_eq!(fetch(&*c, "k").await, None, "version 1 showed through");
    save(&*c, "k", "at the largest version").await;
    assert_eq!(fetch(&*c, "k").await, b("at the largest version"));
    c.delete_all().await.expect("delete_all");
    assert_eq!(
        fetch(&*c, "k").await,
        None,
        "delete_all at the largest version"
    );
    let later = f.create(&storage, "ns").await.expect("create");
    assert_eq!(fetch(&*later, "k").await, None);
    save(&*later, "k", "after").await;
    assert_eq!(
        fetch(&*c, "k").await,
        b("after"),
        "instances disagree on the new version"
    );
}

/// A life time too far for a backend to represent (13 or 100 years, `1e17 s`) is kept by
/// `save` and `save_multiple`, never acknowledged and then lost.
pub async fn far_lifetimes_are_kept(f: &dyn DoctrineFactory) {
    let c = fresh(f).await;
    let year = Duration::from_secs(365 * 86_400);
    for life_time in [
        year * 13,
        year * 100,
        Duration::from_secs(1_000_000_000_000),
        Duration::from_secs(100_000_000_000_000_000),
        Duration::MAX,
    ] {
        c.save("one", Bytes::from_static(b"v"), life_time)
            .await
            .unwrap_or_else(|e| panic!("save for {life_time:?} failed: {e}"));
        c.save_multiple(&[("many", Bytes::from_static(b"v"))], life_time)
            .await
            .unwrap_or_else(|e| panic!("save_multiple for {life_time:?} failed: {e}"));
        for id in ["one", "many"] {
            assert_eq!(
                fetch(&*c, id).await,
                b("v"),
                "{id} saved for {life_time:?}: acknowledged, then not readable"
            );
        }
    }
}
