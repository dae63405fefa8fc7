//! What php-memcached keeps in an item's client flags, read back into the bytes a PHP
//! marshaller reads: the low four bits name the value's type, bit 4 marks a compressed
//! value (the uncompressed length as a little-endian `u32`, then FastLZ, zlib or zstd data,
//! named by bits 5 to 7).
//!
//! Symfony hands php-memcached strings it has already marshalled, so its items are strings
//! (type 0), compressed from 2000 bytes on by php-memcached's defaults. Values a PHP program
//! stored through php-memcached directly as ints, floats or bools (types 1 to 3) read as
//! that PHP value written by the pool's marshaller; values php-memcached serialized itself
//! (types 4 and 5) are PHP's bytes already. Rust writes strings (flags 0), uncompressed,
//! which every PHP reader takes as they are.

use bytes::Bytes;

use super::fastlz;
use crate::codec::{Codec, Php};
use crate::error::{Error, ErrorKind, Result};

/// The client flags of what Rust writes: a string, uncompressed.
pub(super) const STRING: u32 = 0;

const TYPE_MASK: u32 = 0xf;
const COMPRESSED: u32 = 1 << 4;
const ZLIB: u32 = 1 << 5;
const FASTLZ: u32 = 1 << 6;
const ZSTD: u32 = 1 << 7;

/// The bytes a PHP marshaller reads for the item php-memcached stored as `data` with `flags`.
///
/// # Errors
///
/// [`ErrorKind::Decode`] for a value whose compression is damaged or not supported (zstd),
/// or whose type no marshaller reads (php-memcached's JSON and msgpack serializers).
pub(super) fn read(data: Bytes, flags: u32, marshaller: Php) -> Result<Bytes> {
    let data = if flags & COMPRESSED != 0 {
        decompress(&data, flags)?
    } else {
        data
    };
    let typed = |what: &str| {
        Error::new(
            ErrorKind::Decode,
            format!("php-memcached stored this value as {what}, which no PHP marshaller reads"),
        )
    };
    let text = || std::str::from_utf8(&data).map(str::trim).ok();
    match flags & TYPE_MASK {
        // A string (Symfony's marshalled value), or what php-memcached serialized itself.
        0 | 4 | 5 => Ok(data),
        1 => match text().and_then(|t| t.parse::<i64>().ok()) {
            Some(n) => marshaller.encode(&n),
            None => Err(damaged("an int")),
        },
        2 => match text().and_then(|t| t.parse::<f64>().ok()) {
            Some(x) => marshaller.encode(&x),
            None => Err(damaged("a float")),
        },
        3 => marshaller.encode(&(data.as_ref() == b"1")),
        6 => Err(typed("JSON (Memcached::SERIALIZER_JSON)")),
        7 => Err(typed("msgpack (Memcached::SERIALIZER_MSGPACK)")),
        other => Err(typed(&format!(
            "type {other}, which php-memcached does not define"
        ))),
    }
}

fn damaged(what: &str) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("php-memcached flags say {what}, and the stored text is none"),
    )
}

fn decompress(data: &[u8], flags: u32) -> Result<Bytes> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Decode,
            format!("a php-memcached compressed value that cannot be read: {why}"),
        )
    };
    let (length, body) = data
        .split_first_chunk::<4>()
        .ok_or_else(|| bad("shorter than its length prefix"))?;
    let length = usize::try_from(u32::from_le_bytes(*length)).map_err(|_| bad("too long"))?;
    let out = if flags & FASTLZ != 0 {
        fastlz::decompress(body, length).ok_or_else(|| bad("damaged FastLZ data"))?
    } else if flags & ZLIB != 0 {
        let out = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(body, length)
            .map_err(|_| bad("damaged zlib data"))?;
        if out.len() != length {
            return Err(bad("zlib data of another length than its prefix says"));
        }
        out
    } else if flags & ZSTD != 0 {
        return Err(bad(
            "zstd (memcached.compression_type=zstd) is not supported; use fastlz or zlib",
        ));
    } else {
        return Err(bad("the flags name no compression type"));
    };
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_read_as_the_marshallers_value() {
        let read =
            |data: &'static [u8], flags| read(Bytes::from_static(data), flags, Php::SERIALIZE);
        assert_eq!(read(b"s:1:\"a\";", 0).unwrap(), &b"s:1:\"a\";"[..]);
        assert_eq!(read(b"42", 1).unwrap(), &b"i:42;"[..]);
        assert_eq!(read(b"1.5", 2).unwrap(), &b"d:1.5;"[..]);
        assert_eq!(read(b"1", 3).unwrap(), &b"b:1;"[..]);
        assert_eq!(read(b"", 3).unwrap(), &b"b:0;"[..]);
        for (data, flags) in [
            (&b"x"[..], 1),
            (b"{}", 6),
            (b"\x80", 7),
            (b"", 9),
            (b"ab", 0x50),
        ] {
            assert_eq!(
                read(data, flags).unwrap_err().kind(),
                ErrorKind::Decode,
                "{flags}"
            );
        }
    }

    #[test]
    fn zlib_values_are_inflated() {
        let body = miniz_oxide::deflate::compress_to_vec_zlib(&[b'z'; 3000], 6);
        let mut data = 3000u32.to_le_bytes().to_vec();
        data.extend_from_slice(&body);
        let out = read(Bytes::from(data.clone()), COMPRESSED | ZLIB, Php::SERIALIZE).unwrap();
        assert_eq!(out, vec![b'z'; 3000]);
        data[..4].copy_from_slice(&2999u32.to_le_bytes());
        assert!(read(Bytes::from(data), COMPRESSED | ZLIB, Php::SERIALIZE).is_err());
    }
}
