//! The PEM files of a `rediss://` connection, read into what redis-rs takes.

use std::path::Path;

use redis::{ClientTlsConfig, TlsCertificates};

use super::builder::TlsFiles;
use crate::error::{Error, ErrorKind, Result};

/// The configured files, read; `None` when none is configured (the system's authorities are
/// trusted and no client certificate is shown).
pub(super) fn certificates(files: &TlsFiles) -> Result<Option<TlsCertificates>> {
    // rustls needs one process-wide cryptography provider; aws-lc-rs is the one this crate builds
    // with. An `Err` means the program installed one already, which is as good.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if files.ca.is_none() && files.client.is_none() {
        return Ok(None);
    }
    let root_cert = files.ca.as_deref().map(read).transpose()?;
    let client_tls = match &files.client {
        Some((cert, key)) => Some(ClientTlsConfig {
            client_cert: read(cert)?,
            client_key: read(key)?,
        }),
        None => None,
    };
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("cannot read the TLS file {}", path.display()),
        )
        .with_source(e)
    })
}
