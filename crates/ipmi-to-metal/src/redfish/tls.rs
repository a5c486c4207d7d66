//! The Redfish service's TLS: the configured certificate and key, or a self-signed certificate
//! generated at the first start and kept (mode 0600) in the state directory, its SHA-256
//! fingerprint logged at every start so that an operator can pin it. rustls speaks TLS 1.2 and
//! 1.3 only: older versions are refused at the handshake.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The self-signed certificate's and key's file names in the state directory.
const SELF_SIGNED: (&str, &str) = ("redfish-cert.pem", "redfish-key.pem");

/// The acceptor of the configured or self-signed certificate.
pub fn acceptor(
    configured: Option<&(PathBuf, PathBuf)>,
    state_dir: &Path,
) -> std::io::Result<tokio_rustls::TlsAcceptor> {
    let (cert, key) = match configured {
        Some((c, k)) => (c.clone(), k.clone()),
        None => self_signed(state_dir)?,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .and_then(|i| i.collect())
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidData,
                format!("redfish: {}: {e}", cert.display()),
            )
        })?;
    let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!("redfish: {}: {e}", key.display()),
        )
    })?;
    if let Some(first) = certs.first() {
        use sha2::Digest;
        let fp: Vec<String> = sha2::Sha256::digest(first.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        tracing::info!(certificate = %cert.display(), "Redfish TLS certificate SHA-256 fingerprint {}", fp.join(":"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::other(format!("redfish: TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::new(ErrorKind::InvalidData, format!("redfish: TLS: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The self-signed certificate and key in `dir`, generated if absent.
fn self_signed(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let (cert, key) = (dir.join(SELF_SIGNED.0), dir.join(SELF_SIGNED.1));
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir)?;
    let names = vec!["localhost".to_string(), "ipmi-to-metal".to_string()];
    let generated = rcgen::generate_simple_self_signed(names)
        .map_err(|e| Error::other(format!("redfish: cannot generate a certificate: {e}")))?;
    write_private(&key, generated.key_pair.serialize_pem().as_bytes())?;
    write_private(&cert, generated.cert.pem().as_bytes())?;
    tracing::info!(certificate = %cert.display(), "Redfish: self-signed certificate generated");
    Ok((cert, key))
}

/// Writes `bytes` to a new file only its owner may read (0600).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
