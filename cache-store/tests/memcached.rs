//! The memcached backend against real servers: every kit (Store, PSR-6, PSR-16, Doctrine) over
//! one server and over two, and the memcached-specific promises: hostile keys stay keys, long
//! TTLs hold, oversized values fail alone, `clear` reaches other processes, and a stopped
//! server fails only its own keys and comes back.
//!
//! The URLs come from `CACHE_TEST_MEMCACHED_URL`, `CACHE_TEST_MEMCACHED_URLS` and
//! `CACHE_TEST_MEMCACHED_SERVER` (scripts/test-servers.sh sets them).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cache_store::memcached::MemcachedStore;
use cache_store::{Entry, ErrorKind, Expiration, Key, Store};
use cache_testkit::memcached::MemcachedFactory;
use cache_testkit::{PrivateServer, server_url, unique_namespace};

mod one_server {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URL"),
        without: [clock, foreign_data]
    );
}

mod two_servers {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URLS"),
        without: [clock, foreign_data]
    );
}

/// Every kit again with reads trusting the namespace token for a while (the kits' handles
/// share one process, so their clears must still be seen at once).
mod token_refresh {
    use super::*;
    cache_testkit::backend_suites!(
        if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URLS")
            .map(|f| f.with_token_refresh(Duration::from_secs(3600))),
        without: [clock, foreign_data]
    );
}

/// Every abstraction and bridge over memcached answers like the one reference model.
mod equivalence {
    use super::*;

    mod one_server {
        use super::*;
        cache_testkit::equivalence_suite!(
            if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URL")
        );
    }

    mod two_servers {
        use super::*;
        cache_testkit::equivalence_suite!(
            if_configured: MemcachedFactory::from_env("CACHE_TEST_MEMCACHED_URLS")
        );
    }
}

fn key(s: &str) -> Key<'_> {
    Key::new(s).expect("a valid key")
}

fn store(url: &str, namespace: &str) -> MemcachedStore {
    MemcachedStore::builder(url)
        .namespace(namespace)
        .build()
        .expect("a memcached store")
}

/// With a token refresh interval, reads trust the last token for that long: a `clear` by
/// another process is seen once the interval has passed, and a `clear` through any handle of
/// this process at once (its handles share the token).
#[tokio::test]
async fn with_a_token_refresh_interval_clears_are_seen_within_it() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URLS") else {
        return;
    };
    let ns = unique_namespace("refresh");
    let interval = Duration::from_millis(300);
    let cached = MemcachedStore::builder(&url)
        .namespace(&ns)
        .token_refresh(interval)
        .build()
        .unwrap();
    let elsewhere = store(&url, &ns);
    cached
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    assert!(cached.get(key("k")).await.unwrap().is_some());
    elsewhere.clear().await.unwrap();
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    assert_eq!(
        cached.get(key("k")).await.unwrap(),
        None,
        "another process's clear was not seen after the refresh interval"
    );
    assert_eq!(
        cached.get_many(&[key("k")]).await.unwrap()[0]
            .as_ref()
            .unwrap(),
        &None
    );

    cached
        .set(key("k"), "again".into(), Expiration::Never)
        .await
        .unwrap();
    assert!(cached.get(key("k")).await.unwrap().is_some());
    let sibling = cached.with_namespace(&ns).unwrap();
    sibling.clear().await.unwrap();
    assert_eq!(
        cached.get(key("k")).await.unwrap(),
        None,
        "a clear in this process was not seen at once"
    );
}

/// A server that accepts connections but never answers nor reads (hung) gives timeouts, for
/// a small request and for a batch too large to fit in the socket buffers, instead of a hang;
/// the watchdog's timeout also frees the caller stuck writing.
#[tokio::test]
async fn a_hung_server_gives_timeouts_not_hangs() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    // Accept and hold connections without ever reading or writing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    let hung = MemcachedStore::builder(&format!("memcache://{address}"))
        .namespace("hung")
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = hung.get(key("k")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_retryable());

    let big = Bytes::from(vec![b'x'; 512 * 1024]);
    let names: Vec<String> = (0..32).map(|i| format!("big{i}")).collect();
    let entries: Vec<Entry<'_>> = names
        .iter()
        .map(|n| Entry::new(key(n), big.clone(), Expiration::Never))
        .collect();
    let err = hung.set_many(&entries).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Timeout | ErrorKind::Unavailable),
        "{err}"
    );
    // The next call dials afresh and times out the same way.
    assert_eq!(
        hung.get(key("k")).await.unwrap_err().kind(),
        ErrorKind::Timeout
    );
}

/// Callers that give up while waiting for their replies (a caller's own timeout, a dropped
/// future) leave the connection answering every other caller with its own value, at once
/// and after a pause longer than the request timeout (their unread replies are no timeout).
#[tokio::test]
async fn callers_that_give_up_leave_the_connection_answering_correctly() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let timeout = Duration::from_millis(300);
    let s = MemcachedStore::builder(&url)
        .namespace(unique_namespace("give-up"))
        .request_timeout(timeout)
        .build()
        .unwrap();
    let names: Vec<String> = (0..32).map(|i| format!("k{i}")).collect();
    for name in &names {
        s.set(key(name), Bytes::from(name.clone()), Expiration::Never)
            .await
            .unwrap();
    }
    for round in 0..3 {
        // Every third caller gives up after its request is written.
        let calls = names.iter().enumerate().map(|(i, name)| {
            let s = &s;
            async move {
                if i % 3 == round {
                    let _ = tokio::time::timeout(Duration::from_micros(1), s.get(key(name))).await;
                    None
                } else {
                    Some((name, s.get(key(name)).await))
                }
            }
        });
        for (name, got) in futures_util::future::join_all(calls)
            .await
            .into_iter()
            .flatten()
        {
            assert_eq!(
                got.unwrap().as_deref(),
                Some(name.as_bytes()),
                "round {round}"
            );
        }
        tokio::time::sleep(timeout * 2).await;
        for name in &names {
            assert_eq!(
                s.get(key(name)).await.unwrap().as_deref(),
                Some(name.as_bytes()),
                "round {round}, after a pause"
            );
        }
    }
}

/// A key made to inject a command is stored as a plain key and touches nothing else.
#[tokio::test]
async fn a_key_with_crlf_and_a_command_is_just_a_key() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URLS") else {
        return;
    };
    let ns = unique_namespace("inject");
    let victim = store(&url, &format!("{ns}-other"));
    victim
        .set(key("keep"), "kept".into(), Expiration::Never)
        .await
        .unwrap();
    let attacker = store(&url, &ns);
    for hostile in ["a b\r\nflush_all", "x\r\ndelete keep\r\n", "k\0\r\n\t v"] {
        attacker
            .set(key(hostile), "plain".into(), Expiration::Never)
            .await
            .unwrap();
        assert_eq!(
            attacker.get(key(hostile)).await.unwrap().as_deref(),
            Some(&b"plain"[..])
        );
    }
    assert_eq!(
        victim.get(key("keep")).await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
}

/// A 40-day lifetime (past memcached's 30-day relative limit) is still a hit.
#[tokio::test]
async fn a_forty_day_lifetime_is_a_hit() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let s = store(&url, &unique_namespace("ttl"));
    let forty_days = Expiration::After(Duration::from_secs(40 * 86_400));
    s.set(key("long"), "v".into(), forty_days).await.unwrap();
    s.set_many(&[Entry::new(key("long2"), "v", forty_days)])
        .await
        .unwrap();
    assert!(s.get(key("long")).await.unwrap().is_some());
    assert!(s.get(key("long2")).await.unwrap().is_some());
    assert!(s.touch(key("long"), forty_days).await.unwrap());
    assert!(s.contains(key("long")).await.unwrap());
}

/// A value over the server's item size limit fails for its key only; the rest of the batch
/// is written.
#[tokio::test]
async fn an_oversized_value_fails_alone() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URLS") else {
        return;
    };
    let s = store(&url, &unique_namespace("big"));
    let names: Vec<String> = (0..10).map(|i| format!("small{i}")).collect();
    let mut entries = vec![Entry::new(
        key("huge"),
        vec![7u8; 2 * 1024 * 1024],
        Expiration::Never,
    )];
    entries.extend(
        names
            .iter()
            .map(|n| Entry::new(key(n), "ok", Expiration::Never)),
    );
    let failed: Vec<_> = s.set_many(&entries).await.unwrap().into_iter().collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, 0);
    assert_eq!(failed[0].1.kind(), ErrorKind::TooLarge);
    for n in &names {
        assert_eq!(
            s.get(key(n)).await.unwrap().as_deref(),
            Some(&b"ok"[..]),
            "{n}"
        );
    }
    let err = s
        .set(
            key("huge"),
            vec![7u8; 2 * 1024 * 1024].into(),
            Expiration::Never,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge);
}

/// `clear` by one process is seen at once by another (two independent stores here), and
/// touches no other namespace.
#[tokio::test]
async fn clear_is_seen_by_other_processes() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URLS") else {
        return;
    };
    let ns = unique_namespace("clear");
    let first = store(&url, &ns);
    let second = store(&url, &ns);
    let other = store(&url, &format!("{ns}x"));
    first
        .set(key("k"), "v".into(), Expiration::Never)
        .await
        .unwrap();
    other
        .set(key("k"), "other".into(), Expiration::Never)
        .await
        .unwrap();
    assert!(second.get(key("k")).await.unwrap().is_some());
    second.clear().await.unwrap();
    assert_eq!(first.get(key("k")).await.unwrap(), None);
    assert!(!first.contains(key("k")).await.unwrap());
    assert!(
        first
            .add(key("k"), "new".into(), Expiration::Never)
            .await
            .unwrap()
    );
    assert_eq!(
        second.get(key("k")).await.unwrap().as_deref(),
        Some(&b"new"[..])
    );
    assert_eq!(
        other.get(key("k")).await.unwrap().as_deref(),
        Some(&b"other"[..])
    );
    let stats = first.stats().await.unwrap();
    assert!(stats.uptime.is_some() && stats.entries.is_some());
}

/// `open` takes memcached URLs.
#[tokio::test]
async fn open_takes_memcached_urls() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let s = cache_store::open(&format!("{url}?namespace=opened&request_timeout=2s"))
        .await
        .unwrap();
    assert_eq!(s.namespace(), "opened");
    s.set(
        key("k"),
        "v".into(),
        Expiration::After(Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert!(s.contains(key("k")).await.unwrap());
}

fn private_memcached(binary: &str) -> PrivateServer {
    PrivateServer::memcached(binary, &[])
}

/// With one of two servers stopped, its keys fail with retryable errors (no panic, no hang)
/// while the other server's keys are served; once it is back, the same handle recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_only_its_keys_and_recovers() {
    let Some(binary) = server_url("CACHE_TEST_MEMCACHED_SERVER") else {
        return;
    };
    let stable = private_memcached(&binary);
    let mut flaky = private_memcached(&binary);
    let url = format!(
        "memcache://127.0.0.1:{},127.0.0.1:{}",
        stable.port(),
        flaky.port()
    );
    // Wherever the namespace token lives, a handle that has seen it keeps judging values with
    // it while its server is down, and writes it back when the server returns empty.
    let s = MemcachedStore::builder(&url)
        .namespace("faults")
        .connect_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let names: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    let keys: Vec<Key<'_>> = names.iter().map(|n| key(n)).collect();
    let entries: Vec<Entry<'_>> = keys
        .iter()
        .map(|&k| Entry::new(k, "v", Expiration::Never))
        .collect();
    assert!(s.set_many(&entries).await.unwrap().is_empty());

    flaky.stop();
    let values = s.get_many(&keys).await.unwrap();
    let served = values.iter().filter(|v| matches!(v, Ok(Some(_)))).count();
    let failed: Vec<_> = values.iter().filter_map(|v| v.as_ref().err()).collect();
    assert!(served > 0, "the stable server stopped serving");
    assert!(!failed.is_empty(), "no key lived on the stopped server");
    assert_eq!(
        served + failed.len(),
        keys.len(),
        "a key of the stopped server read as a miss"
    );
    assert!(failed.iter().all(|e| e.is_retryable()), "{failed:?}");

    flaky.restart(); // empty after the restart
    let mut recovered = false;
    for _ in 0..100 {
        if s.set_many(&entries).await.is_ok_and(|f| f.is_empty()) {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered, "the handle never recovered after the restart");
    let values = s.get_many(&keys).await.unwrap();
    assert!(values.iter().all(|v| matches!(v, Ok(Some(_)))));
}

/// The key memcached holds for the raw key `raw`: its base64 text, as the store sends it.
fn wire_key(raw: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = raw.as_bytes();
    let mut text = String::new();
    for chunk in raw.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            text.push(if i <= chunk.len() {
                TABLE[(n >> shift) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    text
}

/// Sends `command` to the first server of `url` and returns its first reply line.
async fn raw_command(url: &str, command: &[u8]) -> String {
    use tokio::io::AsyncBufReadExt;
    let mut line = String::new();
    sent(url, command)
        .await
        .read_line(&mut line)
        .await
        .expect("read");
    line.trim_end().to_owned()
}

/// A connection to the first server of `url` that has sent `command`, ready for the replies.
async fn sent(url: &str, command: &[u8]) -> tokio::io::BufReader<tokio::net::TcpStream> {
    use tokio::io::AsyncWriteExt;
    let address = url
        .trim_start_matches("memcache://")
        .split(',')
        .next()
        .expect("an address");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(command)
        .await
        .expect("talking to memcached");
    tokio::io::BufReader::new(stream)
}

/// memcached's own idea of the Unix time (`stats`, line `STAT time`). It counts on a
/// monotonic clock from a wall-clock reading taken when it started, so it drifts from the
/// machine's wall clock by whatever the wall clock was slewed or stepped since then.
async fn server_unix_time(url: &str) -> i64 {
    use tokio::io::AsyncBufReadExt;
    let mut lines = sent(url, b"stats\r\n").await.lines();
    while let Some(line) = lines.next_line().await.expect("read") {
        if let Some(time) = line.strip_prefix("STAT time ") {
            return time.trim().parse().expect("a Unix time");
        }
        assert_ne!(line, "END", "stats without a time");
    }
    panic!("stats ended early")
}

/// The remaining TTL memcached itself reports for the item `namespace:key` (`mg <key> t`): -1
/// for none, `None` for a miss.
async fn server_ttl(url: &str, namespace: &str, key: &str) -> Option<i64> {
    let text = wire_key(&format!("{namespace}:{key}"));
    let line = raw_command(url, format!("mg {text} t\r\n").as_bytes()).await;
    if line == "EN" {
        return None;
    }
    let ttl = line
        .strip_prefix("HD t")
        .unwrap_or_else(|| panic!("unexpected reply {line:?}"));
    Some(ttl.parse().expect("a TTL"))
}

/// A namespace token's key holding no token (a zero or no client flags, digits past 32 bits,
/// text, nothing) never panics or blocks the namespace: it is replaced by a new token that
/// every handle then shares, and nothing written before comes back. (Built with overflow
/// checks on, as every test is.)
#[tokio::test]
async fn a_damaged_namespace_token_is_replaced() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    for damaged in [
        "0",
        "99999999999999999999",
        "18446744073709551615",
        "garbage",
        "",
    ] {
        let ns = unique_namespace("token");
        let before = store(&url, &ns);
        before
            .set(key("k"), "old".into(), Expiration::Never)
            .await
            .unwrap();
        let token_key = wire_key(&format!("{ns}:{{version}}"));
        let write = format!("ms {token_key} {} F0\r\n{damaged}\r\n", damaged.len());
        assert_eq!(raw_command(&url, write.as_bytes()).await, "HD");

        // A new process (its own connections, no token remembered).
        let after = store(&url, &ns);
        assert_eq!(
            after.get(key("k")).await.unwrap(),
            None,
            "with the token {damaged:?}, an entry written before came back"
        );
        after
            .set(key("k"), "new".into(), Expiration::Never)
            .await
            .unwrap();
        let third = store(&url, &ns);
        assert_eq!(
            third.get(key("k")).await.unwrap().as_deref(),
            Some(&b"new"[..]),
            "the replacement of {damaged:?} is not shared"
        );
        assert!(third.contains(key("k")).await.unwrap());
        // The handle that knew the old token follows the replacement too.
        assert_eq!(
            before.get(key("k")).await.unwrap().as_deref(),
            Some(&b"new"[..])
        );
        third.clear().await.unwrap();
        assert_eq!(after.get(key("k")).await.unwrap(), None);
    }
}

/// Each write path sends the lifetime asked for, as memcached reports it: seconds rounded up
/// plus the one second its clock may lag (so no entry ends early), no TTL for Never, and a 40-day lifetime (sent as an absolute time) still 40 days away.
#[tokio::test]
async fn writes_send_the_lifetime_asked_for() {
    let Some(url) = server_url("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let ns = unique_namespace("ttl");
    let s = store(&url, &ns);
    let after = |secs| Expiration::After(Duration::from_secs(secs));

    s.set(key("set"), "v".into(), after(10)).await.unwrap();
    let ttl = server_ttl(&url, &ns, "set").await.unwrap();
    assert!((10..=11).contains(&ttl), "set sent {ttl} s for 10 s");

    s.set_many(&[
        Entry::new(key("never"), "v", Expiration::Never),
        Entry::new(
            key("sub"),
            "v",
            Expiration::After(Duration::from_millis(300)),
        ),
        Entry::new(key("forty"), "v", after(40 * 86_400)),
    ])
    .await
    .unwrap();
    assert_eq!(server_ttl(&url, &ns, "never").await, Some(-1));
    let ttl = server_ttl(&url, &ns, "sub").await.unwrap();
    assert!(
        (1..=2).contains(&ttl),
        "300 ms must round up to 1 s (+1), not 0 (forever): {ttl}"
    );
    // Sent as an absolute Unix time (ours, plus the second of margin), which memcached
    // measures against its own clock: that clock ticks once a second and may have drifted
    // from ours since the server started (a CI run saw it 3 s behind), so the TTL it reports
    // is judged against the offset between the two clocks, read around the write.
    let ttl = server_ttl(&url, &ns, "forty").await.unwrap();
    let ours = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let lag = ours - server_unix_time(&url).await;
    let expected = 40 * 86_400 + 1 + lag;
    assert!(
        (expected - 2..=expected + 2).contains(&ttl),
        "40 days became {ttl} s (expected {expected} with memcached {lag} s behind)"
    );

    assert!(s.add(key("added"), "v".into(), after(30)).await.unwrap());
    let ttl = server_ttl(&url, &ns, "added").await.unwrap();
    assert!((30..=31).contains(&ttl), "add sent {ttl} s for 30 s");

    assert!(s.touch(key("set"), after(60)).await.unwrap());
    let ttl = server_ttl(&url, &ns, "set").await.unwrap();
    assert!((60..=61).contains(&ttl), "touch sent {ttl} s for 60 s");
    assert!(s.touch(key("set"), Expiration::Never).await.unwrap());
    assert_eq!(
        server_ttl(&url, &ns, "set").await,
        Some(-1),
        "touch(Never) must clear the TTL"
    );
}
