//! igbinary, the binary format of PHP's igbinary extension (version 2): a 4-byte header
//! `00 00 00 02`, then one value, each a type byte and its big-endian payload. Every
//! non-empty string (values, keys and class names alike) gets the next id of one table the
//! first time it appears, and later appearances are written as that id.

use std::borrow::Cow;

use crate::earlier::{Earlier, ReadAgain};
use crate::error::{Error, Result};
use crate::serialize::MAX_DEPTH;
use crate::value::{ArrayKey, Value};

/// The header of igbinary version 2, the one igbinary 2 and 3 write.
pub const HEADER: [u8; 4] = [0, 0, 0, 2];

// The type bytes (igbinary's `enum igbinary_type`).
const NULL: u8 = 0x00;
const REF8: u8 = 0x01;
const REF16: u8 = 0x02;
const REF32: u8 = 0x03;
const FALSE: u8 = 0x04;
const TRUE: u8 = 0x05;
const LONG8P: u8 = 0x06;
const LONG8N: u8 = 0x07;
const LONG16P: u8 = 0x08;
const LONG16N: u8 = 0x09;
const LONG32P: u8 = 0x0a;
const LONG32N: u8 = 0x0b;
const DOUBLE: u8 = 0x0c;
const STRING_EMPTY: u8 = 0x0d;
const STRING_ID8: u8 = 0x0e;
const STRING_ID16: u8 = 0x0f;
const STRING_ID32: u8 = 0x10;
const STRING8: u8 = 0x11;
const STRING16: u8 = 0x12;
const STRING32: u8 = 0x13;
const ARRAY8: u8 = 0x14;
const ARRAY16: u8 = 0x15;
const ARRAY32: u8 = 0x16;
const OBJECT8: u8 = 0x17;
const OBJECT16: u8 = 0x18;
const OBJECT32: u8 = 0x19;
const OBJECT_ID8: u8 = 0x1a;
const OBJECT_ID16: u8 = 0x1b;
const OBJECT_ID32: u8 = 0x1c;
const OBJECT_SER8: u8 = 0x1d;
const OBJECT_SER32: u8 = 0x1f;
const LONG64P: u8 = 0x20;
const LONG64N: u8 = 0x21;
const OBJREF8: u8 = 0x22;
const OBJREF16: u8 = 0x23;
const OBJREF32: u8 = 0x24;
const REF: u8 = 0x25;
const STRING64: u8 = 0x26;
const ENUM_CASE: u8 = 0x27;

/// Reads one value that spans all of `input`, header included.
///
/// # Errors
///
/// A missing or other header, malformed or truncated input, trailing bytes, nesting past
/// 128 levels, and what has no meaning as data: PHP references (two names for one variable)
/// and values that contain themselves, objects that serialize themselves (PHP's
/// `Serializable`) and enum cases, each named in the message. An array or object that
/// appears twice (igbinary writes the second as a reference to the first) reads as a copy.
pub fn parse(input: &[u8]) -> Result<Value<'_>> {
    if input.get(..4) != Some(&HEADER[..]) {
        return Err(Error::at(
            0,
            "not igbinary version 2 (its header is 00 00 00 02)",
        ));
    }
    let mut reader = Reader {
        input,
        pos: 4,
        strings: Vec::new(),
        earlier: Earlier::default(),
    };
    let value = reader.value(0)?;
    if reader.pos != input.len() {
        return Err(Error::at(
            reader.pos,
            "trailing bytes after the igbinary value",
        ));
    }
    Ok(value)
}

/// Appends the igbinary form of `value`, header included, to `out`, sharing repeated strings
/// as igbinary does.
///
/// # Errors
///
/// An array with more than 2^32 entries, which igbinary cannot count.
pub fn write(value: &Value<'_>, out: &mut Vec<u8>) -> Result<()> {
    out.extend_from_slice(&HEADER);
    Writer {
        out,
        strings: foldhash::HashMap::default(),
    }
    .value(value)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// Every string read so far, by id.
    strings: Vec<&'a [u8]>,
    /// igbinary numbers every array and object it reads, from 0, for references to name.
    earlier: Earlier,
}

impl<'a> ReadAgain<'a> for Reader<'a> {
    fn earlier(&mut self) -> &mut Earlier {
        &mut self.earlier
    }

    fn position(&mut self) -> &mut usize {
        &mut self.pos
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>> {
        let start = self.pos;
        self.earlier.spend(start)?;
        let tag = self.u8()?;
        if matches!(tag, ARRAY8..=OBJECT_ID32) {
            let id = self.earlier.number(start);
            let value = self.value_of(tag, start, depth);
            self.earlier.close(id);
            return value;
        }
        self.value_of(tag, start, depth)
    }
}

impl<'a> Reader<'a> {
    /// The value of type `tag`, whose type byte was at `start`.
    fn value_of(&mut self, tag: u8, start: usize, depth: usize) -> Result<Value<'a>> {
        Ok(match tag {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            LONG8P | LONG8N | LONG16P | LONG16N | LONG32P | LONG32N | LONG64P | LONG64N => {
                Value::Int(self.long(tag)?)
            }
            DOUBLE => Value::Float(f64::from_bits(self.u64()?)),
            STRING_EMPTY => Value::String(Cow::Borrowed(&[])),
            STRING_ID8 | STRING_ID16 | STRING_ID32 => {
                Value::String(Cow::Borrowed(self.string_by_id(tag)?))
            }
            STRING8 | STRING16 | STRING32 | STRING64 => {
                Value::String(Cow::Borrowed(self.new_string(tag)?))
            }
            ARRAY8 | ARRAY16 | ARRAY32 => Value::Array(self.entries(tag, depth)?),
            OBJECT8 | OBJECT16 | OBJECT32 | OBJECT_ID8 | OBJECT_ID16 | OBJECT_ID32 => {
                let class = match tag {
                    OBJECT8 | OBJECT16 | OBJECT32 => self.new_string(tag - OBJECT8 + STRING8)?,
                    _ => self.string_by_id(tag - OBJECT_ID8 + STRING_ID8)?,
                };
                let inner = self.pos;
                let body = self.u8()?;
                match body {
                    ARRAY8 | ARRAY16 | ARRAY32 => Value::Object {
                        class: Cow::Borrowed(class),
                        properties: self.entries(body, depth)?,
                    },
                    OBJECT_SER8..=OBJECT_SER32 => {
                        return Err(Error::at(
                            start,
                            format!(
                                "an object of class {} that serializes itself (PHP's \
                                 Serializable): its data means something only to that class",
                                String::from_utf8_lossy(class)
                            ),
                        ));
                    }
                    ENUM_CASE => {
                        return Err(Error::at(
                            start,
                            format!(
                                "a case of the PHP enum {}, which has no meaning as data",
                                String::from_utf8_lossy(class)
                            ),
                        ));
                    }
                    _ => return Err(Error::at(inner, "an object without properties")),
                }
            }
            REF8..=REF32 | OBJREF8..=OBJREF32 => {
                // The same array or object again: as data, a copy of it.
                let id = match tag {
                    REF8 | OBJREF8 => usize::from(self.u8()?),
                    REF16 | OBJREF16 => usize::from(self.u16()?),
                    _ => self.u32_len()?,
                };
                self.copy(id, start, depth)?
            }
            REF => {
                return Err(Error::at(
                    start,
                    "a PHP reference (two names for one variable), which data cannot hold",
                ));
            }
            _ => return Err(Error::at(start, format!("an unknown type byte {tag:#04x}"))),
        })
    }

    /// The entries of an array (or an object's properties) whose type byte was `tag`.
    fn entries(&mut self, tag: u8, depth: usize) -> Result<Vec<(ArrayKey<'a>, Value<'a>)>> {
        if depth >= MAX_DEPTH {
            return Err(Error::at(
                self.pos,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let count = match tag {
            ARRAY8 => usize::from(self.u8()?),
            ARRAY16 => usize::from(self.u16()?),
            _ => self.u32_len()?,
        };
        // Each entry takes at least 2 bytes: a count beyond that must not size an allocation.
        let mut entries = Vec::with_capacity(count.min(self.remaining() / 2));
        for _ in 0..count {
            let key = self.key()?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        Ok(entries)
    }

    fn key(&mut self) -> Result<ArrayKey<'a>> {
        let start = self.pos;
        let tag = self.u8()?;
        Ok(match tag {
            LONG8P | LONG8N | LONG16P | LONG16N | LONG32P | LONG32N | LONG64P | LONG64N => {
                ArrayKey::Int(self.long(tag)?)
            }
            STRING_EMPTY => ArrayKey::String(Cow::Borrowed(&[])),
            STRING_ID8 | STRING_ID16 | STRING_ID32 => {
                ArrayKey::from_string(Cow::Borrowed(self.string_by_id(tag)?))
            }
            STRING8 | STRING16 | STRING32 | STRING64 => {
                ArrayKey::from_string(Cow::Borrowed(self.new_string(tag)?))
            }
            _ => {
                return Err(Error::at(
                    start,
                    "an array key that is neither an int nor a string",
                ));
            }
        })
    }

    fn long(&mut self, tag: u8) -> Result<i64> {
        let start = self.pos;
        let magnitude = match tag {
            LONG8P | LONG8N => u64::from(self.u8()?),
            LONG16P | LONG16N => u64::from(self.u16()?),
            LONG32P | LONG32N => u64::from(self.u32()?),
            _ => self.u64()?,
        };
        let value = if matches!(tag, LONG8P | LONG16P | LONG32P | LONG64P) {
            i64::try_from(magnitude).ok()
        } else {
            0i64.checked_sub_unsigned(magnitude)
        };
        value.ok_or_else(|| Error::at(start, "an int out of PHP's 64-bit range"))
    }

    /// A string written in full (`tag` one of the string types), which takes the next id.
    fn new_string(&mut self, tag: u8) -> Result<&'a [u8]> {
        let len = match tag {
            STRING8 => usize::from(self.u8()?),
            STRING16 => usize::from(self.u16()?),
            STRING32 => self.u32_len()?,
            _ => usize::try_from(self.u64()?)
                .map_err(|_| Error::at(self.pos, "a string longer than memory"))?,
        };
        let s = self.take(len)?;
        // A copy reads strings that were numbered when first read.
        if !self.earlier.copying() {
            self.strings.push(s);
        }
        Ok(s)
    }

    /// A string written as the id of an earlier one (`tag` one of the string id types).
    fn string_by_id(&mut self, tag: u8) -> Result<&'a [u8]> {
        let start = self.pos;
        let id = match tag {
            STRING_ID8 => usize::from(self.u8()?),
            STRING_ID16 => usize::from(self.u16()?),
            _ => self.u32_len()?,
        };
        self.strings
            .get(id)
            .copied()
            .ok_or_else(|| Error::at(start, format!("string id {id} names no earlier string")))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or_else(|| Error::at(start, "the input ends early"))?;
        self.pos = end;
        Ok(&self.input[start..end])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let bytes = self.take(N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn u32_len(&mut self) -> Result<usize> {
        let at = self.pos;
        usize::try_from(self.u32()?).map_err(|_| Error::at(at, "a length out of range"))
    }

    fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }
}

struct Writer<'v, 'o> {
    out: &'o mut Vec<u8>,
    /// The id of every string written so far (a fast hash: the keys are the value's own).
    strings: foldhash::HashMap<&'v [u8], u32>,
}

impl<'v> Writer<'v, '_> {
    fn value(&mut self, value: &'v Value<'_>) -> Result<()> {
        match value {
            Value::Null => self.out.push(NULL),
            Value::Bool(b) => self.out.push(if *b { TRUE } else { FALSE }),
            Value::Int(i) => self.long(*i),
            Value::Float(f) => {
                self.out.push(DOUBLE);
                self.out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            Value::String(s) => self.string(s, STRING8, STRING_ID8),
            Value::Array(entries) => self.entries(entries)?,
            Value::Object { class, properties } => {
                self.string(class, OBJECT8, OBJECT_ID8);
                self.entries(properties)?;
            }
        }
        Ok(())
    }

    fn entries(&mut self, entries: &'v [(ArrayKey<'_>, Value<'_>)]) -> Result<()> {
        let count = u32::try_from(entries.len())
            .map_err(|_| Error::new("an array of more than 2^32 entries has no igbinary form"))?;
        sized(self.out, ARRAY8, count);
        for (key, value) in entries {
            match key {
                ArrayKey::Int(i) => self.long(*i),
                ArrayKey::String(s) => self.string(s, STRING8, STRING_ID8),
            }
            self.value(value)?;
        }
        Ok(())
    }

    fn long(&mut self, i: i64) {
        let magnitude = i.unsigned_abs();
        let negative = u8::from(i < 0);
        if magnitude <= 0xff {
            self.out.push(LONG8P + negative);
            self.out.push(magnitude as u8);
        } else if magnitude <= 0xffff {
            self.out.push(LONG16P + negative);
            self.out
                .extend_from_slice(&(magnitude as u16).to_be_bytes());
        } else if magnitude <= 0xffff_ffff {
            self.out.push(LONG32P + negative);
            self.out
                .extend_from_slice(&(magnitude as u32).to_be_bytes());
        } else {
            self.out.push(LONG64P + negative);
            self.out.extend_from_slice(&magnitude.to_be_bytes());
        }
    }

    /// A string in full the first time (`full8` and the wider types after it), by id after
    /// (`id8` and after it). Empty strings are not shared.
    fn string(&mut self, s: &'v [u8], full8: u8, id8: u8) {
        if s.is_empty() && full8 == STRING8 {
            self.out.push(STRING_EMPTY);
            return;
        }
        if let Some(&id) = self.strings.get(s) {
            sized(self.out, id8, id);
            return;
        }
        // Past 2^32 strings no id can be written: later copies are then written in full.
        if let Ok(id) = u32::try_from(self.strings.len()) {
            self.strings.insert(s, id);
        }
        match u32::try_from(s.len()) {
            Ok(len) => sized(self.out, full8, len),
            Err(_) => {
                // Only a value string can be this long: a class name has no 64-bit form.
                self.out.push(STRING64);
                self.out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            }
        }
        self.out.extend_from_slice(s);
    }
}

/// `type8` and an 8-bit `n`, or the 16- or 32-bit type after it with a wider `n`.
fn sized(out: &mut Vec<u8>, type8: u8, n: u32) {
    if let Ok(n) = u8::try_from(n) {
        out.push(type8);
        out.push(n);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(type8 + 1);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(type8 + 2);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn ints_take_the_narrowest_type_and_a_sign() {
        for i in [
            0,
            1,
            -1,
            255,
            -255,
            256,
            -256,
            65_535,
            65_536,
            -65_536,
            1 << 32,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            write(&Value::Int(i), &mut out).unwrap();
            assert_eq!(parse(&out).unwrap(), Value::Int(i));
        }
    }

    #[test]
    fn repeated_strings_are_written_once() {
        let s = |v: &'static str| Value::String(Cow::Borrowed(v.as_bytes()));
        let list = Value::Array(vec![
            (ArrayKey::Int(0), s("a")),
            (ArrayKey::Int(1), s("b")),
            (ArrayKey::Int(2), s("a")),
        ]);
        let mut out = Vec::new();
        write(&list, &mut out).unwrap();
        // "a" in full once, then as string id 0 (tests/php.rs checks these bytes are PHP's).
        assert_eq!(
            out.windows(3).filter(|w| w == &[STRING8, 1, b'a']).count(),
            1
        );
        assert!(out.ends_with(&[STRING_ID8, 0]));
        assert_eq!(parse(&out).unwrap(), list);
    }

    #[test]
    fn broken_input_is_an_error() {
        for bad in [
            "",
            "00000001",
            "0000000206",
            "00000002110561",
            "00000002140106000e05",
            "000000021401",
            "0000000220ffffffffffffffff",
            "0000000200ff",
            "00000002160fffffff",
            "00000002ff",
        ] {
            assert!(parse(&hex(bad)).is_err(), "{bad}");
        }
    }
}
