//! Cache keys and namespaces, validated once at the edge.

use std::fmt;

use compact_str::CompactString;

use crate::error::{Error, ErrorKind, Result};

/// The characters PSR-6 and PSR-16 reserve: a key containing any of them is illegal.
pub const RESERVED_KEY_CHARS: &str = "{}()/\\@:";

/// A validated cache key, borrowed from the caller's string.
///
/// The rules are PSR-6's and PSR-16's, enforced in every build (PHP's Symfony and Doctrine
/// check them only inside `assert()`, so production PHP accepts `a:b`): a key is at least one
/// byte long and contains none of `{}()/\@:`. Every other character is accepted: spaces,
/// control bytes, NUL, any non-ASCII character, and any length. A backend whose wire format
/// cannot carry such a key encodes it internally.
///
/// Because every [`Store`](crate::Store) method takes `Key`s, an invalid key is rejected by
/// [`Key::new`] before any I/O can happen: it cannot reach a backend at all.
///
/// Keys are Rust strings, so they are valid UTF-8; PHP's byte strings that are not UTF-8 have
/// no `Key`.
///
/// ```
/// use cache_store::{ErrorKind, Key};
///
/// let key = Key::new("user.42 profile")?;
/// assert_eq!(key.as_str(), "user.42 profile");
///
/// let err = Key::new("user:42").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidKey);
/// assert!(Key::new("").is_err());
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key<'a>(&'a str);

impl<'a> Key<'a> {
    /// Validates `key`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] when `key` is empty or contains a reserved character.
    #[inline]
    pub fn new(key: &'a str) -> Result<Self> {
        validate_key(key)?;
        Ok(Key(key))
    }

    /// The key exactly as the caller gave it.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0.as_bytes()
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a valid key is never empty. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An owned copy.
    pub fn to_owned_key(&self) -> OwnedKey {
        OwnedKey(CompactString::new(self.0))
    }
}

impl fmt::Debug for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({:?})", self.0)
    }
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'a> TryFrom<&'a str> for Key<'a> {
    type Error = Error;

    fn try_from(key: &'a str) -> Result<Self> {
        Key::new(key)
    }
}

impl AsRef<str> for Key<'_> {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// An owned, validated key, for keeping keys beyond the caller's borrow (PSR-6 items, deferred
/// queues, lock tables).
///
/// Keys of up to 24 bytes, most keys in practice, live inline without a heap allocation, so
/// the 100 items of a PSR-6 batch cost no allocation for their keys.
///
/// ```
/// use cache_store::OwnedKey;
///
/// let key = OwnedKey::new(String::from("session.abc"))?;
/// assert_eq!(key.as_key().as_str(), "session.abc");
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OwnedKey(CompactString);

impl OwnedKey {
    /// Validates `key` as [`Key::new`] does.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] when `key` is empty or contains a reserved character.
    pub fn new(key: impl AsRef<str>) -> Result<Self> {
        let key = key.as_ref();
        validate_key(key)?;
        Ok(OwnedKey(CompactString::new(key)))
    }

    /// Borrows it as a [`Key`].
    pub fn as_key(&self) -> Key<'_> {
        Key(&self.0)
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OwnedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedKey({:?})", self.0.as_str())
    }
}

impl fmt::Display for OwnedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for OwnedKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl<'a> From<Key<'a>> for OwnedKey {
    fn from(key: Key<'a>) -> Self {
        key.to_owned_key()
    }
}

/// `IS_RESERVED[b]` is whether byte `b` is one of [`RESERVED_KEY_CHARS`].
const IS_RESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let chars = RESERVED_KEY_CHARS.as_bytes();
    let mut i = 0;
    while i < chars.len() {
        table[chars[i] as usize] = true;
        i += 1;
    }
    table
};

/// Whether `byte` is one of [`RESERVED_KEY_CHARS`].
fn is_reserved(byte: u8) -> bool {
    IS_RESERVED[usize::from(byte)]
}

/// Whether `bytes` holds a reserved character. This runs on every cache call, so it looks at
/// 16 bytes at a time, as one SIMD comparison per reserved character: whole blocks, then
/// the last 16 bytes (overlapping what was seen; a repeated look finds nothing new). A key
/// of 8 to 15 bytes is one block of its first and last 8; a shorter one is a table lookup
/// per byte.
#[inline]
fn has_reserved(bytes: &[u8]) -> bool {
    if let Some(last) = bytes.last_chunk::<16>() {
        let (blocks, _) = bytes.as_chunks::<16>();
        blocks
            .iter()
            .fold(block_has_reserved(last), |found, block| {
                found | block_has_reserved(block)
            })
    } else if let (Some(first), Some(last)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        let mut block = [0u8; 16];
        block[..8].copy_from_slice(first);
        block[8..].copy_from_slice(last);
        block_has_reserved(&block)
    } else {
        bytes.iter().any(|&b| is_reserved(b))
    }
}

#[inline(always)]
fn block_has_reserved(block: &[u8; 16]) -> bool {
    // Equality tests joined with `|` (no short circuit), one lane per byte: SIMD compares.
    let mut hits = [0u8; 16];
    for (hit, &b) in hits.iter_mut().zip(block) {
        *hit = u8::from(
            (b == b'{')
                | (b == b'}')
                | (b == b'(')
                | (b == b')')
                | (b == b'/')
                | (b == b'\\')
                | (b == b'@')
                | (b == b':'),
        );
    }
    hits.iter().fold(0, |any, &hit| any | hit) != 0
}

/// Checks the PSR key rules without building a [`Key`].
///
/// # Errors
///
/// [`ErrorKind::InvalidKey`] when `key` is empty or contains a reserved character.
// Inlined (the check is a few SIMD instructions), so that a loop over a batch's keys loads
// the comparison constants once; the error is built out of line.
#[inline]
pub fn validate_key(key: &str) -> Result<()> {
    // All reserved characters are ASCII, so a byte scan is exact and never splits a character.
    if !key.is_empty() && !has_reserved(key.as_bytes()) {
        return Ok(());
    }
    Err(invalid_key(key))
}

#[cold]
#[inline(never)]
fn invalid_key(key: &str) -> Error {
    let Some(bad) = key.bytes().find(|&b| is_reserved(b)) else {
        // Only the empty key fails without a reserved character.
        return Error::new(ErrorKind::InvalidKey, "a cache key cannot be empty");
    };
    Error::new(
        ErrorKind::InvalidKey,
        format!(
            "cache key {:?} contains the reserved character {:?} (reserved: {RESERVED_KEY_CHARS})",
            abbreviate(key),
            bad as char
        ),
    )
}

/// The longest namespace accepted, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 64;

/// Checks a namespace: at most [`MAX_NAMESPACE_LEN`] bytes of `A-Z a-z 0-9 _ . + -`.
///
/// The alphabet is Symfony's `RedisAdapter` one: it can never carry a glob metacharacter into
/// a Redis `SCAN MATCH` pattern nor a byte memcached forbids, so every backend can use a
/// namespace as it is. The empty namespace is allowed and is a namespace like any other: it
/// is never a licence to flush a whole server.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] when the namespace is too long or has another character.
pub fn validate_namespace(namespace: &str) -> Result<()> {
    if namespace.len() > MAX_NAMESPACE_LEN {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "namespace {:?} is longer than {MAX_NAMESPACE_LEN} bytes",
                abbreviate(namespace)
            ),
        ));
    }
    if let Some(bad) = namespace
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')))
    {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "namespace {:?} contains {bad:?}; a namespace may hold only A-Z a-z 0-9 _ . + -",
                abbreviate(namespace)
            ),
        ));
    }
    Ok(())
}

/// At most 64 characters of `s` for error messages, so a 1 MiB key does not become a 1 MiB
/// log line.
fn abbreviate(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The string members of PSR-6's and PSR-16's invalid-key providers (spec 6.1), plus the
    /// empty key.
    const INVALID: &[&str] = &[
        "",
        "{str",
        "rand{",
        "rand{str",
        "rand}str",
        "rand(str",
        "rand)str",
        "rand/str",
        "rand\\str",
        "rand@str",
        "rand:str",
    ];

    #[test]
    fn every_invalid_key_of_the_php_suites_is_rejected() {
        for key in INVALID {
            let err = Key::new(key).expect_err(key);
            assert_eq!(err.kind(), ErrorKind::InvalidKey, "{key:?}");
            assert!(OwnedKey::new(*key).is_err(), "{key:?}");
        }
    }

    #[test]
    fn awkward_but_valid_keys_are_accepted() {
        let long = "a".repeat(300);
        let huge = "k".repeat(100_000);
        for key in [
            "AbC19_.",
            "1234567890123456789012345678901234567890123456789012345678901234",
            "a\0b",
            "with space",
            "tab\tnew\nline\r",
            "\u{7f}\u{1}",
            "ключ",
            "🔑",
            "a|b%c-d",
            long.as_str(),
            huge.as_str(),
        ] {
            assert_eq!(Key::new(key).expect(key).as_str(), key);
        }
    }

    #[test]
    fn error_messages_do_not_echo_huge_keys() {
        let key = format!("{}:", "x".repeat(10_000));
        let err = Key::new(&key).unwrap_err();
        assert!(err.to_string().len() < 300, "{}", err);
    }

    #[test]
    fn namespaces_follow_the_redis_safe_alphabet() {
        for ok in ["", "app", "a-b.c+d_e", &"n".repeat(64)] {
            validate_namespace(ok).expect(ok);
        }
        for bad in ["a*", "a?", "a[b]", "a:b", "a b", "é", &"n".repeat(65)] {
            let err = validate_namespace(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
    }

    #[test]
    fn the_byte_check_knows_exactly_the_reserved_characters() {
        for byte in 0..=u8::MAX {
            let expected = RESERVED_KEY_CHARS.as_bytes().contains(&byte);
            assert_eq!(is_reserved(byte), expected, "{byte:#04x}");
            for key in [
                format!("key{}tail", char::from(byte)),
                format!("a longer key, {}, past 16 bytes", char::from(byte)),
            ] {
                assert_eq!(Key::new(&key).is_err(), expected, "{key:?}");
            }
        }
    }

    /// The scan reads blocks of 16, overlapping tails and an 8 + 8 block for short keys: a
    /// reserved character is found at every position of every length around those bounds.
    #[test]
    fn a_reserved_character_is_found_at_any_position() {
        for len in 1..=50 {
            for at in 0..len {
                for bad in RESERVED_KEY_CHARS.bytes() {
                    let mut key = vec![b'k'; len];
                    key[at] = bad;
                    let key = String::from_utf8(key).unwrap();
                    assert!(Key::new(&key).is_err(), "{key:?}");
                }
            }
            assert!(Key::new(&"k".repeat(len)).is_ok());
        }
    }

    proptest! {
        #[test]
        fn a_key_is_valid_exactly_when_nonempty_and_free_of_reserved(key in any::<String>()) {
            let expected = !key.is_empty() && !key.chars().any(|c| RESERVED_KEY_CHARS.contains(c));
            prop_assert_eq!(Key::new(&key).is_ok(), expected);
        }

        #[test]
        fn keys_dense_in_reserved_characters_are_judged_exactly(
            key in "[a-z0-9.{}()/\\\\@:\\[\\]|é]{0,70}"
        ) {
            let expected = !key.is_empty() && !key.chars().any(|c| RESERVED_KEY_CHARS.contains(c));
            prop_assert_eq!(Key::new(&key).is_ok(), expected);
        }
    }
}
