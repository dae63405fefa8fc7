//! The value pipeline: how an item's value and metadata become the bytes a store keeps.

use std::borrow::Cow;

use bytes::Bytes;
use cache_store::Result;
use cache_store::codec::ValueCodec;

use crate::envelope;
#[cfg(feature = "php")]
use crate::symfony::{self, SymfonyLayout};

/// What a stampede-protected computation records with its value, stored beside it by the
/// [`ValueFormat`] so that readers can recompute early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// When the value expires, in milliseconds since the Unix epoch.
    pub expiry_ms: u64,
    /// How long computing it took, in milliseconds.
    pub ctime_ms: u32,
}

/// How a pool or a PSR-16 cache lays out what it stores: an item's value, with the metadata
/// of the computation that produced it, as the bytes a store keeps, and back.
///
/// Every [`Pool`](crate::Pool) and PSR-16 cache holds one, and every read and write goes
/// through it, so one setting decides what the whole stack writes. The default is this
/// crate's [`envelope`]: a value is stored as it is, and metadata rides in an envelope user
/// data can never pass for. The layouts PHP's caches write (Symfony's marshallers and item
/// layouts) are further formats of this type, so a Rust and a PHP service can read each
/// other's entries.
///
/// The envelope never copies a value on a read: it slices the stored bytes (a Symfony item
/// with metadata is unwrapped and marshalled again, which only early recomputation reads).
///
/// ```
/// use bytes::Bytes;
/// use cache_pool::{Metadata, ValueFormat};
///
/// let format = ValueFormat::default();
/// let value = Bytes::from_static(b"42 users");
/// let meta = Metadata { expiry_ms: 1_700_000_000_000, ctime_ms: 120 };
/// let stored = format.encode(&value, Some(meta)).into_owned();
/// assert_eq!(format.decode(stored)?, (value.clone(), Some(meta)));
/// // Without metadata the value is stored as it is.
/// assert_eq!(*format.encode(&value, None), value);
/// # Ok::<(), cache_store::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValueFormat {
    layout: Layout,
}

/// The layouts a format can have.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Layout {
    /// [`envelope`]: raw values, metadata in an unambiguous envelope.
    #[default]
    Envelope,
    /// Symfony's: values marshalled by PHP, metadata in Symfony's wrapper of a version.
    #[cfg(feature = "php")]
    Symfony {
        layout: SymfonyLayout,
        marshaller: php_marshal::Format,
    },
}

impl ValueFormat {
    /// This crate's [`envelope`] (the default).
    pub const fn envelope() -> Self {
        ValueFormat {
            layout: Layout::Envelope,
        }
    }

    /// Symfony Cache's layout of a version, with values marshalled in `marshaller`, so that a
    /// PHP service using Symfony Cache on the same store reads this pool's items and this
    /// pool reads its items, early-expiration metadata included.
    ///
    /// An item's value is then PHP's marshalled bytes: typed calls (`set_as`, `get_as`)
    /// encode with `marshaller` ([`codec`](Self::codec)), raw bytes that are no PHP value are
    /// refused on write, and a stored value that is no PHP value reads as a miss, as in
    /// Symfony. Reading takes Symfony's 5.4 and 6.1+ layouts and both marshallers, whatever
    /// this format writes.
    ///
    /// Keys match Symfony's on Redis (`<namespace>:<key>`) when both sides have the same
    /// non-empty namespace. Symfony's empty namespace writes bare keys: open the Redis store
    /// with `keys=php` to match them, where `clear` is refused (Symfony's flushes the whole
    /// database), or better, give the PHP pool a namespace. On
    /// memcached, Symfony's ids carry a namespace version: the store must keep Symfony's
    /// layout too (`PhpMemcachedStore`, which [`open`](crate::open) picks for a
    /// `memcache://` URL with a Symfony format).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use cache_pool::{Metadata, SymfonyLayout, ValueFormat};
    /// use cache_store::codec::{Codec, Php};
    /// use php_marshal::Format;
    ///
    /// let format = ValueFormat::symfony(SymfonyLayout::V5_4, Format::Igbinary);
    /// let value = Php::IGBINARY.encode("bar")?;
    /// let meta = Metadata { expiry_ms: 1_700_000_000_000, ctime_ms: 150 };
    /// let stored = format.encode(&value, Some(meta)).into_owned();
    /// assert_eq!(format.decode(stored)?, (value, Some(meta)));
    /// # Ok::<(), cache_store::Error>(())
    /// ```
    #[cfg(feature = "php")]
    #[cfg_attr(docsrs, doc(cfg(feature = "php")))]
    pub const fn symfony(layout: SymfonyLayout, marshaller: php_marshal::Format) -> Self {
        ValueFormat {
            layout: Layout::Symfony { layout, marshaller },
        }
    }

    /// Symfony's version and marshaller, for a Symfony format.
    #[cfg(feature = "php")]
    pub(crate) const fn symfony_parts(&self) -> Option<(SymfonyLayout, php_marshal::Format)> {
        match self.layout {
            Layout::Symfony { layout, marshaller } => Some((layout, marshaller)),
            Layout::Envelope => None,
        }
    }

    /// The codec of typed values (`get_as`, `set_as`) in this format: [`MsgPack`] for the
    /// envelope, PHP's marshaller for Symfony's layout.
    ///
    /// [`MsgPack`]: cache_store::codec::MsgPack
    pub const fn codec(&self) -> ValueCodec {
        match self.layout {
            Layout::Envelope => ValueCodec::MsgPack,
            #[cfg(feature = "php")]
            Layout::Symfony { marshaller, .. } => ValueCodec::Php(match marshaller {
                php_marshal::Format::Serialize => cache_store::codec::Php::SERIALIZE,
                php_marshal::Format::Igbinary => cache_store::codec::Php::IGBINARY,
            }),
        }
    }

    /// Checks that `value` is one this format can store for its readers: any bytes for the
    /// envelope; a PHP value for Symfony's layout, whose readers (PHP's among them) would
    /// otherwise read a miss. No value at all (an item saved without one) is PHP's `null`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](cache_store::ErrorKind::InvalidArgument) for bytes that
    /// are no PHP value in a Symfony format.
    #[inline]
    pub fn check(&self, value: &[u8]) -> Result<()> {
        #[cfg(not(feature = "php"))]
        let _ = value; // every value fits the envelope
        match self.layout {
            Layout::Envelope => Ok(()),
            #[cfg(feature = "php")]
            Layout::Symfony { .. } if value.is_empty() || php_marshal::looks_like_php(value) => {
                Ok(())
            }
            #[cfg(feature = "php")]
            Layout::Symfony { .. } => Err(cache_store::Error::new(
                cache_store::ErrorKind::InvalidArgument,
                "a value in Symfony's layout must be a PHP value: encode it with the format's \
                 codec (set_as does)",
            )),
        }
    }

    /// The stored form of `value` with `metadata`, borrowing `value` when it is stored as it
    /// is (the usual case), so a batch is written without a copy of each value.
    ///
    /// Encoding never fails: metadata only serves early recomputation, so a format that
    /// could not carry it beside some value would store the value without it.
    #[inline]
    pub fn encode<'a>(&self, value: &'a Bytes, metadata: Option<Metadata>) -> Cow<'a, Bytes> {
        match self.layout {
            Layout::Envelope => envelope::wrap_ref(value, metadata),
            // An item saved without a value: PHP's null.
            #[cfg(feature = "php")]
            Layout::Symfony { .. } if value.is_empty() => Cow::Owned(Bytes::from_static(b"N;")),
            #[cfg(feature = "php")]
            Layout::Symfony { layout, marshaller } => match metadata {
                None => Cow::Borrowed(value),
                Some(meta) => symfony::wrap(value, meta, layout, marshaller)
                    .map_or(Cow::Borrowed(value), Cow::Owned),
            },
        }
    }

    /// [`encode`](Self::encode) of a value the caller gives up, for single writes.
    #[inline]
    pub fn encode_owned(&self, value: Bytes, metadata: Option<Metadata>) -> Bytes {
        match self.layout {
            Layout::Envelope => envelope::wrap(value, metadata),
            #[cfg(feature = "php")]
            Layout::Symfony { .. } => self.encode(&value, metadata).into_owned(),
        }
    }

    /// The value and metadata of stored bytes.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Decode`](cache_store::ErrorKind::Decode) when the bytes are no value of
    /// this format (damaged, or written by something else): readers count that as a miss.
    #[inline]
    pub fn decode(&self, stored: Bytes) -> Result<(Bytes, Option<Metadata>)> {
        match self.layout {
            Layout::Envelope => envelope::unwrap(stored),
            #[cfg(feature = "php")]
            Layout::Symfony { .. } => symfony_decode(stored),
        }
    }

    /// The value of stored bytes without its metadata: what a plain read needs.
    ///
    /// # Errors
    ///
    /// As [`decode`](Self::decode).
    #[inline]
    pub fn decode_value(&self, stored: Bytes) -> Result<Bytes> {
        match self.layout {
            Layout::Envelope => envelope::unwrap_value(stored),
            #[cfg(feature = "php")]
            Layout::Symfony { .. } => symfony_decode(stored).map(|(value, _)| value),
        }
    }
}

/// A value Symfony stored: plain, or wrapped with its metadata.
#[cfg(feature = "php")]
fn symfony_decode(stored: Bytes) -> Result<(Bytes, Option<Metadata>)> {
    if !php_marshal::looks_like_php(&stored) {
        return Err(cache_store::Error::new(
            cache_store::ErrorKind::Decode,
            "stored value is no PHP value",
        ));
    }
    if !symfony::may_be_wrapped(&stored) {
        return Ok((stored, None));
    }
    match symfony::unwrap(&stored)? {
        Some((value, metadata)) => Ok((value, Some(metadata))),
        None => Ok((stored, None)),
    }
}

impl std::fmt::Display for ValueFormat {
    /// The format's name, as [`FromStr`](std::str::FromStr) and URLs take it: `envelope`, or
    /// `symfony-<5.4|6.1>-<serialize|igbinary>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.layout {
            Layout::Envelope => f.write_str("envelope"),
            #[cfg(feature = "php")]
            Layout::Symfony { layout, marshaller } => {
                let version = match layout {
                    SymfonyLayout::V5_4 => "5.4",
                    SymfonyLayout::V6_1 => "6.1",
                };
                let marshaller = match marshaller {
                    php_marshal::Format::Serialize => "serialize",
                    php_marshal::Format::Igbinary => "igbinary",
                };
                write!(f, "symfony-{version}-{marshaller}")
            }
        }
    }
}

impl std::str::FromStr for ValueFormat {
    type Err = cache_store::Error;

    /// A format by its name (see [`Display`](std::fmt::Display)).
    fn from_str(name: &str) -> Result<Self> {
        if name == "envelope" {
            return Ok(ValueFormat::envelope());
        }
        #[cfg(feature = "php")]
        if let Some(rest) = name.strip_prefix("symfony-") {
            let layout = match rest.get(..4) {
                Some("5.4-") => Some(SymfonyLayout::V5_4),
                Some("6.1-") => Some(SymfonyLayout::V6_1),
                _ => None,
            };
            let marshaller = match rest.get(4..) {
                Some("serialize") => Some(php_marshal::Format::Serialize),
                Some("igbinary") => Some(php_marshal::Format::Igbinary),
                _ => None,
            };
            if let (Some(layout), Some(marshaller)) = (layout, marshaller) {
                return Ok(ValueFormat::symfony(layout, marshaller));
            }
        }
        let known = if cfg!(feature = "php") {
            "envelope, symfony-5.4-serialize, symfony-5.4-igbinary, symfony-6.1-serialize, \
             symfony-6.1-igbinary"
        } else {
            "envelope (the php feature adds Symfony's)"
        };
        Err(cache_store::Error::new(
            cache_store::ErrorKind::InvalidArgument,
            format!("unknown value format {name:?}; known: {known}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_named_and_read_back_by_its_name() {
        #[cfg_attr(not(feature = "php"), allow(unused_mut))] // Symfony's come with `php`
        let mut formats = vec![ValueFormat::envelope()];
        #[cfg(feature = "php")]
        for layout in [SymfonyLayout::V5_4, SymfonyLayout::V6_1] {
            for marshaller in [
                php_marshal::Format::Serialize,
                php_marshal::Format::Igbinary,
            ] {
                formats.push(ValueFormat::symfony(layout, marshaller));
            }
        }
        for format in formats {
            assert_eq!(format.to_string().parse::<ValueFormat>().unwrap(), format);
        }
        for bad in [
            "",
            "Envelope",
            "symfony",
            "symfony-5.4",
            "symfony-7.0-igbinary",
            "symfony-5.4-json",
        ] {
            assert!(bad.parse::<ValueFormat>().is_err(), "{bad}");
        }
    }
}
