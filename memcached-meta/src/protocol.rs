//! The memcached meta protocol: encoding commands into a request buffer and parsing replies.
//! Pure functions, no I/O: build a request with these, then send it with
//! [`Connection::call`](crate::Connection::call).
//!
//! Every key is written as base64, so no key byte (space, CR LF, NUL, control bytes) ever
//! reaches the text protocol raw. By default the item's key is that base64 text (the same
//! text in meta commands and in the classic multi-key `get`, so both address the same item),
//! and a key is at most 186 bytes, so that its base64 text fits memcached's 250-byte limit
//! (hash longer keys first). The `*_binary` commands send the `b` flag instead: the item's
//! key is the bytes themselves, up to 250 of them, as other clients (PHP's, over the binary
//! protocol or plain text) store it.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

/// One reply line (and value, for `VA`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `VA <len> <flags>`: a value.
    Value {
        /// The value's bytes.
        data: Bytes,
        /// The return flags asked for.
        flags: Flags,
    },
    /// `HD <flags>`: success without a value.
    Done {
        /// The return flags asked for.
        flags: Flags,
    },
    /// `EN`: miss.
    Miss,
    /// `NS`: not stored (an `add` of an existing key).
    NotStored,
    /// `EX`: compare-and-set mismatch.
    Exists,
    /// `NF`: not found (delete or touch of a missing key).
    NotFound,
    /// `SERVER_ERROR …`, `CLIENT_ERROR …` or `ERROR`, the line as the server sent it.
    Error(String),
    /// `VALUE <key> <flags> <len> [<cas>]` of a classic `get`: one hit.
    Item {
        /// The key as it was sent (its base64 text).
        key: Bytes,
        /// The client flags.
        flags: u32,
        /// The value's bytes.
        data: Bytes,
    },
    /// `STAT <name> <value>` of a `stats` reply: one statistic.
    Stat {
        /// The statistic's name.
        name: String,
        /// Its value, as the server wrote it.
        value: String,
    },
    /// `END`: the end of a classic `get` or of a `stats` reply.
    End,
    /// `MN`: the answer to the no-op `mn`.
    NoOp,
}

/// The return flags this client asks for: client flags (`f`) and CAS (`c`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// The client flags (`f`), when asked for and present.
    pub client: Option<u32>,
    /// The CAS value (`c`), when asked for.
    pub cas: Option<u64>,
}

/// Appends `mg <key> f [v] [c] [T<ttl>]`: one reply, [`Reply::Value`] (with `value`),
/// [`Reply::Done`] or [`Reply::Miss`]; with `ttl`, the item's lifetime is set too (a touch).
#[inline]
pub fn meta_get(out: &mut Vec<u8>, key: &[u8], value: bool, cas: bool, ttl: Option<i64>) {
    meta_get_as(out, key, KeyForm::Text, value, cas, ttl);
}

/// [`meta_get`] of the item whose key is `key`'s bytes themselves (the `b` flag): how to
/// reach items that other clients stored under keys the text protocol cannot carry (the
/// binary protocol's keys, for one), or under their plain text.
///
/// `key` is at most 250 bytes. memcached takes at most 250 characters of base64, so a key
/// longer than 186 bytes is sent as it is, and must then hold no space, CR, LF or NUL (the
/// bytes that end a word or a line of the text protocol; other control bytes are kept).
#[inline]
pub fn meta_get_binary(out: &mut Vec<u8>, key: &[u8], value: bool, cas: bool, ttl: Option<i64>) {
    meta_get_as(out, key, KeyForm::Binary, value, cas, ttl);
}

/// How a key travels: always as base64, which names either the item whose key is that
/// base64 text, or (with the `b` flag) the item whose key is the decoded bytes.
#[derive(Clone, Copy)]
enum KeyForm {
    Text,
    Binary,
}

/// The longest key whose base64 text memcached takes (its 250-byte limit applies to the
/// text, before decoding).
const MAX_BASE64_KEY: usize = 186;

/// Appends the key's word, and returns the flag the command must carry with it (` b` for a
/// binary key sent as base64), which goes among the command's flags.
fn push_key(out: &mut Vec<u8>, key: &[u8], form: KeyForm) -> &'static [u8] {
    match form {
        KeyForm::Text => {
            base64(out, key);
            b""
        }
        KeyForm::Binary if key.len() <= MAX_BASE64_KEY => {
            base64(out, key);
            b" b"
        }
        KeyForm::Binary => {
            // Too long for base64: sent as it is, which the caller made safe (no byte that
            // ends a word or a line of the text protocol).
            debug_assert!(
                !key.iter().any(|b| b" \r\n\0".contains(b)),
                "a long binary key with a separator"
            );
            out.extend_from_slice(key);
            b""
        }
    }
}

#[inline]
fn meta_get_as(
    out: &mut Vec<u8>,
    key: &[u8],
    form: KeyForm,
    value: bool,
    cas: bool,
    ttl: Option<i64>,
) {
    out.extend_from_slice(b"mg ");
    let flag = push_key(out, key, form);
    out.extend_from_slice(flag);
    out.extend_from_slice(b" f");
    if value {
        out.extend_from_slice(b" v");
    }
    if cas {
        out.extend_from_slice(b" c");
    }
    if let Some(ttl) = ttl {
        out.extend_from_slice(b" T");
        push_number(out, ttl);
    }
    out.extend_from_slice(b"\r\n");
}

/// How `ms` stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetMode {
    /// Store whatever is there.
    Set,
    /// Store only if absent (`ME`).
    Add,
    /// Store only if the CAS value still matches (`C<cas>`).
    Cas(u64),
}

/// Appends `ms <key> <len> F<flags> T<ttl> [ME|C<cas>]` and the data.
#[inline]
pub fn meta_set(out: &mut Vec<u8>, key: &[u8], data: &[u8], flags: u32, ttl: i64, mode: SetMode) {
    meta_set_as(out, key, KeyForm::Text, data, flags, ttl, mode);
}

/// [`meta_set`] of the item whose key is `key`'s bytes themselves (see [`meta_get_binary`]).
#[inline]
pub fn meta_set_binary(
    out: &mut Vec<u8>,
    key: &[u8],
    data: &[u8],
    flags: u32,
    ttl: i64,
    mode: SetMode,
) {
    meta_set_as(out, key, KeyForm::Binary, data, flags, ttl, mode);
}

#[inline]
fn meta_set_as(
    out: &mut Vec<u8>,
    key: &[u8],
    form: KeyForm,
    data: &[u8],
    flags: u32,
    ttl: i64,
    mode: SetMode,
) {
    out.extend_from_slice(b"ms ");
    let flag = push_key(out, key, form);
    out.push(b' ');
    push_number(out, data.len());
    out.extend_from_slice(flag);
    out.extend_from_slice(b" F");
    push_number(out, flags);
    out.extend_from_slice(b" T");
    push_number(out, ttl);
    match mode {
        SetMode::Set => {}
        SetMode::Add => out.extend_from_slice(b" ME"),
        SetMode::Cas(cas) => {
            out.extend_from_slice(b" C");
            push_number(out, cas);
        }
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends `md <key>`: one reply, [`Reply::Done`] or [`Reply::NotFound`].
#[inline]
pub fn meta_delete(out: &mut Vec<u8>, key: &[u8]) {
    out.extend_from_slice(b"md ");
    base64(out, key);
    out.extend_from_slice(b"\r\n");
}

/// [`meta_delete`] of the item whose key is `key`'s bytes themselves (see
/// [`meta_get_binary`]).
#[inline]
pub fn meta_delete_binary(out: &mut Vec<u8>, key: &[u8]) {
    out.extend_from_slice(b"md ");
    let flag = push_key(out, key, KeyForm::Binary);
    out.extend_from_slice(flag);
    out.extend_from_slice(b"\r\n");
}

/// Appends `md <key> C<cas>`: deletes the item only while its CAS value is still `cas`. One
/// reply: [`Reply::Done`], [`Reply::Exists`] (changed since) or [`Reply::NotFound`].
#[inline]
pub fn meta_delete_if(out: &mut Vec<u8>, key: &[u8], cas: u64) {
    out.extend_from_slice(b"md ");
    base64(out, key);
    out.extend_from_slice(b" C");
    push_number(out, cas);
    out.extend_from_slice(b"\r\n");
}

/// [`meta_delete_if`] of the item whose key is `key`'s bytes themselves (see
/// [`meta_get_binary`]).
#[inline]
pub fn meta_delete_binary_if(out: &mut Vec<u8>, key: &[u8], cas: u64) {
    out.extend_from_slice(b"md ");
    let flag = push_key(out, key, KeyForm::Binary);
    out.extend_from_slice(flag);
    out.extend_from_slice(b" C");
    push_number(out, cas);
    out.extend_from_slice(b"\r\n");
}

/// Starts one classic `get k1 k2 …` for many keys: memcached serves that far more cheaply
/// than one `mg` per key. Its reply is the hits' `VALUE` blocks, in the order the keys were
/// asked (a key asked twice is answered twice), then `END`.
#[inline]
pub fn multi_get_start(out: &mut Vec<u8>) {
    out.extend_from_slice(b"get");
}

/// Appends the classic `stats` command: its reply is one [`Reply::Stat`] per statistic, then
/// [`Reply::End`] (one reply, as [`Connection::call`](crate::Connection::call) counts them).
pub fn stats(out: &mut Vec<u8>) {
    out.extend_from_slice(b"stats\r\n");
}

/// Appends one key to a multi-get, and returns where its text (what the `VALUE` reply names
/// it by) lies in `out`.
#[inline]
pub fn multi_get_key(out: &mut Vec<u8>, key: &[u8]) -> Range<usize> {
    out.push(b' ');
    let start = out.len();
    base64(out, key);
    start..out.len()
}

/// Ends a multi-get.
#[inline]
pub fn multi_get_end(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

/// Where the first line of `buf` ends (the index of its CR): `Ok(None)` while no line
/// feed has arrived. Found with memchr, SIMD over the line, which in a multi-get's VALUE
/// lines carries a whole key.
fn line_end(buf: &[u8]) -> Result<Option<usize>, String> {
    match memchr::memchr(b'\n', buf) {
        Some(newline) if newline > 0 && buf[newline - 1] == b'\r' => Ok(Some(newline - 1)),
        Some(_) => Err("a reply line not ended by CR LF".to_owned()),
        None if buf.len() > 64 * 1024 => Err("a reply line longer than 64 KiB".to_owned()),
        None => Ok(None),
    }
}

/// A decimal number; `None` unless every byte is a digit and it fits.
fn number(word: &[u8]) -> Option<u64> {
    if word.is_empty() || word.len() > 19 {
        return None;
    }
    word.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

fn length(word: Option<&[u8]>) -> Option<usize> {
    word.and_then(number).and_then(|n| usize::try_from(n).ok())
}

fn shown(line: &[u8]) -> String {
    String::from_utf8_lossy(line).into_owned()
}

/// Parses one reply from the front of `buf`, consuming it; `Ok(None)` when more bytes are
/// needed. Works on the bytes as they are, with no allocation per line (but `stats` lines).
///
/// # Errors
///
/// A reply that is not memcached protocol (the connection is then unusable).
pub fn parse(buf: &mut BytesMut) -> Result<Option<Reply>, String> {
    let Some(end) = line_end(buf)? else {
        return Ok(None);
    };
    let line = &buf[..end];
    let mut words = line.split(|&b| b == b' ');
    let code = words.next().unwrap_or_default();
    let reply = match code {
        b"VA" => {
            let len = length(words.next())
                .ok_or_else(|| format!("a VA reply without a length: {:?}", shown(line)))?;
            let flags = parse_flags(words);
            if buf.len() < end + 2 + len + 2 {
                return Ok(None);
            }
            buf.advance(end + 2);
            let data = buf.split_to(len).freeze();
            if &buf[..2] != b"\r\n" {
                return Err("a value not followed by CR LF".to_owned());
            }
            buf.advance(2);
            return Ok(Some(Reply::Value { data, flags }));
        }
        b"VALUE" => {
            // The key is most of the line: its end found with memchr, not byte by byte.
            let rest = line.get(6..).unwrap_or_default();
            let key_len = memchr::memchr(b' ', rest).unwrap_or(rest.len());
            let mut words = rest
                .get(key_len + 1..)
                .unwrap_or_default()
                .split(|&b| b == b' ');
            let flags = words
                .next()
                .and_then(number)
                .and_then(|f| u32::try_from(f).ok());
            let len = length(words.next());
            let (Some(flags), Some(len)) = (flags, len) else {
                return Err(format!("a malformed VALUE reply: {:?}", shown(line)));
            };
            if key_len == 0 {
                return Err("a VALUE reply without a key".to_owned());
            }
            if buf.len() < end + 2 + len + 2 {
                return Ok(None);
            }
            let head = buf.split_to(end + 2).freeze();
            let key = head.slice(6..6 + key_len);
            let data = buf.split_to(len).freeze();
            if &buf[..2] != b"\r\n" {
                return Err("a value not followed by CR LF".to_owned());
            }
            buf.advance(2);
            return Ok(Some(Reply::Item { key, flags, data }));
        }
        b"END" => Reply::End,
        b"STAT" => {
            let name = words.next().unwrap_or_default();
            let value = line.get(5 + name.len() + 1..).unwrap_or_default();
            Reply::Stat {
                name: shown(name),
                value: shown(value),
            }
        }
        b"HD" => Reply::Done {
            flags: parse_flags(words),
        },
        b"EN" => Reply::Miss,
        b"MN" => Reply::NoOp,
        b"NS" => Reply::NotStored,
        b"EX" => Reply::Exists,
        b"NF" => Reply::NotFound,
        b"SERVER_ERROR" | b"CLIENT_ERROR" | b"ERROR" => Reply::Error(shown(line)),
        _ => return Err(format!("an unexpected reply: {:?}", shown(line))),
    };
    buf.advance(end + 2);
    Ok(Some(reply))
}

fn parse_flags<'a>(words: impl Iterator<Item = &'a [u8]>) -> Flags {
    let mut flags = Flags::default();
    for word in words {
        match word.split_first() {
            Some((b'f', value)) => {
                flags.client = number(value).and_then(|f| u32::try_from(f).ok());
            }
            Some((b'c', value)) => flags.cas = number(value),
            _ => {}
        }
    }
    flags
}

/// Standard base64 with padding (what memcached's `b` flag decodes).
fn base64(out: &mut Vec<u8>, data: &[u8]) {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digit = |n: u32, shift: u32| TABLE[(n >> shift) as usize & 63];
    // Sized once, then filled in place: no capacity check per group of four digits.
    let start = out.len();
    out.resize(start + data.len().div_ceil(3) * 4, b'=');
    let mut groups = out[start..].chunks_exact_mut(4);
    let mut chunks = data.chunks_exact(3);
    for (chunk, group) in (&mut chunks).zip(&mut groups) {
        let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        group.copy_from_slice(&[digit(n, 18), digit(n, 12), digit(n, 6), digit(n, 0)]);
    }
    // The last group keeps its `=` padding where the data ran out.
    if let Some(group) = groups.next() {
        match *chunks.remainder() {
            [a] => {
                let n = u32::from(a) << 16;
                group[..2].copy_from_slice(&[digit(n, 18), digit(n, 12)]);
            }
            [a, b] => {
                let n = (u32::from(a) << 16) | (u32::from(b) << 8);
                group[..3].copy_from_slice(&[digit(n, 18), digit(n, 12), digit(n, 6)]);
            }
            _ => {}
        }
    }
}

/// Appends `n` in decimal (itoa: the formatting machinery cost more than the rest of a
/// command).
fn push_number(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_keys_carry_the_b_flag_among_the_flags_or_go_as_they_are() {
        let mut out = Vec::new();
        meta_set_binary(&mut out, b"a b", b"v", 0, 5, SetMode::Add);
        assert_eq!(out, b"ms YSBi 1 b F0 T5 ME\r\nv\r\n");
        out.clear();
        meta_get_binary(&mut out, b"a b", true, false, None);
        meta_delete_binary(&mut out, b"a b");
        assert_eq!(out, b"mg YSBi b f v\r\nmd YSBi b\r\n");
        out.clear();
        let long = [b'k'; 200];
        meta_get_binary(&mut out, &long, false, false, None);
        assert_eq!(out, [&b"mg "[..], &long, b" f\r\n"].concat());
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut out = Vec::new();
            base64(&mut out, input.as_bytes());
            assert_eq!(out, expected.as_bytes());
            // Appended after what the buffer already holds, which stays as it was.
            let mut out = b"mg ".to_vec();
            base64(&mut out, input.as_bytes());
            assert_eq!(out, format!("mg {expected}").as_bytes());
        }
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for n in [0, 7, 10, 99, 1440, i64::MAX, -1, i64::MIN] {
            let mut out = Vec::new();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
        let mut out = Vec::new();
        push_number(&mut out, u64::MAX);
        assert_eq!(out, u64::MAX.to_string().as_bytes());
        let mut cas = Vec::new();
        meta_set(
            &mut cas,
            b"k",
            b"",
            u32::MAX,
            2_592_001,
            SetMode::Cas(u64::MAX),
        );
        assert_eq!(
            cas,
            format!("ms aw== 0 F{} T2592001 C{}\r\n\r\n", u32::MAX, u64::MAX).as_bytes()
        );
    }

    #[test]
    fn commands_never_carry_raw_key_bytes() {
        let key = b"a b\r\nflush_all\0";
        let mut out = Vec::new();
        meta_get(&mut out, key, true, true, Some(5));
        meta_set(&mut out, key, b"v", 7, 0, SetMode::Add);
        meta_delete(&mut out, key);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("\r\n").count(), 4, "{text:?}");
        assert!(!text.contains("flush_all"));
        assert!(text.starts_with("mg YSBiDQpmbHVzaF9hbGwA f v c T5\r\n"));
        assert!(text.contains("ms YSBiDQpmbHVzaF9hbGwA 1 F7 T0 ME\r\nv\r\n"));
        let mut get = Vec::new();
        multi_get_start(&mut get);
        let first = multi_get_key(&mut get, key);
        let second = multi_get_key(&mut get, b"k");
        multi_get_end(&mut get);
        assert_eq!(get, b"get YSBiDQpmbHVzaF9hbGwA aw==\r\n");
        assert_eq!(&get[first], b"YSBiDQpmbHVzaF9hbGwA");
        assert_eq!(&get[second], b"aw==");
    }

    #[test]
    fn replies_parse_incrementally() {
        let mut buf = BytesMut::from(&b"VA 3 f7 c9\r\nab"[..]);
        assert_eq!(parse(&mut buf).unwrap(), None);
        buf.extend_from_slice(
            b"c\r\nHD f1\r\nEN\r\nNS\r\nSERVER_ERROR object too large for cache\r\n",
        );
        assert_eq!(
            parse(&mut buf).unwrap(),
            Some(Reply::Value {
                data: Bytes::from_static(b"abc"),
                flags: Flags {
                    client: Some(7),
                    cas: Some(9)
                }
            })
        );
        assert_eq!(
            parse(&mut buf).unwrap(),
            Some(Reply::Done {
                flags: Flags {
                    client: Some(1),
                    cas: None
                }
            })
        );
        assert_eq!(parse(&mut buf).unwrap(), Some(Reply::Miss));
        assert_eq!(parse(&mut buf).unwrap(), Some(Reply::NotStored));
        assert!(
            matches!(parse(&mut buf).unwrap(), Some(Reply::Error(e)) if e.contains("too large"))
        );
        assert!(buf.is_empty());
        let mut stats = BytesMut::from(&b"STAT pid 42\r\nSTAT version 1.6.18 x\r\nEND\r\n"[..]);
        assert_eq!(
            parse(&mut stats).unwrap(),
            Some(Reply::Stat {
                name: "pid".into(),
                value: "42".into()
            })
        );
        assert_eq!(
            parse(&mut stats).unwrap(),
            Some(Reply::Stat {
                name: "version".into(),
                value: "1.6.18 x".into()
            })
        );
        assert_eq!(parse(&mut stats).unwrap(), Some(Reply::End));
        let mut classic = BytesMut::from(&b"VALUE aw== 7 2 99\r\nab\r\nEND\r\n"[..]);
        assert_eq!(
            parse(&mut classic).unwrap(),
            Some(Reply::Item {
                key: Bytes::from_static(b"aw=="),
                flags: 7,
                data: Bytes::from_static(b"ab")
            })
        );
        assert_eq!(parse(&mut classic).unwrap(), Some(Reply::End));
        let mut no_op = BytesMut::from(&b"MN\r\n"[..]);
        assert_eq!(parse(&mut no_op).unwrap(), Some(Reply::NoOp));
        for bad in [
            &b"WAT\r\n"[..],
            b"VA x f1\r\n",
            b"VALUE k 1\r\n",
            b"VALUE k f 1\r\n",
            b"VALUE k 99999999999 1\r\n",
            b"HD\n",
        ] {
            assert!(parse(&mut BytesMut::from(bad)).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn values_with_crlf_inside_are_read_by_length() {
        let mut buf = BytesMut::from(&b"VA 4 f0\r\n\r\n\r\n\r\n"[..]);
        match parse(&mut buf).unwrap() {
            Some(Reply::Value { data, .. }) => assert_eq!(&data[..], b"\r\n\r\n"),
            other => panic!("{other:?}"),
        }
        assert!(buf.is_empty());
    }
}
