//! Doctrine's storage layout, byte for byte: the keys and the version value that PHP's
//! doctrine/cache 2.x writes through a PSR-6 pool (`DoctrineProvider`).

/// The key of a namespace's version: `DoctrineNamespaceCacheKey[<namespace>]`, encoded.
pub(super) fn version_key(namespace: &str) -> String {
    let mut out = String::with_capacity(31 + namespace.len() * 3);
    out.push_str("DoctrineNamespaceCacheKey%5B");
    push_encoded(&mut out, namespace);
    out.push_str("%5D");
    out
}

/// The key of an id: `<namespace>[<id>][<version>]`, encoded, built in one buffer (this runs
/// on every call).
pub(super) fn id_key(namespace: &str, id: &str, version: u64) -> String {
    let mut out = String::with_capacity((namespace.len() + id.len()) * 3 + 32);
    push_encoded(&mut out, namespace);
    out.push_str("%5B");
    push_encoded(&mut out, id);
    out.push_str("%5D%5B");
    // Digits are unreserved: the version needs no encoding.
    out.push_str(&version.to_string());
    out.push_str("%5D");
    out
}

/// PHP's `rawurlencode`: RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) stay, every
/// other byte becomes `%XX` (upper-case hex). The result holds only characters legal in a
/// PSR-6 key, whatever the id.
#[cfg(test)]
pub(super) fn raw_url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    push_encoded(&mut out, text);
    out
}

fn push_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

/// The stored form of a version: PHP's `serialize()` of an int, `i:<n>;`, so that a PHP
/// process reads it back.
pub(super) fn encode_version(version: u64) -> String {
    format!("i:{version};")
}

/// A stored version: PHP's `i:<n>;`, or bare digits. `None` for anything else (Doctrine then
/// starts at 1).
pub(super) fn decode_version(stored: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(stored).ok()?;
    let digits = text
        .strip_prefix("i:")
        .and_then(|rest| rest.strip_suffix(';'))
        .unwrap_or(text);
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_what_php_writes() {
        // Observed in PHP: DoctrineProvider(ArrayAdapter) with namespace "ns".
        assert_eq!(id_key("ns", "foo", 1), "ns%5Bfoo%5D%5B1%5D");
        assert_eq!(id_key("ns", "a:b/c", 1), "ns%5Ba%3Ab%2Fc%5D%5B1%5D");
        assert_eq!(version_key("ns"), "DoctrineNamespaceCacheKey%5Bns%5D");
        assert_eq!(id_key("", "", 1), "%5B%5D%5B1%5D");
        assert_eq!(raw_url_encode("a b\0~é"), "a%20b%00~%C3%A9");
    }

    #[test]
    fn versions_read_php_and_bare_forms() {
        assert_eq!(encode_version(2), "i:2;");
        assert_eq!(decode_version(b"i:2;"), Some(2));
        assert_eq!(decode_version(b"17"), Some(17));
        assert_eq!(decode_version(b"s:1:\"x\";"), None);
        assert_eq!(decode_version(b"\xff"), None);
    }

    #[test]
    fn distinct_ids_never_share_a_key() {
        let ids = ["a]", "a", "a][1", "[a", "a%5D", "", "\0", "%00"];
        let keys: std::collections::HashSet<String> =
            ids.iter().map(|id| id_key("ns", id, 1)).collect();
        assert_eq!(keys.len(), ids.len());
    }
}
