//! TLS on the listener (`server.tls_cert_file`, `server.tls_key_file`) with
//! rustls: the certificate is read at start, and again whenever either file
//! changes (checked every few seconds, and on SIGHUP), so a renewed
//! certificate is served without a restart. A file that does not parse keeps
//! the previous certificate in service and is logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsFiles;

/// The certificate in service, replaced when the files change.
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    current: RwLock<(Arc<CertifiedKey>, Option<SystemTime>)>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn load(
    files: &TlsFiles,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<CertifiedKey, String> {
    let named = |path: &PathBuf, e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| named(&files.cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| named(&files.cert, &e))?;
    if chain.is_empty() {
        return Err(named(&files.cert, &"no PEM certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| named(&files.key, &e))?;
    let certified = CertifiedKey::from_der(chain, key, provider)
        .map_err(|e| format!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    Ok(certified)
}

impl ReloadingCert {
    /// Reads the files; an error names the file and what is wrong.
    pub fn open(files: TlsFiles) -> Result<Arc<Self>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = load(&files, &provider)?;
        let stamp = modified(&files.cert).max(modified(&files.key));
        Ok(Arc::new(Self {
            files,
            current: RwLock::new((Arc::new(key), stamp)),
            provider,
        }))
    }

    /// Reads the files again if they changed since the last read (or when
    /// `force`); whether a new certificate is in service.
    pub fn reload_if_changed(&self, force: bool) -> bool {
        let stamp = modified(&self.files.cert).max(modified(&self.files.key));
        let unchanged = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .1
            == stamp;
        if unchanged && !force {
            return false;
        }
        match load(&self.files, &self.provider) {
            Ok(key) => {
                *self.current.write().unwrap_or_else(PoisonError::into_inner) =
                    (Arc::new(key), stamp);
                tracing::info!(cert = %self.files.cert.display(), "loaded the TLS certificate");
                true
            }
            Err(err) => {
                // Remember the stamp, so a half-written file is not retried in a loop.
                self.current
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .1 = stamp;
                tracing::error!(error = %err, "could not load the new TLS certificate; the previous one stays in service");
                false
            }
        }
    }

    /// A TLS acceptor that always serves the current certificate.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .0,
        ))
    }
}
