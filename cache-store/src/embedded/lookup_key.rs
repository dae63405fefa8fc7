//! The internal key, built on the stack for the common case.

use crate::key::Key;

/// Keys up to this many bytes (plus the 8-byte generation) are built without allocating.
const INLINE: usize = 120;

/// `generation ++ key`, the key moka sees. A hit's lookup is on the hot path: a fixed array
/// plus a length is measurably cheaper to fill than a growable small vector, and longer keys
/// spill to the heap.
pub(crate) enum LookupKey {
    Inline { buf: [u8; INLINE + 8], len: usize },
    Heap(Vec<u8>),
}

impl LookupKey {
    pub(crate) fn new(generation: u64, key: Key<'_>) -> Self {
        let key = key.as_bytes();
        if key.len() <= INLINE {
            let mut buf = [0u8; INLINE + 8];
            buf[..8].copy_from_slice(&generation.to_le_bytes());
            buf[8..8 + key.len()].copy_from_slice(key);
            LookupKey::Inline {
                buf,
                len: 8 + key.len(),
            }
        } else {
            let mut buf = Vec::with_capacity(8 + key.len());
            buf.extend_from_slice(&generation.to_le_bytes());
            buf.extend_from_slice(key);
            LookupKey::Heap(buf)
        }
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            LookupKey::Inline { buf, len } => &buf[..*len],
            LookupKey::Heap(buf) => buf,
        }
    }

    pub(crate) fn into_boxed(self) -> Box<[u8]> {
        match self {
            LookupKey::Inline { buf, len } => buf[..len].into(),
            LookupKey::Heap(buf) => buf.into_boxed_slice(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_keys_give_the_same_layout() {
        for len in [1, INLINE - 1, INLINE, INLINE + 1, 1000] {
            let name = "k".repeat(len);
            let key = Key::new(&name).unwrap();
            let lookup = LookupKey::new(0x0102, key);
            let mut expected = 0x0102u64.to_le_bytes().to_vec();
            expected.extend_from_slice(name.as_bytes());
            assert_eq!(lookup.as_slice(), &expected[..], "{len}");
            assert_eq!(&*LookupKey::new(0x0102, key).into_boxed(), &expected[..]);
        }
    }
}
