//! FastLZ decompression, both of its levels: php-memcached's default compression
//! (`memcached.compression_type=fastlz`) for values of 2000 bytes and more, so a Rust reader
//! gets what PHP stored. Only decompression: what Rust writes is stored uncompressed, which
//! php-memcached reads as it is.
//!
//! The format: the first byte's top three bits are the level less one. Then instructions,
//! each led by a control byte: below 32, a run of `ctrl + 1` literal bytes; otherwise a copy
//! of `(ctrl >> 5) + 2` bytes (more when the length field is full: one more byte at level 1,
//! bytes until one below 255 at level 2) from a distance of `(ctrl & 31) << 8` plus the next
//! byte plus one (level 2 escapes to a 16-bit distance beyond 8191).

/// The largest distance a level-2 short form reaches; the long form counts past it.
const LEVEL2_SHORT_DISTANCE: usize = 8191;

/// `input` decompressed, which must come to exactly `expected` bytes; `None` for input that
/// is not FastLZ of that length (never a panic, never more than `expected` bytes written).
pub(super) fn decompress(input: &[u8], expected: usize) -> Option<Vec<u8>> {
    let (&first, _) = input.split_first()?;
    let level = (first >> 5) + 1;
    if level > 2 {
        return None;
    }
    // A damaged length may be huge: reserve no more than the input could expand to at once.
    let mut out = Vec::with_capacity(expected.min(input.len().saturating_mul(8)));
    let mut at = 1;
    let mut next = || -> Option<usize> {
        let byte = *input.get(at)?;
        at += 1;
        Some(usize::from(byte))
    };
    let mut ctrl = usize::from(first & 31);
    loop {
        if ctrl < 32 {
            let run = ctrl + 1;
            for _ in 0..run {
                out.push(u8::try_from(next()?).ok()?);
            }
        } else {
            let mut len = (ctrl >> 5) - 1;
            let high = (ctrl & 31) << 8;
            if len == 6 {
                if level == 1 {
                    len += next()?;
                } else {
                    loop {
                        let code = next()?;
                        len += code;
                        if code != 255 {
                            break;
                        }
                    }
                }
            }
            let code = next()?;
            let mut distance = high + code + 1;
            if level == 2 && code == 255 && high == 31 << 8 {
                distance = (next()? << 8) + next()? + LEVEL2_SHORT_DISTANCE + 1;
            }
            let len = len + 3;
            let start = out.len().checked_sub(distance)?;
            if out.len() + len > expected {
                return None;
            }
            // Byte by byte: a copy may overlap what it writes (a run of one repeated byte).
            for i in start..start + len {
                out.push(out[i]);
            }
        }
        if out.len() > expected {
            return None;
        }
        match next() {
            Some(byte) => ctrl = byte,
            None => break,
        }
    }
    (out.len() == expected).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literals_and_copies_at_level_one() {
        // "abc", then a copy of 3 from distance 3, then a copy of 4 from distance 1 (a run).
        let input = [2, b'a', b'b', b'c', 0x20, 2, 0x40, 0];
        assert_eq!(decompress(&input, 10).as_deref(), Some(&b"abcabccccc"[..]));
    }

    #[test]
    fn a_wrong_length_or_a_reach_before_the_start_is_refused() {
        let input = [2, b'a', b'b', b'c'];
        assert_eq!(decompress(&input, 3).as_deref(), Some(&b"abc"[..]));
        assert_eq!(decompress(&input, 4), None);
        assert_eq!(decompress(&input, 2), None);
        assert_eq!(decompress(&[0, b'a', 0x20, 5], 10), None);
        assert_eq!(decompress(&[0x60], 0), None, "level 4 does not exist");
        assert_eq!(decompress(&[], 0), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..256), expected in 0usize..4096) {
            if let Some(out) = decompress(&input, expected) {
                prop_assert_eq!(out.len(), expected);
            }
        }
    }
}
