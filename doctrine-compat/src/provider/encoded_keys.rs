//! Keys for any text: PHP's `rawurlencode`, the mapping Symfony's `DoctrineProvider` stores
//! Doctrine ids under.

use cache_store::{Error, ErrorKind, Result};

/// Which bytes `rawurlencode` keeps, by value: RFC 3986's unreserved characters. One load per
/// byte where the range tests took several.
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

/// Appends PHP's `rawurlencode(text)` to `out`: `A-Z a-z 0-9 - _ . ~` stay, every other byte
/// (non-ASCII ones included, byte by byte) becomes `%XX` in upper-case hex.
///
/// The result holds no character a [`Key`](cache_store::Key) reserves, whatever `text` is, and distinct texts
/// never encode alike. It works byte by byte, so encoding `a` and then `b` appends exactly
/// what encoding `a + b` would.
///
#[inline]
pub(super) fn push_raw_url_encoded(out: &mut String, text: &str) {
    // Most texts need no encoding: one check (without early exit, so the compiler unrolls
    // it), one copy, inlined into the caller's loop.
    if text
        .bytes()
        .fold(true, |plain, byte| plain & UNRESERVED[usize::from(byte)])
    {
        out.push_str(text);
    } else {
        push_escaped(out, text);
    }
}

/// [`push_raw_url_encoded`] of a text with bytes to escape: out of line, as it is rare.
#[inline(never)]
fn push_escaped(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Unreserved runs are copied whole. Every other byte, non-ASCII ones included, ends a
    // run, so a run that holds anything starts after an ASCII byte or a char's last byte,
    // and ends before a byte that is not a continuation: on char boundaries. (An empty run
    // may start inside a char, so it is not sliced.)
    let mut run = 0;
    for (at, byte) in text.bytes().enumerate() {
        if UNRESERVED[usize::from(byte)] {
            continue;
        }
        if run < at {
            out.push_str(&text[run..at]);
        }
        out.push('%');
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        run = at + 1;
    }
    out.push_str(&text[run..]);
}

/// A batch of keys made from any texts: the key of `text` is
/// `rawurlencode(prefix + text + suffix)` (see [`push_raw_url_encoded`]), for one prefix and
/// suffix the batch shares. Two texts never share a key. All keys live in one buffer (one
/// allocation for the batch, not one per key), and the prefix and suffix are encoded once.
#[derive(Clone, Debug)]
pub(super) struct EncodedKeys {
    text: String,
    /// The length of each key: they lie end to end in `text`.
    lens: Vec<usize>,
}

impl EncodedKeys {
    /// The keys of `texts`, in their order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidKey`] when a key would be empty: an empty text with an empty
    /// prefix and suffix.
    pub(super) fn new<'t, I>(prefix: &str, texts: I, suffix: &str) -> Result<Self>
    where
        I: IntoIterator<Item = &'t str>,
        I::IntoIter: ExactSizeIterator + Clone,
    {
        let texts = texts.into_iter();
        let mut head = String::with_capacity(prefix.len());
        push_raw_url_encoded(&mut head, prefix);
        // The keys lie end to end, so one key's suffix and the next one's prefix are always
        // the same bytes: one copy per key for both. The last key is followed by a prefix
        // that no key uses.
        let mut joint = String::with_capacity(suffix.len() + head.len());
        push_raw_url_encoded(&mut joint, suffix);
        if head.is_empty() && joint.is_empty() && texts.clone().any(str::is_empty) {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                "an empty text with an empty prefix and suffix makes an empty key",
            ));
        }
        joint.push_str(&head);
        // Exact unless a text needs encoding (the buffer then grows).
        let capacity = texts
            .clone()
            .map(|text| joint.len() + text.len())
            .sum::<usize>();
        let mut keys = EncodedKeys {
            text: String::with_capacity(head.len() + capacity),
            lens: Vec::with_capacity(texts.len()),
        };
        keys.text.push_str(&head);
        for text in texts {
            let start = keys.text.len() - head.len();
            push_raw_url_encoded(&mut keys.text, text);
            keys.text.push_str(&joint);
            keys.lens.push(keys.text.len() - head.len() - start);
        }
        Ok(keys)
    }

    /// How many keys there are.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lens.len()
    }

    /// The keys, in the order of the texts.
    pub(super) fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        let mut rest = self.text.as_str();
        self.lens.iter().map(move |&len| {
            // The text is ASCII (every byte is encoded), so every length is a char boundary.
            let (key, tail) = rest.split_at(len);
            rest = tail;
            key
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache_store::Key;
    use proptest::prelude::*;

    fn encoded(text: &str) -> String {
        let mut out = String::new();
        push_raw_url_encoded(&mut out, text);
        out
    }

    #[test]
    fn encodes_as_php_rawurlencode() {
        // Outputs of PHP 8's rawurlencode.
        assert_eq!(encoded("a b\0~é"), "a%20b%00~%C3%A9");
        assert_eq!(encoded("ä"), "%C3%A4");
        assert_eq!(encoded("äöx€y"), "%C3%A4%C3%B6x%E2%82%ACy");
        assert_eq!(encoded("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(encoded("{}()/\\@:"), "%7B%7D%28%29%2F%5C%40%3A");
        assert_eq!(encoded("+%"), "%2B%25");
        assert_eq!(encoded(""), "");
    }

    #[test]
    fn a_batch_is_each_key_in_order() {
        let texts = ["a", "", "é[x]", "user.000001", "a"];
        let keys = EncodedKeys::new("ns[", texts, "][7]").expect("keys");
        let batch: Vec<&str> = keys.iter().collect();
        let one_by_one: Vec<String> = texts
            .iter()
            .map(|text| encoded(&format!("ns[{text}][7]")))
            .collect();
        assert_eq!(batch, one_by_one);
        assert_eq!(keys.len(), 5);
        let none = EncodedKeys::new("ns[", [], "]").expect("keys");
        assert!(none.iter().next().is_none());
    }

    #[test]
    fn an_empty_key_is_refused_and_only_that() {
        let err = EncodedKeys::new("", ["a", ""], "").expect_err("empty key");
        assert_eq!(err.kind(), ErrorKind::InvalidKey);
        let keys = EncodedKeys::new("", ["a", "b c"], "").expect("keys");
        let keys: Vec<&str> = keys.iter().collect();
        assert_eq!(keys, ["a", "b%20c"]);
        assert!(EncodedKeys::new("", [""], "]").is_ok());
    }

    proptest! {
        #[test]
        fn every_key_is_valid_and_distinct_texts_never_share_one(
            // Mostly plain texts (the fast path), some with one byte to escape, some anything.
            texts in proptest::collection::vec(
                prop_oneof!["[a-zA-Z0-9._~-]{0,40}", "[a-z0-9.]{0,20}[^a-z]?[a-z0-9.]{0,20}", ".{0,40}"],
                0..20,
            ),
            prefix in ".{0,8}",
            suffix in ".{1,8}",
        ) {
            let keys = EncodedKeys::new(&prefix, texts.iter().map(String::as_str), &suffix)
                .expect("keys");
            prop_assert_eq!(keys.len(), texts.len());
            let mut seen = std::collections::HashMap::new();
            for (text, key) in texts.iter().zip(keys.iter()) {
                prop_assert!(Key::new(key).is_ok());
                prop_assert_eq!(key, encoded(&format!("{prefix}{text}{suffix}")));
                if let Some(other) = seen.insert(key, text) {
                    prop_assert_eq!(other, text);
                }
            }
        }
    }
}
