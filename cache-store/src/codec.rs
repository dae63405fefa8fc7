//! Typed values: a [`Codec`] turns a serde value into stored bytes and back.
//!
//! Every encoded value starts with one tag byte naming its format, chosen so that no untagged
//! payload of that format can start with it. A value written by another codec, by another
//! program or damaged in storage is then a [`Decode`](crate::ErrorKind::Decode) error (which
//! the abstractions turn into a miss), never a silently different value: untagged, the JSON
//! text `5` would read back through MessagePack as the integer 53.

use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};

/// Encodes typed values into stored bytes and decodes them back.
///
/// Implementations must round-trip every value exactly (type included) and must fail, not
/// guess, on bytes they did not write.
///
/// ```
/// use cache_store::codec::{Codec, MsgPack};
///
/// let bytes = MsgPack.encode(&vec![1u32, 2, 3])?;
/// let back: Vec<u32> = MsgPack.decode(&bytes)?;
/// assert_eq!(back, [1, 2, 3]);
/// // Bytes it did not write are an error, never a wrong value.
/// assert!(MsgPack.decode::<u32>(b"5").is_err());
/// # Ok::<(), cache_store::Error>(())
/// ```
pub trait Codec: Send + Sync + fmt::Debug + 'static {
    /// Encodes `value`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] when the value cannot be serialized (a map with
    /// non-string keys in JSON, a serializer error).
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Bytes>;

    /// Decodes bytes this codec wrote.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`] when the bytes were not written by this codec, are damaged, have
    /// trailing data, or do not fit `T`.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T>;
}

/// MessagePack through `rmp-serde`, with struct fields stored by name (so adding or reordering
/// fields keeps old values readable). The default codec: compact, self-describing, and able
/// to carry `serde_json::Value` (session data).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgPack;

/// The tag of [`MsgPack`] values: `0xC1` is the one byte MessagePack never uses.
pub const MSGPACK_TAG: u8 = 0xC1;

impl Codec for MsgPack {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Bytes> {
        let mut out = Vec::with_capacity(64);
        out.push(MSGPACK_TAG);
        rmp_serde::encode::write_named(&mut out, value).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                "cannot encode the value as MessagePack",
            )
            .with_source(e)
        })?;
        Ok(Bytes::from(out))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        let mut rest = untag(bytes, MSGPACK_TAG, "MessagePack")?;
        let value = T::deserialize(&mut rmp_serde::Deserializer::new(&mut rest)).map_err(|e| {
            Error::new(ErrorKind::Decode, "stored MessagePack does not decode").with_source(e)
        })?;
        if !rest.is_empty() {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "{} bytes of trailing data after a MessagePack value",
                    rest.len()
                ),
            ));
        }
        Ok(value)
    }
}

/// JSON through `serde_json`: readable in `redis-cli`, and what other languages can share.
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Json;

/// The tag of [`Json`] values: `0xF5` can never start UTF-8 text, so never a JSON document.
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub const JSON_TAG: u8 = 0xF5;

#[cfg(feature = "json")]
impl Codec for Json {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Bytes> {
        let mut out = Vec::with_capacity(64);
        out.push(JSON_TAG);
        serde_json::to_writer(&mut out, value).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                "cannot encode the value as JSON",
            )
            .with_source(e)
        })?;
        Ok(Bytes::from(out))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        // `from_slice` rejects trailing data itself.
        serde_json::from_slice(untag(bytes, JSON_TAG, "JSON")?).map_err(|e| {
            Error::new(ErrorKind::Decode, "stored JSON does not decode").with_source(e)
        })
    }
}

/// PHP's value formats, as Symfony's `DefaultMarshaller` uses them: values are written in
/// one (`serialize()` or igbinary) and read in either, told apart by their bytes, since a
/// PHP fleet may store both. The bytes are PHP's own, untagged, so a PHP service reads what
/// this codec writes and the other way round; how PHP's values map to Rust's is
/// [`php_marshal::de`]'s and [`php_marshal::ser`]'s.
///
/// ```
/// use cache_store::codec::{Codec, Php};
///
/// let bytes = Php::SERIALIZE.encode(&vec!["a", "b"])?;
/// assert_eq!(&bytes[..], br#"a:2:{i:0;s:1:"a";i:1;s:1:"b";}"#);
/// // Either format reads back, whichever this codec writes.
/// let back: Vec<String> = Php::IGBINARY.decode(&bytes)?;
/// assert_eq!(back, ["a", "b"]);
/// # Ok::<(), cache_store::Error>(())
/// ```
#[cfg(feature = "php")]
#[cfg_attr(docsrs, doc(cfg(feature = "php")))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Php {
    writes: php_marshal::Format,
}

#[cfg(feature = "php")]
impl Php {
    /// Writes PHP's `serialize()` format (Symfony's default without igbinary, and from 7.2 on).
    pub const SERIALIZE: Php = Php {
        writes: php_marshal::Format::Serialize,
    };
    /// Writes igbinary (Symfony's default from 5.4 to 7.1 where the extension is loaded).
    pub const IGBINARY: Php = Php {
        writes: php_marshal::Format::Igbinary,
    };

    /// The format this codec writes.
    pub fn writes(&self) -> php_marshal::Format {
        self.writes
    }
}

#[cfg(feature = "php")]
impl Codec for Php {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Bytes> {
        self.writes.to_vec(value).map(Bytes::from).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("cannot write the value as PHP's {:?}", self.writes),
            )
            .with_source(e)
        })
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        php_marshal::unmarshal(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                "stored value is no PHP value this type reads",
            )
            .with_source(e)
        })
    }
}

/// The codec an abstraction's typed calls (`get_as`, `set_as`) use, chosen at run time by
/// what it stores: MessagePack by default, PHP's format for a store shared with PHP.
///
/// ```
/// use cache_store::codec::{Codec, ValueCodec};
///
/// let codec = ValueCodec::default();
/// assert_eq!(codec.decode::<u8>(&codec.encode(&7u8)?)?, 7);
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueCodec {
    /// [`MsgPack`].
    #[default]
    MsgPack,
    /// [`Php`].
    #[cfg(feature = "php")]
    #[cfg_attr(docsrs, doc(cfg(feature = "php")))]
    Php(Php),
}

impl Codec for ValueCodec {
    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Bytes> {
        match self {
            ValueCodec::MsgPack => MsgPack.encode(value),
            #[cfg(feature = "php")]
            ValueCodec::Php(php) => php.encode(value),
        }
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        match self {
            ValueCodec::MsgPack => MsgPack.decode(bytes),
            #[cfg(feature = "php")]
            ValueCodec::Php(php) => php.decode(bytes),
        }
    }
}

fn untag<'a>(bytes: &'a [u8], tag: u8, format: &str) -> Result<&'a [u8]> {
    match bytes.split_first() {
        Some((&first, rest)) if first == tag => Ok(rest),
        Some((&first, _)) => Err(Error::new(
            ErrorKind::Decode,
            format!("stored value is not {format} from this codec (first byte {first:#04x})"),
        )),
        None => Err(Error::new(
            ErrorKind::Decode,
            format!("stored value is empty, not {format} from this codec"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct User {
        id: u64,
        name: String,
        tags: Vec<String>,
        score: Option<f64>,
    }

    fn user() -> User {
        User {
            id: 42,
            name: "ada".into(),
            tags: vec!["admin".into()],
            score: Some(1.5),
        }
    }

    #[test]
    fn msgpack_round_trips_exact_types() {
        let bytes = MsgPack.encode(&user()).unwrap();
        assert_eq!(bytes[0], MSGPACK_TAG);
        assert_eq!(MsgPack.decode::<User>(&bytes).unwrap(), user());
        // "5" stays a string and 5 an integer.
        let s: String = MsgPack.decode(&MsgPack.encode("5").unwrap()).unwrap();
        assert_eq!(s, "5");
        assert!(
            MsgPack
                .decode::<String>(&MsgPack.encode(&5u8).unwrap())
                .is_err()
        );
        let unit: Option<u8> = MsgPack
            .decode(&MsgPack.encode(&None::<u8>).unwrap())
            .unwrap();
        assert_eq!(unit, None);
        let all_bytes: Vec<u8> = (0..=255).collect();
        let encoded = MsgPack.encode(&serde_bytes_like(&all_bytes)).unwrap();
        assert_eq!(MsgPack.decode::<Vec<u8>>(&encoded).unwrap(), all_bytes);
    }

    fn serde_bytes_like(b: &[u8]) -> Vec<u8> {
        b.to_vec()
    }

    #[cfg(feature = "php")]
    #[test]
    fn php_writes_its_format_and_reads_either() {
        for codec in [Php::SERIALIZE, Php::IGBINARY] {
            let bytes = codec.encode(&user()).unwrap();
            assert_eq!(php_marshal::Format::of(&bytes), codec.writes());
            for reader in [Php::SERIALIZE, Php::IGBINARY] {
                assert_eq!(reader.decode::<User>(&bytes).unwrap(), user());
            }
        }
        for bad in [&b""[..], b"hello", b"\xC1\x05", b"i:1"] {
            let err = Php::SERIALIZE.decode::<u8>(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Decode, "{bad:?}");
        }
        let err = Php::SERIALIZE.encode(&u64::MAX).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn msgpack_rejects_foreign_damaged_and_trailing_bytes() {
        for bad in [&b""[..], b"5", b"\x05", b"\xC1", b"\xC1\x92\x01"] {
            let err = MsgPack.decode::<Vec<u8>>(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Decode, "{bad:?}");
        }
        let mut trailing = MsgPack.encode(&7u32).unwrap().to_vec();
        trailing.push(0);
        assert_eq!(
            MsgPack.decode::<u32>(&trailing).unwrap_err().kind(),
            ErrorKind::Decode
        );
    }

    #[test]
    fn msgpack_decodes_a_struct_with_reordered_fields() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct Reordered {
            score: Option<f64>,
            tags: Vec<String>,
            name: String,
            id: u64,
        }
        let bytes = MsgPack.encode(&user()).unwrap();
        let r: Reordered = MsgPack.decode(&bytes).unwrap();
        assert_eq!(r.id, 42);
        assert_eq!(r.name, "ada");
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_round_trips_and_is_told_apart_from_msgpack() {
        let bytes = Json.encode(&user()).unwrap();
        assert_eq!(bytes[0], JSON_TAG);
        assert!(std::str::from_utf8(&bytes[1..]).is_ok());
        assert_eq!(Json.decode::<User>(&bytes).unwrap(), user());
        assert_eq!(
            MsgPack.decode::<User>(&bytes).unwrap_err().kind(),
            ErrorKind::Decode
        );
        let packed = MsgPack.encode(&user()).unwrap();
        assert_eq!(
            Json.decode::<User>(&packed).unwrap_err().kind(),
            ErrorKind::Decode
        );
        let mut map = BTreeMap::new();
        map.insert(vec![1u8], 2u8);
        assert_eq!(
            Json.encode(&map).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    proptest! {
        #[test]
        fn msgpack_round_trips_any_map(map in proptest::collection::btree_map(any::<String>(), any::<i64>(), 0..8)) {
            let back: BTreeMap<String, i64> = MsgPack.decode(&MsgPack.encode(&map).unwrap()).unwrap();
            prop_assert_eq!(back, map);
        }

        #[test]
        fn msgpack_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = MsgPack.decode::<BTreeMap<String, Vec<i64>>>(&bytes);
        }
    }
}
