//! Doctrine's storage layout, byte for byte: the keys and the version value that PHP's
//! doctrine/cache 2.x writes through a PSR-6 pool (`DoctrineProvider`).

use cache_store::Result;

use super::encoded_keys::{EncodedKeys, push_raw_url_encoded};

/// The key of a namespace's version: `DoctrineNamespaceCacheKey[<namespace>]`, encoded.
pub(super) fn version_key(namespace: &str) -> String {
    let mut out = String::with_capacity(31 + namespace.len() * 3);
    out.push_str("DoctrineNamespaceCacheKey%5B");
    push_raw_url_encoded(&mut out, namespace);
    out.push_str("%5D");
    out
}

/// The key of an id: `<namespace>[<id>][<version>]`, encoded, built in one buffer (this runs
/// on every call).
pub(super) fn id_key(namespace: &str, id: &str, version: u64) -> String {
    let mut out = String::with_capacity(namespace.len() + id.len() + 32);
    push_raw_url_encoded(&mut out, namespace);
    out.push_str("%5B");
    push_raw_url_encoded(&mut out, id);
    out.push_str("%5D%5B");
    out.push_str(itoa::Buffer::new().format(version));
    out.push_str("%5D");
    out
}

/// The keys of many ids, in one buffer.
pub(super) fn id_keys<'i>(
    namespace: &str,
    ids: impl ExactSizeIterator<Item = &'i str> + Clone,
    version: u64,
) -> Result<EncodedKeys> {
    let prefix = format!("{namespace}[");
    let suffix = format!("][{version}]");
    // The suffix is never empty, so no key is: this never fails.
    EncodedKeys::new(&prefix, ids, &suffix)
}

/// The stored form of a version: PHP's `serialize()` of an int, `i:<n>;`, so that a PHP
/// process reads it back.
pub(super) fn encode_version(version: u64) -> String {
    format!("i:{version};")
}

/// The largest version: PHP's ints are 64-bit signed, and a PHP process must read (and
/// increment) what a Rust process writes.
pub(super) const MAX_VERSION: u64 = i64::MAX as u64;

/// What a namespace's version key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StoredVersion {
    /// Nothing, or zero: version 1, as Doctrine starts.
    Absent,
    /// A version from 1 to [`MAX_VERSION`].
    Valid(u64),
    /// Anything else: not an int, negative, past PHP's ints, damaged.
    Corrupt,
}

/// Reads a stored version: an int as PHP marshals it (`serialize()`'s `i:<n>;`, or igbinary,
/// which Symfony uses where the extension is loaded), or bare digits.
pub(super) fn decode_version(stored: &[u8]) -> StoredVersion {
    let version = match php_marshal::unmarshal::<i64>(stored) {
        Ok(version) => u64::try_from(version).ok(),
        Err(_) => std::str::from_utf8(stored)
            .ok()
            .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<u64>().ok()),
    };
    match version {
        Some(0) => StoredVersion::Absent,
        Some(version) if version <= MAX_VERSION => StoredVersion::Valid(version),
        _ => StoredVersion::Corrupt,
    }
}

/// The version after `version`, or `None` past PHP's ints.
pub(super) fn next_version(version: u64) -> Option<u64> {
    version.checked_add(1).filter(|next| *next <= MAX_VERSION)
}

/// A version no entry can have been written under, to replace a corrupt one or one that
/// cannot be incremented: drawn at random from `[2^32, 2^62)`. Counting from 1, no namespace
/// reaches 2^32 `delete_all`s, so a drawn version never meets a counted one; it meets an
/// earlier drawn one with a chance of one in 2^61.
pub(super) fn fresh_version() -> u64 {
    fastrand::u64((1 << 32)..(1 << 62))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_what_php_writes() {
        // PHP's layout (DoctrineProvider over a PSR-6 pool, namespace "ns"); that PHP itself
        // writes these keys is checked in cache-testkit/tests/php_symfony.rs, where Symfony's
        // DoctrineProvider and this one share entries (awkward ids included) on Redis.
        assert_eq!(id_key("ns", "foo", 1), "ns%5Bfoo%5D%5B1%5D");
        assert_eq!(id_key("ns", "a:b/c", 1), "ns%5Ba%3Ab%2Fc%5D%5B1%5D");
        assert_eq!(version_key("ns"), "DoctrineNamespaceCacheKey%5Bns%5D");
        assert_eq!(id_key("", "", 1), "%5B%5D%5B1%5D");
        assert_eq!(id_key("", "x", 0), "%5Bx%5D%5B0%5D");
        assert_eq!(
            id_key("", "x", u64::MAX),
            "%5Bx%5D%5B18446744073709551615%5D"
        );
    }

    #[test]
    fn a_batch_of_keys_is_each_key_in_order() {
        let ids = ["a", "", "é[x]", "user.000001", "a"];
        let keys = id_keys("n s", ids.iter().copied(), 7).expect("keys");
        let batch: Vec<&str> = keys.iter().collect();
        let one_by_one: Vec<String> = ids.iter().map(|id| id_key("n s", id, 7)).collect();
        assert_eq!(batch, one_by_one);
        let none = id_keys("ns", std::iter::empty(), 1).expect("keys");
        assert_eq!(none.iter().count(), 0);
    }

    #[test]
    fn versions_read_igbinary_too() {
        for version in [1u64, 255, 256, 1 << 40, MAX_VERSION] {
            let igbinary = php_marshal::Format::Igbinary
                .to_vec(&version)
                .expect("an int");
            assert_eq!(decode_version(&igbinary), StoredVersion::Valid(version));
        }
        let negative = php_marshal::Format::Igbinary
            .to_vec(&-1i64)
            .expect("an int");
        assert_eq!(decode_version(&negative), StoredVersion::Corrupt);
    }

    #[test]
    fn versions_read_php_and_bare_forms() {
        assert_eq!(encode_version(2), "i:2;");
        assert_eq!(decode_version(b"i:2;"), StoredVersion::Valid(2));
        assert_eq!(decode_version(b"17"), StoredVersion::Valid(17));
        assert_eq!(decode_version(b"i:0;"), StoredVersion::Absent);
        assert_eq!(
            decode_version(b"i:9223372036854775807;"),
            StoredVersion::Valid(MAX_VERSION)
        );
        for corrupt in [
            &b"s:1:\"x\";"[..],
            b"\xff",
            b"i:18446744073709551615;",
            b"i:9223372036854775808;",
            b"i:99999999999999999999999;",
            b"i:-1;",
            b"d:1.5;",
            b"",
            b"i:;",
        ] {
            assert_eq!(
                decode_version(corrupt),
                StoredVersion::Corrupt,
                "{corrupt:?}"
            );
        }
    }

    #[test]
    fn versions_stop_at_phps_ints_and_fresh_ones_never_meet_counted_ones() {
        assert_eq!(next_version(1), Some(2));
        assert_eq!(next_version(MAX_VERSION), None);
        assert_eq!(next_version(u64::MAX), None);
        for _ in 0..1000 {
            let fresh = fresh_version();
            assert!((1 << 32..1 << 62).contains(&fresh), "{fresh}");
        }
    }

    #[test]
    fn distinct_ids_never_share_a_key() {
        let ids = ["a]", "a", "a][1", "[a", "a%5D", "", "\0", "%00"];
        let keys: std::collections::HashSet<String> =
            ids.iter().map(|id| id_key("ns", id, 1)).collect();
        assert_eq!(keys.len(), ids.len());
    }
}
