//! PHP's two value formats, `serialize()` and igbinary, read and written, mapped to serde.
//!
//! A PHP service stores values through one of them (Symfony's `DefaultMarshaller` picks
//! igbinary when the extension is loaded, up to Symfony 7.1; `serialize()` otherwise). This
//! crate lets Rust read what PHP stored and write what PHP reads:
//!
//! - [`Format::from_slice`] reads any `Deserialize` type from PHP's bytes, and
//!   [`Format::to_vec`] writes any `Serialize` value as PHP's bytes; the mapping between PHP
//!   and serde is in [`de`] and [`ser`].
//! - [`Format::parse`] reads the bytes as a [`Value`], the PHP value as data: an object is
//!   its class name and properties. Nothing is ever instantiated or run.
//! - [`unmarshal`] reads either format, telling them apart as Symfony's `DefaultMarshaller`
//!   does, since one cache may hold both.
//! - [`session`] reads and writes PHP's session data (`session_encode()`'s four handlers).
//!
//! What has no meaning as data is an error that names it, never a guess: PHP references (the
//! same array or object twice), objects that serialize themselves (PHP's `Serializable`),
//! enum cases. So is a Rust value PHP cannot hold (a `u64` past PHP's largest int, a map key
//! that is neither an int nor a string). Reading never panics, and refuses nesting deeper
//! than 128 levels.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use php_marshal::{Format, Value};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct User {
//!     id: u32,
//!     roles: Vec<String>,
//! }
//!
//! // What PHP's serialize(['id' => 42, 'roles' => ['admin']]) writes:
//! let php = br#"a:2:{s:2:"id";i:42;s:5:"roles";a:1:{i:0;s:5:"admin";}}"#;
//! let user: User = Format::Serialize.from_slice(php)?;
//! assert_eq!(user, User { id: 42, roles: vec!["admin".into()] });
//! assert_eq!(Format::Serialize.to_vec(&user)?, php);
//!
//! // The same value in igbinary, and back.
//! let bytes = Format::Igbinary.to_vec(&user)?;
//! assert_eq!(Format::Igbinary.from_slice::<User>(&bytes)?, user);
//!
//! // An object, read as data.
//! let object = Format::Serialize.parse(br#"O:8:"stdClass":1:{s:1:"x";i:1;}"#)?;
//! assert!(matches!(object, Value::Object { ref class, .. } if &class[..] == b"stdClass"));
//! # Ok::<(), php_marshal::Error>(())
//! ```
#![deny(missing_docs)]

pub mod de;
mod earlier;
mod error;
pub mod igbinary;
pub mod ser;
pub mod serialize;
pub mod session;
mod value;

use serde::{Deserialize, Serialize};

pub use error::{Error, Result};
pub use value::{ArrayKey, Value, property_name};

/// One of PHP's value formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// PHP's `serialize()` / `unserialize()`.
    Serialize,
    /// The igbinary extension's `igbinary_serialize()` / `igbinary_unserialize()`.
    Igbinary,
}

impl Format {
    /// Reads the bytes as PHP data.
    ///
    /// # Errors
    ///
    /// Bytes that are not one value of this format; what has no meaning as data (see the
    /// crate's documentation).
    pub fn parse(self, input: &[u8]) -> Result<Value<'_>> {
        match self {
            Format::Serialize => serialize::parse(input),
            Format::Igbinary => igbinary::parse(input),
        }
    }

    /// Appends the bytes of `value` to `out`.
    ///
    /// # Errors
    ///
    /// A value this format cannot count (an igbinary array of more than 2^32 entries).
    pub fn write(self, value: &Value<'_>, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Format::Serialize => {
                serialize::write(value, out);
                Ok(())
            }
            Format::Igbinary => igbinary::write(value, out),
        }
    }

    /// Reads a `T` from PHP's bytes (see [`de`] for how PHP's values map to Rust's).
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse), and a PHP value that does not fit `T`.
    pub fn from_slice<'de, T: Deserialize<'de>>(self, input: &'de [u8]) -> Result<T> {
        T::deserialize(self.parse(input)?)
    }

    /// The bytes PHP reads as `value` (see [`ser`] for how Rust's values map to PHP's).
    ///
    /// # Errors
    ///
    /// A value PHP cannot hold: an int past `i64`, a map key that is neither an int nor a
    /// string, or one the value's `Serialize` refuses.
    pub fn to_vec<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<u8>> {
        let value = to_value(value)?;
        let mut out = Vec::with_capacity(64);
        self.write(&value, &mut out)?;
        Ok(out)
    }

    /// The format of bytes PHP marshalled, told apart as Symfony's `DefaultMarshaller` does:
    /// `serialize()` output has `:` as its second byte (or is `N;`, or shorter than two
    /// bytes), anything else is igbinary.
    pub fn of(input: &[u8]) -> Format {
        match input.get(1) {
            None | Some(b':') => Format::Serialize,
            Some(_) if input == b"N;" => Format::Serialize,
            Some(_) => Format::Igbinary,
        }
    }
}

/// Whether `input` can be a PHP value at a glance (its first bytes), without reading it:
/// igbinary's header, or a `serialize()` type tag and its `:` (or `N;`). For telling PHP's
/// values from other bytes cheaply; [`Format::parse`] decides.
pub fn looks_like_php(input: &[u8]) -> bool {
    match input {
        [0, 0, 0, 2, ..] => true,
        b"N;" => true,
        [tag, b':', ..] => b"bidsaOCESrR".contains(tag),
        _ => false,
    }
}

/// Reads a `T` from bytes in either format (see [`Format::of`]).
///
/// # Errors
///
/// As [`Format::from_slice`].
pub fn unmarshal<'de, T: Deserialize<'de>>(input: &'de [u8]) -> Result<T> {
    Format::of(input).from_slice(input)
}

/// The PHP value of a Rust value.
///
/// # Errors
///
/// As [`Format::to_vec`].
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value<'static>> {
    value.serialize(ser::ValueSerializer)
}

/// A `T` from a PHP value.
///
/// # Errors
///
/// A PHP value that does not fit `T`.
pub fn from_value<'de, T: Deserialize<'de>>(value: Value<'de>) -> Result<T> {
    T::deserialize(value)
}

/// The crate README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
