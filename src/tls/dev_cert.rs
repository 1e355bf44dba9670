//! `gaslamp gen-cert`: a self-signed certificate and key for local use and
//! tests, made with rcgen (ECDSA P-256, valid for a year from yesterday).
//!
//! The key file is created with mode 0600 (on Unix) before anything is written
//! to it, and existing files are never overwritten unless asked: a real
//! certificate must not be lost to a development command typed in the wrong
//! directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Days, Utc};

/// The names a development certificate is made for when none are given.
pub const DEFAULT_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// The certificate's file name inside the output directory.
pub const CERT_FILE: &str = "cert.pem";
/// The key's file name inside the output directory.
pub const KEY_FILE: &str = "key.pem";

/// Why no certificate was written.
#[derive(Debug, thiserror::Error)]
pub enum GenCertError {
    #[error("{} already exists (pass --force to replace it)", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the certificate: {0}")]
    Generate(String),
}

/// The files written.
#[derive(Debug, Clone)]
pub struct Generated {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub hosts: Vec<String>,
    /// The last day of validity, `YYYY-MM-DD`.
    pub valid_until: String,
}

/// Makes a self-signed certificate for `hosts` (names or IP addresses; the
/// first is also its common name) and writes `cert.pem` and `key.pem` into
/// `out`, creating the directory.
pub fn write_self_signed(
    hosts: &[String],
    out: &Path,
    force: bool,
) -> Result<Generated, GenCertError> {
    let hosts: Vec<String> = if hosts.is_empty() {
        DEFAULT_HOSTS.iter().map(|h| h.to_string()).collect()
    } else {
        hosts.to_vec()
    };
    let cert_path = out.join(CERT_FILE);
    let key_path = out.join(KEY_FILE);
    if !force {
        for path in [&cert_path, &key_path] {
            if path.exists() {
                return Err(GenCertError::Exists(path.clone()));
            }
        }
    }
    let generate = |err: rcgen::Error| GenCertError::Generate(err.to_string());
    let mut params = rcgen::CertificateParams::new(hosts.clone()).map_err(generate)?;
    let mut name = rcgen::DistinguishedName::new();
    name.push(rcgen::DnType::CommonName, hosts[0].as_str());
    name.push(rcgen::DnType::OrganizationName, "gaslamp development");
    params.distinguished_name = name;
    let yesterday = Utc::now().date_naive() - Days::new(1);
    let last_day = yesterday + Days::new(366);
    // Month and day come from a valid date, so the casts cannot cut them.
    let at = |day: chrono::NaiveDate| {
        rcgen::date_time_ymd(day.year(), day.month() as u8, day.day() as u8)
    };
    params.not_before = at(yesterday);
    params.not_after = at(last_day);
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;

    std::fs::create_dir_all(out).map_err(|source| GenCertError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    write_file(&key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(&cert_path, cert.pem().as_bytes(), 0o644)?;
    Ok(Generated {
        cert: cert_path,
        key: key_path,
        hosts,
        valid_until: last_day.format("%Y-%m-%d").to_string(),
    })
}

/// Writes a file with `mode` (on Unix), replacing it; the mode is set when the
/// file is created and again after, so an existing file loses wider rights too.
fn write_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), GenCertError> {
    let failed = |source| GenCertError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(mode);
        let file = options.open(path).map_err(failed)?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(failed)?;
        write_all(file, contents).map_err(failed)
    }
    #[cfg(not(unix))]
    {
        let _ = mode;
        let file = options.open(path).map_err(failed)?;
        write_all(file, contents).map_err(failed)
    }
}

fn write_all(mut file: std::fs::File, contents: &[u8]) -> std::io::Result<()> {
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_pair_that_loads_with_a_private_key_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("tls");
        let made = write_self_signed(&["mud.example".into(), "10.1.2.3".into()], &out, false)
            .expect("written");
        assert_eq!(made.hosts, ["mud.example", "10.1.2.3"]);
        super::super::Certificates::load(&made.cert, &made.key).expect("the pair loads");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&made.key)
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn existing_files_are_kept_unless_forced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = write_self_signed(&[], dir.path(), false).expect("first");
        let before = std::fs::read(&first.cert).expect("read");
        let err = write_self_signed(&[], dir.path(), false).expect_err("refused");
        assert!(err.to_string().contains("cert.pem"), "{err}");
        assert_eq!(std::fs::read(&first.cert).expect("read"), before);
        write_self_signed(&[], dir.path(), true).expect("forced");
        assert_ne!(std::fs::read(&first.cert).expect("read"), before);
    }
}
