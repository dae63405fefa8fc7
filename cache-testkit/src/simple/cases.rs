//! One case per applicable test of php-cache's `SimpleCacheTest` (spec catalogue 6.4) and of
//! Symfony's `Psr16CacheTest` extras. PHP's types are checked through the typed codec.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_store::{Error, ErrorKind, Expiration, ManualClock};
use serde::{Deserialize, Serialize};
use simple_cache::{SimpleCache, SimpleCacheExt, ttl_seconds};

use super::SimpleCacheFactory;
use crate::env::unique_namespace;
use crate::unreadable::Unreadable;

/// The string members of PSR-16's `invalidKeys()` provider.
pub const INVALID_KEYS: &[&str] = crate::pool::cases::INVALID_KEYS;

async fn fresh(f: &dyn SimpleCacheFactory) -> Arc<dyn SimpleCache> {
    f.create(&unique_namespace("psr16"), None)
        .await
        .expect("the factory could not create a cache")
}

/// The case needs a clock the kit moves.
fn needs_clock(f: &dyn SimpleCacheFactory) -> ManualClock {
    crate::needs::clock(f.clock())
}

/// The case needs damaged value bytes under `key` of `namespace`.
async fn needs_damaged_bytes(f: &dyn SimpleCacheFactory, namespace: &str, key: &str) {
    let written = f
        .write_unreadable(namespace, key, Unreadable::Bytes)
        .await
        .expect("write_unreadable");
    crate::needs::written(crate::needs::Capability::DamagedBytes, written);
}

/// The case needs data the store cannot read as a value under `key` of `namespace`.
async fn needs_foreign_data(f: &dyn SimpleCacheFactory, namespace: &str, key: &str) {
    let written = f
        .write_unreadable(namespace, key, Unreadable::Foreign)
        .await
        .expect("write_unreadable");
    crate::needs::written(crate::needs::Capability::ForeignData, written);
}

fn b(s: &'static str) -> Option<Bytes> {
    Some(Bytes::from_static(s.as_bytes()))
}

async fn get(c: &dyn SimpleCache, key: &str) -> Option<Bytes> {
    c.get(key).await.expect("get")
}

async fn set(c: &dyn SimpleCache, key: &str, value: &'static str) {
    c.set(
        key,
        Bytes::from_static(value.as_bytes()),
        Expiration::Default,
    )
    .await
    .expect("set");
}

/// testSet.
pub async fn set_then_get(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    set(&*c, "key", "value").await;
    assert_eq!(get(&*c, "key").await, b("value"));
}

/// testSetTtl: an integer TTL and a duration both expire.
pub async fn set_ttl(f: &dyn SimpleCacheFactory) {
    let clock = needs_clock(f);
    let c = fresh(f).await;
    c.set("key1", "value".into(), ttl_seconds(2))
        .await
        .expect("set");
    c.set(
        "key2",
        "value".into(),
        Expiration::After(Duration::from_secs(2)),
    )
    .await
    .expect("set");
    assert_eq!(get(&*c, "key1").await, b("value"));
    assert_eq!(get(&*c, "key2").await, b("value"));
    clock.advance(Duration::from_secs(3));
    assert_eq!(get(&*c, "key1").await, None);
    assert_eq!(get(&*c, "key2").await, None);
}

/// testSetExpiredTtl: a TTL of 0 or less deletes.
pub async fn set_expired_ttl(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    set(&*c, "key0", "value").await;
    c.set("key0", "value".into(), ttl_seconds(0))
        .await
        .expect("set with ttl 0 succeeds");
    c.set("key1", "value".into(), ttl_seconds(-1))
        .await
        .expect("set with ttl -1 succeeds");
    for key in ["key0", "key1"] {
        assert_eq!(get(&*c, key).await, None, "{key}");
        assert!(!c.has(key).await.expect("has"), "{key}");
    }
}

/// testGet and testObjectAsDefaultValue: the default comes back on a miss only.
pub async fn get_with_default(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    assert_eq!(get(&*c, "key").await, None);
    assert_eq!(c.get_or("key", "foo".into()).await.expect("get_or"), "foo");
    set(&*c, "key", "value").await;
    assert_eq!(
        c.get_or("key", "foo".into()).await.expect("get_or"),
        "value"
    );
}

/// testDelete.
pub async fn delete(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    c.delete("key")
        .await
        .expect("delete of an absent key succeeds");
    set(&*c, "key", "value").await;
    c.delete("key").await.expect("delete");
    assert_eq!(get(&*c, "key").await, None);
}

/// testClear.
pub async fn clear(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    c.clear().await.expect("clear of an empty cache");
    set(&*c, "key", "value").await;
    c.clear().await.expect("clear");
    assert_eq!(get(&*c, "key").await, None);
}

/// testSetMultiple and testSetMultipleWithIntegerArrayKey.
pub async fn set_multiple(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    c.set_multiple(
        &[
            ("key0", "value0".into()),
            ("key1", "value1".into()),
            ("0", "zero".into()),
        ],
        Expiration::Default,
    )
    .await
    .expect("set_multiple");
    assert_eq!(get(&*c, "key0").await, b("value0"));
    assert_eq!(get(&*c, "key1").await, b("value1"));
    assert_eq!(get(&*c, "0").await, b("zero"));
}

/// testSetMultipleTtl.
pub async fn set_multiple_ttl(f: &dyn SimpleCacheFactory) {
    let clock = needs_clock(f);
    let c = fresh(f).await;
    c.set_multiple(
        &[("key2", "value2".into()), ("key3", "value3".into())],
        ttl_seconds(2),
    )
    .await
    .expect("set_multiple");
    c.set_multiple(
        &[("key4", "value4".into())],
        Expiration::After(Duration::from_secs(2)),
    )
    .await
    .expect("set_multiple");
    assert_eq!(get(&*c, "key2").await, b("value2"));
    assert_eq!(get(&*c, "key4").await, b("value4"));
    clock.advance(Duration::from_secs(3));
    for key in ["key2", "key3", "key4"] {
        assert_eq!(get(&*c, key).await, None, "{key}");
    }
}

/// testSetMultipleExpiredTtl.
pub async fn set_multiple_expired_ttl(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    set(&*c, "key0", "old").await;
    c.set_multiple(
        &[("key0", "value0".into()), ("key1", "value1".into())],
        ttl_seconds(0),
    )
    .await
    .expect("set_multiple");
    assert_eq!(get(&*c, "key0").await, None);
    assert_eq!(get(&*c, "key1").await, None);
}

/// testGetMultiple, testGetMultipleWithGenerator: one slot per key asked, in order,
/// duplicates included; reading changes nothing.
pub async fn get_multiple(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    assert_eq!(
        c.get_multiple(&["key0", "key1"])
            .await
            .expect("get_multiple"),
        [None, None]
    );
    assert!(c.get_multiple(&[]).await.expect("get_multiple").is_empty());
    set(&*c, "key3", "value").await;
    assert_eq!(
        c.get_multiple(&["key2", "key3", "key4"])
            .await
            .expect("get_multiple"),
        [None, b("value"), None]
    );
    set(&*c, "key0", "value0").await;
    assert_eq!(
        c.get_multiple(&["key0", "key1", "key0"])
            .await
            .expect("get_multiple"),
        [b("value0"), None, b("value0")]
    );
    assert_eq!(get(&*c, "key1").await, None, "get_multiple must not write");
}

/// testDeleteMultiple, testDeleteMultipleGenerator.
pub async fn delete_multiple(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    c.delete_multiple(&[])
        .await
        .expect("delete_multiple of nothing");
    c.delete_multiple(&["key"])
        .await
        .expect("delete_multiple of an absent key");
    set(&*c, "key0", "value0").await;
    set(&*c, "key1", "value1").await;
    set(&*c, "key2", "value2").await;
    c.delete_multiple(&["key0", "key1", "key0"])
        .await
        .expect("delete_multiple");
    assert_eq!(get(&*c, "key0").await, None);
    assert_eq!(get(&*c, "key1").await, None);
    assert_eq!(get(&*c, "key2").await, b("value2"));
}

/// testHas.
pub async fn has(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    assert!(!c.has("key0").await.expect("has"));
    set(&*c, "key0", "value").await;
    assert!(c.has("key0").await.expect("has"));
}

/// testBasicUsageWithLongKey: 300 characters.
pub async fn basic_usage_with_long_key(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    let key = "a".repeat(300);
    assert!(!c.has(&key).await.expect("has"));
    set(&*c, &key, "value").await;
    assert!(c.has(&key).await.expect("has"));
    assert_eq!(get(&*c, &key).await, b("value"));
    c.delete(&key).await.expect("delete");
    assert!(!c.has(&key).await.expect("has"));
}

/// test*InvalidKeys: every method refuses every invalid key, and a multiple call with one
/// invalid key does nothing at all.
pub async fn invalid_keys_are_refused_before_any_io(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    set(&*c, "key1", "old").await;
    set(&*c, "key2", "old").await;
    for &bad in INVALID_KEYS {
        let check = |r: Result<(), Error>, call: &str| match r {
            Err(e) if e.kind() == ErrorKind::InvalidKey => {}
            other => panic!("{call}({bad:?}) must fail with InvalidKey, got {other:?}"),
        };
        check(c.get(bad).await.map(drop), "get");
        check(
            c.get_multiple(&["key1", bad, "key2"]).await.map(drop),
            "get_multiple",
        );
        check(
            c.set(bad, "foobar".into(), Expiration::Default).await,
            "set",
        );
        check(
            c.set_multiple(
                &[
                    ("key1", "new".into()),
                    (bad, "foobar".into()),
                    ("key2", "new".into()),
                ],
                Expiration::Default,
            )
            .await,
            "set_multiple",
        );
        check(c.has(bad).await.map(drop), "has");
        check(c.delete(bad).await, "delete");
        check(
            c.delete_multiple(&["key1", bad, "key2"]).await,
            "delete_multiple",
        );
        assert_eq!(
            get(&*c, "key1").await,
            b("old"),
            "a refused call touched key1"
        );
        assert_eq!(
            get(&*c, "key2").await,
            b("old"),
            "a refused call touched key2"
        );
    }
}

/// testNullOverwrite: storing null over a value overwrites it.
pub async fn null_overwrite(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    c.set_as("key", &5i64, Expiration::Default)
        .await
        .expect("set_as");
    c.set_as("key", &None::<i64>, Expiration::Default)
        .await
        .expect("set_as");
    assert_eq!(
        c.get_as::<Option<i64>>("key").await.expect("get_as"),
        Some(None)
    );
}

/// testDataType*, testSetValidData, testSetMultipleValidData: exact types round-trip.
pub async fn data_types_round_trip_exactly(f: &dyn SimpleCacheFactory) {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Object {
        a: String,
    }
    let c = fresh(f).await;
    let ttl = Expiration::Default;
    c.set_as("string", "5", ttl).await.expect("set_as");
    c.set_as("int", &5i64, ttl).await.expect("set_as");
    c.set_as("float", &1.23456789f64, ttl)
        .await
        .expect("set_as");
    c.set_as("false", &false, ttl).await.expect("set_as");
    let mut map = BTreeMap::new();
    map.insert("a".to_owned(), "foo".to_owned());
    map.insert("2".to_owned(), "bar".to_owned());
    c.set_as("array", &map, ttl).await.expect("set_as");
    c.set_as("object", &Object { a: "foo".into() }, ttl)
        .await
        .expect("set_as");
    assert_eq!(
        c.get_as::<String>("string")
            .await
            .expect("get_as")
            .as_deref(),
        Some("5")
    );
    assert_eq!(c.get_as::<i64>("string").await.expect("get_as"), None);
    assert_eq!(c.get_as::<i64>("int").await.expect("get_as"), Some(5));
    assert_eq!(
        c.get_as::<f64>("float").await.expect("get_as"),
        Some(1.23456789)
    );
    assert_eq!(
        c.get_as::<bool>("false").await.expect("get_as"),
        Some(false)
    );
    assert!(
        c.has("false").await.expect("has"),
        "a stored false is present"
    );
    assert_eq!(
        c.get_as::<BTreeMap<String, String>>("array")
            .await
            .expect("get_as"),
        Some(map)
    );
    assert_eq!(
        c.get_as::<Object>("object").await.expect("get_as"),
        Some(Object { a: "foo".into() })
    );
    let encoded =
        cache_store::codec::Codec::encode(&cache_store::codec::MsgPack, &4711i64).expect("encode");
    c.set_multiple(&[("multi", encoded)], ttl)
        .await
        .expect("set_multiple");
    let got = c.get_multiple(&["multi"]).await.expect("get_multiple");
    let decoded: i64 = cache_store::codec::Codec::decode(
        &cache_store::codec::MsgPack,
        got[0].as_deref().expect("a hit"),
    )
    .expect("decode");
    assert_eq!(decoded, 4711);
}

/// testBinaryData.
pub async fn binary_data(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    let all: Bytes = (0..=255u8).collect::<Vec<_>>().into();
    c.set("key", all.clone(), Expiration::Default)
        .await
        .expect("set");
    assert_eq!(get(&*c, "key").await, Some(all));
    c.set("empty", Bytes::new(), Expiration::Default)
        .await
        .expect("set");
    assert_eq!(get(&*c, "empty").await, Some(Bytes::new()));
    assert!(c.has("empty").await.expect("has"));
}

/// testSetValidKeys, testSetMultipleValidKeys (with Symfony's `"a\0b"`).
pub async fn valid_keys(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    for key in [
        "AbC19_.",
        "1234567890123456789012345678901234567890123456789012345678901234",
        "a\0b",
    ] {
        set(&*c, key, "foobar").await;
        assert_eq!(get(&*c, key).await, b("foobar"), "{key:?}");
        c.set_multiple(&[(key, "multi".into())], Expiration::Default)
            .await
            .expect("set_multiple");
        assert_eq!(
            c.get_multiple(&[key]).await.expect("get_multiple"),
            [b("multi")]
        );
    }
}

/// Symfony testDefaultLifeTime.
pub async fn default_lifetime(f: &dyn SimpleCacheFactory) {
    let clock = needs_clock(f);
    let c = f
        .create(&unique_namespace("psr16"), Some(Duration::from_secs(2)))
        .await
        .expect("create");
    set(&*c, "key", "value").await;
    clock.advance(Duration::from_secs(1));
    assert_eq!(get(&*c, "key").await, b("value"));
    clock.advance(Duration::from_secs(2));
    assert_eq!(get(&*c, "key").await, None);
}

/// Symfony testNotUnserializable: a value that does not decode is a miss.
pub async fn undecodable_values_are_misses(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    c.set_as("key", "not a number", Expiration::Default)
        .await
        .expect("set_as");
    assert_eq!(c.get_as::<u64>("key").await.expect("get_as"), None);
}

/// Damaged value bytes under a key (a metadata envelope cut short) get one answer from every
/// read: a miss from `get` and `get_multiple`, `false` from `has`, the keys beside it still
/// served, and a `set` replaces them.
pub async fn damaged_bytes_read_the_same_from_every_read(f: &dyn SimpleCacheFactory) {
    let namespace = unique_namespace("psr16");
    let c = f.create(&namespace, None).await.expect("create");
    set(&*c, "fine", "ok").await;
    needs_damaged_bytes(f, &namespace, "bad").await;
    every_read_misses(&*c, "bad", "damaged bytes").await;
}

/// Data under a key that the store cannot read as a value (a Redis list another program
/// pushed) gets one answer from every read, as damaged bytes do.
pub async fn foreign_data_reads_the_same_from_every_read(f: &dyn SimpleCacheFactory) {
    let namespace = unique_namespace("psr16");
    let c = f.create(&namespace, None).await.expect("create");
    set(&*c, "fine", "ok").await;
    needs_foreign_data(f, &namespace, "bad").await;
    every_read_misses(&*c, "bad", "foreign data").await;
}

/// Every read of `bad` misses while `fine` is served beside it; a `set` then replaces `bad`.
async fn every_read_misses(c: &dyn SimpleCache, bad: &str, what: &str) {
    assert_eq!(get(c, bad).await, None, "{what}: get");
    let values = c.get_multiple(&["fine", bad]).await.expect("get_multiple");
    assert_eq!(values, [b("ok"), None], "{what}: get_multiple");
    assert!(
        !c.has(bad).await.expect("has"),
        "{what}: has says there is a value get misses"
    );
    set(c, bad, "mine").await;
    assert_eq!(get(c, bad).await, b("mine"), "{what}: a set replaces it");
}

/// A lifetime too far for a backend to represent (13 or 100 years, an instant 40 years
/// ahead, `1e17 s`) is kept by `set` and `set_multiple`, never acknowledged and then lost.
pub async fn far_lifetimes_are_kept(f: &dyn SimpleCacheFactory) {
    let c = fresh(f).await;
    let now = f.clock().map_or_else(std::time::SystemTime::now, |clock| {
        cache_store::Clock::now(&clock)
    });
    for (what, far) in crate::lifetimes::far_expirations(now) {
        c.set("one", "v".into(), far)
            .await
            .unwrap_or_else(|e| panic!("set for {what} failed: {e}"));
        c.set_multiple(&[("many", Bytes::from_static(b"v"))], far)
            .await
            .unwrap_or_else(|e| panic!("set_multiple for {what} failed: {e}"));
        for key in ["one", "many"] {
            assert_eq!(
                c.get(key).await.expect("get").as_deref(),
                Some(&b"v"[..]),
                "{key} set for {what}: acknowledged, then not readable"
            );
        }
    }
}
