//! The keys that seal stored secrets: configured (`store.sealing_keys`, newest
//! first), or kept in a key file beside the SQLite database (mode 0600). A key
//! is generated only for a store that holds no sealed value yet, so a database
//! restored without its key file never starts with a key that cannot open it;
//! a store the keys do not open refuses to start and says which key is missing.
//! Rotation adds a key that seals from then on, seals every stored value again,
//! and keeps the old key (marked retired) until logins in flight have expired.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};

use super::{DurableStore, StoreError};
use crate::clock::Clock;
use crate::crypto::Sealer;

/// The file name of the key file beside the database.
pub const KEY_FILE: &str = "sealing.key";

/// How long a retired key still opens values sealed before the rotation
/// (pending logins in cookies and the login store live at most minutes).
pub const RETIRED_KEY_KEPT: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// One line of the key file: a key, and when it stopped sealing.
#[derive(Clone)]
pub struct KeyEntry {
    /// The key, base64 of 32 bytes.
    pub key: SecretString,
    /// When a newer key replaced it.
    pub retired: Option<DateTime<Utc>>,
}

/// The key file: one key per line, newest first, `<base64> retired=<RFC 3339>`
/// for a key a newer one replaced; `#` starts a comment. A file holding one
/// bare key (what older versions wrote) is a ring of one.
pub struct KeyFile {
    path: PathBuf,
}

impl KeyFile {
    /// The key file beside the SQLite database `sqlite_path`.
    #[must_use]
    pub fn beside(sqlite_path: &Path) -> Self {
        let dir = sqlite_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or_else(|| Path::new("."));
        Self {
            path: dir.join(KEY_FILE),
        }
    }

    #[must_use]
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys, newest first; `None` when the file does not exist.
    pub fn read(&self) -> Result<Option<Vec<KeyEntry>>, StoreError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => {
                return Err(StoreError::Sealing(format!(
                    "could not read the sealing key file {}: {err}",
                    self.path.display()
                )));
            }
        };
        let mode = fs::metadata(&self.path).map_or(0, |m| m.permissions().mode() & 0o077);
        if mode != 0 {
            tracing::warn!(path = %self.path.display(), "the sealing key file is readable by others; chmod 600 it");
        }
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let key = SecretString::from(parts.next().unwrap_or_default().to_owned());
            let bad = |what: &str| {
                StoreError::Sealing(format!("{} line {}: {what}", self.path.display(), n + 1))
            };
            Sealer::fingerprint(&key).map_err(|e| bad(&e.to_string()))?;
            let retired = match parts.next() {
                None => None,
                Some(attr) => {
                    let at = attr
                        .strip_prefix("retired=")
                        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                        .ok_or_else(|| bad("expected `retired=<RFC 3339 time>` after the key"))?;
                    Some(at.with_timezone(&Utc))
                }
            };
            entries.push(KeyEntry { key, retired });
        }
        if entries.is_empty() {
            return Err(StoreError::Sealing(format!(
                "the sealing key file {} holds no key",
                self.path.display()
            )));
        }
        Ok(Some(entries))
    }

    /// Replaces the file at once (a new file renamed over the old), mode 0600.
    pub fn write(&self, entries: &[KeyEntry]) -> Result<(), StoreError> {
        let temporary = self.write_aside(entries)?;
        fs::rename(&temporary, &self.path).map_err(|e| {
            let _ = fs::remove_file(&temporary);
            StoreError::Sealing(format!("could not replace {}: {e}", self.path.display()))
        })
    }

    /// Creates the file only if there is none (two processes starting on a
    /// new store at once keep the first one's key); whether this call made it.
    pub fn create(&self, entries: &[KeyEntry]) -> Result<bool, StoreError> {
        let temporary = self.write_aside(entries)?;
        let linked = fs::hard_link(&temporary, &self.path);
        let _ = fs::remove_file(&temporary);
        match linked {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(err) => Err(StoreError::Sealing(format!(
                "could not create {}: {err}",
                self.path.display()
            ))),
        }
    }

    /// The whole file written and synced under a name of this process's own.
    fn write_aside(&self, entries: &[KeyEntry]) -> Result<PathBuf, StoreError> {
        let dir = self.path.parent().unwrap_or_else(|| Path::new("."));
        fs::create_dir_all(dir)
            .map_err(|e| StoreError::Sealing(format!("{}: {e}", dir.display())))?;
        let mut text = String::from(
            "# authproxy sealing keys, newest first. Keep this file with the database\n# and in every backup of it: without it the stored secrets cannot be opened.\n",
        );
        for entry in entries {
            text.push_str(entry.key.expose_secret().trim());
            if let Some(at) = entry.retired {
                text.push_str(" retired=");
                text.push_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            }
            text.push('\n');
        }
        let temporary = self
            .path
            .with_extension(format!("key.{}.new", std::process::id()));
        let failed = |e: std::io::Error| {
            StoreError::Sealing(format!("could not write {}: {e}", temporary.display()))
        };
        let _ = fs::remove_file(&temporary);
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(failed)?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(failed)?;
        Ok(temporary)
    }
}

/// Where the keys come from.
pub enum KeySource {
    /// `store.sealing_keys` (or `store.sealing_key`).
    Configured(Vec<SecretString>),
    /// The key file beside the SQLite database.
    File(KeyFile),
}

/// A ring of keys ready to use, and what to do once the store is open.
pub struct Keyring {
    /// The sealer over the keys.
    pub sealer: Sealer,
    /// A key generated for a store that has no key file yet: written only once
    /// the store is known to hold nothing sealed.
    generated: Option<(KeyFile, SecretString)>,
    describe: String,
}

impl KeySource {
    /// Reads the keys (the file's retired keys past [`RETIRED_KEY_KEPT`] left
    /// out), or prepares a new key when there is no key file.
    pub fn load(self, clock: &Arc<dyn Clock>) -> Result<Keyring, StoreError> {
        let now = clock.now();
        match self {
            Self::Configured(keys) => {
                let sealer = Sealer::from_keys(&keys)
                    .map_err(|e| StoreError::Sealing(format!("store.sealing_keys: {e}")))?;
                Ok(Keyring {
                    sealer,
                    generated: None,
                    describe: "store.sealing_keys".into(),
                })
            }
            Self::File(file) => {
                let reload = reload_from(&file.path, clock);
                let describe = file.path.display().to_string();
                let Some(entries) = file.read()? else {
                    let key =
                        Sealer::generate_key().map_err(|e| StoreError::Sealing(e.to_string()))?;
                    let sealer = Sealer::from_base64(&key)
                        .map_err(|e| StoreError::Sealing(e.to_string()))?;
                    return Ok(Keyring {
                        sealer: sealer.with_reload(reload),
                        generated: Some((file, key)),
                        describe,
                    });
                };
                let sealer = Sealer::from_keys(&usable(&entries, now))
                    .map_err(|e| StoreError::Sealing(format!("{describe}: {e}")))?;
                Ok(Keyring {
                    sealer: sealer.with_reload(reload),
                    generated: None,
                    describe,
                })
            }
        }
    }
}

/// Reads the key file at `path` again, for a sealer that follows rotations.
fn reload_from(path: &Path, clock: &Arc<dyn Clock>) -> crate::crypto::KeyReload {
    let path = path.to_owned();
    let clock = Arc::clone(clock);
    Arc::new(move || {
        let file = KeyFile { path: path.clone() };
        match file.read() {
            Ok(Some(entries)) => Ok(usable(&entries, clock.now())),
            _ => Err(crate::crypto::CryptoError::BadKey),
        }
    })
}

/// The keys of `entries` that still open: all but those retired too long ago.
fn usable(entries: &[KeyEntry], now: DateTime<Utc>) -> Vec<SecretString> {
    entries
        .iter()
        .filter(|e| e.retired.is_none_or(|at| now - at < RETIRED_KEY_KEPT))
        .map(|e| e.key.clone())
        .collect()
}

impl Keyring {
    /// Checks the keys against what `store` holds: every sealed value must
    /// open, and a generated key is written only to a store holding none.
    pub async fn verify(self, store: &dyn DurableStore) -> Result<Sealer, StoreError> {
        let secrets = store.sealed_secrets().await?;
        if let Some((file, key)) = self.generated {
            if !secrets.is_empty() {
                return Err(StoreError::Sealing(format!(
                    "the store holds {} sealed secret(s) but the sealing key file {} is missing. \
                     Restore that file from the backup the database came from (`authproxy backup` \
                     writes it beside the database copy), or set store.sealing_keys to the key(s) it \
                     held. No new key was generated: it could not open them.",
                    secrets.len(),
                    file.path.display()
                )));
            }
            if file.create(&[KeyEntry { key, retired: None }])? {
                tracing::info!(path = %file.path.display(), "generated a new sealing key");
            } else if !self.sealer.refresh() {
                // Another process made the file first: use its key.
                return Err(StoreError::Sealing(format!(
                    "{} appeared while starting but could not be read",
                    file.path.display()
                )));
            }
            return Ok(self.sealer);
        }
        let closed = secrets
            .iter()
            .filter(|s| self.sealer.open(s.aad().as_bytes(), &s.sealed).is_err())
            .count();
        if closed > 0 {
            return Err(StoreError::Sealing(format!(
                "{closed} of the {} sealed secret(s) in the store do not open with the sealing key(s) {} \
                 from {}: the key that sealed them is not there. Put it back (newest first, with the \
                 others) from the backup or the previous configuration; after a rotation, keep the \
                 old key until `authproxy keys rotate` has sealed everything again.",
                secrets.len(),
                self.sealer.key_ids().join(", "),
                self.describe
            )));
        }
        Ok(self.sealer)
    }
}

/// Seals every stored value under the sealer's newest key; how many changed.
pub async fn reseal(store: &dyn DurableStore, sealer: &Sealer) -> Result<usize, StoreError> {
    let mut changed = Vec::new();
    for secret in store.sealed_secrets().await? {
        let aad = secret.aad();
        let (plain, newest) = sealer
            .open_and_check(aad.as_bytes(), &secret.sealed)
            .map_err(|_| {
                StoreError::Sealing(format!(
                    "a sealed secret ({aad}) opens with none of the keys {}",
                    sealer.key_ids().join(", ")
                ))
            })?;
        if !newest {
            let resealed = sealer
                .seal(aad.as_bytes(), &plain)
                .map_err(|e| StoreError::Sealing(e.to_string()))?;
            changed.push((secret, resealed));
        }
    }
    if changed.is_empty() {
        return Ok(0);
    }
    store.replace_sealed(changed).await
}

#[cfg(test)]
mod tests;
