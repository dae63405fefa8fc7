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
    let mut out = String::with_capacity(namespace.len() + id.len() + 32);
    push_encoded(&mut out, namespace);
    out.push_str("%5B");
    push_encoded(&mut out, id);
    push_suffix(&mut out, version);
    out
}

/// The keys of many ids, all in one buffer: one allocation for a whole batch instead of one
/// per id, and the parts every key shares encoded once.
pub(super) struct IdKeys {
    text: String,
    ends: Vec<usize>,
}

impl IdKeys {
    pub(super) fn new<'i>(
        namespace: &str,
        ids: impl ExactSizeIterator<Item = &'i str> + Clone,
        version: u64,
    ) -> Self {
        let mut prefix = String::with_capacity(namespace.len() + 3);
        push_encoded(&mut prefix, namespace);
        prefix.push_str("%5B");
        let mut suffix = String::with_capacity(32);
        push_suffix(&mut suffix, version);
        let shared = prefix.len() + suffix.len();
        // Exact unless an id needs encoding (the buffer then grows).
        let capacity = ids.clone().map(|id| shared + id.len()).sum();
        let mut keys = IdKeys {
            text: String::with_capacity(capacity),
            ends: Vec::with_capacity(ids.len()),
        };
        for id in ids {
            keys.text.push_str(&prefix);
            push_encoded(&mut keys.text, id);
            keys.text.push_str(&suffix);
            keys.ends.push(keys.text.len());
        }
        keys
    }

    /// The keys, in the order of the ids.
    pub(super) fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        // Every bound is the end of a pushed key, so a char boundary: `get` always answers.
        starts
            .zip(&self.ends)
            .map(|(start, &end)| self.text.get(start..end).unwrap_or_default())
    }
}

/// `][<version>]`, encoded. Digits are unreserved: the version needs no encoding.
fn push_suffix(out: &mut String, version: u64) {
    out.push_str("%5D%5B");
    out.push_str(itoa::Buffer::new().format(version));
    out.push_str("%5D");
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

/// Which bytes `rawurlencode` keeps, by value: one load per byte where the range tests took
/// several (ids are encoded on every call, a batch's ids all at once).
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        byte += 1;
    }
    table
};

fn is_unreserved(byte: u8) -> bool {
    UNRESERVED[usize::from(byte)]
}

fn push_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = text.as_bytes();
    // Most ids need no encoding: one check (without early exit, so the compiler unrolls
    // it), one copy.
    if bytes
        .iter()
        .fold(true, |plain, &byte| plain & is_unreserved(byte))
    {
        out.push_str(text);
        return;
    }
    // Unreserved runs are copied whole. Every other byte, non-ASCII ones included, ends a
    // run, so runs start and end on char boundaries.
    let mut run = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if is_unreserved(byte) {
            continue;
        }
        out.push_str(text.get(run..at).unwrap_or_default());
        out.push('%');
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        run = at + 1;
    }
    out.push_str(text.get(run..).unwrap_or_default());
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
        assert_eq!(raw_url_encode("é"), "%C3%A9");
        assert_eq!(id_key("", "x", 0), "%5Bx%5D%5B0%5D");
        assert_eq!(
            id_key("", "x", u64::MAX),
            "%5Bx%5D%5B18446744073709551615%5D"
        );
    }

    #[test]
    fn a_batch_of_keys_is_each_key_in_order() {
        let ids = ["a", "", "é[x]", "user.000001", "a"];
        let keys = IdKeys::new("ns", ids.iter().copied(), 7);
        let batch: Vec<&str> = keys.iter().collect();
        let one_by_one: Vec<String> = ids.iter().map(|id| id_key("ns", id, 7)).collect();
        assert_eq!(batch, one_by_one);
        assert_eq!(IdKeys::new("ns", std::iter::empty(), 1).iter().count(), 0);
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
