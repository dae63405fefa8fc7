//! Session ids: created from the operating system's CSPRNG, checked before they become keys.

use cache_store::{Error, ErrorKind, Result};

/// The alphabet of created ids: URL- and cookie-safe, 64 symbols, so each character carries
/// exactly 6 random bits.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The shortest id accepted: PHP's minimum `sid_length`, and the length of a tower-sessions
/// id (22 base64 characters of 128 bits).
pub const MIN_ID_LENGTH: usize = 22;

/// The bytes an id may hold, by value: `A-Z a-z 0-9 , - _` (one load per byte; ids are
/// checked on every call).
const ID_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b',');
        byte += 1;
    }
    table
};

/// The longest id accepted (PHP's maximum `sid_length`).
pub const MAX_ID_LENGTH: usize = 256;

/// The length of ids this crate creates unless told otherwise: 32 characters, 192 bits.
pub const DEFAULT_ID_LENGTH: usize = 32;

/// A new random id of `length` characters from `[A-Za-z0-9_-]` (6 bits each), read from the
/// operating system's CSPRNG.
///
/// # Errors
///
/// [`ErrorKind::InvalidArgument`] for a length outside 22..=256 (22 characters are 132 bits,
/// the least that clears the 128 bits a session id needs); [`ErrorKind::Unavailable`] if the
/// operating system has no randomness to give.
pub fn create_id(length: usize) -> Result<String> {
    check_length(length)?;
    let mut bytes = [0u8; MAX_ID_LENGTH];
    let bytes = &mut bytes[..length];
    getrandom::fill(bytes).map_err(|err| {
        Error::new(
            ErrorKind::Unavailable,
            format!("the operating system's random source failed: {err}"),
        )
    })?;
    // 256 is a multiple of 64, so the low 6 bits of a uniform byte are uniform.
    Ok(bytes
        .iter()
        .map(|&b| char::from(ALPHABET[usize::from(b & 63)]))
        .collect())
}

/// Whether `id` has the form of a session id: 22 to 256 characters from `[A-Za-z0-9,_-]`
/// (this crate's alphabet plus PHP's `,`, so ids PHP generates with 6 bits per character
/// pass). Anything else (PHP lets `: / { } ( ) @` and more through from a cookie) is refused
/// before it can become a cache key.
pub fn is_well_formed(id: &str) -> bool {
    (MIN_ID_LENGTH..=MAX_ID_LENGTH).contains(&id.len())
        && id.bytes().all(|b| ID_BYTE[usize::from(b)])
}

/// `Ok` for a well-formed id, else the error every handler method gives for it.
pub(crate) fn check(id: &str) -> Result<()> {
    if is_well_formed(id) {
        return Ok(());
    }
    // The id is attacker-controlled: quote a bounded, escaped part of it, never the raw bytes.
    let shown: String = id.chars().take(40).collect();
    Err(Error::new(
        ErrorKind::InvalidKey,
        format!(
            "malformed session id {shown:?} ({} bytes): expected 22 to 256 characters from [A-Za-z0-9,_-]",
            id.len()
        ),
    ))
}

pub(crate) fn check_length(length: usize) -> Result<()> {
    if (MIN_ID_LENGTH..=MAX_ID_LENGTH).contains(&length) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("a session id length must be 22 to 256 characters, not {length}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_ids_are_well_formed_and_distinct() {
        let a = create_id(DEFAULT_ID_LENGTH).unwrap();
        let b = create_id(DEFAULT_ID_LENGTH).unwrap();
        assert_eq!(a.len(), 32);
        assert!(is_well_formed(&a) && is_well_formed(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn lengths_outside_the_range_are_refused() {
        assert_eq!(
            create_id(21).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            create_id(257).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(create_id(22).unwrap().len(), 22);
        assert_eq!(create_id(256).unwrap().len(), 256);
    }

    #[test]
    fn every_symbol_of_the_alphabet_shows_up() {
        // 4096 characters: missing any one of 64 symbols has probability about 64 * e^-64.
        let id: String = (0..16).map(|_| create_id(256).unwrap()).collect();
        for &symbol in ALPHABET {
            assert!(
                id.as_bytes().contains(&symbol),
                "{} never drawn",
                symbol as char
            );
        }
    }

    #[test]
    fn form_check() {
        assert!(is_well_formed("abcdefghijklmnopqrstuv"));
        assert!(is_well_formed(
            "by1nzCQ7Jxg5w8xD90KamExPQR,Zllxq9plm-j3ap3qwTjZ,"
        ));
        assert!(!is_well_formed("abcdefghijklmnopqrstu"));
        assert!(!is_well_formed(&"a".repeat(257)));
        for bad in [
            ":", "/", "{", "}", "(", ")", "@", " ", "\r", "\n", "\0", ".", "é",
        ] {
            let id = format!("abcdefghijklmnopqrstu{bad}");
            assert!(!is_well_formed(&id), "{id:?} accepted");
            assert_eq!(check(&id).unwrap_err().kind(), ErrorKind::InvalidKey);
        }
    }
}
