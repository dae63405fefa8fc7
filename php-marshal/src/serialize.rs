//! PHP's `serialize()` format: `N;`, `b:1;`, `i:42;`, `d:0.5;`, `s:3:"abc";`,
//! `a:1:{i:0;N;}`, `O:8:"stdClass":1:{s:1:"x";i:1;}`.

use std::borrow::Cow;

use crate::earlier::{Earlier, ReadAgain};
use crate::error::{Error, Result};
use crate::value::{ArrayKey, Value};

/// Deeper nesting than this is refused rather than risk the stack on hostile input.
pub(crate) const MAX_DEPTH: usize = 128;

/// Reads one value that spans all of `input`.
///
/// # Errors
///
/// Malformed or truncated input, trailing bytes, nesting past 128 levels (as serde_json), and
/// what PHP writes that has no meaning as data: PHP references (`R:`, two names for one
/// variable) and values that contain themselves, objects that serialize themselves (`C:`,
/// PHP's `Serializable`) and enum cases (`E:`), each named in the message. An object that
/// appears twice (`r:`) reads as a copy of the first.
pub fn parse(input: &[u8]) -> Result<Value<'_>> {
    let mut reader = Reader {
        input,
        pos: 0,
        earlier: Earlier::default(),
    };
    let value = reader.value(0)?;
    if reader.pos != input.len() {
        return Err(Error::at(
            reader.pos,
            "trailing bytes after the serialized value",
        ));
    }
    Ok(value)
}

/// Reads one value at the start of `input`, and how many bytes it took (session data puts
/// values one after another).
pub(crate) fn parse_prefix(input: &[u8]) -> Result<(Value<'_>, usize)> {
    let mut reader = Reader {
        input,
        pos: 0,
        earlier: Earlier::default(),
    };
    let value = reader.value(0)?;
    Ok((value, reader.pos))
}

/// Appends the serialized form of `value` to `out`.
pub fn write(value: &Value<'_>, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"N;"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"b:1;" } else { b"b:0;" }),
        Value::Int(i) => write_int(*i, out),
        Value::Float(f) => {
            out.extend_from_slice(b"d:");
            write_float(*f, out);
            out.push(b';');
        }
        Value::String(s) => write_string(s, out),
        Value::Array(entries) => {
            out.extend_from_slice(b"a:");
            write_entries(entries, out);
        }
        Value::Object { class, properties } => {
            out.extend_from_slice(b"O:");
            write_len(class.len(), out);
            out.extend_from_slice(b":\"");
            out.extend_from_slice(class);
            out.extend_from_slice(b"\":");
            write_entries(properties, out);
        }
    }
}

fn write_int(i: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"i:");
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    out.push(b';');
}

fn write_len(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
}

fn write_string(s: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"s:");
    write_len(s.len(), out);
    out.extend_from_slice(b":\"");
    out.extend_from_slice(s);
    out.extend_from_slice(b"\";");
}

/// A float as PHP's reader takes it: `NAN`, `INF`, `-INF`, or the shortest decimal that reads
/// back as the same float (`0.1`, `1e25`).
fn write_float(f: f64, out: &mut Vec<u8>) {
    if f.is_nan() {
        out.extend_from_slice(b"NAN");
    } else if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"INF" } else { b"-INF" });
    } else {
        out.extend_from_slice(format!("{f:?}").as_bytes());
    }
}

/// `<count>:{<key><value>...}`.
fn write_entries(entries: &[(ArrayKey<'_>, Value<'_>)], out: &mut Vec<u8>) {
    write_len(entries.len(), out);
    out.extend_from_slice(b":{");
    for (key, value) in entries {
        match key {
            ArrayKey::Int(i) => write_int(*i, out),
            ArrayKey::String(s) => write_string(s, out),
        }
        write(value, out);
    }
    out.push(b'}');
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// PHP numbers every value it reads, from 1, for `r:` to name.
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
        let id = self.earlier.number(start);
        let value = self.value_at(start, depth);
        self.earlier.close(id);
        value
    }
}

impl<'a> Reader<'a> {
    fn value_at(&mut self, start: usize, depth: usize) -> Result<Value<'a>> {
        let tag = self.byte()?;
        if tag == b'N' {
            self.expect(b';')?;
            return Ok(Value::Null);
        }
        self.expect(b':')?;
        match tag {
            b'b' => {
                let b = match self.byte()? {
                    b'0' => false,
                    b'1' => true,
                    _ => return Err(Error::at(self.pos - 1, "a bool that is neither 0 nor 1")),
                };
                self.expect(b';')?;
                Ok(Value::Bool(b))
            }
            b'i' => {
                let i = self.int(b';')?;
                Ok(Value::Int(i))
            }
            b'd' => self.float().map(Value::Float),
            b's' => {
                let s = self.string_body()?;
                self.expect(b';')?;
                Ok(Value::String(Cow::Borrowed(s)))
            }
            b'S' => {
                let s = self.escaped_string_body()?;
                self.expect(b';')?;
                Ok(Value::String(Cow::Owned(s)))
            }
            b'a' => {
                let entries = self.entries(depth)?;
                Ok(Value::Array(entries))
            }
            b'O' => {
                let class = self.string_body()?;
                self.expect(b':')?;
                let properties = self.entries(depth)?;
                Ok(Value::Object {
                    class: Cow::Borrowed(class),
                    properties,
                })
            }
            b'C' => {
                let class = self.string_body().unwrap_or_default();
                Err(Error::at(
                    start,
                    format!(
                        "an object of class {} that serializes itself (PHP's Serializable): \
                         its data means something only to that class",
                        String::from_utf8_lossy(class)
                    ),
                ))
            }
            b'E' => {
                let case = self.string_body().unwrap_or_default();
                Err(Error::at(
                    start,
                    format!(
                        "the PHP enum case {}, which has no meaning as data",
                        String::from_utf8_lossy(case)
                    ),
                ))
            }
            b'r' => {
                // The same object again: as data, a copy of it.
                let n = self.len(b';')?;
                let id = n
                    .checked_sub(1)
                    .ok_or_else(|| Error::at(start, "a reference to value 0, which is none"))?;
                self.copy(id, start, depth)
            }
            b'R' => Err(Error::at(
                start,
                "a PHP reference (two names for one variable), which data cannot hold",
            )),
            _ => Err(Error::at(
                start,
                format!("an unknown type tag {:?}", char::from(tag)),
            )),
        }
    }

    /// `<count>:{<key><value>...}`, the body of an array or an object.
    fn entries(&mut self, depth: usize) -> Result<Vec<(ArrayKey<'a>, Value<'a>)>> {
        if depth >= MAX_DEPTH {
            return Err(Error::at(
                self.pos,
                format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let count = self.len(b':')?;
        self.expect(b'{')?;
        // Each entry takes at least 4 bytes (`N;N;`): a count beyond that is a lie, and
        // must not size an allocation.
        let mut entries = Vec::with_capacity(count.min(self.remaining() / 4));
        for _ in 0..count {
            let key = self.key()?;
            let value = self.value(depth + 1)?;
            entries.push((key, value));
        }
        self.expect(b'}')?;
        Ok(entries)
    }

    fn key(&mut self) -> Result<ArrayKey<'a>> {
        let start = self.pos;
        let tag = self.byte()?;
        self.expect(b':')?;
        match tag {
            b'i' => Ok(ArrayKey::Int(self.int(b';')?)),
            b's' => {
                let s = self.string_body()?;
                self.expect(b';')?;
                Ok(ArrayKey::from_string(Cow::Borrowed(s)))
            }
            b'S' => {
                let s = self.escaped_string_body()?;
                self.expect(b';')?;
                Ok(ArrayKey::from_string(Cow::Owned(s)))
            }
            _ => Err(Error::at(
                start,
                "an array key that is neither an int nor a string",
            )),
        }
    }

    /// `<len>:"<bytes>"`.
    fn string_body(&mut self) -> Result<&'a [u8]> {
        let len = self.len(b':')?;
        self.expect(b'"')?;
        let start = self.pos;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.input.len())
            .ok_or_else(|| Error::at(start, "a string longer than the input"))?;
        self.pos = end;
        self.expect(b'"')?;
        Ok(&self.input[start..end])
    }

    /// `<len>:"<escaped>"`: PHP's old escaped strings, `\xx` (hex) for some bytes.
    fn escaped_string_body(&mut self) -> Result<Vec<u8>> {
        let len = self.len(b':')?;
        self.expect(b'"')?;
        let mut out = Vec::with_capacity(len.min(self.remaining()));
        for _ in 0..len {
            let b = self.byte()?;
            if b == b'\\' {
                let start = self.pos;
                let hex = [self.byte()?, self.byte()?];
                let digit = |h: u8| char::from(h).to_digit(16);
                match (digit(hex[0]), digit(hex[1])) {
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err(Error::at(start, "a bad escape in an escaped string")),
                }
            } else {
                out.push(b);
            }
        }
        self.expect(b'"')?;
        Ok(out)
    }

    /// An int up to `end`, as PHP writes it (an optional sign, digits).
    fn int(&mut self, end: u8) -> Result<i64> {
        let start = self.pos;
        let text = self.until(end)?;
        let digits = text
            .strip_prefix(b"-")
            .or(text.strip_prefix(b"+"))
            .unwrap_or(text);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(Error::at(start, "not an int"));
        }
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| Error::at(start, "an int out of PHP's 64-bit range"))
    }

    /// A length up to `end`: digits only.
    fn len(&mut self, end: u8) -> Result<usize> {
        let start = self.pos;
        let text = self.until(end)?;
        if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
            return Err(Error::at(start, "not a length"));
        }
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| Error::at(start, "a length out of range"))
    }

    /// A float up to `;`: `NAN`, `INF`, `-INF`, or a decimal with an optional exponent.
    fn float(&mut self) -> Result<f64> {
        let start = self.pos;
        let text = self.until(b';')?;
        match text {
            b"NAN" => return Ok(f64::NAN),
            b"INF" => return Ok(f64::INFINITY),
            b"-INF" => return Ok(f64::NEG_INFINITY),
            _ => {}
        }
        // Rust's parser also takes "inf" and "nan": only PHP's characters get to it.
        let php_chars = text
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
        let parsed = php_chars
            .then(|| std::str::from_utf8(text).ok()?.parse().ok())
            .flatten();
        parsed.ok_or_else(|| Error::at(start, "not a float"))
    }

    /// The bytes up to `end`, which is consumed.
    fn until(&mut self, end: u8) -> Result<&'a [u8]> {
        let start = self.pos;
        let rest = &self.input[start..];
        // Numbers are short: looking further than this means the input is broken.
        let window = &rest[..rest.len().min(32)];
        let len = window
            .iter()
            .position(|&b| b == end)
            .ok_or_else(|| Error::at(start, format!("expected {:?}", char::from(end))))?;
        self.pos = start + len + 1;
        Ok(&rest[..len])
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or_else(|| Error::at(self.pos, "the input ends early"))?;
        self.pos += 1;
        Ok(b)
    }

    fn expect(&mut self, expected: u8) -> Result<()> {
        let at = self.pos;
        if self.byte()? == expected {
            Ok(())
        } else {
            Err(Error::at(
                at,
                format!("expected {:?}", char::from(expected)),
            ))
        }
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value<'_>) -> Value<'static> {
        let mut out = Vec::new();
        write(value, &mut out);
        parse(&out).unwrap().into_owned()
    }

    #[test]
    fn reads_every_type_tag() {
        let s = |v: &str| Value::String(Cow::Owned(v.as_bytes().to_vec()));
        assert_eq!(parse(b"N;").unwrap(), Value::Null);
        assert_eq!(parse(b"b:0;").unwrap(), Value::Bool(false));
        assert_eq!(
            parse(b"i:-9223372036854775808;").unwrap(),
            Value::Int(i64::MIN)
        );
        assert_eq!(parse(b"d:1.0E+25;").unwrap(), Value::Float(1e25));
        assert_eq!(parse(b"d:-0;").unwrap(), Value::Float(-0.0));
        assert!(matches!(parse(b"d:NAN;").unwrap(), Value::Float(f) if f.is_nan()));
        assert_eq!(parse(b"s:5:\"a\"b;c\";").unwrap(), s("a\"b;c"));
        assert_eq!(parse(br#"S:3:"a\00b";"#).unwrap(), s("a\0b"));
        assert_eq!(
            parse(br#"a:2:{i:0;s:1:"a";s:1:"7";b:1;}"#).unwrap(),
            Value::Array(vec![
                (ArrayKey::Int(0), s("a")),
                (ArrayKey::Int(7), Value::Bool(true)),
            ])
        );
    }

    #[test]
    fn what_has_no_meaning_as_data_is_named() {
        for (input, named) in [
            (&br#"C:1:"S":1:{d}"#[..], "class S"),
            (br#"E:11:"Suit:Hearts";"#, "enum case Suit:Hearts"),
            (br#"a:2:{i:0;i:1;i:1;R:2;}"#, "PHP reference"),
            (br#"O:1:"C":1:{s:4:"self";r:1;}"#, "contains itself"),
        ] {
            let err = parse(input).unwrap_err();
            assert!(err.message().contains(named), "{err}");
        }
    }

    #[test]
    fn copies_of_copies_cannot_blow_up() {
        // Each level names the previous one twice: 2^40 values from a few hundred bytes.
        let mut php = b"a:40:{".to_vec();
        php.extend_from_slice(br#"i:0;O:1:"A":0:{}"#);
        for i in 1..40 {
            // A is value 2; the i-th B is value 3i (itself and its two references).
            let previous = if i == 1 { 2 } else { 3 * (i - 1) };
            php.extend_from_slice(
                format!("i:{i};O:1:\"B\":2:{{i:0;r:{previous};i:1;r:{previous};}}").as_bytes(),
            );
        }
        php.push(b'}');
        let err = parse(&php).unwrap_err();
        assert!(err.message().contains("copy more than"), "{err}");
    }

    #[test]
    fn broken_input_is_an_error() {
        for bad in [
            &b""[..],
            b"N",
            b"i:;",
            b"i:1",
            b"i:99999999999999999999;",
            b"s:4:\"abc\";",
            b"s:18446744073709551615:\"\";",
            b"a:1:{i:0;}",
            b"a:99999999999:{}",
            b"d:inf;",
            b"b:2;",
            b"N;N;",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let mut deep = Vec::new();
        for _ in 0..100_000 {
            deep.extend_from_slice(b"a:1:{i:0;");
        }
        let err = parse(&deep).unwrap_err();
        assert!(err.message().contains("nested deeper"), "{err}");
    }

    #[test]
    fn floats_keep_their_bits() {
        for f in [
            0.1,
            1e25,
            1e-7,
            -0.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            1.0,
        ] {
            match round_trip(&Value::Float(f)) {
                Value::Float(back) => assert_eq!(back.to_bits(), f.to_bits()),
                other => panic!("{other:?}"),
            }
        }
    }
}
