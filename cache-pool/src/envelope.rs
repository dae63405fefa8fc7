//! How the abstractions lay out stored values: raw bytes, or bytes with metadata.
//!
//! Symfony packs a value's expiry and computation time into the stored value so that
//! stampede protection can recompute early, and then has to guess, on every read, whether a
//! user's value merely looks like that wrapper (its `testWeirdDataMatchingMetadataWrappedValues`).
//! Here the layout is unambiguous and costs nothing for ordinary values:
//!
//! - A value whose first byte is not [`MARKER`] is stored as it is (zero copies).
//! - `MARKER 0x00 payload`: a user value that happened to start with `MARKER`, escaped.
//! - `MARKER 0x01 expiry(u64 LE, ms since the epoch) ctime(u32 LE, ms) payload`: a value with
//!   the metadata of the computation that produced it.
//!
//! Reading strips the envelope by slicing, so no read copies the value.
//!
//! ```
//! use cache_pool::{Metadata, envelope};
//! use bytes::Bytes;
//!
//! let plain = Bytes::from_static(b"hello");
//! assert_eq!(envelope::wrap(plain.clone(), None), plain); // stored as is
//! let (value, meta) = envelope::unwrap(envelope::wrap(plain.clone(), None))?;
//! assert_eq!((value, meta), (plain, None));
//!
//! let meta = Metadata { expiry_ms: 1_700_000_000_000, ctime_ms: 250 };
//! let stored = envelope::wrap(Bytes::from_static(b"v"), Some(meta));
//! assert_eq!(envelope::unwrap(stored)?, (Bytes::from_static(b"v"), Some(meta)));
//! # Ok::<(), cache_store::Error>(())
//! ```

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

use cache_store::{Error, ErrorKind, Result};

use crate::format::Metadata;

/// The first byte of an enveloped value. `0x9D` never starts UTF-8 text (a continuation
/// byte), nor a value of this crate's codecs (they start with their tag), so escaping is rare.
pub const MARKER: u8 = 0x9D;

const ESCAPED: u8 = 0x00;
const WITH_METADATA: u8 = 0x01;
const METADATA_LEN: usize = 12;

/// The stored form of `value`, with `metadata` if given.
pub fn wrap(value: Bytes, metadata: Option<Metadata>) -> Bytes {
    match metadata {
        None if value.first() != Some(&MARKER) => value,
        None => {
            let mut out = BytesMut::with_capacity(2 + value.len());
            out.put_u8(MARKER);
            out.put_u8(ESCAPED);
            out.put_slice(&value);
            out.freeze()
        }
        Some(meta) => {
            let mut out = BytesMut::with_capacity(2 + METADATA_LEN + value.len());
            out.put_u8(MARKER);
            out.put_u8(WITH_METADATA);
            out.put_u64_le(meta.expiry_ms);
            out.put_u32_le(meta.ctime_ms);
            out.put_slice(&value);
            out.freeze()
        }
    }
}

/// What [`wrap`] stores for `value`, borrowing `value` when it is stored as it is (the usual
/// case), so that a batch of plain values is written without a clone of each.
pub fn wrap_ref(value: &Bytes, metadata: Option<Metadata>) -> Cow<'_, Bytes> {
    match metadata {
        None if value.first() != Some(&MARKER) => Cow::Borrowed(value),
        _ => Cow::Owned(wrap(value.clone(), metadata)),
    }
}

/// The value and metadata of a stored form.
///
/// # Errors
///
/// [`ErrorKind::Decode`] when the bytes start with [`MARKER`] but are not a valid envelope
/// (damaged, or written by something else): a reader must treat that as a miss.
#[inline]
pub fn unwrap(stored: Bytes) -> Result<(Bytes, Option<Metadata>)> {
    if stored.first() != Some(&MARKER) {
        return Ok((stored, None));
    }
    unwrap_marked(stored)
}

/// The value of a stored form without its metadata: what a plain read needs. A value stored
/// as it is, the usual case, costs one look at its first byte.
///
/// # Errors
///
/// As [`unwrap`].
#[inline]
pub fn unwrap_value(stored: Bytes) -> Result<Bytes> {
    if stored.first() != Some(&MARKER) {
        return Ok(stored);
    }
    unwrap_marked(stored).map(|(value, _)| value)
}

/// [`unwrap`] of bytes that start with [`MARKER`]: rare, so out of the callers' hot loops.
#[inline(never)]
fn unwrap_marked(stored: Bytes) -> Result<(Bytes, Option<Metadata>)> {
    match stored.get(1) {
        Some(&ESCAPED) => Ok((stored.slice(2..), None)),
        Some(&WITH_METADATA) if stored.len() >= 2 + METADATA_LEN => {
            let mut expiry = [0u8; 8];
            expiry.copy_from_slice(&stored[2..10]);
            let mut ctime = [0u8; 4];
            ctime.copy_from_slice(&stored[10..14]);
            let meta = Metadata {
                expiry_ms: u64::from_le_bytes(expiry),
                ctime_ms: u32::from_le_bytes(ctime),
            };
            Ok((stored.slice(2 + METADATA_LEN..), Some(meta)))
        }
        _ => Err(Error::new(
            ErrorKind::Decode,
            "stored value starts with the envelope marker but is not a valid envelope",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn user_data_that_looks_like_an_envelope_round_trips() {
        for raw in [
            vec![MARKER],
            vec![MARKER, WITH_METADATA],
            vec![
                MARKER,
                WITH_METADATA,
                1,
                2,
                3,
                4,
                5,
                6,
                7,
                8,
                9,
                10,
                11,
                12,
                13,
            ],
            vec![MARKER, ESCAPED, b'x'],
        ] {
            let value = Bytes::from(raw);
            let stored = wrap(value.clone(), None);
            assert_eq!(unwrap(stored).unwrap(), (value, None));
        }
    }

    #[test]
    fn damaged_envelopes_are_decode_errors() {
        for bad in [
            vec![MARKER],
            vec![MARKER, 7],
            vec![MARKER, WITH_METADATA, 0, 0],
        ] {
            assert_eq!(
                unwrap(Bytes::from(bad)).unwrap_err().kind(),
                ErrorKind::Decode
            );
        }
    }

    proptest! {
        #[test]
        fn every_value_round_trips(value in proptest::collection::vec(any::<u8>(), 0..64),
                                    meta in proptest::option::of((any::<u64>(), any::<u32>()))) {
            let meta = meta.map(|(expiry_ms, ctime_ms)| Metadata { expiry_ms, ctime_ms });
            let value = Bytes::from(value);
            prop_assert_eq!(unwrap(wrap(value.clone(), meta)).unwrap(), (value, meta));
        }

        #[test]
        fn unwrap_never_panics(raw in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = unwrap(Bytes::from(raw));
        }
    }
}
