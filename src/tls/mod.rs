//! The TLS certificate a server presents: loading it from PEM files, checking
//! that the key belongs to it, swapping in a renewed one without a restart, and
//! making a self-signed one for development (`dev_cert`).
//!
//! [`Certificates`] holds the files' paths and the rustls configuration made
//! from them (TLS 1.2 and 1.3 only, no client certificates, the `ring`
//! provider). Every handshake takes the configuration current at its start, so a
//! reload changes what new handshakes see and leaves open connections alone; a
//! reload whose files are bad changes nothing.
//!
//! This module knows nothing about the game, sessions or listeners: it turns
//! files into a `TlsAcceptor` and says, naming the file, why it could not.

pub mod dev_cert;

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::version::{TLS12, TLS13};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why a certificate or key could not be used; every variant names its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate file {}: {reason}", path.display())]
    Certificate { path: PathBuf, reason: String },
    #[error("TLS key file {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error(
        "TLS key file {} does not belong to the certificate in {}",
        key.display(),
        cert.display()
    )]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("TLS settings could not be made: {0}")]
    Config(String),
}

/// What is loaded: for the log and for the admin who asked for a reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// The certificate file it came from.
    pub path: PathBuf,
    /// Certificates in the chain, the server's own included.
    pub chain_len: usize,
    /// SHA-256 of the server's own certificate, as `AB:CD:...` (what
    /// `openssl x509 -noout -fingerprint -sha256` prints).
    pub fingerprint: String,
}

impl std::fmt::Display for CertificateInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} certificate(s), SHA-256 {})",
            self.path.display(),
            self.chain_len,
            self.fingerprint
        )
    }
}

/// The TLS configuration in use, and the files it is reloaded from.
pub struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Loaded>,
}

#[derive(Clone)]
struct Loaded {
    config: Arc<rustls::ServerConfig>,
    info: CertificateInfo,
}

impl Certificates {
    /// Loads the certificate chain and key (blocking file reads: call it at
    /// start-up or on the blocking pool).
    pub fn load(cert: &Path, key: &Path) -> Result<Certificates, TlsError> {
        let loaded = load(cert, key)?;
        Ok(Certificates {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            current: RwLock::new(loaded),
        })
    }

    /// An acceptor with the configuration in use now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.read(|loaded| loaded.config.clone()))
    }

    /// What is in use now.
    pub fn info(&self) -> CertificateInfo {
        self.read(|loaded| loaded.info.clone())
    }

    /// Reads the files again and, if they are good, uses them for every
    /// handshake from now on. If they are bad, the certificate in use stays and
    /// the error says why. Logs either way.
    pub async fn reload(self: &Arc<Self>) -> Result<CertificateInfo, TlsError> {
        let this = self.clone();
        let loaded = tokio::task::spawn_blocking(move || load(&this.cert, &this.key))
            .await
            .map_err(|err| TlsError::Config(err.to_string()))
            .and_then(|loaded| loaded);
        match loaded {
            Ok(loaded) => {
                let info = loaded.info.clone();
                *self.current.write() = loaded;
                tracing::info!(certificate = %info, "TLS certificate reloaded");
                Ok(info)
            }
            Err(err) => {
                tracing::error!(%err, "TLS certificate not reloaded; the old one stays in use");
                Err(err)
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Loaded) -> T) -> T {
        f(&self.current.read())
    }
}

/// Reads and checks both files and makes the rustls configuration.
fn load(cert_path: &Path, key_path: &Path) -> Result<Loaded, TlsError> {
    let chain = read_chain(cert_path)?;
    let key = read_key(key_path)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = certified_key(&provider, chain, key, cert_path, key_path)?;
    let info = CertificateInfo {
        path: cert_path.to_path_buf(),
        chain_len: certified.cert.len(),
        fingerprint: fingerprint(&certified.cert[0]),
    };
    let resolver = Arc::new(rustls::sign::SingleCertAndKey::from(certified));
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13, &TLS12])
        .map_err(|err| TlsError::Config(err.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    Ok(Loaded {
        config: Arc::new(config),
        info,
    })
}

/// The PEM certificates of a file, in order.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let refuse = |reason: String| TlsError::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|err| refuse(format!("cannot read it: {err}")))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| refuse(format!("not valid PEM: {err}")))?;
    if chain.is_empty() {
        return Err(refuse(
            "holds no certificate (expected PEM \"BEGIN CERTIFICATE\" blocks)".into(),
        ));
    }
    Ok(chain)
}

/// The first PEM private key of a file: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let refuse = |reason: String| TlsError::Key {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|err| refuse(format!("cannot read it: {err}")))?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|err| match err {
        rustls_pki_types::pem::Error::NoItemsFound => {
            refuse("holds no private key (expected PEM PKCS#8, RSA or EC)".into())
        }
        other => refuse(format!("not valid PEM: {other}")),
    })
}

/// The chain and key as one, after checking that the key is usable and belongs
/// to the chain's first certificate.
fn certified_key(
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<CertifiedKey, TlsError> {
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|err| TlsError::Key {
            path: key_path.to_path_buf(),
            reason: format!("the key cannot be used: {err}"),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        // A key type whose public half rustls cannot derive: nothing to compare.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            Err(TlsError::Mismatch {
                cert: cert_path.to_path_buf(),
                key: key_path.to_path_buf(),
            })
        }
        Err(err) => Err(TlsError::Certificate {
            path: cert_path.to_path_buf(),
            reason: format!("the certificate cannot be parsed: {err}"),
        }),
    }
}

/// SHA-256 of a certificate as colon-separated upper-case hex.
fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, cert.as_ref());
    let mut text = String::with_capacity(digest.as_ref().len() * 3);
    for (i, byte) in digest.as_ref().iter().enumerate() {
        if i > 0 {
            text.push(':');
        }
        let _ = write!(text, "{byte:02X}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate and key for `localhost`, written into `dir`.
    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let made =
            rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("generate");
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, made.cert.pem()).expect("write cert");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("write key");
        (cert, key)
    }

    #[test]
    fn a_good_pair_loads_and_reports_its_fingerprint() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = write_pair(dir.path(), "a");
        let loaded = Certificates::load(&cert, &key).expect("loads");
        let info = loaded.info();
        assert_eq!(info.chain_len, 1);
        assert_eq!(info.fingerprint.len(), 32 * 3 - 1);
        assert!(info.to_string().contains("a.crt"), "{info}");
    }

    #[test]
    fn each_bad_file_is_named_in_its_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = write_pair(dir.path(), "a");
        let (other_cert, _) = write_pair(dir.path(), "b");
        let missing = dir.path().join("missing.pem");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "hello, this is not PEM\n").expect("write junk");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .expect("write broken");

        let cases: Vec<(&Path, &Path, &str)> = vec![
            (&missing, &key, "TLS certificate file"),
            (&cert, &missing, "TLS key file"),
            (&junk, &key, "holds no certificate"),
            (&cert, &junk, "holds no private key"),
            (&cert, &cert, "holds no private key"),
            (&broken, &key, "cannot be parsed"),
            (&other_cert, &key, "does not belong"),
        ];
        for (cert_path, key_path, expected) in cases {
            let err = Certificates::load(cert_path, key_path)
                .err()
                .unwrap_or_else(|| panic!("{cert_path:?} + {key_path:?} loaded"));
            let message = err.to_string();
            assert!(message.contains(expected), "{message}");
            let named = match &err {
                TlsError::Certificate { path, .. } | TlsError::Key { path, .. } => {
                    vec![path.clone()]
                }
                TlsError::Mismatch { cert, key } => vec![cert.clone(), key.clone()],
                TlsError::Config(_) => vec![],
            };
            assert!(!named.is_empty(), "{message}");
            for path in named {
                assert!(message.contains(&path.display().to_string()), "{message}");
            }
        }
    }

    #[tokio::test]
    async fn a_bad_reload_keeps_the_old_certificate_and_a_good_one_replaces_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = write_pair(dir.path(), "live");
        let certificates = Arc::new(Certificates::load(&cert, &key).expect("loads"));
        let before = certificates.info();

        std::fs::write(&key, "garbage").expect("break the key");
        let err = certificates.reload().await.expect_err("refused");
        assert!(err.to_string().contains("live.key"), "{err}");
        assert_eq!(certificates.info(), before);

        let (new_cert, new_key) = write_pair(dir.path(), "renewed");
        std::fs::rename(new_cert, &cert).expect("move cert");
        std::fs::rename(new_key, &key).expect("move key");
        let after = certificates.reload().await.expect("reloads");
        assert_ne!(after.fingerprint, before.fingerprint);
        assert_eq!(certificates.info(), after);
    }
}
