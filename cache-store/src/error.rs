//! The one error type of the workspace.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, coarsely enough to act on.
///
/// The abstraction crates map kinds onto PHP's outcomes: [`ErrorKind::InvalidKey`] and
/// [`ErrorKind::InvalidArgument`] are PSR's `InvalidArgumentException`; everything else is a
/// backend failure that PHP would report as `false` or a miss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The key is empty or contains one of the reserved characters `{}()/\@:`.
    InvalidKey,
    /// An argument other than a key is out of range: a namespace, a URL, a capacity.
    InvalidArgument,
    /// The backend cannot be reached or refused the request (connection refused or lost).
    Unavailable,
    /// The backend did not answer within the configured time.
    Timeout,
    /// The value is larger than the backend accepts for one entry.
    TooLarge,
    /// Stored bytes could not be decoded (corrupt, written by another program, another codec).
    Decode,
    /// The backend cannot do this operation at all.
    Unsupported,
    /// The caller's computation of a value (the `compute` of a stampede-protected `get`)
    /// failed; its error is the source.
    Compute,
    /// A lock (a session's) is held by someone else: it could not be taken within the
    /// configured retries, or it expired and was taken over before the holder wrote.
    Locked,
}

impl ErrorKind {
    /// A short lower-case name, used in `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidKey => "invalid key",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Unavailable => "backend unavailable",
            ErrorKind::Timeout => "timed out",
            ErrorKind::TooLarge => "value too large",
            ErrorKind::Decode => "decode error",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Compute => "computing the value failed",
            ErrorKind::Locked => "locked",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// An error from a store, a codec or an abstraction built on them.
///
/// It carries a [`kind`](Error::kind), a message, the underlying error as its
/// [`source`](std::error::Error::source), and whether retrying the same call may succeed
/// ([`is_retryable`](Error::is_retryable)). It is cheap to clone (the source is shared), so a
/// single failure can be handed to every caller waiting on the same computation.
///
/// ```
/// use cache_store::{Error, ErrorKind};
///
/// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
/// let err = Error::new(ErrorKind::Unavailable, "connecting to 127.0.0.1:6379").with_source(io);
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// assert!(err.is_retryable());
/// assert_eq!(err.to_string(), "backend unavailable: connecting to 127.0.0.1:6379: refused");
/// ```
#[derive(Clone)]
pub struct Error {
    // Boxed so that `Result<Option<Bytes>>` stays small on the hot path.
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    source: Option<Source>,
    retryable: bool,
}

impl Error {
    /// A new error. [`ErrorKind::Unavailable`], [`ErrorKind::Timeout`] and
    /// [`ErrorKind::Locked`] start out retryable; a backend that knows better says so with
    /// [`Error::with_retryable`].
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Locked
        );
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
                retryable,
            }),
        }
    }

    /// A failed computation of a value: [`ErrorKind::Compute`] with `source` as the cause.
    pub fn compute(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::new(ErrorKind::Compute, "the compute callback returned an error").with_source(source)
    }

    /// Keeps `source` as the cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Arc::new(source));
        self
    }

    /// Overrides whether the operation may succeed if retried (taken from the client's own
    /// classification where it has one).
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = retryable;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without the kind or the source.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Whether the same call may succeed if tried again (a dropped connection, a timeout).
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// Whether this is the invalid-key error that PSR-6 and PSR-16 require.
    pub fn is_invalid_key(&self) -> bool {
        self.inner.kind == ErrorKind::InvalidKey
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("retryable", &self.inner.retryable);
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.kind, self.inner.message)?;
        if let Some(source) = &self.inner.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// A memcached client failure in this crate's terms: unavailable or timed out, its message,
/// cause and retryability kept.
#[cfg(feature = "memcached")]
impl From<memcached_meta::Error> for Error {
    fn from(err: memcached_meta::Error) -> Self {
        let kind = match err.kind() {
            memcached_meta::ErrorKind::Timeout => ErrorKind::Timeout,
            // Refused credentials are configuration, as a Redis password is.
            memcached_meta::ErrorKind::Refused => ErrorKind::InvalidArgument,
            _ => ErrorKind::Unavailable,
        };
        Error::new(kind, err.message().to_owned())
            .with_retryable(err.is_retryable())
            .with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_of_optional_bytes_stays_small() {
        assert!(std::mem::size_of::<Result<Option<bytes::Bytes>>>() <= 40);
    }

    #[test]
    fn retryable_defaults_follow_the_kind() {
        assert!(Error::new(ErrorKind::Timeout, "t").is_retryable());
        assert!(!Error::new(ErrorKind::Decode, "d").is_retryable());
        assert!(
            !Error::new(ErrorKind::Timeout, "t")
                .with_retryable(false)
                .is_retryable()
        );
    }

    #[test]
    fn source_is_kept_and_displayed() {
        let err = Error::new(ErrorKind::Decode, "key \"a\"")
            .with_source(std::io::Error::other("bad byte"));
        assert_eq!(err.to_string(), "decode error: key \"a\": bad byte");
        assert!(std::error::Error::source(&err).is_some());
        let cloned = err.clone();
        assert_eq!(cloned.kind(), ErrorKind::Decode);
    }
}
