//! One case per line of the [`Store`] contract. Each takes a factory, makes its own fresh
//! namespaces, and panics with a message naming the broken rule.
//!
//! [`store_suite!`](crate::store_suite) turns every case into a `#[test]`; a case can also be
//! called directly.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cache_store::{Clock, Entry, Expiration, Key, Store};

use super::{Model, StoreFactory, awkward_keys};
use crate::env::unique_namespace;

const HOUR: Duration = Duration::from_secs(3600);

fn key(s: &str) -> Key<'_> {
    Key::new(s).expect("the kit uses only valid keys")
}

async fn fresh(f: &dyn StoreFactory) -> Arc<dyn Store> {
    f.create(&unique_namespace("kit"))
        .await
        .expect("the factory could not create a store")
}

/// The case needs a store that keeps data (also for the cases of [`beyond`](crate::beyond)).
pub(crate) fn needs_data(f: &dyn StoreFactory) {
    if f.model() != Model::Cache {
        crate::needs::undeclared(crate::needs::Capability::Data);
    }
}

/// The case needs a store that keeps data, on a clock the kit moves.
pub(crate) fn needs_clock(f: &dyn StoreFactory) -> cache_store::ManualClock {
    needs_data(f);
    crate::needs::clock(f.clock())
}

/// The case needs `key` of `namespace` to hold data the store cannot read as a value.
async fn needs_foreign_data(f: &dyn StoreFactory, namespace: &str, key: &str) {
    let written = f
        .write_foreign(namespace, key)
        .await
        .expect("write_foreign");
    crate::needs::written(crate::needs::Capability::ForeignData, written);
}

async fn get(store: &dyn Store, k: &str) -> Option<Bytes> {
    store
        .get(key(k))
        .await
        .unwrap_or_else(|e| panic!("get({k:?}) failed: {e}"))
}

async fn set(store: &dyn Store, k: &str, v: &'static str, exp: Expiration) {
    store
        .set(key(k), Bytes::from_static(v.as_bytes()), exp)
        .await
        .unwrap_or_else(|e| panic!("set({k:?}) failed: {e}"));
}

/// A read of a key never written is a miss, not an error.
pub async fn get_of_a_missing_key_is_none(f: &dyn StoreFactory) {
    let store = fresh(f).await;
    assert_eq!(get(&*store, "never-written").await, None);
}

/// Values come back byte for byte: empty, every byte value, text.
pub async fn set_then_get_returns_the_exact_bytes(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    let all_bytes: Bytes = (0..=255u8).collect::<Vec<_>>().into();
    for (k, v) in [
        ("empty", Bytes::new()),
        ("binary", all_bytes),
        ("text", Bytes::from_static(b"value")),
        ("zero", Bytes::from_static(b"0")),
    ] {
        store
            .set(key(k), v.clone(), Expiration::Never)
            .await
            .expect("set");
        assert_eq!(get(&*store, k).await, Some(v), "value of {k:?} changed");
    }
}

/// A second write replaces the first.
pub async fn set_overwrites_the_previous_value(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    set(&*store, "k", "first", Expiration::Never).await;
    set(&*store, "k", "second", Expiration::After(HOUR)).await;
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"second"[..]));
}

/// Spaces, control bytes, NUL, CR LF, non-ASCII and 300+ byte keys work, and no two of them
/// share an entry (so no lossy encoding merged them, and no key reached a text protocol raw).
pub async fn awkward_keys_round_trip_without_colliding(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    let keys = awkward_keys();
    let entries: Vec<Entry<'_>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| Entry::new(key(k), format!("value-{i}"), Expiration::Never))
        .collect();
    let failed = store.set_many(&entries).await.expect("set_many");
    assert!(failed.is_empty(), "awkward keys were refused: {failed:?}");
    let all: Vec<Key<'_>> = keys.iter().map(|k| key(k)).collect();
    let values = store.get_many(&all).await.expect("get_many");
    for (i, (k, v)) in keys.iter().zip(values).enumerate() {
        let v = v.unwrap_or_else(|e| panic!("key {k:?} failed to read: {e}"));
        assert_eq!(
            v.as_deref(),
            Some(format!("value-{i}").as_bytes()),
            "key {k:?} read back another key's value or nothing"
        );
    }
    // Single-key paths too, and deleting one leaves the look-alikes.
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(
            get(&*store, k).await.as_deref(),
            Some(format!("value-{i}").as_bytes()),
            "{k:?}"
        );
    }
    store.delete(key("with space")).await.expect("delete");
    assert_eq!(get(&*store, "with space").await, None);
    assert!(get(&*store, "with_space").await.is_some());
    assert!(get(&*store, "with%20space").await.is_some());
    assert!(get(&*store, "a b\r\nflush_all").await.is_some());
}

/// One slot per requested key, in order, duplicates included.
pub async fn get_many_is_aligned_with_its_input(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    set(&*store, "a", "A", Expiration::Never).await;
    set(&*store, "c", "C", Expiration::Never).await;
    let values = store
        .get_many(&[key("c"), key("b"), key("a"), key("c"), key("d")])
        .await
        .expect("get_many");
    let values: Vec<Option<Bytes>> = values
        .into_iter()
        .map(|v| v.expect("no key here is undecodable"))
        .collect();
    let expected = [Some("C"), None, Some("A"), Some("C"), None]
        .map(|v| v.map(|s| Bytes::from_static(s.as_bytes())));
    assert_eq!(values, expected);
}

/// Each entry of a batch gets its own expiration; expired ones delete.
pub async fn set_many_writes_each_entry_with_its_own_expiration(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    set(&*store, "gone", "old", Expiration::Never).await;
    let past = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
    let failed = store
        .set_many(&[
            Entry::new(key("never"), "n", Expiration::Never),
            Entry::new(key("hour"), "h", Expiration::After(HOUR)),
            Entry::new(key("gone"), "x", Expiration::After(Duration::ZERO)),
            Entry::new(key("past"), "p", Expiration::At(past)),
        ])
        .await
        .expect("set_many");
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(get(&*store, "never").await.as_deref(), Some(&b"n"[..]));
    assert_eq!(get(&*store, "hour").await.as_deref(), Some(&b"h"[..]));
    assert_eq!(get(&*store, "gone").await, None, "a zero TTL must delete");
    assert_eq!(
        get(&*store, "past").await,
        None,
        "a past deadline must not store"
    );
}

/// When a batch names a key twice, the later entry wins.
pub async fn set_many_later_duplicate_wins(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    store
        .set_many(&[
            Entry::new(key("k"), "first", Expiration::Never),
            Entry::new(key("k"), "second", Expiration::Never),
            Entry::new(key("j"), "kept", Expiration::Never),
            Entry::new(key("j"), "x", Expiration::After(Duration::ZERO)),
        ])
        .await
        .expect("set_many");
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"second"[..]));
    assert_eq!(get(&*store, "j").await, None);
}

/// A write whose expiration is already reached deletes the key (never stores it forever).
pub async fn an_expired_write_deletes_the_key(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    for exp in [
        Expiration::After(Duration::ZERO),
        Expiration::At(SystemTime::UNIX_EPOCH),
        Expiration::At(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000)),
    ] {
        set(&*store, "k", "live", Expiration::Never).await;
        set(&*store, "k", "dead", exp).await;
        assert_eq!(get(&*store, "k").await, None, "{exp:?} must delete");
        assert!(!store.contains(key("k")).await.expect("contains"));
    }
}

/// Deleting a key that does not exist is success.
pub async fn deleting_a_missing_key_succeeds(f: &dyn StoreFactory) {
    let store = fresh(f).await;
    store
        .delete(key("missing"))
        .await
        .expect("delete of a missing key");
    store
        .delete_many(&[key("missing"), key("also missing")])
        .await
        .expect("delete_many of missing keys");
}

/// `delete_many` removes present keys and ignores missing ones.
pub async fn delete_many_removes_every_key(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    for k in ["a", "b", "c"] {
        set(&*store, k, "v", Expiration::Never).await;
    }
    store
        .delete_many(&[key("a"), key("missing"), key("c"), key("a")])
        .await
        .expect("delete_many");
    assert_eq!(get(&*store, "a").await, None);
    assert_eq!(get(&*store, "b").await.as_deref(), Some(&b"v"[..]));
    assert_eq!(get(&*store, "c").await, None);
}

/// `contains` is true exactly for live keys, including an empty value.
pub async fn contains_reflects_presence(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    assert!(!store.contains(key("k")).await.expect("contains"));
    store
        .set(key("k"), Bytes::new(), Expiration::Never)
        .await
        .expect("set");
    assert!(
        store.contains(key("k")).await.expect("contains"),
        "an empty value is still present"
    );
    store.delete(key("k")).await.expect("delete");
    assert!(!store.contains(key("k")).await.expect("contains"));
}

/// `add` writes only when the key is absent and says which happened.
pub async fn add_writes_only_when_absent(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    assert!(
        store
            .add(key("k"), "first".into(), Expiration::After(HOUR))
            .await
            .expect("add")
    );
    assert!(
        !store
            .add(key("k"), "second".into(), Expiration::Never)
            .await
            .expect("add")
    );
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"first"[..]));
    // An add that is already expired stores nothing, whatever it answers.
    store
        .add(key("fresh"), "x".into(), Expiration::After(Duration::ZERO))
        .await
        .expect("add");
    assert_eq!(get(&*store, "fresh").await, None);
}

/// Of many concurrent `add`s of one absent key, exactly one wins and its value is stored.
pub async fn concurrent_adds_have_exactly_one_winner(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    for round in 0..5 {
        let name = format!("lock-{round}");
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = Arc::clone(&store);
                let name = name.clone();
                tokio::spawn(async move {
                    let won = store
                        .add(
                            key(&name),
                            format!("owner-{i}").into(),
                            Expiration::After(HOUR),
                        )
                        .await
                        .expect("add");
                    won.then_some(i)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            if let Some(i) = task.await.expect("the add task panicked") {
                winners.push(i);
            }
        }
        assert_eq!(winners.len(), 1, "winners of {name}: {winners:?}");
        assert_eq!(
            get(&*store, &name).await.as_deref(),
            Some(format!("owner-{}", winners[0]).as_bytes())
        );
    }
}

/// `touch` answers whether the key held a live entry, and keeps the value.
pub async fn touch_answers_whether_the_key_was_live(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    assert!(
        !store
            .touch(key("missing"), Expiration::After(HOUR))
            .await
            .expect("touch")
    );
    assert_eq!(get(&*store, "missing").await, None, "touch must not create");
    set(&*store, "k", "v", Expiration::After(HOUR)).await;
    assert!(
        store
            .touch(key("k"), Expiration::Never)
            .await
            .expect("touch")
    );
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"v"[..]));
}

/// `touch` with an expiration already reached deletes the entry.
pub async fn touch_with_an_expired_expiration_deletes(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    set(&*store, "k", "v", Expiration::Never).await;
    assert!(
        store
            .touch(key("k"), Expiration::After(Duration::ZERO))
            .await
            .expect("touch")
    );
    assert_eq!(get(&*store, "k").await, None);
}

/// `clear` empties its namespace and leaves every other namespace alone.
pub async fn clear_empties_only_its_namespace(f: &dyn StoreFactory) {
    needs_data(f);
    let mine = fresh(f).await;
    let other = fresh(f).await;
    for k in ["a", "b"] {
        set(&*mine, k, "mine", Expiration::Never).await;
        set(&*other, k, "other", Expiration::Never).await;
    }
    mine.clear().await.expect("clear");
    assert_eq!(get(&*mine, "a").await, None);
    assert_eq!(get(&*mine, "b").await, None);
    assert_eq!(get(&*other, "a").await.as_deref(), Some(&b"other"[..]));
    assert_eq!(get(&*other, "b").await.as_deref(), Some(&b"other"[..]));
    // The cleared namespace works as before.
    set(&*mine, "a", "again", Expiration::Never).await;
    assert_eq!(get(&*mine, "a").await.as_deref(), Some(&b"again"[..]));
    // Clearing an empty namespace is fine too.
    fresh(f)
        .await
        .clear()
        .await
        .expect("clear of an empty namespace");
}

/// A `clear` through one handle is visible at once through another of the same namespace.
pub async fn clear_is_seen_by_every_handle_of_the_namespace(f: &dyn StoreFactory) {
    needs_data(f);
    let namespace = unique_namespace("kit");
    let first = f.create(&namespace).await.expect("create");
    let second = f.create(&namespace).await.expect("create");
    set(&*first, "k", "v", Expiration::Never).await;
    assert_eq!(get(&*second, "k").await.as_deref(), Some(&b"v"[..]));
    second.clear().await.expect("clear");
    assert_eq!(get(&*first, "k").await, None);
}

/// Two handles on one namespace see the same entries.
pub async fn handles_of_one_namespace_share_data(f: &dyn StoreFactory) {
    needs_data(f);
    let namespace = unique_namespace("kit");
    let first = f.create(&namespace).await.expect("create");
    let second = f.create(&namespace).await.expect("create");
    assert_eq!(first.namespace(), second.namespace());
    set(&*first, "k", "from-first", Expiration::Never).await;
    assert_eq!(
        get(&*second, "k").await.as_deref(),
        Some(&b"from-first"[..])
    );
    second.delete(key("k")).await.expect("delete");
    assert_eq!(get(&*first, "k").await, None);
}

/// An entry is a hit until its deadline and a miss from the deadline on, for every read path.
pub async fn entries_expire_exactly_at_their_deadline(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let store = fresh(f).await;
    set(
        &*store,
        "k",
        "v",
        Expiration::After(Duration::from_secs(10)),
    )
    .await;
    let at = clock.now() + Duration::from_secs(20);
    set(&*store, "at", "v", Expiration::At(at)).await;
    clock.advance(Duration::from_millis(9_999));
    assert!(get(&*store, "k").await.is_some(), "expired early");
    assert!(store.contains(key("k")).await.expect("contains"));
    clock.advance(Duration::from_millis(1));
    assert_eq!(get(&*store, "k").await, None, "alive at its deadline");
    assert!(!store.contains(key("k")).await.expect("contains"));
    let many = store.get_many(&[key("k")]).await.expect("get_many");
    assert!(
        matches!(many[0], Ok(None)),
        "get_many returned an expired entry"
    );
    assert!(get(&*store, "at").await.is_some());
    clock.set(at);
    assert_eq!(get(&*store, "at").await, None);
}

/// Saving a key again replaces its deadline, longer, shorter or none (moka's default keeps the
/// first one).
pub async fn resaving_replaces_the_deadline(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let store = fresh(f).await;
    set(
        &*store,
        "longer",
        "v",
        Expiration::After(Duration::from_secs(10)),
    )
    .await;
    set(
        &*store,
        "longer",
        "v",
        Expiration::After(Duration::from_secs(100)),
    )
    .await;
    set(
        &*store,
        "shorter",
        "v",
        Expiration::After(Duration::from_secs(100)),
    )
    .await;
    set(
        &*store,
        "shorter",
        "v",
        Expiration::After(Duration::from_secs(5)),
    )
    .await;
    set(
        &*store,
        "never",
        "v",
        Expiration::After(Duration::from_secs(5)),
    )
    .await;
    set(&*store, "never", "v", Expiration::Never).await;
    clock.advance(Duration::from_secs(50));
    assert!(
        get(&*store, "longer").await.is_some(),
        "kept the first deadline"
    );
    assert_eq!(
        get(&*store, "shorter").await,
        None,
        "kept the first deadline"
    );
    assert!(
        get(&*store, "never").await.is_some(),
        "kept the first deadline"
    );
}

/// `touch` gives a live entry a new deadline, or none.
pub async fn touch_moves_the_deadline(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let store = fresh(f).await;
    set(
        &*store,
        "k",
        "v",
        Expiration::After(Duration::from_secs(10)),
    )
    .await;
    set(
        &*store,
        "n",
        "v",
        Expiration::After(Duration::from_secs(10)),
    )
    .await;
    assert!(
        store
            .touch(key("k"), Expiration::After(Duration::from_secs(60)))
            .await
            .expect("touch")
    );
    assert!(
        store
            .touch(key("n"), Expiration::Never)
            .await
            .expect("touch")
    );
    clock.advance(Duration::from_secs(30));
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"v"[..]));
    clock.advance(Duration::from_secs(30));
    assert_eq!(get(&*store, "k").await, None);
    assert!(
        !store
            .touch(key("k"), Expiration::Never)
            .await
            .expect("touch"),
        "touch revived an expired entry"
    );
    assert_eq!(get(&*store, "k").await, None);
    clock.advance(Duration::from_secs(100_000));
    assert_eq!(get(&*store, "n").await.as_deref(), Some(&b"v"[..]));
}

/// An expired entry does not block `add`.
pub async fn add_succeeds_once_the_entry_expired(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let store = fresh(f).await;
    set(
        &*store,
        "lock",
        "old",
        Expiration::After(Duration::from_secs(5)),
    )
    .await;
    assert!(
        !store
            .add(key("lock"), "new".into(), Expiration::Never)
            .await
            .expect("add")
    );
    clock.advance(Duration::from_secs(5));
    assert!(
        store
            .add(key("lock"), "new".into(), Expiration::Never)
            .await
            .expect("add")
    );
    assert_eq!(get(&*store, "lock").await.as_deref(), Some(&b"new"[..]));
}

/// Empty batches succeed and return nothing.
pub async fn empty_batches_are_no_ops(f: &dyn StoreFactory) {
    let store = fresh(f).await;
    assert!(store.get_many(&[]).await.expect("get_many").is_empty());
    assert!(store.set_many(&[]).await.expect("set_many").is_empty());
    store.delete_many(&[]).await.expect("delete_many");
}

/// A value as large as the backend allows round-trips intact.
pub async fn large_values_round_trip(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    let len = f.max_value_len();
    let value: Bytes = (0..len).map(|i| (i % 251) as u8).collect::<Vec<_>>().into();
    store
        .set(key("big"), value.clone(), Expiration::Never)
        .await
        .unwrap_or_else(|e| panic!("a {len} byte value was refused: {e}"));
    assert!(
        get(&*store, "big").await == Some(value),
        "the large value changed"
    );
}

/// `stats` answers, and each handle reports its namespace.
pub async fn stats_and_namespace_are_reported(f: &dyn StoreFactory) {
    let namespace = unique_namespace("kit");
    let store = f.create(&namespace).await.expect("create");
    assert_eq!(store.namespace(), namespace);
    store.stats().await.expect("stats");
}

/// A lifetime too far for a backend to represent (13 or 100 years, an instant 40 years ahead,
/// `1e17 s`) is acknowledged and kept by every write path, as an entry without a deadline:
/// never refused by one server and silently dropped by another.
pub async fn far_lifetimes_are_kept_by_every_write(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    let now = || f.clock().map_or_else(SystemTime::now, |clock| clock.now());
    for case in 0..crate::lifetimes::far_expirations(now()).len() {
        // Taken afresh each time: the clock moves below.
        let (what, far) = crate::lifetimes::far_expirations(now())[case];
        let written = |path: &str| format!("{path} with a lifetime of {what}");
        store
            .set(key("set"), "v".into(), far)
            .await
            .unwrap_or_else(|e| panic!("{} failed: {e}", written("set")));
        store
            .set_many(&[Entry::new(key("many"), "v", far)])
            .await
            .unwrap_or_else(|e| panic!("{} failed: {e}", written("set_many")))
            .into_result()
            .unwrap_or_else(|e| panic!("{} refused the entry: {e}", written("set_many")));
        store.delete(key("added")).await.expect("delete");
        assert!(
            store
                .add(key("added"), "v".into(), far)
                .await
                .unwrap_or_else(|e| panic!("{} failed: {e}", written("add"))),
            "{} did not write an absent key",
            written("add")
        );
        set(&*store, "touched", "v", Expiration::After(HOUR)).await;
        assert!(
            store
                .touch(key("touched"), far)
                .await
                .unwrap_or_else(|e| panic!("{} failed: {e}", written("touch"))),
            "{} did not find the entry",
            written("touch")
        );
        for k in ["set", "many", "added", "touched"] {
            assert_eq!(
                get(&*store, k).await.as_deref(),
                Some(&b"v"[..]),
                "{}: acknowledged, then not readable",
                written(k)
            );
        }
        if let Some(clock) = f.clock() {
            // Past the latest deadline a backend keeps, the entries have none.
            clock.advance(Duration::from_secs(30 * 365 * 86_400));
            for k in ["set", "many", "added", "touched"] {
                assert!(
                    get(&*store, k).await.is_some(),
                    "{}: expired, though kept without a deadline",
                    written(k)
                );
            }
        }
    }
}

/// An entry is never a miss before its deadline, on a server's own clock too: every read
/// answered before the deadline hits. Past the deadline (plus
/// [`LATE_EXPIRY_SLACK`](crate::lifetimes::LATE_EXPIRY_SLACK) for a clock that counts whole
/// seconds) it is a miss.
pub async fn no_entry_is_a_miss_before_its_deadline(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    let lifetimes = [Duration::from_millis(1_000), Duration::from_millis(1_500)];
    if let Some(clock) = f.clock() {
        for (i, lifetime) in lifetimes.into_iter().enumerate() {
            let k = format!("k{i}");
            set(&*store, &k, "v", Expiration::After(lifetime)).await;
            clock.advance(lifetime - Duration::from_millis(1));
            assert!(get(&*store, &k).await.is_some(), "{lifetime:?} ended early");
            clock.advance(Duration::from_millis(1));
            assert_eq!(get(&*store, &k).await, None, "{lifetime:?} outlived");
        }
        return;
    }
    // The server's own clock: reads are timed from before each write, so a read that
    // starts before `written + lifetime` is before the entry's deadline as this process
    // counts time. The server counts on its wall clock, which NTP may run up to 0.05% fast
    // against this monotonic one (a CI run saw Redis expire a 1 s entry 18 µs early): the
    // deadline judged here allows it 0.1% and 1 ms, far less than any lifetime.
    let mut entries = Vec::new();
    for (i, lifetime) in lifetimes.into_iter().enumerate() {
        let k = format!("k{i}");
        let written = std::time::Instant::now();
        set(&*store, &k, "v", Expiration::After(lifetime)).await;
        let clock_rate_slack = lifetime / 1000 + Duration::from_millis(1);
        entries.push((k, written + lifetime - clock_rate_slack, lifetime));
    }
    let last_deadline = entries.iter().map(|(_, at, _)| *at).max().expect("entries");
    loop {
        let mut asked = 0;
        for (k, deadline, lifetime) in &entries {
            // A miss is early only when its answer came before the deadline: the server
            // read the key at some moment between the request and the answer, and on a
            // loaded machine the request may reach it long after it was started.
            for via_get_many in [false, true] {
                if std::time::Instant::now() >= *deadline {
                    continue;
                }
                asked += 1;
                let hit = if via_get_many {
                    let many = store.get_many(&[key(k)]).await.expect("get_many");
                    matches!(many[0], Ok(Some(_)))
                } else {
                    get(&*store, k).await.is_some()
                };
                let answered = std::time::Instant::now();
                let how = if via_get_many { "get_many" } else { "get" };
                assert!(
                    hit || answered >= *deadline,
                    "{how}: an entry with a lifetime of {lifetime:?} was a miss, answered {:?} \
                     before its deadline",
                    deadline.saturating_duration_since(answered)
                );
            }
        }
        if asked == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = last_deadline + crate::lifetimes::LATE_EXPIRY_SLACK + Duration::from_millis(100);
    tokio::time::sleep(after.saturating_duration_since(std::time::Instant::now())).await;
    for (k, _, lifetime) in &entries {
        assert_eq!(
            get(&*store, k).await,
            None,
            "an entry with a lifetime of {lifetime:?} was still a hit well past its deadline"
        );
    }
}

/// Data under one of the store's keys that the store did not write and cannot read as a
/// value (a Redis list another program pushed) reads the same from every read: a miss from
/// `get`, `get_many` and `contains` alike, while the keys beside it are served; a write
/// replaces it.
pub async fn foreign_data_reads_the_same_from_every_read(f: &dyn StoreFactory) {
    needs_data(f);
    let namespace = unique_namespace("kit");
    let store = f.create(&namespace).await.expect("create");
    needs_foreign_data(f, &namespace, "foreign").await;
    set(&*store, "fine", "ok", Expiration::Never).await;
    assert_eq!(get(&*store, "foreign").await, None, "get");
    let many = store
        .get_many(&[key("fine"), key("foreign")])
        .await
        .expect("get_many");
    assert!(
        matches!(&many[0], Ok(Some(v)) if &v[..] == b"ok"),
        "the key beside it: {:?}",
        many[0]
    );
    assert!(matches!(many[1], Ok(None)), "get_many: {:?}", many[1]);
    assert!(
        !store.contains(key("foreign")).await.expect("contains"),
        "contains"
    );
    set(&*store, "foreign", "mine", Expiration::Never).await;
    assert_eq!(
        get(&*store, "foreign").await.as_deref(),
        Some(&b"mine"[..]),
        "a write replaces foreign data"
    );
}

/// `delete_if_equal` deletes only a live entry holding exactly the expected bytes.
pub async fn delete_if_equal_deletes_only_the_expected_value(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    let deleted = |k: &'static str, expected: &'static [u8]| {
        let store = Arc::clone(&store);
        async move {
            store
                .delete_if_equal(key(k), expected)
                .await
                .unwrap_or_else(|e| panic!("delete_if_equal({k:?}) failed: {e}"))
        }
    };
    assert!(!deleted("missing", b"v").await);
    set(&*store, "k", "owner-a", Expiration::After(HOUR)).await;
    assert!(!deleted("k", b"owner-b").await, "another value was deleted");
    assert!(!deleted("k", b"owner-").await, "a prefix is not the value");
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"owner-a"[..]));
    assert!(deleted("k", b"owner-a").await);
    assert_eq!(get(&*store, "k").await, None);
    assert!(!deleted("k", b"owner-a").await, "deleted twice");
}

/// `touch_if_equal` touches only a live entry holding exactly the expected bytes, keeping
/// its value; an expiration already reached deletes it.
pub async fn touch_if_equal_touches_only_the_expected_value(f: &dyn StoreFactory) {
    needs_data(f);
    let store = fresh(f).await;
    let touched = |k: &'static str, expected: &'static [u8], exp: Expiration| {
        let store = Arc::clone(&store);
        async move {
            store
                .touch_if_equal(key(k), expected, exp)
                .await
                .unwrap_or_else(|e| panic!("touch_if_equal({k:?}) failed: {e}"))
        }
    };
    assert!(!touched("missing", b"v", Expiration::After(HOUR)).await);
    assert_eq!(get(&*store, "missing").await, None, "touch must not create");
    set(&*store, "k", "owner-a", Expiration::After(HOUR)).await;
    assert!(!touched("k", b"owner-b", Expiration::After(Duration::ZERO)).await);
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"owner-a"[..]));
    assert!(touched("k", b"owner-a", Expiration::Never).await);
    assert_eq!(get(&*store, "k").await.as_deref(), Some(&b"owner-a"[..]));
    assert!(touched("k", b"owner-a", Expiration::After(Duration::ZERO)).await);
    assert_eq!(get(&*store, "k").await, None, "touched into the past");
}

/// `touch_if_equal` moves the deadline of the entry it touches, and of no other.
pub async fn touch_if_equal_moves_the_deadline(f: &dyn StoreFactory) {
    let clock = needs_clock(f);
    let store = fresh(f).await;
    set(
        &*store,
        "mine",
        "a",
        Expiration::After(Duration::from_secs(10)),
    )
    .await;
    set(
        &*store,
        "other",
        "b",
        Expiration::After(Duration::from_secs(10)),
    )
    .await;
    let later = Expiration::After(Duration::from_secs(60));
    assert!(
        store
            .touch_if_equal(key("mine"), b"a", later)
            .await
            .expect("touch_if_equal")
    );
    assert!(
        !store
            .touch_if_equal(key("other"), b"a", later)
            .await
            .expect("touch_if_equal")
    );
    clock.advance(Duration::from_secs(30));
    assert_eq!(get(&*store, "mine").await.as_deref(), Some(&b"a"[..]));
    assert_eq!(
        get(&*store, "other").await,
        None,
        "the other entry kept its deadline"
    );
}
