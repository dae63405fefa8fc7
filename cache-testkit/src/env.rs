//! What a test run takes from its environment: server URLs, and fresh namespaces.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable that turns "server not configured" from a skip into a failure. The project's
/// test script sets it in CI, so a server test never silently skips there.
pub const REQUIRE_SERVERS_VAR: &str = "CACHE_TEST_REQUIRE_SERVERS";

/// The URL of a test server from the environment variable `var`, or `None` (after printing why
/// the test is skipped) when it is unset.
///
/// # Panics
///
/// When `var` is unset and [`REQUIRE_SERVERS_VAR`] is `1` or `true`: a test that needs a
/// server must not pass by skipping in CI.
pub fn server_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            let required = std::env::var(REQUIRE_SERVERS_VAR)
                .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
            assert!(
                !required,
                "{var} is not set but {REQUIRE_SERVERS_VAR} requires every server test to run \
                 (start the servers with scripts/test.sh)"
            );
            eprintln!("skipped: {var} is not set (scripts/test.sh starts the test servers)");
            None
        }
    }
}

/// A namespace no other test, run or process uses, so tests never see each other's data.
pub fn unique_namespace(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut namespace = format!(
        "{prefix}-{:x}-{:x}-{n:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    );
    namespace.truncate(cache_store::MAX_NAMESPACE_LEN);
    namespace
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_namespaces_are_valid_and_distinct() {
        let a = unique_namespace("kit");
        let b = unique_namespace("kit");
        assert_ne!(a, b);
        cache_store::validate_namespace(&a).unwrap();
        let long = unique_namespace(&"p".repeat(100));
        cache_store::validate_namespace(&long).unwrap();
    }
}
