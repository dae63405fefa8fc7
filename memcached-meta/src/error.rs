//! The client's one error type.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// What went wrong, in the terms a caller acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server cannot be reached, the connection broke, or the server sent something that
    /// is not memcached protocol.
    Unavailable,
    /// The connect or request timeout passed.
    Timeout,
    /// The server refused the credentials (`memcached -Y`), or asked for some and got none.
    Refused,
}

/// A failed call: its kind, a message naming the server, the cause when there is one, and
/// whether the same call may succeed if tried again. Cheap to clone (the cause is shared), so
/// one failure can fail every request waiting on a connection.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    retryable: bool,
}

impl Error {
    /// A new error; retryable unless said otherwise with [`Error::with_retryable`].
    pub(crate) fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
            retryable: true,
        }
    }

    /// Keeps `source` as the cause.
    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Overrides whether the call may succeed if tried again.
    pub(crate) fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind or the cause.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the same call may succeed if tried again (a dropped connection, a timeout),
    /// as opposed to a server speaking something else.
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .field("retryable", &self.retryable)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// What a call answers.
pub type Result<T, E = Error> = std::result::Result<T, E>;
