//! Rust values into PHP values: the mirror of [`de`](crate::de).
//!
//! - `()`, `None` and unit structs are `null`; bools, ints and floats are themselves (a `u64`
//!   or `u128` past PHP's largest int is an error, not a float).
//! - Strings and bytes are PHP strings.
//! - Sequences and tuples are lists (keys `0, 1, ...`); maps are arrays keyed by ints or
//!   strings; structs are arrays keyed by their field names, as PHP code holds records (an
//!   object would need its class on the PHP side).
//! - Enums are externally tagged: a unit variant is its name, other variants a one-entry
//!   array `[name => content]`.

use std::borrow::Cow;

use serde::ser::{self, Serialize};

use crate::error::{Error, Result};
use crate::value::{ArrayKey, Value};

/// Makes the PHP value of a Rust value.
pub(crate) struct ValueSerializer;

fn string(s: &[u8]) -> Value<'static> {
    Value::String(Cow::Owned(s.to_vec()))
}

fn int<T: TryInto<i64> + std::fmt::Display + Copy>(v: T) -> Result<Value<'static>> {
    v.try_into()
        .map(Value::Int)
        .map_err(|_| Error::new(format!("{v} is past PHP's largest int (2^63 - 1)")))
}

fn tagged(variant: &str, content: Value<'static>) -> Value<'static> {
    Value::Array(vec![(key_of(variant), content)])
}

fn key_of(name: &str) -> ArrayKey<'static> {
    ArrayKey::from_string(Cow::Owned(name.as_bytes().to_vec()))
}

fn list(values: Vec<Value<'static>>) -> Value<'static> {
    Value::Array(
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| (ArrayKey::Int(i as i64), v))
            .collect(),
    )
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value<'static>;
    type Error = Error;
    type SerializeSeq = List;
    type SerializeTuple = List;
    type SerializeTupleStruct = List;
    type SerializeTupleVariant = List;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = Map;

    fn serialize_bool(self, v: bool) -> Result<Value<'static>> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value<'static>> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value<'static>> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value<'static>> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value<'static>> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value<'static>> {
        int(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value<'static>> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value<'static>> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value<'static>> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value<'static>> {
        int(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value<'static>> {
        int(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value<'static>> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value<'static>> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value<'static>> {
        Ok(string(v.encode_utf8(&mut [0; 4]).as_bytes()))
    }
    fn serialize_str(self, v: &str) -> Result<Value<'static>> {
        Ok(string(v.as_bytes()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value<'static>> {
        Ok(string(v))
    }
    fn serialize_none(self) -> Result<Value<'static>> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value<'static>> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value<'static>> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value<'static>> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value<'static>> {
        Ok(string(variant.as_bytes()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value<'static>> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value<'static>> {
        Ok(tagged(variant, value.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<List> {
        Ok(List::new(len, None))
    }
    fn serialize_tuple(self, len: usize) -> Result<List> {
        Ok(List::new(Some(len), None))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<List> {
        Ok(List::new(Some(len), None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<List> {
        Ok(List::new(Some(len), Some(variant)))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map> {
        Ok(Map::new(len, None))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Map> {
        Ok(Map::new(Some(len), None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Map> {
        Ok(Map::new(Some(len), Some(variant)))
    }
}

/// A sequence, tuple or tuple variant being made.
pub(crate) struct List {
    values: Vec<Value<'static>>,
    variant: Option<&'static str>,
}

impl List {
    fn new(len: Option<usize>, variant: Option<&'static str>) -> Self {
        List {
            values: Vec::with_capacity(len.unwrap_or(0)),
            variant,
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.values.push(value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn finish(self) -> Value<'static> {
        let value = list(self.values);
        match self.variant {
            Some(variant) => tagged(variant, value),
            None => value,
        }
    }
}

impl ser::SerializeSeq for List {
    type Ok = Value<'static>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value<'static>> {
        Ok(self.finish())
    }
}

impl ser::SerializeTuple for List {
    type Ok = Value<'static>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value<'static>> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleStruct for List {
    type Ok = Value<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value<'static>> {
        Ok(self.finish())
    }
}

impl ser::SerializeTupleVariant for List {
    type Ok = Value<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<Value<'static>> {
        Ok(self.finish())
    }
}

/// A map, struct or struct variant being made.
pub(crate) struct Map {
    entries: Vec<(ArrayKey<'static>, Value<'static>)>,
    key: Option<ArrayKey<'static>>,
    variant: Option<&'static str>,
}

impl Map {
    fn new(len: Option<usize>, variant: Option<&'static str>) -> Self {
        Map {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
            variant,
        }
    }

    fn finish(self) -> Value<'static> {
        let value = Value::Array(self.entries);
        match self.variant {
            Some(variant) => tagged(variant, value),
            None => value,
        }
    }
}

impl ser::SerializeMap for Map {
    type Ok = Value<'static>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .key
            .take()
            .ok_or_else(|| Error::new("a map value was given before its key"))?;
        self.entries.push((key, value.serialize(ValueSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Value<'static>> {
        Ok(self.finish())
    }
}

impl ser::SerializeStruct for Map {
    type Ok = Value<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<()> {
        self.entries
            .push((key_of(name), value.serialize(ValueSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Value<'static>> {
        Ok(self.finish())
    }
}

impl ser::SerializeStructVariant for Map {
    type Ok = Value<'static>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<()> {
        ser::SerializeStruct::serialize_field(self, name, value)
    }
    fn end(self) -> Result<Value<'static>> {
        Ok(self.finish())
    }
}

/// Map keys: PHP's arrays take ints and strings only.
struct KeySerializer;

fn not_a_key(what: &str) -> Error {
    Error::new(format!("a PHP array key is an int or a string, not {what}"))
}

impl ser::Serializer for KeySerializer {
    type Ok = ArrayKey<'static>;
    type Error = Error;
    type SerializeSeq = ser::Impossible<ArrayKey<'static>, Error>;
    type SerializeTuple = ser::Impossible<ArrayKey<'static>, Error>;
    type SerializeTupleStruct = ser::Impossible<ArrayKey<'static>, Error>;
    type SerializeTupleVariant = ser::Impossible<ArrayKey<'static>, Error>;
    type SerializeMap = ser::Impossible<ArrayKey<'static>, Error>;
    type SerializeStruct = ser::Impossible<ArrayKey<'static>, Error>;
    type SerializeStructVariant = ser::Impossible<ArrayKey<'static>, Error>;

    fn serialize_bool(self, _v: bool) -> Result<ArrayKey<'static>> {
        Err(not_a_key("a bool"))
    }
    fn serialize_i8(self, v: i8) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<ArrayKey<'static>> {
        int_key(v)
    }
    fn serialize_u8(self, v: u8) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<ArrayKey<'static>> {
        int_key(v)
    }
    fn serialize_u128(self, v: u128) -> Result<ArrayKey<'static>> {
        int_key(v)
    }
    fn serialize_f32(self, _v: f32) -> Result<ArrayKey<'static>> {
        Err(not_a_key("a float"))
    }
    fn serialize_f64(self, _v: f64) -> Result<ArrayKey<'static>> {
        Err(not_a_key("a float"))
    }
    fn serialize_char(self, v: char) -> Result<ArrayKey<'static>> {
        Ok(key_of(v.encode_utf8(&mut [0; 4])))
    }
    fn serialize_str(self, v: &str) -> Result<ArrayKey<'static>> {
        Ok(key_of(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<ArrayKey<'static>> {
        Ok(ArrayKey::from_string(Cow::Owned(v.to_vec())))
    }
    fn serialize_none(self) -> Result<ArrayKey<'static>> {
        Err(not_a_key("null"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<ArrayKey<'static>> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<ArrayKey<'static>> {
        Err(not_a_key("null"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<ArrayKey<'static>> {
        Err(not_a_key("null"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<ArrayKey<'static>> {
        Ok(key_of(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<ArrayKey<'static>> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<ArrayKey<'static>> {
        Err(not_a_key("an enum variant with content"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(not_a_key("a sequence"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(not_a_key("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(not_a_key("a tuple"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(not_a_key("an enum variant with content"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(not_a_key("a map"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(not_a_key("a struct"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(not_a_key("an enum variant with content"))
    }
}

fn int_key<T: TryInto<i64> + std::fmt::Display + Copy>(v: T) -> Result<ArrayKey<'static>> {
    v.try_into()
        .map(ArrayKey::Int)
        .map_err(|_| Error::new(format!("{v} is past PHP's largest int (2^63 - 1)")))
}
