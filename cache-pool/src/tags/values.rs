//! How tag versions and an item's tags are stored: as PHP values where the pool's values are
//! PHP's (Symfony 5.4's `TagAwareAdapter` reads and writes the same entries), as MessagePack
//! otherwise.

use bytes::Bytes;
use cache_store::codec::{Codec, MsgPack, ValueCodec};
use cache_store::{Error, ErrorKind, Result};

/// A tag's version, compared as PHP's `!==` does: Symfony 5.4 writes random ints, 6.1+
/// six random bytes, and the two never match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Version {
    Int(i64),
    /// Only PHP (6.1+) writes these, so only PHP formats read them.
    #[cfg_attr(not(feature = "php"), allow(dead_code))]
    Bytes(Bytes),
}

/// The encoding of one pool's tag entries.
#[derive(Clone, Copy, Debug)]
pub(super) enum TagValues {
    MsgPack,
    #[cfg(feature = "php")]
    Php(php_marshal::Format),
}

impl TagValues {
    pub(super) fn of(codec: ValueCodec) -> Self {
        match codec {
            ValueCodec::MsgPack => TagValues::MsgPack,
            #[cfg(feature = "php")]
            ValueCodec::Php(php) => TagValues::Php(php.writes()),
            // A codec added later: this crate's own encoding until it says otherwise.
            _ => TagValues::MsgPack,
        }
    }

    /// A new version's stored value.
    pub(super) fn version(self, version: i64) -> Result<Bytes> {
        match self {
            TagValues::MsgPack => MsgPack.encode(&version),
            #[cfg(feature = "php")]
            TagValues::Php(format) => php_bytes(format, &php_marshal::Value::Int(version)),
        }
    }

    /// The version a stored value holds; `None` for anything that is no version.
    pub(super) fn read_version(self, stored: &[u8]) -> Option<Version> {
        match self {
            TagValues::MsgPack => MsgPack.decode::<i64>(stored).ok().map(Version::Int),
            #[cfg(feature = "php")]
            TagValues::Php(_) => match php_marshal::Format::of(stored).parse(stored).ok()? {
                php_marshal::Value::Int(n) => Some(Version::Int(n)),
                php_marshal::Value::String(s) => Some(Version::Bytes(Bytes::from(s.into_owned()))),
                _ => None,
            },
        }
    }

    /// The stored value of an item's tags at their versions (PHP: an array `tag => version`).
    pub(super) fn tags(self, tags: &[(&str, &Version)]) -> Result<Bytes> {
        match self {
            TagValues::MsgPack => {
                // This crate's own layout: the pairs in order (only ints are ever written here).
                let pairs = tags
                    .iter()
                    .map(|(tag, version)| match version {
                        Version::Int(n) => Ok((*tag, *n)),
                        Version::Bytes(_) => Err(Error::new(
                            ErrorKind::InvalidArgument,
                            "a tag version of PHP 6.1+ in a pool of this crate's format",
                        )),
                    })
                    .collect::<Result<Vec<_>>>()?;
                MsgPack.encode(&pairs)
            }
            #[cfg(feature = "php")]
            TagValues::Php(format) => {
                use std::borrow::Cow;
                let entries = tags
                    .iter()
                    .map(|(tag, version)| {
                        let version = match version {
                            Version::Int(n) => php_marshal::Value::Int(*n),
                            Version::Bytes(b) => php_marshal::Value::String(Cow::Borrowed(&b[..])),
                        };
                        (
                            php_marshal::ArrayKey::from_string(Cow::Borrowed(tag.as_bytes())),
                            version,
                        )
                    })
                    .collect();
                php_bytes(format, &php_marshal::Value::Array(entries))
            }
        }
    }

    /// An item's tags and their versions from their stored value; `None` when it is none.
    pub(super) fn read_tags(self, stored: &[u8]) -> Option<Vec<(String, Version)>> {
        match self {
            TagValues::MsgPack => MsgPack
                .decode::<Vec<(String, i64)>>(stored)
                .ok()
                .map(|tags| {
                    tags.into_iter()
                        .map(|(t, v)| (t, Version::Int(v)))
                        .collect()
                }),
            #[cfg(feature = "php")]
            TagValues::Php(_) => {
                // PHP reads a falsy value (`null`, `false`, `[]`) as no tags.
                let parsed = php_marshal::Format::of(stored).parse(stored).ok()?;
                let entries = match parsed {
                    php_marshal::Value::Array(entries) => entries,
                    php_marshal::Value::Null | php_marshal::Value::Bool(false) => Vec::new(),
                    _ => return None,
                };
                entries
                    .into_iter()
                    .map(|(key, version)| {
                        let tag = match key {
                            php_marshal::ArrayKey::Int(n) => n.to_string(),
                            php_marshal::ArrayKey::String(s) => {
                                String::from_utf8(s.into_owned()).ok()?
                            }
                        };
                        let version = match version {
                            php_marshal::Value::Int(n) => Version::Int(n),
                            php_marshal::Value::String(s) => {
                                Version::Bytes(Bytes::from(s.into_owned()))
                            }
                            _ => return None,
                        };
                        Some((tag, version))
                    })
                    .collect()
            }
        }
    }
}

#[cfg(feature = "php")]
fn php_bytes(format: php_marshal::Format, value: &php_marshal::Value<'_>) -> Result<Bytes> {
    let mut out = Vec::new();
    format.write(value, &mut out).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            "cannot write tags as a PHP value",
        )
        .with_source(e)
    })?;
    Ok(Bytes::from(out))
}

/// The error of a tag entry this pool did not write and cannot read.
pub(super) fn unreadable(what: &str) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("{what} is no tag entry this pool can read"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_in_each_encoding() {
        let red = Version::Int(-42);
        let blue = Version::Int(i64::MAX);
        let mut encodings = vec![TagValues::MsgPack];
        #[cfg(feature = "php")]
        encodings.extend([
            TagValues::Php(php_marshal::Format::Serialize),
            TagValues::Php(php_marshal::Format::Igbinary),
        ]);
        for values in encodings {
            let stored = values.tags(&[("red", &red), ("7", &blue)]).unwrap();
            let mut read = values.read_tags(&stored).unwrap();
            read.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                read,
                vec![
                    ("7".to_owned(), blue.clone()),
                    ("red".to_owned(), red.clone())
                ],
                "{values:?}"
            );
            let version = values.version(99).unwrap();
            assert_eq!(values.read_version(&version), Some(Version::Int(99)));
            assert_eq!(
                values.read_tags(&values.tags(&[]).unwrap()),
                Some(Vec::new())
            );
        }
    }
}
