//! One case per test of php-cache's `CachePoolTest` (spec catalogue 6.3) and each applicable
//! Symfony `AdapterTestCase` extra (6.7). PHP's value types are checked through the typed
//! codec (`set_as` / `get_as`); PHP's `sleep` is a move of the manual clock.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cache_pool::{CacheItem, CacheItemPool, CacheItemPoolExt, Computed, PoolValues};
use cache_store::{Clock, Error, ErrorKind, Expiration, ManualClock};
use serde::{Deserialize, Serialize};

use super::PoolFactory;
use crate::env::unique_namespace;
use crate::unreadable::Unreadable;

/// The string members of PSR-6's `invalidKeys()` provider, plus the empty key.
pub const INVALID_KEYS: &[&str] = &[
    "",
    "{str",
    "rand{",
    "rand{str",
    "rand}str",
    "rand(str",
    "rand)str",
    "rand/str",
    "rand\\str",
    "rand@str",
    "rand:str",
];

async fn fresh(f: &dyn PoolFactory) -> Arc<dyn PoolValues> {
    pool_on(f, &unique_namespace("psr6"), None).await
}

async fn pool_on(
    f: &dyn PoolFactory,
    namespace: &str,
    default_lifetime: Option<Duration>,
) -> Arc<dyn PoolValues> {
    f.create(namespace, default_lifetime)
        .await
        .expect("the factory could not create a pool")
}

/// The case needs a clock the kit moves.
fn needs_clock(f: &dyn PoolFactory) -> ManualClock {
    crate::needs::clock(f.clock())
}

/// The case needs damaged value bytes under `key` of `namespace`.
async fn needs_damaged_bytes(f: &dyn PoolFactory, namespace: &str, key: &str) {
    let written = f
        .write_unreadable(namespace, key, Unreadable::Bytes)
        .await
        .expect("write_unreadable");
    crate::needs::written(crate::needs::Capability::DamagedBytes, written);
}

/// The case needs data the store cannot read as a value under `key` of `namespace`.
async fn needs_foreign_data(f: &dyn PoolFactory, namespace: &str, key: &str) {
    let written = f
        .write_unreadable(namespace, key, Unreadable::Foreign)
        .await
        .expect("write_unreadable");
    crate::needs::written(crate::needs::Capability::ForeignData, written);
}

async fn save(pool: &dyn CacheItemPool, key: &str, value: &'static str) {
    let mut item = pool.get_item(key).await.expect("get_item");
    item.set(value);
    pool.save(item).await.expect("save");
}

async fn defer(pool: &dyn CacheItemPool, key: &str, value: &'static str) {
    let mut item = pool.get_item(key).await.expect("get_item");
    item.set(value);
    pool.save_deferred(item).expect("save_deferred");
}

async fn value(pool: &dyn CacheItemPool, key: &str) -> Option<Bytes> {
    let item = pool.get_item(key).await.expect("get_item");
    assert_eq!(item.key(), key, "get_item must keep the key as asked");
    if item.is_hit() {
        Some(item.value().cloned().expect("a hit has a value"))
    } else {
        assert_eq!(item.value(), None, "a miss has no value");
        None
    }
}

fn b(s: &'static str) -> Option<Bytes> {
    Some(Bytes::from_static(s.as_bytes()))
}

/// testBasicUsage.
pub async fn basic_usage(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "4711").await;
    save(&*pool, "key2", "4712").await;
    assert_eq!(value(&*pool, "key").await, b("4711"));
    assert_eq!(value(&*pool, "key2").await, b("4712"));
    pool.delete_item("key").await.expect("delete_item");
    assert_eq!(value(&*pool, "key").await, None);
    assert_eq!(value(&*pool, "key2").await, b("4712"));
    pool.clear().await.expect("clear");
    assert_eq!(value(&*pool, "key").await, None);
    assert_eq!(value(&*pool, "key2").await, None);
}

/// testBasicUsageWithLongKey: a 300-character key.
pub async fn basic_usage_with_long_key(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let key = "a".repeat(300);
    let item = pool.get_item(&key).await.expect("get_item");
    assert!(!item.is_hit());
    assert_eq!(item.key(), key);
    save(&*pool, &key, "value").await;
    assert_eq!(value(&*pool, &key).await, b("value"));
    pool.delete_item(&key).await.expect("delete_item");
    assert_eq!(value(&*pool, &key).await, None);
}

/// testGetItem.
pub async fn get_item(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "value").await;
    assert_eq!(value(&*pool, "key").await, b("value"));
    let miss = pool.get_item("key2").await.expect("get_item");
    assert!(!miss.is_hit());
    assert_eq!(miss.value(), None);
}

/// testGetItems: one item per key asked, keyed by it, a hit exactly for the saved ones.
pub async fn get_items(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let keys = ["foo", "bar", "baz"];
    let items = pool.get_items(&keys).await.expect("get_items");
    assert_eq!(items.len(), 3);
    for item in items {
        let key = item.key().to_owned();
        let mut item = item;
        item.set(key);
        pool.save(item).await.expect("save");
    }
    let items = pool
        .get_items(&["foo", "bar", "baz", "biz"])
        .await
        .expect("get_items");
    assert_eq!(items.len(), 4);
    for item in &items {
        assert!(["foo", "bar", "baz", "biz"].contains(&item.key()));
        assert_eq!(item.is_hit(), item.key() != "biz", "{}", item.key());
        if item.is_hit() {
            assert_eq!(item.value().map(|v| &v[..]), Some(item.key().as_bytes()));
        }
    }
}

/// testGetItemsEmpty, and duplicates collapse to one item.
pub async fn get_items_empty_and_duplicates(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    assert!(pool.get_items(&[]).await.expect("get_items").is_empty());
    save(&*pool, "a", "1").await;
    let items = pool
        .get_items(&["a", "b", "a", "b", "a"])
        .await
        .expect("get_items");
    let keys: Vec<&str> = items.iter().map(|i| i.key()).collect();
    assert_eq!(
        keys,
        ["a", "b"],
        "duplicates must collapse, first appearance first"
    );
    assert!(items[0].is_hit() && !items[1].is_hit());
}

/// testHasItem.
pub async fn has_item(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "value").await;
    assert!(pool.has_item("key").await.expect("has_item"));
    assert!(!pool.has_item("key2").await.expect("has_item"));
}

/// testClear.
pub async fn clear(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "value").await;
    pool.clear().await.expect("clear");
    assert_eq!(value(&*pool, "key").await, None);
    assert!(!pool.has_item("key2").await.expect("has_item"));
    pool.clear().await.expect("clear of an empty pool");
}

/// testClearWithDeferredItems: clear drops the deferred queue.
pub async fn clear_with_deferred_items(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    defer(&*pool, "key", "value").await;
    pool.clear().await.expect("clear");
    pool.commit().await.expect("commit");
    assert_eq!(value(&*pool, "key").await, None);
}

/// testDeleteItem: deleting a missing key succeeds.
pub async fn delete_item(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "value").await;
    pool.delete_item("key").await.expect("delete_item");
    assert_eq!(value(&*pool, "key").await, None);
    assert!(!pool.has_item("key").await.expect("has_item"));
    pool.delete_item("key2")
        .await
        .expect("delete of a missing key");
}

/// testDeleteItems.
pub async fn delete_items(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    for k in ["foo", "bar", "baz"] {
        save(&*pool, k, "v").await;
    }
    pool.delete_items(&["foo", "bar", "biz"])
        .await
        .expect("delete_items");
    assert_eq!(value(&*pool, "foo").await, None);
    assert_eq!(value(&*pool, "bar").await, None);
    assert_eq!(value(&*pool, "baz").await, b("v"));
    assert_eq!(value(&*pool, "biz").await, None);
}

/// testSave.
pub async fn save_now(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "value").await;
    assert_eq!(value(&*pool, "key").await, b("value"));
}

/// testSaveExpired: saving an item whose expiry has passed leaves the key absent.
pub async fn save_expired(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set("value")
        .expires_after(Some(Duration::from_secs(10)));
    pool.save(item.clone()).await.expect("save");
    item.expires_at(Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1)));
    pool.save(item)
        .await
        .expect("saving an expired item succeeds");
    assert_eq!(
        value(&*pool, "key").await,
        None,
        "do not save expired items"
    );
}

/// testSaveWithoutExpire: a new pool instance on the namespace sees the value.
pub async fn save_without_expire(f: &dyn PoolFactory) {
    let namespace = unique_namespace("psr6");
    let pool = pool_on(f, &namespace, None).await;
    save(&*pool, "test_ttl_null", "data").await;
    let other = pool_on(f, &namespace, None).await;
    assert_eq!(value(&*other, "test_ttl_null").await, b("data"));
}

/// testDeferredSave: deferred items are hits before the commit.
pub async fn deferred_save(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    defer(&*pool, "key", "4711").await;
    defer(&*pool, "key2", "4712").await;
    assert!(pool.has_item("key").await.expect("has_item"));
    assert_eq!(value(&*pool, "key").await, b("4711"));
    assert_eq!(value(&*pool, "key2").await, b("4712"));
    let items = pool.get_items(&["key", "key2"]).await.expect("get_items");
    assert!(items.iter().all(|i| i.is_hit()));
    pool.commit().await.expect("commit");
    assert_eq!(value(&*pool, "key").await, b("4711"));
    assert_eq!(value(&*pool, "key2").await, b("4712"));
}

/// testDeferredExpired: an expired deferred item is absent before and after the commit.
pub async fn deferred_expired(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "stored").await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set("4711")
        .expires_at(Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1)));
    pool.save_deferred(item).expect("save_deferred");
    assert!(!pool.has_item("key").await.expect("has_item"));
    assert_eq!(
        value(&*pool, "key").await,
        None,
        "the stored value must not show through"
    );
    pool.commit().await.expect("commit");
    assert_eq!(value(&*pool, "key").await, None);
}

/// testDeleteDeferredItem.
pub async fn delete_deferred_item(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    defer(&*pool, "key", "4711").await;
    assert!(pool.get_item("key").await.expect("get_item").is_hit());
    pool.delete_item("key").await.expect("delete_item");
    assert!(!pool.has_item("key").await.expect("has_item"));
    assert_eq!(value(&*pool, "key").await, None);
    pool.commit().await.expect("commit");
    assert_eq!(value(&*pool, "key").await, None);
}

/// testDeferredSaveWithoutCommit: a pool dropped with deferred items commits them (in the
/// background, as Rust has no async `Drop`), so a fresh pool sees them.
pub async fn deferred_save_without_commit(f: &dyn PoolFactory) {
    let namespace = unique_namespace("psr6");
    let pool = pool_on(f, &namespace, None).await;
    defer(&*pool, "key", "4711").await;
    drop(pool);
    let fresh = pool_on(f, &namespace, None).await;
    // The commit runs on a spawned task: give it a bounded number of chances to land.
    for _ in 0..2_000 {
        if fresh.has_item("key").await.expect("has_item") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        value(&*fresh, "key").await,
        b("4711"),
        "deferred items of a dropped pool were lost"
    );
}

/// testCommit: committing nothing succeeds too.
pub async fn commit(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    defer(&*pool, "key", "value").await;
    pool.commit().await.expect("commit");
    assert_eq!(value(&*pool, "key").await, b("value"));
    pool.commit()
        .await
        .expect("a commit with nothing pending succeeds");
}

/// `get_value` (an extension) answers what `get_item` does: a hit's value, `None` for a
/// miss, a deferred item visible (and an expired deferred item absent, whatever the store
/// holds), an invalid key refused.
pub async fn get_value_answers_like_get_item(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "a", "1").await;
    assert_eq!(pool.get_value("a").await.expect("get_value"), b("1"));
    assert_eq!(pool.get_value("missing").await.expect("get_value"), None);
    defer(&*pool, "d", "deferred").await;
    assert_eq!(pool.get_value("d").await.expect("get_value"), b("deferred"));
    let mut expired = CacheItem::new("a").expect("a valid key");
    expired
        .set("gone")
        .expires(Expiration::After(Duration::ZERO));
    pool.save_deferred(expired).expect("save_deferred");
    assert_eq!(
        pool.get_value("a").await.expect("get_value"),
        None,
        "an expired deferred item must hide the stored value"
    );
    let err = pool.get_value("bad:key").await.expect_err("an invalid key");
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
}

/// `get_values` (an extension) answers what `get_items` does, one slot
/// per key asked: duplicates repeated, misses as `None`, deferred items visible, invalid keys
/// refused.
pub async fn get_values_answers_like_get_items(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "a", "1").await;
    defer(&*pool, "d", "deferred").await;
    let asked = ["a", "missing", "a", "d", "missing"];
    let expected = vec![b("1"), None, b("1"), b("deferred"), None];
    let values = pool.get_values(&asked).await.expect("get_values");
    assert_eq!(values, expected);
    pool.commit().await.expect("commit");
    let values = pool.get_values(&["d", "a"]).await.expect("get_values");
    assert_eq!(values, vec![b("deferred"), b("1")]);
    let values = pool
        .get_values(&["d", "missing", "a"])
        .await
        .expect("get_values");
    assert_eq!(values, vec![b("deferred"), None, b("1")]);
    assert!(pool.get_values(&[]).await.expect("no keys").is_empty());
    let err = pool
        .get_values(&["a", "bad:key"])
        .await
        .expect_err("an invalid key");
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
}

/// `save_values` (an extension) saves as `save_deferred` of an item per entry and `commit`
/// would: the last of two entries with one key wins, an already expired lifetime leaves the keys absent, a
/// queued older value of one of the keys does not win, and an invalid key anywhere in the
/// batch is refused before anything is written.
pub async fn save_values_is_deferred_saves_and_a_commit(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let never = Expiration::Never;
    pool.save_values(
        &[
            ("a", &Bytes::from_static(b"first")),
            ("b", &Bytes::from_static(b"b")),
            ("a", &Bytes::from_static(b"second")),
        ],
        never,
    )
    .await
    .expect("save_values");
    assert_eq!(value(&*pool, "a").await, b("second"));
    assert_eq!(value(&*pool, "b").await, b("b"));
    pool.save_values(
        &[("b", &Bytes::from_static(b"gone"))],
        Expiration::After(Duration::ZERO),
    )
    .await
    .expect("save_values");
    assert_eq!(value(&*pool, "b").await, None);

    defer(&*pool, "queued", "deferred").await;
    defer(&*pool, "a", "deferred a").await;
    pool.save_values(&[("a", &Bytes::from_static(b"newest a"))], never)
        .await
        .expect("save_values");
    pool.commit().await.expect("commit");
    assert_eq!(
        value(&*pool, "a").await,
        b("newest a"),
        "the older deferred value won"
    );
    assert_eq!(value(&*pool, "queued").await, b("deferred"));

    let err = pool
        .save_values(
            &[
                ("c", &Bytes::from_static(b"c")),
                ("bad:key", &Bytes::from_static(b"x")),
            ],
            never,
        )
        .await
        .expect_err("an invalid key");
    assert_eq!(err.kind(), ErrorKind::InvalidKey);
    assert_eq!(
        value(&*pool, "c").await,
        None,
        "written despite an invalid key"
    );
    pool.save_values(&[], never).await.expect("an empty batch");
}

/// testExpiration: an item saved with a 2 s lifetime misses 3 s later.
pub async fn expiration(f: &dyn PoolFactory) {
    let clock = needs_clock(f);
    let pool = fresh(f).await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set("value")
        .expires_after(Some(Duration::from_secs(2)));
    pool.save(item).await.expect("save");
    clock.advance(Duration::from_secs(3));
    let item = pool.get_item("key").await.expect("get_item");
    assert!(!item.is_hit());
    assert_eq!(item.value(), None);
}

/// testExpiresAt, testExpiresAtWithNull, testExpiresAfterWithNull.
pub async fn expires_at_and_null_expiries(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let now = SystemTime::now();
    for (key, at, after) in [
        ("at", Some(now + Duration::from_secs(7200)), None),
        ("at_null", None, None),
        ("after_null", None, None),
    ] {
        let mut item = pool.get_item(key).await.expect("get_item");
        item.set("value").expires_at(at);
        if key == "after_null" {
            item.expires_after(after);
        }
        pool.save(item).await.expect("save");
        assert!(
            pool.get_item(key).await.expect("get_item").is_hit(),
            "{key}"
        );
    }
}

/// testKeyLength: the 64-character PSR-6 alphabet.
pub async fn key_length(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let key = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.";
    assert_eq!(key.len(), 64);
    save(&*pool, key, "value").await;
    assert!(pool.has_item(key).await.expect("has_item"));
}

/// test{Get,Has,Delete}Item(s)InvalidKeys: every method refuses every invalid key before any
/// I/O (a batch with one invalid key touches none of the valid ones).
pub async fn invalid_keys_are_refused_before_any_io(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key1", "v").await;
    save(&*pool, "key2", "v").await;
    for &bad in INVALID_KEYS {
        let is_invalid_key = |r: Result<(), Error>, call: &str| match r {
            Err(e) if e.kind() == ErrorKind::InvalidKey => {}
            other => panic!("{call}({bad:?}) must fail with InvalidKey, got {other:?}"),
        };
        is_invalid_key(pool.get_item(bad).await.map(drop), "get_item");
        is_invalid_key(
            pool.get_items(&["key1", bad, "key2"]).await.map(drop),
            "get_items",
        );
        is_invalid_key(pool.has_item(bad).await.map(drop), "has_item");
        is_invalid_key(pool.delete_item(bad).await, "delete_item");
        is_invalid_key(
            pool.delete_items(&["key1", bad, "key2"]).await,
            "delete_items",
        );
        is_invalid_key(
            pool.get(bad, |_| async { Ok(Computed::new("x")) })
                .await
                .map(drop),
            "get",
        );
        assert_eq!(
            value(&*pool, "key1").await,
            b("v"),
            "a refused batch touched key1"
        );
        assert_eq!(
            value(&*pool, "key2").await,
            b("v"),
            "a refused batch touched key2"
        );
    }
}

/// testDataType*: values come back with their exact type (through the MessagePack codec).
pub async fn data_types_round_trip_exactly(f: &dyn PoolFactory) {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Object {
        a: String,
    }
    let pool = fresh(f).await;
    let mut item = pool.get_item("string").await.expect("get_item");
    item.set_as(&"5").expect("encode");
    pool.save(item).await.expect("save");
    let mut item = pool.get_item("int").await.expect("get_item");
    item.set_as(&5i64).expect("encode");
    pool.save(item).await.expect("save");
    let mut item = pool.get_item("null").await.expect("get_item");
    item.set_as(&None::<i64>).expect("encode");
    pool.save(item).await.expect("save");
    let mut item = pool.get_item("float").await.expect("get_item");
    item.set_as(&1.23456789f64).expect("encode");
    pool.save(item).await.expect("save");
    let mut item = pool.get_item("bool").await.expect("get_item");
    item.set_as(&true).expect("encode");
    pool.save(item).await.expect("save");
    let mut map = BTreeMap::new();
    map.insert("a".to_owned(), "foo".to_owned());
    map.insert("2".to_owned(), "bar".to_owned());
    let mut item = pool.get_item("array").await.expect("get_item");
    item.set_as(&map).expect("encode");
    pool.save(item).await.expect("save");
    let mut item = pool.get_item("object").await.expect("get_item");
    item.set_as(&Object { a: "foo".into() }).expect("encode");
    pool.save(item).await.expect("save");

    let get = |key: &'static str| {
        let pool = Arc::clone(&pool);
        async move { pool.get_item(key).await.expect("get_item") }
    };
    assert_eq!(get("string").await.get_as::<String>().as_deref(), Some("5"));
    assert_eq!(
        get("string").await.get_as::<i64>(),
        None,
        "'5' must not come back as 5"
    );
    assert_eq!(get("int").await.get_as::<i64>(), Some(5));
    assert_eq!(
        get("int").await.get_as::<String>(),
        None,
        "5 must not come back as '5'"
    );
    let null = get("null").await;
    assert!(null.is_hit(), "a stored null is a hit");
    assert_eq!(null.get_as::<Option<i64>>(), Some(None));
    assert!(pool.has_item("null").await.expect("has_item"));
    assert_eq!(get("float").await.get_as::<f64>(), Some(1.23456789));
    assert_eq!(get("bool").await.get_as::<bool>(), Some(true));
    assert_eq!(
        get("array").await.get_as::<BTreeMap<String, String>>(),
        Some(map)
    );
    assert_eq!(
        get("object").await.get_as::<Object>(),
        Some(Object { a: "foo".into() })
    );
}

/// testBinaryData: every byte value round-trips, and so does the empty value.
pub async fn binary_data(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let all: Bytes = (0..=255u8).collect::<Vec<_>>().into();
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set(all.clone());
    pool.save(item).await.expect("save");
    assert_eq!(value(&*pool, "key").await, Some(all));
    save(&*pool, "empty", "").await;
    assert_eq!(
        value(&*pool, "empty").await,
        Some(Bytes::new()),
        "an empty value is a hit"
    );
}

/// testIsHit, testIsHitDeferred.
pub async fn is_hit_and_is_hit_deferred(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "key", "value").await;
    assert!(pool.get_item("key").await.expect("get_item").is_hit());
    defer(&*pool, "deferred", "value").await;
    assert!(pool.get_item("deferred").await.expect("get_item").is_hit());
    pool.commit().await.expect("commit");
    assert!(pool.get_item("deferred").await.expect("get_item").is_hit());
}

/// testSaveDeferredWhenChangingValues: the queue holds a snapshot.
pub async fn save_deferred_when_changing_values(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set("value");
    pool.save_deferred(item.clone()).expect("save_deferred");
    item.set("changed after queueing");
    let mut other = pool.get_item("key").await.expect("get_item");
    other.set("new value"); // never saved
    assert_eq!(value(&*pool, "key").await, b("value"));
    pool.commit().await.expect("commit");
    assert_eq!(value(&*pool, "key").await, b("value"));
}

/// testSaveDeferredOverwrite: a second save_deferred replaces the first.
pub async fn save_deferred_overwrite(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    defer(&*pool, "key", "value").await;
    defer(&*pool, "key", "new value").await;
    assert_eq!(value(&*pool, "key").await, b("new value"));
    pool.commit().await.expect("commit");
    assert_eq!(value(&*pool, "key").await, b("new value"));
}

/// testHasItemReturnsFalseWhenDeferredItemIsExpired.
pub async fn has_item_is_false_for_an_expired_deferred_item(f: &dyn PoolFactory) {
    let clock = needs_clock(f);
    let pool = fresh(f).await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set("value")
        .expires_after(Some(Duration::from_secs(2)));
    pool.save_deferred(item).expect("save_deferred");
    clock.advance(Duration::from_secs(3));
    assert!(!pool.has_item("key").await.expect("has_item"));
}

/// A relative lifetime set with `expires(After(d))` counts from the write to the store: for a
/// deferred item, from its commit. The item does not expire while it waits in the queue, and
/// lives its whole lifetime once written (this crate's rule; PSR-6's `expires_after` fixes the
/// instant at the call, checked above).
pub async fn a_deferred_items_relative_lifetime_starts_at_its_commit(f: &dyn PoolFactory) {
    let clock = needs_clock(f);
    let pool = fresh(f).await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set("value")
        .expires(Expiration::After(Duration::from_secs(10)));
    pool.save_deferred(item).expect("save_deferred");
    clock.advance(Duration::from_secs(60));
    assert!(
        pool.has_item("key").await.expect("has_item"),
        "live while queued"
    );
    pool.commit().await.expect("commit");
    clock.advance(Duration::from_secs(9));
    assert_eq!(
        value(&*pool, "key").await,
        b("value"),
        "10 s from the commit"
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(value(&*pool, "key").await, None);
}

/// Symfony testGet: computed once; beta 0 never recomputes; beta INF always does and sees the
/// old value as a hit.
pub async fn get_computes_once_and_honours_beta(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = |value: &'static str| {
        let calls = Arc::clone(&calls);
        move |item: cache_pool::CacheItem| async move {
            assert_eq!(item.key(), "foo");
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(Computed::new(value))
        }
    };
    assert_eq!(
        &pool.get("foo", counted("first")).await.expect("get")[..],
        b"first"
    );
    assert_eq!(value(&*pool, "foo").await, b("first"));
    assert_eq!(
        &pool
            .get_with_beta("foo", 0.0, counted("x"))
            .await
            .expect("get")[..],
        b"first"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "beta 0 recomputed");
    let seen_old = Arc::new(std::sync::Mutex::new(None));
    let seen = Arc::clone(&seen_old);
    let forced = pool
        .get_with_beta("foo", f64::INFINITY, move |item| async move {
            *seen.lock().expect("lock") = Some((item.is_hit(), item.value().cloned()));
            Ok(Computed::new("forced"))
        })
        .await
        .expect("get");
    assert_eq!(&forced[..], b"forced");
    assert_eq!(
        seen_old.lock().expect("lock").clone(),
        Some((true, b("first"))),
        "beta INF must pass the hit with its old value"
    );
    let err = pool
        .get_with_beta("foo", -1.0, counted("x"))
        .await
        .expect_err("a negative beta is refused");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

/// A computed value carries its expiry and computation time (for early recomputation); a hit
/// saved again is written without them, as in PHP (`newMetadata`): the expiry it was read
/// with would no longer be its own, and a stale expiry in the past would elect every later
/// `get` for recomputation.
pub async fn a_resaved_hit_drops_its_computed_metadata(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    pool.get("foo", |_| async {
        Ok(Computed::new("computed").expires_after(Duration::from_secs(60)))
    })
    .await
    .expect("get");
    let mut item = pool.get_item("foo").await.expect("get_item");
    assert!(
        item.metadata().is_some(),
        "a value computed with an expiry lost its metadata"
    );
    item.set(&b"saved"[..])
        .expires_after(Some(Duration::from_secs(3600)));
    pool.save(item).await.expect("save");
    let item = pool.get_item("foo").await.expect("get_item");
    assert_eq!(item.value().map(|v| &v[..]), Some(&b"saved"[..]));
    assert_eq!(
        item.metadata(),
        None,
        "a re-saved hit kept the expiry it was computed with"
    );
}

/// A forced `get` (`beta` INFINITY) while another caller recomputes the key early never
/// answers with the old value: it waits for the new one (or computes its own).
pub async fn a_forced_get_never_answers_the_old_value(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    pool.get("foo", |_| async {
        // Long enough that the computation's time is at least a millisecond.
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(Computed::new("old").expires_after(Duration::from_secs(60)))
    })
    .await
    .expect("get");
    let (started, has_started) = tokio::sync::oneshot::channel();
    let early = tokio::spawn({
        let pool = Arc::clone(&pool);
        async move {
            // A head start of a million hours: elected whatever the draw.
            pool.get_with_beta("foo", 1e9, move |_| async move {
                let _ = started.send(());
                // Long enough that the forced caller arrives while this runs.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(Computed::new("early").expires_after(Duration::from_secs(60)))
            })
            .await
        }
    });
    has_started.await.expect("the early recomputation started");
    let forced = pool
        .get_with_beta("foo", f64::INFINITY, |_| async {
            Ok(Computed::new("forced").expires_after(Duration::from_secs(60)))
        })
        .await
        .expect("get");
    assert_ne!(&forced[..], b"old", "a forced get answered the old value");
    let early = early.await.expect("task panicked").expect("get");
    assert_eq!(&early[..], b"early");
}

/// 100 concurrent gets of one key run the computation once and all get its value.
pub async fn concurrent_gets_compute_once(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let pool = Arc::clone(&pool);
            let calls = Arc::clone(&calls);
            tokio::spawn(async move {
                pool.get("hot", move |_| async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    // Long enough that every caller arrives while it runs.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(Computed::new("computed"))
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        let value = task.await.expect("task panicked").expect("get");
        assert_eq!(&value[..], b"computed");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the computation ran more than once"
    );
}

/// A failed computation is returned to every waiter and not cached: the next get computes.
pub async fn get_shares_errors_and_does_not_cache_them(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let err = pool
        .get("k", |_| async {
            Err(Error::compute(std::io::Error::other("database down")))
        })
        .await
        .expect_err("the error is returned");
    assert_eq!(err.kind(), ErrorKind::Compute);
    assert!(!pool.has_item("k").await.expect("has_item"));
    let value = pool
        .get("k", |_| async { Ok(Computed::new("recovered")) })
        .await
        .expect("get");
    assert_eq!(&value[..], b"recovered");
}

/// Symfony testRecursiveGet: a nested get of another key is computed once and cached; a nested
/// get of the same key does not deadlock.
pub async fn recursive_get(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let k2_calls = Arc::new(AtomicUsize::new(0));
    let outer_pool = Arc::clone(&pool);
    let calls = Arc::clone(&k2_calls);
    let v1 = pool
        .get("k1", move |_| async move {
            for _ in 0..2 {
                let calls = Arc::clone(&calls);
                let v = outer_pool
                    .get("k2", move |_| async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Ok(Computed::new("1"))
                    })
                    .await?;
                assert_eq!(&v[..], b"1");
            }
            // The same key, nested: computed directly, not saved, no deadlock.
            let same = outer_pool
                .get("k1", |_| async { Ok(Computed::new("inner")) })
                .await?;
            assert_eq!(&same[..], b"inner");
            Ok(Computed::new("1"))
        })
        .await
        .expect("get");
    assert_eq!(&v1[..], b"1");
    assert_eq!(
        k2_calls.load(Ordering::SeqCst),
        1,
        "the nested k2 was computed twice"
    );
    let v2 = pool
        .get("k2", |_| async { unreachable!("k2 must be cached") })
        .await
        .expect("get");
    assert_eq!(&v2[..], b"1");
    assert_eq!(
        value(&*pool, "k1").await,
        b("1"),
        "the inner same-key value was saved"
    );
}

/// Symfony testDontSaveWhenAskedNotTo.
pub async fn dont_save_when_asked_not_to(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let v = pool
        .get("k", |_| async { Ok(Computed::new("1").dont_save()) })
        .await
        .expect("get");
    assert_eq!(&v[..], b"1");
    let v = pool
        .get("k", |_| async { Ok(Computed::new("2")) })
        .await
        .expect("get");
    assert_eq!(&v[..], b"2");
    let v = pool
        .get("k", |_| async { Ok(Computed::new("3")) })
        .await
        .expect("get");
    assert_eq!(&v[..], b"2");
}

/// Symfony testGetMetadata: a computed value with an expiry records it and its ctime.
pub async fn get_records_metadata(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let before = f.clock().map_or_else(SystemTime::now, |c| c.now());
    pool.get("k", |_| async {
        Ok(Computed::new("v").expires_after(Duration::from_secs(10)))
    })
    .await
    .expect("get");
    let item = pool.get_item("k").await.expect("get_item");
    assert_eq!(
        item.value().map(|v| &v[..]),
        Some(&b"v"[..]),
        "metadata leaked into the value"
    );
    let meta = item
        .metadata()
        .expect("a computed value with an expiry has metadata");
    let before_ms = before
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    assert!(
        meta.expiry_ms >= before_ms + 10_000 && meta.expiry_ms <= before_ms + 11_000,
        "expiry {} is not 10 s after {before_ms}",
        meta.expiry_ms
    );
    let items = pool.get_items(&["k"]).await.expect("get_items");
    assert_eq!(
        items[0].value().map(|v| &v[..]),
        Some(&b"v"[..]),
        "get_items leaked metadata"
    );
}

/// Symfony testDefaultLifeTime: items saved without an expiry take the pool's default.
pub async fn default_lifetime(f: &dyn PoolFactory) {
    let clock = needs_clock(f);
    let pool = pool_on(f, &unique_namespace("psr6"), Some(Duration::from_secs(2))).await;
    save(&*pool, "key", "value").await;
    clock.advance(Duration::from_secs(1));
    assert!(pool.get_item("key").await.expect("get_item").is_hit());
    clock.advance(Duration::from_secs(2));
    assert!(!pool.get_item("key").await.expect("get_item").is_hit());
}

/// Symfony testExpiration: 2 s misses after 3 s, 366 days still hits (memcached's 30-day
/// rule).
pub async fn short_and_very_long_lifetimes(f: &dyn PoolFactory) {
    let clock = needs_clock(f);
    let pool = fresh(f).await;
    let mut k1 = pool.get_item("k1").await.expect("get_item");
    k1.set("v1").expires_after(Some(Duration::from_secs(2)));
    pool.save(k1).await.expect("save");
    let mut k2 = pool.get_item("k2").await.expect("get_item");
    k2.set("v2")
        .expires_after(Some(Duration::from_secs(366 * 86_400)));
    pool.save(k2).await.expect("save");
    clock.advance(Duration::from_secs(3));
    assert_eq!(value(&*pool, "k1").await, None);
    assert_eq!(value(&*pool, "k2").await, b("v2"));
}

/// Symfony testNotUnserializable: a value that does not decode is a miss, through get_item and
/// get_items alike.
pub async fn undecodable_values_are_misses(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set_as(&"not a number").expect("encode");
    pool.save(item).await.expect("save");
    assert_eq!(
        pool.get_item("key")
            .await
            .expect("get_item")
            .get_as::<u64>(),
        None
    );
    let items = pool.get_items(&["key"]).await.expect("get_items");
    assert_eq!(items[0].get_as::<u64>(), None);
}

/// Symfony testWeirdDataMatchingMetadataWrappedValues: user data that looks like the metadata
/// envelope is returned as it was stored.
pub async fn data_that_looks_like_metadata_round_trips(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let marker = cache_pool::envelope::MARKER;
    for (i, raw) in [
        vec![marker],
        vec![marker, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        vec![marker, 0x00, b'x'],
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("weird{i}");
        let mut item = pool.get_item(&key).await.expect("get_item");
        item.set(raw.clone());
        pool.save(item).await.expect("save");
        assert!(pool.has_item(&key).await.expect("has_item"));
        let item = pool.get_item(&key).await.expect("get_item");
        assert_eq!(item.value().map(|v| v.to_vec()), Some(raw));
        assert_eq!(item.metadata(), None);
    }
}

/// Symfony testNullByteInKey.
pub async fn null_byte_in_key(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    save(&*pool, "a\0b", "123").await;
    assert_eq!(value(&*pool, "a\0b").await, b("123"));
    assert_eq!(value(&*pool, "a").await, None);
}

/// Symfony testNumericKeysWorkAfterMemoryLeakPrevention: keys "0" to "1000".
pub async fn numeric_keys(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    for i in 0..=1000 {
        let mut item = pool.get_item(&i.to_string()).await.expect("get_item");
        item.set(format!("value-{i}"));
        pool.save_deferred(item).expect("save_deferred");
    }
    pool.commit().await.expect("commit");
    assert_eq!(
        pool.get_item("50")
            .await
            .expect("get_item")
            .value()
            .map(|v| &v[..]),
        Some(&b"value-50"[..])
    );
}

/// A sub-second lifetime is kept as such: a hit until it ends, a miss from then on (PHP's
/// Doctrine bridge truncated it to 0, "forever").
pub async fn sub_second_lifetimes_are_kept(f: &dyn PoolFactory) {
    let clock = needs_clock(f);
    let pool = fresh(f).await;
    let mut item = pool.get_item("key").await.expect("get_item");
    item.set("value")
        .expires_after(Some(Duration::from_millis(500)));
    pool.save(item).await.expect("save");
    clock.advance(Duration::from_millis(499));
    assert!(pool.get_item("key").await.expect("get_item").is_hit());
    clock.advance(Duration::from_millis(1));
    assert!(
        !pool.get_item("key").await.expect("get_item").is_hit(),
        "500 ms became longer"
    );
}

/// Damaged value bytes under a key (a metadata envelope cut short) get one answer from every
/// read: a miss from `get_item`, `get_items`, `get_value`, `get_values` and `has_item` alike,
/// the keys beside it still served, and a save replaces them.
pub async fn damaged_bytes_read_the_same_from_every_read(f: &dyn PoolFactory) {
    let namespace = unique_namespace("psr6");
    let pool = pool_on(f, &namespace, None).await;
    save(&*pool, "fine", "ok").await;
    needs_damaged_bytes(f, &namespace, "bad").await;
    every_read_misses(&*pool, "bad", "damaged bytes").await;
}

/// Data under a key that the store cannot read as a value (a Redis list another program
/// pushed) gets one answer from every read, as damaged bytes do.
pub async fn foreign_data_reads_the_same_from_every_read(f: &dyn PoolFactory) {
    let namespace = unique_namespace("psr6");
    let pool = pool_on(f, &namespace, None).await;
    save(&*pool, "fine", "ok").await;
    needs_foreign_data(f, &namespace, "bad").await;
    every_read_misses(&*pool, "bad", "foreign data").await;
}

/// Every read of `bad` misses while `fine` is served beside it; a save then replaces `bad`.
async fn every_read_misses(pool: &dyn PoolValues, bad: &str, what: &str) {
    assert_eq!(value(pool, bad).await, None, "{what}: get_item");
    let items = pool.get_items(&["fine", bad]).await.expect("get_items");
    assert_eq!(
        items[0].value().cloned(),
        b("ok"),
        "{what}: the key beside it"
    );
    assert!(!items[1].is_hit(), "{what}: get_items");
    assert_eq!(
        pool.get_value(bad).await.expect("get_value"),
        None,
        "{what}"
    );
    let values = pool.get_values(&[bad, "fine"]).await.expect("get_values");
    assert_eq!(values, [None, b("ok")], "{what}: get_values");
    assert!(
        !pool.has_item(bad).await.expect("has_item"),
        "{what}: has_item says there is an item get_item misses"
    );
    save(pool, bad, "mine").await;
    assert_eq!(
        value(pool, bad).await,
        b("mine"),
        "{what}: a save replaces it"
    );
}

/// Deferred items with lifetimes too far for a backend (13 or 100 years, `1e17 s`, an instant
/// 40 years ahead) and one the backend may refuse for its size commit beside good items; what
/// is refused is reported and dropped, never kept to fail the commits after it, and the pool
/// goes on working.
pub async fn a_refused_or_far_item_never_blocks_the_pool(f: &dyn PoolFactory) {
    let pool = fresh(f).await;
    let now = f.clock().map_or_else(SystemTime::now, |clock| clock.now());
    let far = crate::lifetimes::far_expirations(now);
    for (i, (_, expiration)) in far.iter().enumerate() {
        let mut item = CacheItem::new(&format!("far{i}")).expect("valid key");
        item.set("v").expires(*expiration);
        pool.save_deferred(item).expect("save_deferred");
    }
    let oversized = Bytes::from(vec![b'x'; 2 * 1024 * 1024]);
    let mut big = CacheItem::new("big").expect("valid key");
    big.set(oversized.clone());
    pool.save_deferred(big).expect("save_deferred");
    defer(&*pool, "good", "g").await;

    match pool.commit().await {
        Ok(()) => assert_eq!(value(&*pool, "big").await, Some(oversized)),
        Err(err) => {
            assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
            assert_eq!(
                value(&*pool, "big").await,
                None,
                "a refused item is not kept"
            );
        }
    }
    pool.commit()
        .await
        .expect("nothing refused may stay queued to fail the next commit");
    assert_eq!(value(&*pool, "good").await, b("g"));
    for (i, (what, _)) in far.iter().enumerate() {
        assert_eq!(
            value(&*pool, &format!("far{i}")).await,
            b("v"),
            "an item expiring after {what}: committed, then not readable"
        );
    }
    // The pool is not poisoned: later saves and commits succeed.
    save(&*pool, "after", "a").await;
    defer(&*pool, "deferred after", "d").await;
    pool.commit().await.expect("a later commit");
    assert_eq!(value(&*pool, "after").await, b("a"));
    assert_eq!(value(&*pool, "deferred after").await, b("d"));
}
