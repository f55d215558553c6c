//! The key that seals stored tokens: from configuration, or generated on first
//! start into the data directory (mode 0600) and read again on every restart.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use secrecy::SecretString;

use super::StoreError;
use crate::crypto::Sealer;

/// The file name of the generated key beside the database.
pub const KEY_FILE: &str = "sealing.key";

/// Builds the sealer from `configured`, or from `<data_dir>/sealing.key`,
/// creating that file when it does not exist yet.
pub fn load_or_create(
    configured: Option<&SecretString>,
    data_dir: &Path,
) -> Result<Sealer, StoreError> {
    if let Some(key) = configured {
        return Sealer::from_base64(key)
            .map_err(|e| StoreError::Corrupt(format!("store.sealing_key: {e}")));
    }
    let path = data_dir.join(KEY_FILE);
    fs::create_dir_all(data_dir)
        .map_err(|e| StoreError::Unavailable(format!("{}: {e}", data_dir.display())))?;
    let opened = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match opened {
        Ok(mut file) => {
            let key = Sealer::generate_key().map_err(|e| StoreError::Unavailable(e.to_string()))?;
            file.write_all(secrecy::ExposeSecret::expose_secret(&key).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
            tracing::info!(path = %path.display(), "generated a new sealing key");
            Sealer::from_base64(&key).map_err(|e| StoreError::Corrupt(e.to_string()))
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = fs::metadata(&path).map_or(0, |m| m.permissions().mode() & 0o077);
            if mode != 0 {
                tracing::warn!(path = %path.display(), "the sealing key file is readable by others; chmod 600 it");
            }
            let key = fs::read_to_string(&path)
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", path.display())))?;
            Sealer::from_base64(&SecretString::from(key))
                .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display())))
        }
        Err(err) => Err(StoreError::Unavailable(format!(
            "{}: {err}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_private_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(None, dir.path()).unwrap();
        let sealed = first.seal(b"k", b"v").unwrap();
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = load_or_create(None, dir.path()).unwrap();
        assert_eq!(second.open(b"k", &sealed).unwrap(), b"v");
    }
}
