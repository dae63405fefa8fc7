//! `redis::RedisError` into the workspace's `Error`, keeping the client's classification.

use redis::{RedisError, RetryMethod, ServerError};

use crate::error::{Error, ErrorKind};

/// Maps a client error: refused credentials as an invalid argument (not retryable), timeouts
/// and connection trouble by the client's own tests, a `WRONGTYPE` reply (another program wrote the key) as a decode error, and retryability from
/// the client's retry method.
pub(super) fn from_redis(err: RedisError, during: &'static str) -> Error {
    if err.kind() == redis::ErrorKind::AuthenticationFailed {
        // Asking again with the same credentials gets the same answer.
        return Error::new(
            ErrorKind::InvalidArgument,
            format!("redis refused the user or password ({during})"),
        )
        .with_source(err);
    }
    let kind = if err.is_timeout() {
        ErrorKind::Timeout
    } else if err.code() == Some("WRONGTYPE") {
        ErrorKind::Decode
    } else {
        ErrorKind::Unavailable
    };
    let retryable = err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || !matches!(err.retry_method(), RetryMethod::NoRetry);
    Error::new(kind, format!("redis {during}"))
        .with_retryable(retryable)
        .with_source(err)
}

/// The operation did not finish within the store's operation timeout.
pub(super) fn timed_out(during: &'static str, after: std::time::Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("redis {during} did not finish within {after:?}"),
    )
}

/// One command of a pipeline that the server refused (the others were carried out): a
/// `WRONGTYPE` is a decode error, anything else an argument the server does not take. Not
/// retryable: sending the same command again gets the same answer.
pub(super) fn refused(refusal: &ServerError, during: &'static str) -> Error {
    let kind = if refusal.code() == "WRONGTYPE" {
        ErrorKind::Decode
    } else {
        ErrorKind::InvalidArgument
    };
    Error::new(
        kind,
        format!("redis refused a command of a {during}: {refusal}"),
    )
}
