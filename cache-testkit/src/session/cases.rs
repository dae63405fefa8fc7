//! One case per rule of the session contract (spec section 5 and traps 15 to 18, and the
//! session-bridge issue). nofw's phpspec cases (catalogue 6.9) are here in their corrected
//! form: `read` of a miss is empty data, `destroy` of an absent id succeeds, `gc` removes
//! nothing on caches that expire entries themselves.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cache_store::{ErrorKind, ManualClock};
use session_bridge::{LockOptions, SessionHandler, SessionOptions};

use super::SessionFactory;
use crate::env::unique_namespace;

async fn request(
    f: &dyn SessionFactory,
    namespace: &str,
    options: &SessionOptions,
) -> Arc<dyn SessionHandler> {
    f.create(namespace, options.clone())
        .await
        .expect("the factory could not create a session handler")
}

async fn fresh(f: &dyn SessionFactory) -> Arc<dyn SessionHandler> {
    request(f, &unique_namespace("sess"), &SessionOptions::new()).await
}

/// The case needs a clock the kit moves.
fn needs_clock(f: &dyn SessionFactory) -> ManualClock {
    crate::needs::clock(f.clock())
}

/// Locking that gives up at once, so a held lock shows as an error without waiting.
fn locking(retries: u32, expiry: Duration) -> SessionOptions {
    let mut lock = LockOptions::default();
    lock.retries = retries;
    lock.expiry = expiry;
    lock.wait_min = Duration::from_millis(1);
    lock.wait_max = Duration::from_millis(20);
    SessionOptions::new()
        .with_locking(lock)
        .expect("valid lock options")
}

fn with_lifetime(seconds: u64) -> SessionOptions {
    SessionOptions::new()
        .with_max_lifetime(Duration::from_secs(seconds))
        .expect("a valid lifetime")
}

async fn read(h: &dyn SessionHandler, id: &str) -> Bytes {
    h.read(id).await.expect("read")
}

fn new_id(h: &dyn SessionHandler) -> String {
    h.create_sid().expect("create_sid")
}

/// `open`, `close` and `gc` succeed; `gc` removes nothing (the backend expires entries).
pub async fn open_close_and_gc_succeed(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    h.open("", "PHPSESSID").await.expect("open");
    let id = new_id(&*h);
    h.write(&id, "a|i:1;".into()).await.expect("write");
    assert_eq!(h.gc(Duration::from_secs(1440)).await.expect("gc"), 0);
    assert_eq!(h.gc(Duration::ZERO).await.expect("gc"), 0);
    h.close().await.expect("close");
    assert_eq!(read(&*h, &id).await, "a|i:1;", "gc removed a live session");
}

/// `read` of an id never written is empty data, not an error (nofw's PSR-16 handler returned
/// `null` there, which PHP treats as a failure to start the session).
pub async fn read_of_an_unknown_id_is_empty(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    assert_eq!(read(&*h, &new_id(&*h)).await, "");
}

/// What `write` stores, `read` returns byte for byte: PHP's encodings, binary data, empty
/// data (PHP writes it for new sessions), and a 64 KiB session.
pub async fn write_then_read_returns_the_data(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    let big: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
    let samples: Vec<Bytes> = vec![
        Bytes::from_static(b"a|i:1;s|s:3:\"x|y\";n|N;arr|a:2:{i:0;b:1;i:1;d:2.5;}"),
        Bytes::from_static(b"\x01a i:1;\x00\xff\r\n"),
        Bytes::new(),
        Bytes::from(big),
    ];
    for data in samples {
        let id = new_id(&*h);
        h.write(&id, data.clone()).await.expect("write");
        assert_eq!(read(&*h, &id).await, data);
        // Rewriting replaces.
        h.write(&id, "second".into()).await.expect("write");
        assert_eq!(read(&*h, &id).await, "second");
    }
}

/// Sessions are kept apart by id, and a second request (another handler on the same store)
/// reads what the first wrote.
pub async fn requests_share_sessions_by_id(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    let options = SessionOptions::new();
    let first = request(f, &namespace, &options).await;
    let second = request(f, &namespace, &options).await;
    let (a, b) = (new_id(&*first), new_id(&*first));
    first.write(&a, "for a".into()).await.expect("write");
    first.write(&b, "for b".into()).await.expect("write");
    assert_eq!(read(&*second, &a).await, "for a");
    assert_eq!(read(&*second, &b).await, "for b");
    second.destroy(&a).await.expect("destroy");
    assert_eq!(read(&*first, &a).await, "");
    assert_eq!(
        read(&*first, &b).await,
        "for b",
        "destroy touched another id"
    );
}

/// `destroy` deletes the session and succeeds when there is none.
pub async fn destroy_succeeds_whether_or_not_the_session_exists(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    let id = new_id(&*h);
    h.destroy(&id).await.expect("destroy of an absent id");
    h.write(&id, "x".into()).await.expect("write");
    h.destroy(&id).await.expect("destroy");
    assert_eq!(read(&*h, &id).await, "");
    h.destroy(&id).await.expect("second destroy");
}

/// Created ids are distinct, at least 128 bits (32 characters of 6 bits by default),
/// URL-safe, and accepted by `validate_id`.
pub async fn created_ids_are_distinct_url_safe_and_long_enough(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let id = new_id(&*h);
        assert!(id.len() * 6 >= 128, "{id} carries under 128 bits");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id} is not URL-safe"
        );
        assert!(
            h.validate_id(&id).await.expect("validate_id"),
            "{id} refused"
        );
        assert!(seen.insert(id), "an id was created twice");
    }
}

/// Ids that are not 22 to 256 characters of `[A-Za-z0-9,_-]` are refused: `validate_id` says
/// `false`, and every other method fails with an invalid-key error before any I/O, so an
/// attacker-chosen id never becomes a cache key (trap 16).
pub async fn malformed_ids_are_refused(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    let long = "a".repeat(257);
    let bad = [
        "",
        "short",
        "abcdefghijklmnopqrstu",
        long.as_str(),
        "abcdefghijklmnopqrstuv:x",
        "abc:def/ghi{x}abcdefghijklm",
        "../../../../etc/passwd/abcdef",
        "abcdefghijklmnopqrstuv x",
        "abcdefghijklmnopqrstuv\r\nflush_all",
        "abcdefghijklmnopqrstuv\0",
        "abcdefghijklmnopqrstuv.lock",
        "abcdefghijklmnopqrstuvé",
        "(abcdefghijklmnopqrstuv)@",
    ];
    for id in bad {
        assert!(
            !h.validate_id(id).await.expect("validate_id"),
            "{id:?} validated"
        );
        let kind = |r: cache_store::Result<()>| r.map_err(|e| e.kind()).err();
        let invalid = Some(ErrorKind::InvalidKey);
        assert_eq!(
            h.read(id).await.map(|_| ()).map_err(|e| e.kind()).err(),
            invalid,
            "read {id:?}"
        );
        assert_eq!(kind(h.write(id, "x".into()).await), invalid, "write {id:?}");
        assert_eq!(kind(h.destroy(id).await), invalid, "destroy {id:?}");
        assert_eq!(
            kind(h.update_timestamp(id, "x".into()).await),
            invalid,
            "update {id:?}"
        );
        assert_eq!(
            h.create(id, "x".into(), Duration::from_secs(60))
                .await
                .map(|_| ())
                .map_err(|e| e.kind())
                .err(),
            invalid,
            "create {id:?}"
        );
    }
    // 22 and 256 characters, and PHP's `,` in ids it makes with 6 bits per character, pass.
    for id in [
        "abcdefghijklmnopqrstuv",
        &"Z".repeat(256),
        "by1nzCQ7Jxg5w8xD90KamExPQR,Zllxq9plm-j3ap3qwTjZ,",
    ] {
        assert!(
            h.validate_id(id).await.expect("validate_id"),
            "{id:?} refused"
        );
        h.write(id, "ok".into()).await.expect("write");
        assert_eq!(read(&*h, id).await, "ok");
    }
}

/// In strict mode `validate_id` accepts only ids the store holds, so a client cannot fix a
/// session id; without it, any well-formed id is accepted.
pub async fn strict_mode_accepts_only_known_ids(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    let strict = request(f, &namespace, &SessionOptions::new().strict(true)).await;
    let lax = request(f, &namespace, &SessionOptions::new()).await;
    let id = new_id(&*strict);
    assert!(!strict.validate_id(&id).await.expect("validate_id"));
    assert!(lax.validate_id(&id).await.expect("validate_id"));
    strict.write(&id, "".into()).await.expect("write");
    assert!(
        strict.validate_id(&id).await.expect("validate_id"),
        "an empty session is still a session"
    );
    strict.destroy(&id).await.expect("destroy");
    assert!(!strict.validate_id(&id).await.expect("validate_id"));
}

/// Every write gives the session the configured lifetime (1440 s by default), counted from
/// that write: nofw stored sessions forever (trap 17).
pub async fn every_write_sets_the_max_lifetime(f: &dyn SessionFactory) {
    let clock = needs_clock(f);
    let namespace = unique_namespace("sess");
    let default = request(f, &namespace, &SessionOptions::new()).await;
    let short = request(f, &namespace, &with_lifetime(100)).await;
    let (a, b) = (new_id(&*default), new_id(&*short));
    default.write(&a, "a".into()).await.expect("write");
    short.write(&b, "b".into()).await.expect("write");
    clock.advance(Duration::from_secs(99));
    assert_eq!(read(&*short, &b).await, "b");
    short.write(&b, "b2".into()).await.expect("write");
    clock.advance(Duration::from_secs(99));
    assert_eq!(
        read(&*short, &b).await,
        "b2",
        "a rewrite did not restart the lifetime"
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        read(&*short, &b).await,
        "",
        "the session outlived its lifetime"
    );
    clock.advance(Duration::from_secs(1440 - 200 - 1));
    assert_eq!(read(&*default, &a).await, "a");
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        read(&*default, &a).await,
        "",
        "the default lifetime is not 1440 s"
    );
}

/// `update_timestamp` restarts the lifetime without rewriting the data (PHP calls it when the
/// data did not change, so the stored data is what counts).
pub async fn update_timestamp_restarts_the_lifetime_without_rewriting(f: &dyn SessionFactory) {
    let clock = needs_clock(f);
    let h = request(f, &unique_namespace("sess"), &with_lifetime(100)).await;
    let id = new_id(&*h);
    h.write(&id, "stored".into()).await.expect("write");
    clock.advance(Duration::from_secs(60));
    h.update_timestamp(&id, "given".into())
        .await
        .expect("update_timestamp");
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        read(&*h, &id).await,
        "stored",
        "expired at its first lifetime, or was rewritten"
    );
    clock.advance(Duration::from_secs(41));
    assert_eq!(read(&*h, &id).await, "");
}

/// `update_timestamp` of a session that is gone (expired, or destroyed by another request)
/// writes the data it was given, so a session PHP considers saved is saved.
pub async fn update_timestamp_of_a_vanished_session_writes_it(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    let id = new_id(&*h);
    h.update_timestamp(&id, "kept".into())
        .await
        .expect("update_timestamp");
    assert_eq!(read(&*h, &id).await, "kept");
}

/// `write_with_lifetime` with a zero lifetime deletes the session.
pub async fn write_with_zero_lifetime_deletes(f: &dyn SessionFactory) {
    let h = fresh(f).await;
    let id = new_id(&*h);
    h.write(&id, "x".into()).await.expect("write");
    h.write_with_lifetime(&id, "y".into(), Duration::ZERO)
        .await
        .expect("write");
    assert_eq!(read(&*h, &id).await, "");
}

/// `write_with_lifetime` keeps the session for the lifetime given, not the handler's.
pub async fn write_with_lifetime_uses_it(f: &dyn SessionFactory) {
    let clock = needs_clock(f);
    let h = fresh(f).await;
    let id = new_id(&*h);
    h.write_with_lifetime(&id, "z".into(), Duration::from_secs(10))
        .await
        .expect("write");
    clock.advance(Duration::from_secs(9));
    assert_eq!(read(&*h, &id).await, "z");
    clock.advance(Duration::from_secs(2));
    assert_eq!(read(&*h, &id).await, "");
}

/// `create` writes only a session that does not exist, atomically: of many concurrent
/// creates of one id exactly one wins (what makes a tower-sessions `create` collision-safe).
pub async fn create_writes_only_a_new_session(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    let options = SessionOptions::new();
    let h = request(f, &namespace, &options).await;
    let id = new_id(&*h);
    let hour = Duration::from_secs(3600);
    assert!(h.create(&id, "first".into(), hour).await.expect("create"));
    assert!(!h.create(&id, "second".into(), hour).await.expect("create"));
    assert_eq!(read(&*h, &id).await, "first");
    assert_eq!(
        h.create(&new_id(&*h), "x".into(), Duration::ZERO)
            .await
            .map_err(|e| e.kind())
            .err(),
        Some(ErrorKind::InvalidArgument)
    );

    let contested = new_id(&*h);
    let mut tasks = Vec::new();
    for n in 0..16u8 {
        let handler = request(f, &namespace, &options).await;
        let id = contested.clone();
        tasks.push(tokio::spawn(async move {
            handler
                .create(&id, Bytes::from(vec![n]), hour)
                .await
                .expect("create")
        }));
    }
    let mut winners = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        if task.await.expect("a create task panicked") {
            winners.push(n);
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(
        read(&*h, &contested).await,
        Bytes::from(vec![winners[0] as u8])
    );
}

/// Keys carry the prefix: two applications with different prefixes on one store never see
/// each other's sessions.
pub async fn prefixes_keep_applications_apart(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    let one = request(
        f,
        &namespace,
        &SessionOptions::new().with_prefix("app1.").expect("prefix"),
    )
    .await;
    let two = request(
        f,
        &namespace,
        &SessionOptions::new().with_prefix("app2.").expect("prefix"),
    )
    .await;
    let id = new_id(&*one);
    one.write(&id, "one".into()).await.expect("write");
    assert_eq!(read(&*two, &id).await, "");
    two.write(&id, "two".into()).await.expect("write");
    assert_eq!(read(&*one, &id).await, "one");
    two.destroy(&id).await.expect("destroy");
    assert_eq!(read(&*one, &id).await, "one");
}

/// Without locking, `read` takes no lock: two requests read one session at once.
pub async fn without_locking_reads_do_not_wait(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    let options = SessionOptions::new();
    let a = request(f, &namespace, &options).await;
    let b = request(f, &namespace, &options).await;
    assert!(!a.is_locking());
    let id = new_id(&*a);
    a.write(&id, "x".into()).await.expect("write");
    assert_eq!(read(&*a, &id).await, "x");
    assert_eq!(read(&*b, &id).await, "x");
    b.write(&id, "y".into()).await.expect("write");
    a.write(&id, "z".into()).await.expect("write");
}

/// With locking, `read` takes the session's lock: another request's `read` fails with
/// [`ErrorKind::Locked`] once its retries are spent, and succeeds once `close` released it.
/// Other sessions are not affected.
pub async fn a_held_lock_blocks_other_requests_until_close(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    let options = locking(2, Duration::from_secs(30));
    let a = request(f, &namespace, &options).await;
    let b = request(f, &namespace, &options).await;
    assert!(a.is_locking());
    let (id, other) = (new_id(&*a), new_id(&*a));
    assert_eq!(read(&*a, &id).await, "");
    assert_eq!(
        read(&*a, &id).await,
        "",
        "a request blocked on its own lock"
    );
    let err = b
        .read(&id)
        .await
        .expect_err("read through another request's lock");
    assert_eq!(err.kind(), ErrorKind::Locked);
    assert!(err.is_retryable());
    assert_eq!(
        read(&*b, &other).await,
        "",
        "the lock of one session blocked another"
    );
    a.write(&id, "from a".into())
        .await
        .expect("write under the lock");
    a.close().await.expect("close");
    assert_eq!(read(&*b, &id).await, "from a");
    b.close().await.expect("close");
}

/// `destroy` releases the lock of the session it destroys.
pub async fn destroy_releases_the_lock(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    let options = locking(0, Duration::from_secs(30));
    let a = request(f, &namespace, &options).await;
    let b = request(f, &namespace, &options).await;
    let id = new_id(&*a);
    a.read(&id).await.expect("read");
    a.destroy(&id).await.expect("destroy");
    assert_eq!(read(&*b, &id).await, "");
    b.close().await.expect("close");
}

/// A handler dropped while holding a lock (the request future was dropped: a cancelled or
/// panicked request) releases it, instead of blocking the session until the lock expires.
pub async fn a_dropped_request_releases_its_lock(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    // An expiry far longer than the retries wait: only the release can free the session.
    let options = locking(30, Duration::from_secs(600));
    let a = request(f, &namespace, &options).await;
    let id = new_id(&*a);
    a.read(&id).await.expect("read");
    drop(a);
    let b = request(f, &namespace, &options).await;
    b.read(&id)
        .await
        .expect("the dropped request's lock was not released");
    b.close().await.expect("close");

    // A request dropped while waiting for the lock leaves nothing behind either.
    let c = request(f, &namespace, &options).await;
    c.read(&id).await.expect("read");
    let d = request(f, &namespace, &options).await;
    let waiting = tokio::time::timeout(Duration::from_millis(30), d.read(&id)).await;
    assert!(waiting.is_err(), "d read through c's lock");
    drop(d);
    c.close().await.expect("close");
    let e = request(f, &namespace, &locking(0, Duration::from_secs(600))).await;
    e.read(&id)
        .await
        .expect("a cancelled wait left a lock behind");
    e.close().await.expect("close");
}

/// A lock always ends: past its expiry another request takes it. The first request's write is
/// then refused (it would overwrite the other's session), and its `close` does not release
/// the lock it lost (the release is owner-checked, unlike php-memcached's).
pub async fn an_expired_lock_is_taken_over_and_owner_checked(f: &dyn SessionFactory) {
    let clock = needs_clock(f);
    let namespace = unique_namespace("sess");
    let options = locking(0, Duration::from_secs(10));
    let a = request(f, &namespace, &options).await;
    let b = request(f, &namespace, &options).await;
    let c = request(f, &namespace, &options).await;
    let id = new_id(&*a);
    a.read(&id).await.expect("read");
    clock.advance(Duration::from_secs(11));
    b.read(&id).await.expect("an expired lock still blocked");
    let err = a
        .write(&id, "from a".into())
        .await
        .expect_err("a wrote without its lock");
    assert_eq!(err.kind(), ErrorKind::Locked);
    a.close().await.expect("close");
    assert_eq!(
        c.read(&id).await.map_err(|e| e.kind()).err(),
        Some(ErrorKind::Locked),
        "a released the lock b holds"
    );
    b.write(&id, "from b".into()).await.expect("write");
    b.close().await.expect("close");
    assert_eq!(read(&*c, &id).await, "from b");
    c.close().await.expect("close");
}

/// With locking on, concurrent requests on one session (each read, compute, write, close) run
/// one after the other: no write is lost. Without locks, two read-modify-write requests that
/// overlap lose one of the two increments.
pub async fn concurrent_requests_with_locking_lose_no_write(f: &dyn SessionFactory) {
    const WORKERS: usize = 4;
    const ROUNDS: usize = 8;
    let namespace = unique_namespace("sess");
    let mut lock = LockOptions::default();
    lock.retries = 1_000;
    let options = SessionOptions::new()
        .with_locking(lock)
        .expect("lock options");
    let setup = request(f, &namespace, &options).await;
    let id = new_id(&*setup);
    setup.write(&id, "0".into()).await.expect("write");
    setup.close().await.expect("close");

    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let mut requests = Vec::new();
        for _ in 0..ROUNDS {
            requests.push(request(f, &namespace, &options).await);
        }
        let id = id.clone();
        workers.push(tokio::spawn(async move {
            for handler in requests {
                let data = handler.read(&id).await.expect("read");
                let n: u64 = std::str::from_utf8(&data)
                    .expect("utf-8")
                    .parse()
                    .expect("a number");
                // Widen the read-modify-write window so that overlaps would happen.
                tokio::time::sleep(Duration::from_millis(1)).await;
                handler
                    .write(&id, (n + 1).to_string().into())
                    .await
                    .expect("write");
                handler.close().await.expect("close");
            }
        }));
    }
    for worker in workers {
        worker.await.expect("a worker panicked");
    }
    let check = request(f, &namespace, &SessionOptions::new()).await;
    assert_eq!(read(&*check, &id).await, (WORKERS * ROUNDS).to_string());
}

/// A session written with a far lifetime (13 and 100 years: tower-sessions can ask for far
/// expiries) reads back, after a write and after `update_timestamp`: never acknowledged and
/// then lost.
pub async fn a_far_lifetime_is_kept(f: &dyn SessionFactory) {
    let namespace = unique_namespace("sess");
    for years in [13, 100] {
        let h = request(f, &namespace, &with_lifetime(years * 365 * 86_400)).await;
        let id = new_id(&*h);
        h.write(&id, "far".into()).await.expect("write");
        assert_eq!(read(&*h, &id).await, "far", "written for {years} years");
        h.update_timestamp(&id, "far".into())
            .await
            .expect("update_timestamp");
        assert_eq!(read(&*h, &id).await, "far", "touched for {years} years");
    }
}
