//! PHP values into Rust types: [`Value`] is a serde `Deserializer`.
//!
//! - `null` is `()` and `None`; bools, ints and floats are themselves (an int fits a
//!   narrower Rust int only when in its range).
//! - A string is a `&str`/`String` when it is UTF-8, and bytes (`serde_bytes`) always.
//! - An array whose keys are `0, 1, ...` in order is a sequence; any array (those too) is a
//!   map from its keys (ints, or strings) to its values, and a struct takes its string keys
//!   as field names. A sequence also reads any array with only int keys, in PHP's order.
//! - An object is its properties, as a map or a struct, their names without PHP's
//!   visibility mangling. Its class is not checked: use [`Value::Object`] to see it.
//! - An enum is externally tagged, as serde writes one: a unit variant is its name, other
//!   variants a one-entry array `[name => content]`.

use std::borrow::Cow;

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

use crate::error::{Error, Result};
use crate::value::{ArrayKey, Value, property_name};

type EntryIter<'de> = std::vec::IntoIter<(ArrayKey<'de>, Value<'de>)>;

impl<'de> Deserializer<'de> for Value<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Int(i) => visitor.visit_i64(i),
            Value::Float(f) => visitor.visit_f64(f),
            Value::String(s) => visit_text(s, visitor),
            Value::Array(entries) if is_list(&entries) => {
                visitor.visit_seq(Values(entries.into_iter()))
            }
            Value::Array(entries) => visitor.visit_map(Map::new(entries, false)),
            Value::Object { properties, .. } => visitor.visit_map(Map::new(properties, true)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Null => visitor.visit_none(),
            value => visitor.visit_some(value),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::String(Cow::Borrowed(s)) => visitor.visit_borrowed_bytes(s),
            Value::String(Cow::Owned(s)) => visitor.visit_byte_buf(s),
            value => value.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Array(entries) => {
                if entries
                    .iter()
                    .any(|(key, _)| matches!(key, ArrayKey::String(_)))
                {
                    return Err(Error::new(
                        "a PHP array with string keys is a map, not a list: read it into a map \
                         or a struct",
                    ));
                }
                visitor.visit_seq(Values(entries.into_iter()))
            }
            value => value.deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Array(entries) => visitor.visit_map(Map::new(entries, false)),
            Value::Object { properties, .. } => visitor.visit_map(Map::new(properties, true)),
            value => value.deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self {
            Value::String(name) => visitor.visit_enum(Variant {
                name,
                content: None,
            }),
            Value::Array(entries) if entries.len() == 1 => {
                let mut entries = entries.into_iter();
                match entries.next() {
                    Some((ArrayKey::String(name), content)) => visitor.visit_enum(Variant {
                        name,
                        content: Some(content),
                    }),
                    _ => Err(Error::new("an enum variant's name must be a string key")),
                }
            }
            other => Err(Error::new(format!(
                "a PHP {} is no enum variant (a name, or a one-entry array [name => content])",
                other.type_name()
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string unit unit_struct
        identifier ignored_any
    }
}

/// A PHP string to a visitor: as text when it is UTF-8, as bytes otherwise.
fn visit_text<'de, V: Visitor<'de>>(s: Cow<'de, [u8]>, visitor: V) -> Result<V::Value> {
    match s {
        Cow::Borrowed(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => visitor.visit_borrowed_str(text),
            Err(_) => visitor.visit_borrowed_bytes(bytes),
        },
        Cow::Owned(bytes) => match String::from_utf8(bytes) {
            Ok(text) => visitor.visit_string(text),
            Err(e) => visitor.visit_byte_buf(e.into_bytes()),
        },
    }
}

/// Keys `0, 1, ...` in order: what PHP calls a list.
fn is_list(entries: &[(ArrayKey<'_>, Value<'_>)]) -> bool {
    entries
        .iter()
        .enumerate()
        .all(|(i, (key, _))| matches!(key, ArrayKey::Int(k) if usize::try_from(*k) == Ok(i)))
}

/// The values of an array, in order.
struct Values<'de>(EntryIter<'de>);

impl<'de> SeqAccess<'de> for Values<'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        self.0
            .next()
            .map(|(_, value)| seed.deserialize(value))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// The entries of an array, or an object's properties (names unmangled).
struct Map<'de> {
    entries: EntryIter<'de>,
    properties: bool,
    value: Option<Value<'de>>,
}

impl<'de> Map<'de> {
    fn new(entries: Vec<(ArrayKey<'de>, Value<'de>)>, properties: bool) -> Self {
        Map {
            entries: entries.into_iter(),
            properties,
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        let key = match key {
            ArrayKey::String(name) if self.properties => ArrayKey::String(unmangled(name)),
            key => key,
        };
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self
            .value
            .take()
            .ok_or_else(|| Error::new("a map's value was asked for before its key"))?;
        seed.deserialize(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A property name without PHP's visibility mangling, still borrowed when it was.
fn unmangled(name: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    match name {
        Cow::Borrowed(stored) => Cow::Borrowed(property_name(stored)),
        Cow::Owned(stored) => Cow::Owned(property_name(&stored).to_vec()),
    }
}

/// An array key as a map key or a field name.
struct Key<'de>(ArrayKey<'de>);

impl<'de> Deserializer<'de> for Key<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            ArrayKey::Int(i) => visitor.visit_i64(i),
            ArrayKey::String(s) => visit_text(s, visitor),
        }
    }

    /// Field names and string map keys: an int key is its decimal text (PHP made `"7"` an int
    /// key; a field index it is not).
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            ArrayKey::Int(i) => visitor.visit_string(i.to_string()),
            ArrayKey::String(s) => visit_text(s, visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_identifier(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_identifier(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            ArrayKey::Int(i) => visitor.visit_byte_buf(i.to_string().into_bytes()),
            ArrayKey::String(Cow::Borrowed(s)) => visitor.visit_borrowed_bytes(s),
            ArrayKey::String(Cow::Owned(s)) => visitor.visit_byte_buf(s),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.0 {
            ArrayKey::String(s) => Value::String(s).deserialize_enum(name, variants, visitor),
            ArrayKey::Int(_) => Err(Error::new("an int key is no enum variant")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char unit unit_struct seq tuple
        tuple_struct map struct ignored_any
    }
}

/// An enum variant: its name and, but for a unit variant, its content.
struct Variant<'de> {
    name: Cow<'de, [u8]>,
    content: Option<Value<'de>>,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Error;
    type Variant = Content<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Content<'de>)> {
        let name = seed.deserialize(Key(ArrayKey::String(self.name)))?;
        Ok((name, Content(self.content)))
    }
}

/// What a variant holds.
struct Content<'de>(Option<Value<'de>>);

impl<'de> VariantAccess<'de> for Content<'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        match self.0 {
            None | Some(Value::Null) => Ok(()),
            Some(other) => Err(Error::new(format!(
                "a unit variant holds nothing, not a PHP {}",
                other.type_name()
            ))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self.content("a newtype variant")?)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.content("a tuple variant")?.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.content("a struct variant")?.deserialize_map(visitor)
    }
}

impl<'de> Content<'de> {
    fn content(self, what: &str) -> Result<Value<'de>> {
        self.0
            .ok_or_else(|| Error::new(format!("{what} needs content, and has only its name")))
    }
}

impl<'de> IntoDeserializer<'de, Error> for Value<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}
