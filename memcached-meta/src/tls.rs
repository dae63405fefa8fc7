//! TLS to memcached (feature `tls`; memcached built with TLS, started with `-Z`): rustls, the
//! server's certificate checked against the system's authorities or a given one, and a client
//! certificate for servers that ask for one (`ssl_verify_mode`).

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, ErrorKind, Result};

/// How to speak TLS to a server: the checks and the certificate shown. Cheap to clone.
#[derive(Clone)]
pub struct Tls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

impl Tls {
    /// TLS whose server certificates must chain to the authority in the PEM file `ca` (or,
    /// with `None`, to one the system trusts), showing the certificate and key in the PEM
    /// files `client` when given.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`] (not retryable) for a file that cannot be read or holds no
    /// certificate or key.
    pub fn new(ca: Option<&Path>, client: Option<(&Path, &Path)>) -> Result<Tls> {
        // rustls needs one process-wide cryptography provider; aws-lc-rs is the one this
        // crate builds with. An `Err` means the program installed one already.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        match ca {
            Some(path) => {
                for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad_file(path, e))? {
                    roots
                        .add(cert.map_err(|e| bad_file(path, e))?)
                        .map_err(|e| bad_file(path, e))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    // A system certificate rustls cannot use is skipped, as browsers do.
                    let _ = roots.add(cert);
                }
            }
        }
        let builder = ClientConfig::builder().with_root_certificates(roots);
        let config = match client {
            Some((cert, key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| bad_file(cert, e))?
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| bad_file(cert, e))?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad_file(key, e))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| bad_file(cert, e))?
            }
            None => builder.with_no_client_auth(),
        };
        Ok(Tls {
            config: Arc::new(config),
        })
    }

    /// `stream`, wrapped after a TLS handshake with the server at `address` (`host:port`; the
    /// certificate must name the host).
    pub(crate) async fn connect(
        &self,
        stream: TcpStream,
        address: &str,
    ) -> Result<TlsStream<TcpStream>> {
        let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_owned()).map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("memcached {address}: {host:?} is no name to check a certificate against"),
            )
            .with_source(e)
            .with_retryable(false)
        })?;
        TlsConnector::from(Arc::clone(&self.config))
            .connect(name, stream)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("memcached {address}: TLS handshake failed"),
                )
                .with_source(e)
            })
    }
}

fn bad_file(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("cannot use the TLS file {}", path.display()),
    )
    .with_source(e)
    .with_retryable(false)
}
