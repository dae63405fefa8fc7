//! A PHP value as data.

use std::borrow::Cow;

/// A value of PHP, as PHP's serializers store it, read as data: an object is its class name
/// and properties, never an instance of anything.
///
/// Strings are bytes (PHP strings need not be UTF-8) and borrow from the input they were read
/// from. An array keeps its entries in PHP's order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An int (PHP's ints are 64-bit).
    Int(i64),
    /// A float.
    Float(f64),
    /// A string: bytes, in no particular encoding.
    String(Cow<'a, [u8]>),
    /// An array: ordered entries, each under an int or a string key.
    Array(Vec<(ArrayKey<'a>, Value<'a>)>),
    /// An object: its class name and its properties, in order. A private property's name is
    /// stored as PHP mangles it (`"\0Class\0name"`, protected `"\0*\0name"`); see
    /// [`property_name`].
    Object {
        /// The class name, as PHP wrote it.
        class: Cow<'a, [u8]>,
        /// The properties (or what the class's `__serialize` returned).
        properties: Vec<(ArrayKey<'a>, Value<'a>)>,
    },
}

/// The key of an array entry or object property.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArrayKey<'a> {
    /// An int key.
    Int(i64),
    /// A string key. PHP turns a string key that reads as a canonical decimal int (`"7"`,
    /// not `"07"`) into that int; the writers here do the same.
    String(Cow<'a, [u8]>),
}

impl Value<'_> {
    /// The value with every borrowed string copied, so it outlives its input.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::String(s) => Value::String(Cow::Owned(s.into_owned())),
            Value::Array(entries) => Value::Array(owned_entries(entries)),
            Value::Object { class, properties } => Value::Object {
                class: Cow::Owned(class.into_owned()),
                properties: owned_entries(properties),
            },
        }
    }

    /// PHP's name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object { .. } => "object",
        }
    }
}

fn owned_entries(
    entries: Vec<(ArrayKey<'_>, Value<'_>)>,
) -> Vec<(ArrayKey<'static>, Value<'static>)> {
    entries
        .into_iter()
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

impl ArrayKey<'_> {
    /// The key with a borrowed string copied.
    pub fn into_owned(self) -> ArrayKey<'static> {
        match self {
            ArrayKey::Int(i) => ArrayKey::Int(i),
            ArrayKey::String(s) => ArrayKey::String(Cow::Owned(s.into_owned())),
        }
    }

    /// The key PHP stores for the string `s`: an int when `s` is a canonical decimal int.
    pub fn from_string(s: Cow<'_, [u8]>) -> ArrayKey<'_> {
        match canonical_int(&s) {
            Some(i) => ArrayKey::Int(i),
            None => ArrayKey::String(s),
        }
    }
}

/// `s` as an int when PHP would read it as one for an array key: optional `-`, no leading
/// zero (but `"0"` itself), no `"-0"`, in range.
fn canonical_int(s: &[u8]) -> Option<i64> {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    let canonical = match digits {
        [] => false,
        [b'0'] => s.len() == 1,
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    if !canonical || digits.len() > 19 {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A property's name without PHP's visibility mangling: `"\0Class\0name"` (private) and
/// `"\0*\0name"` (protected) are both `"name"`; a public name is returned as it is.
pub fn property_name(stored: &[u8]) -> &[u8] {
    match stored {
        [0, rest @ ..] => match rest.iter().position(|&b| b == 0) {
            Some(end) => &rest[end + 1..],
            None => stored,
        },
        _ => stored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_decimal_strings_become_int_keys() {
        fn key(s: &str) -> ArrayKey<'_> {
            ArrayKey::from_string(Cow::Borrowed(s.as_bytes()))
        }
        assert_eq!(key("7"), ArrayKey::Int(7));
        assert_eq!(key("-7"), ArrayKey::Int(-7));
        assert_eq!(key("0"), ArrayKey::Int(0));
        assert_eq!(key("9223372036854775807"), ArrayKey::Int(i64::MAX));
        assert_eq!(key("-9223372036854775808"), ArrayKey::Int(i64::MIN));
        for kept in [
            "07",
            "-0",
            "",
            "-",
            "1.5",
            " 1",
            "9223372036854775808",
            "1e3",
        ] {
            assert!(matches!(key(kept), ArrayKey::String(_)), "{kept:?}");
        }
    }

    #[test]
    fn mangled_property_names_lose_their_visibility() {
        assert_eq!(property_name(b"\0App\\User\0name"), b"name");
        assert_eq!(property_name(b"\0*\0name"), b"name");
        assert_eq!(property_name(b"name"), b"name");
        assert_eq!(property_name(b"\0broken"), b"\0broken");
    }
}
