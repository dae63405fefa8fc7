//! Session data in a cache shared with PHP: a PHP session handler over a PHP cache saves the
//! session string through the cache's marshaller (`$cache->save($id, $data)`), so the stored
//! value is a marshalled PHP string. For an abstraction whose value codec is PHP's, the
//! handler stores and reads that; otherwise the data as it is.

use std::fmt;

use bytes::Bytes;
use cache_store::codec::{Codec, ValueCodec};
use cache_store::{Error, ErrorKind, Result};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// `data` as an abstraction with `codec` stores it.
pub(crate) fn to_stored(codec: ValueCodec, data: Bytes) -> Result<Bytes> {
    match codec {
        ValueCodec::MsgPack => Ok(data),
        php => php.encode(&AsString(&data)),
    }
}

/// What an abstraction with `codec` stored, as session data. PHP's `null` and `false` (what
/// a PHP handler's `fetch` misses and falsy reads leave) are an empty session, as PHP reads
/// them.
///
/// # Errors
///
/// [`ErrorKind::Decode`] for stored PHP data that is no string.
pub(crate) fn from_stored(codec: ValueCodec, stored: Option<Bytes>) -> Result<Option<Bytes>> {
    match (codec, stored) {
        (ValueCodec::MsgPack, stored) | (_, stored @ None) => Ok(stored),
        (php, Some(stored)) => php
            .decode::<SessionString>(&stored)
            .map(|SessionString(data)| Some(Bytes::from(data)))
            .map_err(|err| {
                Error::new(
                    ErrorKind::Decode,
                    "the stored session is a PHP value but no string (no session data)",
                )
                .with_source(err)
            }),
    }
}

struct AsString<'a>(&'a [u8]);

impl Serialize for AsString<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// A session string read from PHP, any bytes.
struct SessionString(Vec<u8>);

impl<'de> Deserialize<'de> for SessionString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(SessionStringVisitor)
    }
}

struct SessionStringVisitor;

impl<'de> Visitor<'de> for SessionStringVisitor {
    type Value = SessionString;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a PHP string of session data")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<SessionString, E> {
        Ok(SessionString(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> std::result::Result<SessionString, E> {
        Ok(SessionString(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<SessionString, E> {
        Ok(SessionString(v.as_bytes().to_vec()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<SessionString, E> {
        Ok(SessionString(v.into_bytes()))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<SessionString, E> {
        Ok(SessionString(Vec::new()))
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<SessionString, E> {
        Ok(SessionString(Vec::new()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> std::result::Result<SessionString, E> {
        if v {
            Err(E::invalid_type(de::Unexpected::Bool(v), &self))
        } else {
            Ok(SessionString(Vec::new()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache_store::codec::Php;

    #[test]
    fn php_codecs_store_a_php_string_and_others_the_bytes() {
        let data = Bytes::from_static(b"user|s:5:\"alice\";");
        let stored = to_stored(ValueCodec::Php(Php::SERIALIZE), data.clone()).unwrap();
        assert_eq!(&stored[..], &b"s:17:\"user|s:5:\"alice\";\";"[..]);
        let back = from_stored(ValueCodec::Php(Php::IGBINARY), Some(stored)).unwrap();
        assert_eq!(back, Some(data.clone()));
        assert_eq!(to_stored(ValueCodec::MsgPack, data.clone()).unwrap(), data);
        for empty in [&b"N;"[..], b"b:0;"] {
            let read = from_stored(ValueCodec::Php(Php::SERIALIZE), Some(Bytes::from(empty)));
            assert_eq!(read.unwrap(), Some(Bytes::new()));
        }
        for foreign in [&b"a:0:{}"[..], b"i:3;", b"b:1;", b"not php"] {
            let read = from_stored(ValueCodec::Php(Php::SERIALIZE), Some(Bytes::from(foreign)));
            assert_eq!(read.unwrap_err().kind(), ErrorKind::Decode);
        }
    }
}
