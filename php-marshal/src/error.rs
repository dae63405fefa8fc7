//! The one error type: what went wrong and, when reading, where.

use std::fmt;

/// Why PHP data could not be read, or a Rust value could not be written as PHP data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    message: String,
    offset: Option<usize>,
}

/// This crate's results.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error at byte `offset` of the input.
    pub(crate) fn at(offset: usize, message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            offset: Some(offset),
        }
    }

    /// An error that has no place in an input (a value that has no PHP form, a type mismatch).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            offset: None,
        }
    }

    /// The byte of the input where reading failed, when the error is about an input's bytes.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(f, "{} (at byte {offset})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl serde::de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }
}

impl serde::ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }
}
