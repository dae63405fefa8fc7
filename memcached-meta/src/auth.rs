//! memcached's ASCII authentication (`memcached -Y <file>`, 1.5.15 and later): on a fresh
//! connection, before anything else, a `set` whose data is `<user> <password>`.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::error::{Error, ErrorKind, Result};

/// A user and password for servers that require them.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Authenticates `stream` (the server answers `STORED` when the pair is in its file).
pub(crate) async fn authenticate(
    stream: &mut (impl AsyncRead + AsyncWrite + Unpin),
    credentials: &Credentials,
    address: &str,
) -> Result<()> {
    let data = format!("{} {}", credentials.user, credentials.password);
    let request = format!("set auth 0 0 {}\r\n{data}\r\n", data.len());
    let failed = |e: std::io::Error| {
        Error::new(
            ErrorKind::Unavailable,
            format!("authenticating to memcached {address}"),
        )
        .with_source(e)
    };
    stream.write_all(request.as_bytes()).await.map_err(failed)?;
    let mut reply = String::new();
    // The server writes nothing else before it is answered, so nothing is read past the line.
    BufReader::new(&mut *stream)
        .read_line(&mut reply)
        .await
        .map_err(failed)?;
    match reply.trim_end() {
        "STORED" => Ok(()),
        other => Err(Error::new(
            ErrorKind::Refused,
            format!(
                "memcached {address} refused user {:?}: {other:?}",
                credentials.user
            ),
        )
        .with_retryable(false)),
    }
}
