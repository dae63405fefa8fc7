//! The client against real memcached servers: pipelines answered in order, multi-gets,
//! keys that never reach the wire raw, many callers on one connection, two servers, and a
//! server that is not there.
//!
//! The servers come from `CACHE_TEST_MEMCACHED_URL` (one) and `CACHE_TEST_MEMCACHED_URLS`
//! (two), as `scripts/test-servers.sh` sets them. Unset, a test prints why and returns; with
//! `CACHE_TEST_REQUIRE_SERVERS` set (as CI sets it) it fails instead.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use memcached_meta::{Connection, ErrorKind, Reply, SetMode, owner, protocol};

/// The `host:port` addresses in `var` (`memcache://a:1,b:2`), or `None` when it is unset.
fn addresses(var: &str) -> Option<Vec<String>> {
    match std::env::var(var) {
        Ok(url) => Some(
            url.trim_start_matches("memcache://")
                .split(',')
                .map(str::to_owned)
                .collect(),
        ),
        Err(_) if std::env::var_os("CACHE_TEST_REQUIRE_SERVERS").is_some() => {
            panic!("{var} is unset, and CACHE_TEST_REQUIRE_SERVERS asks for every server test")
        }
        Err(_) => {
            eprintln!("skipped: {var} is unset (scripts/test-servers.sh sets it)");
            None
        }
    }
}

fn connect(address: &str) -> Connection {
    Connection::new(address, Duration::from_secs(1), Duration::from_secs(2))
}

/// A key no other test run uses.
fn unique(name: &str) -> Vec<u8> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("meta-test.{nanos}.{name}").into_bytes()
}

#[tokio::test]
async fn a_pipeline_is_answered_in_order_in_one_call() {
    let Some(servers) = addresses("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let server = connect(&servers[0]);
    let key = unique("pipeline");
    let mut request = Vec::new();
    protocol::meta_set(&mut request, &key, b"v1", 42, 60, SetMode::Set);
    protocol::meta_get(&mut request, &key, true, true, None);
    protocol::meta_set(&mut request, &key, b"v2", 0, 60, SetMode::Add);
    protocol::meta_delete(&mut request, &key);
    protocol::meta_get(&mut request, &key, true, false, None);
    protocol::meta_delete(&mut request, &key);
    let replies = server.call(&request, 6).await.expect("the pipeline");
    assert!(matches!(replies[0], Reply::Done { .. }), "{replies:?}");
    match &replies[1] {
        Reply::Value { data, flags } => {
            assert_eq!(&data[..], b"v1");
            assert_eq!(flags.client, Some(42));
            assert!(flags.cas.is_some(), "asked for the CAS value");
        }
        other => panic!("expected the value, got {other:?}"),
    }
    assert_eq!(replies[2], Reply::NotStored, "add of a present key");
    assert!(matches!(replies[3], Reply::Done { .. }));
    assert_eq!(replies[4], Reply::Miss);
    assert_eq!(replies[5], Reply::NotFound, "delete of a missing key");
}

#[tokio::test]
async fn a_multi_get_names_the_hits_in_the_order_asked() {
    let Some(servers) = addresses("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let server = connect(&servers[0]);
    let (a, b, c) = (unique("a"), unique("b"), unique("c"));
    let mut request = Vec::new();
    protocol::meta_set(&mut request, &a, b"A", 1, 60, SetMode::Set);
    protocol::meta_set(&mut request, &c, b"", 3, 60, SetMode::Set);
    server.call(&request, 2).await.expect("the writes");

    let mut request = Vec::new();
    protocol::multi_get_start(&mut request);
    let texts: Vec<_> = [&a, &b, &c, &a]
        .into_iter()
        .map(|key| protocol::multi_get_key(&mut request, key))
        .collect();
    protocol::multi_get_end(&mut request);
    let replies = server.call(&request, 1).await.expect("the multi-get");
    let named: Vec<(&[u8], u32, &[u8])> = replies
        .iter()
        .filter_map(|reply| match reply {
            Reply::Item { key, flags, data } => Some((&key[..], *flags, &data[..])),
            _ => None,
        })
        .collect();
    let text = |i: usize| &request[texts[i].clone()];
    assert_eq!(
        named,
        [
            (text(0), 1, &b"A"[..]),
            (text(2), 3, &b""[..]),
            (text(3), 1, &b"A"[..])
        ],
        "the hits, in the order asked, a key asked twice answered twice, an empty value kept"
    );
    assert_eq!(replies.last(), Some(&Reply::End));
}

/// Spaces, CR LF and command words in a key stay inside the key: the key goes out as
/// base64 text, so it can neither split the command nor inject another.
#[tokio::test]
async fn keys_never_reach_the_wire_raw() {
    let Some(servers) = addresses("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let server = connect(&servers[0]);
    let victim = unique("victim");
    let mut hostile = unique("hostile");
    hostile.extend_from_slice(b" \r\nmd ");
    hostile.extend_from_slice(&victim);
    hostile.extend_from_slice(b"\r\nflush_all\0");
    let mut request = Vec::new();
    protocol::meta_set(&mut request, &victim, b"safe", 0, 60, SetMode::Set);
    protocol::meta_set(&mut request, &hostile, b"odd", 0, 60, SetMode::Set);
    protocol::meta_get(&mut request, &hostile, true, false, None);
    protocol::meta_get(&mut request, &victim, true, false, None);
    let replies = server.call(&request, 4).await.expect("the pipeline");
    assert!(matches!(&replies[2], Reply::Value { data, .. } if &data[..] == b"odd"));
    assert!(
        matches!(&replies[3], Reply::Value { data, .. } if &data[..] == b"safe"),
        "the hostile key reached the wire raw: {replies:?}"
    );
}

/// Many callers share one connection; each gets its own replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_each_get_their_own_replies() {
    let Some(servers) = addresses("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let server = Arc::new(connect(&servers[0]));
    let tasks: Vec<_> = (0..32u32)
        .map(|task| {
            let server = Arc::clone(&server);
            tokio::spawn(async move {
                for round in 0..20u32 {
                    let key = unique(&format!("task{task}"));
                    let value = format!("{task}.{round}");
                    let mut request = Vec::new();
                    protocol::meta_set(
                        &mut request,
                        &key,
                        value.as_bytes(),
                        task,
                        60,
                        SetMode::Set,
                    );
                    protocol::meta_get(&mut request, &key, true, false, None);
                    let replies = server.call(&request, 2).await.expect("a call");
                    match &replies[1] {
                        Reply::Value { data, flags } => {
                            assert_eq!(&data[..], value.as_bytes());
                            assert_eq!(flags.client, Some(task));
                        }
                        other => panic!("task {task} got {other:?}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a task");
    }
}

/// Over two servers, each key lives on its owner, and every process agrees on the owner.
#[tokio::test]
async fn two_servers_split_keys_by_owner() {
    let Some(addresses) = addresses("CACHE_TEST_MEMCACHED_URLS") else {
        return;
    };
    assert_eq!(addresses.len(), 2, "two servers");
    let servers: Vec<Connection> = addresses.iter().map(|a| connect(a)).collect();
    let keys: Vec<Vec<u8>> = (0..40).map(|i| unique(&format!("k{i}"))).collect();
    let owners: Vec<usize> = keys
        .iter()
        .map(|key| owner(servers.iter().map(Connection::address), key))
        .collect();
    assert!(
        owners.contains(&0) && owners.contains(&1),
        "both servers own keys"
    );
    for (key, &at) in keys.iter().zip(&owners) {
        let mut request = Vec::new();
        protocol::meta_set(&mut request, key, b"v", 0, 60, SetMode::Set);
        servers[at].call(&request, 1).await.expect("a write");
    }
    for (key, &at) in keys.iter().zip(&owners) {
        let mut request = Vec::new();
        protocol::meta_get(&mut request, key, false, false, None);
        let on_owner = servers[at].call(&request, 1).await.expect("a read");
        let elsewhere = servers[1 - at].call(&request, 1).await.expect("a read");
        assert!(matches!(on_owner[0], Reply::Done { .. }));
        assert_eq!(elsewhere[0], Reply::Miss);
        assert_eq!(owner(addresses.iter().map(String::as_str), key), at);
    }
}

/// A server that is not there fails the call at once, retryably, naming the address.
#[tokio::test]
async fn a_server_that_is_not_there_fails_retryably() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = listener.local_addr().expect("its address").to_string();
    drop(listener);
    let server = connect(&address);
    let mut request = Vec::new();
    protocol::meta_get(&mut request, b"k", false, false, None);
    let err = server.call(&request, 1).await.expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains(&address), "{err}");
}

/// A command line memcached refuses makes it read the command's data as a command: every
/// reply after that would answer the wrong request. The call fails, the connection is closed,
/// and the next call, on a new connection, gets its own answers.
#[tokio::test]
async fn a_refused_command_line_closes_the_connection_instead_of_shifting_replies() {
    let Some(servers) = addresses("CACHE_TEST_MEMCACHED_URL") else {
        return;
    };
    let server = connect(&servers[0]);
    let key = unique("stream");
    let mut setup = Vec::new();
    protocol::meta_set(&mut setup, &key, b"right", 0, 60, SetMode::Set);
    server.call(&setup, 1).await.expect("set");

    // A key of 300 base64 characters: memcached refuses the line and reads "wrong" as a
    // command, so two replies come for the first command.
    let mut request = format!("ms {} 5 T60\r\nwrong\r\n", "A".repeat(300)).into_bytes();
    protocol::meta_get(&mut request, &key, true, false, None);
    let err = server
        .call(&request, 2)
        .await
        .expect_err("the stream was lost");
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.message().contains("CLIENT_ERROR"), "{err}");

    let mut request = Vec::new();
    protocol::meta_get(&mut request, &key, true, false, None);
    let replies = server.call(&request, 1).await.expect("a new connection");
    assert!(
        matches!(&replies[..], [Reply::Value { data, .. }] if &data[..] == b"right"),
        "{replies:?}"
    );
}
