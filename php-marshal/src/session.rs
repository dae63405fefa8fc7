//! PHP's session data: what `session_encode()` writes for `$_SESSION` under each
//! `session.serialize_handler`, read into its variables and written back.
//!
//! | handler | layout |
//! |---|---|
//! | `php` (PHP's default) | `name|<serialize(value)>` for each variable |
//! | `php_binary` | a length byte, the name, `<serialize(value)>`, for each variable |
//! | `php_serialize` | one `serialize($_SESSION)` |
//! | `igbinary` | one `igbinary_serialize($_SESSION)` |
//!
//! ```
//! use php_marshal::session::{self, SessionFormat};
//! use php_marshal::Value;
//!
//! // What PHP's default handler writes for $_SESSION = ['user' => 'ada', 'n' => 3].
//! let data = br#"user|s:3:"ada";n|i:3;"#;
//! let vars = session::decode(SessionFormat::Php, data)?;
//! assert_eq!(vars[1], (b"n".to_vec(), Value::Int(3)));
//! assert_eq!(session::encode(SessionFormat::Php, &vars)?, data);
//! # Ok::<(), php_marshal::Error>(())
//! ```

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::value::{ArrayKey, Value};
use crate::{Format, serialize};

/// A `session.serialize_handler`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionFormat {
    /// `php`, PHP's default: `name|value` pairs. A name cannot hold `|`.
    Php,
    /// `php_binary`: length-prefixed names (at most 127 bytes) and values.
    PhpBinary,
    /// `php_serialize`: the whole session as one `serialize()`.
    PhpSerialize,
    /// `igbinary`: the whole session as one igbinary value.
    Igbinary,
}

/// A session's variables, in order: each name (bytes, as PHP's array keys are) and value.
pub type Variables = Vec<(Vec<u8>, Value<'static>)>;

/// The variables of session data in `format`, as PHP's `session_decode()` sets them (the
/// igbinary handler leaves out variables with an int name). Empty data is an empty session,
/// as in PHP.
///
/// # Errors
///
/// Data that is not in `format`, or whose values do not read (see [`Format::parse`]).
pub fn decode(format: SessionFormat, data: &[u8]) -> Result<Variables> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    match format {
        SessionFormat::Php => decode_pairs(data, |rest| {
            let end = rest
                .iter()
                .position(|&b| b == b'|')
                .ok_or_else(|| Error::new("a session variable without its '|'"))?;
            Ok((&rest[..end], end + 1))
        }),
        SessionFormat::PhpBinary => decode_pairs(data, |rest| {
            let len = usize::from(rest[0]);
            if len > 127 {
                return Err(Error::new(
                    "a session variable marked undefined (php_binary)",
                ));
            }
            let name = rest
                .get(1..1 + len)
                .ok_or_else(|| Error::new("a session variable's name runs past the data"))?;
            Ok((name, 1 + len))
        }),
        SessionFormat::PhpSerialize => whole(Format::Serialize.parse(data)?, true),
        // igbinary's session reader sets only the string-named variables.
        SessionFormat::Igbinary => whole(Format::Igbinary.parse(data)?, false),
    }
}

/// Reads `name value` pairs: `name` says where a name is and how many bytes it and its
/// delimiter take; each value is one `serialize()`.
fn decode_pairs(data: &[u8], name: impl Fn(&[u8]) -> Result<(&[u8], usize)>) -> Result<Variables> {
    let mut vars = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let (key, taken) = name(&data[at..]).map_err(|e| Error::at(at, e.message()))?;
        let key = key.to_vec();
        at += taken;
        let (value, len) = serialize::parse_prefix(&data[at..])
            .map_err(|e| Error::at(at + e.offset().unwrap_or(0), e.message()))?;
        vars.push((key, value.into_owned()));
        at += len;
    }
    Ok(vars)
}

/// The variables of a session stored as one array; with `int_names` false, those under an
/// int key are left out.
fn whole(value: Value<'_>, int_names: bool) -> Result<Variables> {
    match value {
        Value::Array(entries) => Ok(entries
            .into_iter()
            .filter(|(key, _)| int_names || matches!(key, ArrayKey::String(_)))
            .map(|(key, value)| (key_bytes(key), value.into_owned()))
            .collect()),
        other => Err(Error::new(format!(
            "session data is an array of variables, not a PHP {}",
            other.type_name()
        ))),
    }
}

fn key_bytes(key: ArrayKey<'_>) -> Vec<u8> {
    match key {
        ArrayKey::Int(i) => i.to_string().into_bytes(),
        ArrayKey::String(s) => s.into_owned(),
    }
}

/// Session data in `format` for `vars`, as `session_encode()` writes it.
///
/// # Errors
///
/// A name the format cannot hold, as PHP refuses it: one with `|` in `php`, one over 127
/// bytes in `php_binary`; an igbinary array too large to count.
pub fn encode(format: SessionFormat, vars: &[(Vec<u8>, Value<'_>)]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        SessionFormat::Php => {
            for (name, value) in vars {
                if name.contains(&b'|') {
                    return Err(Error::new(format!(
                        "the session variable {:?} holds '|', which the php handler cannot write",
                        String::from_utf8_lossy(name)
                    )));
                }
                out.extend_from_slice(name);
                out.push(b'|');
                serialize::write(value, &mut out);
            }
        }
        SessionFormat::PhpBinary => {
            for (name, value) in vars {
                let len = u8::try_from(name.len())
                    .ok()
                    .filter(|&len| len <= 127)
                    .ok_or_else(|| {
                        Error::new("a session variable's name over 127 bytes (php_binary)")
                    })?;
                out.push(len);
                out.extend_from_slice(name);
                serialize::write(value, &mut out);
            }
        }
        SessionFormat::PhpSerialize | SessionFormat::Igbinary => {
            let array = Value::Array(
                vars.iter()
                    .map(|(name, value)| {
                        (
                            ArrayKey::from_string(Cow::Borrowed(&name[..])),
                            value.clone(),
                        )
                    })
                    .collect(),
            );
            let marshaller = if format == SessionFormat::Igbinary {
                Format::Igbinary
            } else {
                Format::Serialize
            };
            marshaller.write(&array, &mut out)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_round_trips_a_session() {
        let vars: Variables = vec![
            (b"user".to_vec(), Value::String(Cow::Borrowed(b"ada"))),
            (b"n".to_vec(), Value::Int(3)),
            (b"".to_vec(), Value::Null),
        ];
        for format in [
            SessionFormat::Php,
            SessionFormat::PhpBinary,
            SessionFormat::PhpSerialize,
            SessionFormat::Igbinary,
        ] {
            let data = encode(format, &vars).unwrap();
            assert_eq!(decode(format, &data).unwrap(), vars, "{format:?}");
            assert_eq!(decode(format, b"").unwrap(), Vec::new(), "{format:?}");
        }
    }

    #[test]
    fn damaged_data_is_an_error() {
        for (format, bad) in [
            (SessionFormat::Php, &b"user"[..]),
            (SessionFormat::Php, b"user|s:3:\"ad"),
            (SessionFormat::Php, b"user|i:1;n"),
            (SessionFormat::PhpBinary, b"\x05us"),
            (SessionFormat::PhpBinary, b"\x80user"),
            (SessionFormat::PhpSerialize, b"i:1;"),
            (SessionFormat::Igbinary, b"\x00\x00\x00\x02\x06\x01"),
        ] {
            assert!(decode(format, bad).is_err(), "{format:?} {bad:?}");
        }
    }
}
