//! Symfony's item layouts: how Symfony Cache stores an item's value with the metadata of the
//! computation that produced it, so that early recomputation means the same on both sides.
//!
//! A value without metadata is stored as its marshalled bytes. A value with metadata is
//! wrapped, in one of two layouts:
//!
//! - **5.4** (up to Symfony 6.0): a one-entry array whose key is 10 bytes, `0x9D`, the expiry
//!   (seconds since 2018-05-28T11:26:47Z, `u32` little-endian), the computation time (ms,
//!   `u32` big-endian) and `0x5F`; its value is the item's value.
//! - **6.1+**: an object of the one-byte class `"\xA9"` (Symfony's `ValueWrapper`) whose first
//!   property's name packs the expiry (seconds since 2022-03-25T11:12:07Z, `u32`
//!   little-endian) and the computation time (a 15-bit float, big-endian), and whose value is
//!   the item's value. Further properties are tags.
//!
//! Readers take both layouts (Symfony 6.1+ does too), and plain values, whichever the writer.

use std::borrow::Cow;

use bytes::Bytes;
use cache_store::{Error, ErrorKind, Result};
use php_marshal::{ArrayKey, Format, Value};

use crate::format::Metadata;

/// The Symfony versions whose item layouts differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymfonyLayout {
    /// Symfony 5.4 (and earlier, back to 4.2), and 6.0: the `0x9D` array.
    V5_4,
    /// Symfony 6.1 and later: the `"\xA9"` `ValueWrapper` object, which 5.4 cannot read.
    V6_1,
}

/// Symfony 5.4's expiry offset (`CacheItem::METADATA_EXPIRY_OFFSET`).
const OFFSET_5_4: u64 = 1_527_506_807;
/// Symfony 6.1's expiry offset (`ValueWrapper`'s `EXPIRY_OFFSET`).
const OFFSET_6_1: u64 = 1_648_206_727;
/// The class of Symfony 6.1's `ValueWrapper`.
const WRAPPER_CLASS: &[u8] = b"\xA9";

/// The stored bytes of `value` (already marshalled, in `format`) with `metadata`, in
/// `layout`; `None` when `value` is no PHP value to wrap (then it is stored without its
/// metadata, which only serves early recomputation).
pub(crate) fn wrap(
    value: &[u8],
    metadata: Metadata,
    layout: SymfonyLayout,
    format: Format,
) -> Option<Bytes> {
    let inner = Format::of(value).parse(value).ok()?;
    let expiry_s = metadata.expiry_ms.div_ceil(1000);
    let wrapped = match layout {
        SymfonyLayout::V5_4 => {
            let mut key = Vec::with_capacity(10);
            key.push(0x9D);
            key.extend_from_slice(&seconds_since(expiry_s, OFFSET_5_4).to_le_bytes());
            // Symfony reads the metadata only when the time's top byte is 0 (under 4.6 hours).
            key.extend_from_slice(&metadata.ctime_ms.min(0x00FF_FFFF).to_be_bytes());
            key.push(0x5F);
            Value::Array(vec![(ArrayKey::String(Cow::Owned(key)), inner)])
        }
        SymfonyLayout::V6_1 => {
            let mut pack = Vec::with_capacity(6);
            pack.extend_from_slice(&seconds_since(expiry_s, OFFSET_6_1).to_le_bytes());
            pack.extend_from_slice(&pack_ctime(metadata.ctime_ms).to_be_bytes());
            Value::Object {
                class: Cow::Borrowed(WRAPPER_CLASS),
                properties: vec![(ArrayKey::String(Cow::Owned(pack)), inner)],
            }
        }
    };
    let mut out = Vec::with_capacity(value.len() + 32);
    format.write(&wrapped, &mut out).ok()?;
    Some(Bytes::from(out))
}

/// `seconds` counted from `offset`, as Symfony packs them (clamped to what 32 bits hold).
fn seconds_since(seconds: u64, offset: u64) -> u32 {
    u32::try_from(seconds.saturating_sub(offset)).unwrap_or(u32::MAX)
}

/// Whether `stored` may be a wrapped item: a cheap look at its first bytes, so that plain
/// values (the usual case) are never parsed.
pub(crate) fn may_be_wrapped(stored: &[u8]) -> bool {
    const SERIALIZED_6_1: &[u8] = b"O:1:\"\xA9\":";
    const SERIALIZED_5_4: &[u8] = b"a:1:{s:10:\"\x9D";
    const IGBINARY_6_1: &[u8] = b"\x00\x00\x00\x02\x17\x01\xA9";
    const IGBINARY_5_4: &[u8] = b"\x00\x00\x00\x02\x14\x01\x11\x0A\x9D";
    [SERIALIZED_6_1, SERIALIZED_5_4, IGBINARY_6_1, IGBINARY_5_4]
        .iter()
        .any(|prefix| stored.starts_with(prefix))
}

/// The marshalled value and the metadata of a wrapped item; `None` when `stored` is a
/// plain value after all.
///
/// # Errors
///
/// [`ErrorKind::Decode`] when the bytes are no PHP value.
pub(crate) fn unwrap(stored: &[u8]) -> Result<Option<(Bytes, Metadata)>> {
    let format = Format::of(stored);
    let parsed = format.parse(stored).map_err(|e| {
        Error::new(ErrorKind::Decode, "stored value is no PHP value").with_source(e)
    })?;
    let (inner, metadata) = match parsed {
        Value::Object { class, properties } if class.as_ref() == WRAPPER_CLASS => {
            let mut properties = properties.into_iter();
            match properties.next() {
                Some((ArrayKey::String(pack), inner)) if pack.len() == 6 => {
                    (inner, unpack_6_1(&pack))
                }
                _ => {
                    return Err(Error::new(
                        ErrorKind::Decode,
                        "a ValueWrapper without its pack",
                    ));
                }
            }
        }
        Value::Array(entries) if entries.len() == 1 => {
            let mut entries = entries.into_iter();
            match entries.next() {
                Some((ArrayKey::String(key), inner)) if is_5_4_key(&key) => {
                    (inner, unpack_5_4(&key))
                }
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let mut value = Vec::new();
    format.write(&inner, &mut value).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            "a wrapped value PHP's format cannot hold",
        )
        .with_source(e)
    })?;
    Ok(Some((Bytes::from(value), metadata)))
}

/// Symfony 5.4's test: 10 bytes, `0x9D` first, `0x5F` last, and a zero top byte of the time.
fn is_5_4_key(key: &[u8]) -> bool {
    key.len() == 10 && key[0] == 0x9D && key[5] == 0 && key[9] == 0x5F
}

fn unpack_5_4(key: &[u8]) -> Metadata {
    let expiry = u32::from_le_bytes([key[1], key[2], key[3], key[4]]);
    let ctime = u32::from_be_bytes([key[5], key[6], key[7], key[8]]);
    Metadata {
        expiry_ms: (u64::from(expiry) + OFFSET_5_4) * 1000,
        ctime_ms: ctime,
    }
}

fn unpack_6_1(pack: &[u8]) -> Metadata {
    let expiry = u32::from_le_bytes([pack[0], pack[1], pack[2], pack[3]]);
    // The top bit of byte 4 flags tags, which are not the time's.
    let packed = u16::from_be_bytes([pack[4] & 0x7F, pack[5]]);
    Metadata {
        expiry_ms: (u64::from(expiry) + OFFSET_6_1) * 1000,
        ctime_ms: unpack_ctime(packed),
    }
}

/// Symfony 6.1's 15-bit float of a computation time in ms: bit 14 always set, a 9-bit
/// mantissa in bits 5 to 13, and in bits 0 to 4 how far the time was shifted left to set bit
/// 30. Lossy above 1023 ms (1000 reads back as 1000, 100000 as 100023), as in PHP.
fn pack_ctime(ctime_ms: u32) -> u16 {
    let c: u32 = if ctime_ms > 2_147_483_645 {
        2_147_483_647
    } else {
        ctime_ms + 1
    };
    let shift = c.leading_zeros() - 1; // c < 2^31, so at least one leading zero
    let shifted = c << shift;
    ((0x7FE0 & (shifted >> 16)) | shift) as u16
}

fn unpack_ctime(packed: u16) -> u32 {
    let n = u64::from(packed);
    let ctime = (((0x4000 | n) << 16) >> (n & 0x1F)).saturating_sub(1);
    u32::try_from(ctime).expect("15 bits shifted left by 16 fit 31 bits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computation_times_pack_as_symfony_reads_them() {
        // Symfony's own readings (php-wire-formats.md, verified against PHP).
        for (ms, back) in [
            (1, 1),
            (150, 150),
            (999, 999),
            (1000, 1000),
            (32767, 32797),
            (100_000, 100_023),
        ] {
            assert_eq!(unpack_ctime(pack_ctime(ms)), back, "{ms} ms");
        }
        assert_eq!(pack_ctime(150), 0x4B97);
        assert_eq!(
            unpack_ctime(pack_ctime(u32::MAX)),
            unpack_ctime(pack_ctime(2_147_483_646))
        );
    }

    #[test]
    fn both_layouts_carry_value_and_metadata_in_both_formats() {
        let meta = Metadata {
            expiry_ms: 1_700_000_000_000,
            ctime_ms: 150,
        };
        for format in [Format::Serialize, Format::Igbinary] {
            let value = format.to_vec(&vec!["a", "b"]).unwrap();
            for layout in [SymfonyLayout::V5_4, SymfonyLayout::V6_1] {
                let stored = wrap(&value, meta, layout, format).unwrap();
                assert!(may_be_wrapped(&stored), "{layout:?} {format:?}");
                let (back, back_meta) = unwrap(&stored).unwrap().unwrap();
                assert_eq!(&back[..], &value[..], "{layout:?} {format:?}");
                assert_eq!(back_meta, meta, "{layout:?} {format:?}");
            }
            assert!(!may_be_wrapped(&value));
            assert_eq!(unwrap(&value).unwrap(), None);
        }
    }

    /// Symfony 6.1+ is not in Debian 12, so no test here can run it: its bytes for value
    /// "bar", expiry 1700000000 and 150 ms, as `php-wire-formats.md` records them from a run
    /// of Symfony 7.2's own ValueWrapper, stand in.
    #[test]
    fn the_value_wrapper_is_byte_for_byte_symfonys() {
        let meta = Metadata {
            expiry_ms: 1_700_000_000_000,
            ctime_ms: 150,
        };
        let serialized = b"O:1:\"\xA9\":1:{s:6:\"yM\x16\x03K\x97\";s:3:\"bar\";}";
        let igbinary = b"\x00\x00\x00\x02\x17\x01\xA9\x14\x01\x11\x06yM\x16\x03K\x97\x11\x03bar";
        for (format, symfony) in [
            (Format::Serialize, &serialized[..]),
            (Format::Igbinary, &igbinary[..]),
        ] {
            let value = format.to_vec("bar").unwrap();
            let ours = wrap(&value, meta, SymfonyLayout::V6_1, format).unwrap();
            assert_eq!(&ours[..], symfony, "{format:?}");
            let (back, back_meta) = unwrap(symfony).unwrap().unwrap();
            assert_eq!((&back[..], back_meta), (&value[..], meta), "{format:?}");
        }
    }

    proptest::proptest! {
        /// Reading never panics, whatever the bytes, and a wrapped value always reads back
        /// with its metadata (the expiry to the second, the time as Symfony's float keeps it).
        #[test]
        fn any_bytes_decode_without_panic_and_wrapped_values_round_trip(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            text in ".{0,40}",
            expiry_s in 1_648_206_727u64..4_000_000_000,
            ctime_ms in 0u32..=0x00FF_FFFF,
            v6 in proptest::prelude::any::<bool>(),
            igbinary in proptest::prelude::any::<bool>(),
        ) {
            let format = if igbinary { Format::Igbinary } else { Format::Serialize };
            let layout = if v6 { SymfonyLayout::V6_1 } else { SymfonyLayout::V5_4 };
            let _ = unwrap(&bytes);
            let mut wrapped_bytes = b"O:1:\"\xA9\":1:{s:6:\"".to_vec();
            wrapped_bytes.extend_from_slice(&bytes);
            let _ = unwrap(&wrapped_bytes);

            let value = format.to_vec(&text).unwrap();
            let meta = Metadata { expiry_ms: expiry_s * 1000, ctime_ms };
            let stored = wrap(&value, meta, layout, format).unwrap();
            let (back, back_meta) = unwrap(&stored).unwrap().unwrap();
            proptest::prop_assert_eq!(&back[..], &value[..]);
            proptest::prop_assert_eq!(back_meta.expiry_ms, meta.expiry_ms);
            let ctime = if v6 { unpack_ctime(pack_ctime(ctime_ms)) } else { ctime_ms };
            proptest::prop_assert_eq!(back_meta.ctime_ms, ctime);
        }
    }

    #[test]
    fn bytes_that_are_no_php_value_are_not_wrapped() {
        let meta = Metadata {
            expiry_ms: 1,
            ctime_ms: 1,
        };
        assert_eq!(
            wrap(b"raw", meta, SymfonyLayout::V6_1, Format::Serialize),
            None
        );
    }
}
