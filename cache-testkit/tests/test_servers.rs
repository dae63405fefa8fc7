//! The servers that scripts/test-servers.sh starts answer at the URLs it exports. This runs
//! before any backend exists to use them, so a broken script fails here, not later.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use cache_testkit::server_url;

/// `scheme://host:port[/db]` and comma-separated lists of `host:port` into addresses.
fn addresses(url: &str) -> Vec<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(',')
        .map(|server| server.split('/').next().unwrap_or(server).to_owned())
        .collect()
}

fn ask(address: &str, request: &[u8]) -> String {
    let stream = TcpStream::connect(address).unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    (&stream)
        .write_all(request)
        .unwrap_or_else(|e| panic!("write to {address}: {e}"));
    let mut line = String::new();
    BufReader::new(&stream)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("read from {address}: {e}"));
    line
}

#[test]
fn redis_answers_ping() {
    let Some(url) = server_url("CACHE_TEST_REDIS_URL") else {
        return;
    };
    for address in addresses(&url) {
        assert_eq!(ask(&address, b"PING\r\n"), "+PONG\r\n", "{address}");
    }
}

#[test]
fn every_memcached_answers_version() {
    for var in ["CACHE_TEST_MEMCACHED_URL", "CACHE_TEST_MEMCACHED_URLS"] {
        let Some(url) = server_url(var) else {
            continue;
        };
        let servers = addresses(&url);
        if var.ends_with('S') {
            assert_eq!(servers.len(), 2, "{var} must list two servers: {url}");
        }
        for address in servers {
            let reply = ask(&address, b"version\r\n");
            assert!(reply.starts_with("VERSION "), "{address}: {reply:?}");
        }
    }
}
