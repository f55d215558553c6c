//! `authproxy keys list|rotate` (the sealing keys) and `authproxy backup` (an
//! online copy of the SQLite store with the key file that opens it).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use super::ConfigFile;
use super::context::{CliError, finish};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::Sealer;
use crate::store::sealing_key::{self, KeyEntry, KeyFile, KeySource, RETIRED_KEY_KEPT};

#[derive(Debug, Subcommand)]
/// `authproxy keys ...`.
pub enum KeysCommand {
    /// List the sealing keys (fingerprints, never the keys) and what they seal.
    List,
    /// Seal every stored secret under a new key. With the key file (SQLite,
    /// no `store.sealing_keys`): a new key is added, everything is sealed again,
    /// and the old key is retired and dropped an hour later (logins in flight
    /// still open with it). With `store.sealing_keys`: everything is sealed
    /// again under the first one (put the new key first on every replica
    /// before, remove the old one after).
    Rotate,
}

fn clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// `authproxy keys ...`.
pub async fn keys(config: &ConfigFile, command: KeysCommand) -> ExitCode {
    finish(
        async {
            super::context::local_only(config)?;
            let config = Config::load(&config.path)?;
            match command {
                KeysCommand::List => list(&config).await,
                KeysCommand::Rotate => rotate(&config).await,
            }
        }
        .await,
    )
}

async fn list(config: &Config) -> Result<(), CliError> {
    let (store, sealer) = config.store.open_durable(&clock()).await?;
    let secrets = store.sealed_secrets().await?;
    let newest = secrets
        .iter()
        .filter(|s| {
            sealer
                .open_and_check(s.aad().as_bytes(), &s.sealed)
                .is_ok_and(|(_, newest)| newest)
        })
        .count();
    let retired = match config.store.key_source()? {
        KeySource::File(file) => file.read()?.unwrap_or_default(),
        KeySource::Configured(_) => Vec::new(),
    };
    for (i, id) in sealer.key_ids().iter().enumerate() {
        let state = if i == 0 { "seals" } else { "opens" };
        let note = retired
            .get(i)
            .and_then(|e| e.retired)
            .map(|at| format!("\tretired {}", at.to_rfc3339()))
            .unwrap_or_default();
        println!("{id}\t{state}{note}");
    }
    println!(
        "{} sealed secret(s), {newest} under the newest key",
        secrets.len()
    );
    Ok(())
}

async fn rotate(config: &Config) -> Result<(), CliError> {
    let now = SystemClock.now();
    let source = config.store.key_source()?;
    let retiring = match &source {
        KeySource::File(file) => Some(add_key(file, now)?),
        KeySource::Configured(_) => None,
    };
    let (store, sealer) = config.store.open_durable(&clock()).await?;
    let count = sealing_key::reseal(store.as_ref(), &sealer).await?;
    // Only now, with everything sealed under the new key, may keys retired
    // long ago leave the file.
    if let KeySource::File(file) = &source {
        drop_long_retired(file, now)?;
    }
    let ids = sealer.key_ids();
    let newest = ids.first().map_or("-", String::as_str);
    println!("sealed {count} secret(s) again under key {newest}");
    match retiring {
        Some(retired) if !retired.is_empty() => println!(
            "retired key(s) {}: they open logins in flight until {}, and the next rotation drops them",
            retired.join(", "),
            (now + RETIRED_KEY_KEPT).to_rfc3339()
        ),
        None if ids.len() > 1 => println!(
            "nothing stored needs the other key(s) {} any more: remove them from store.sealing_keys once logins started before now have finished (an hour)",
            ids.get(1..).unwrap_or_default().join(", ")
        ),
        _ => {}
    }
    Ok(())
}

/// Puts a new key first in the key file and retires the others; returns the
/// fingerprints retired now.
fn add_key(file: &KeyFile, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<String>, CliError> {
    let Some(entries) = file.read()? else {
        return Err(CliError::Input(format!(
            "there is no key file at {} to rotate: start the service once (it makes one), or restore the file that belongs with the database",
            file.path().display()
        )));
    };
    let key = Sealer::generate_key().map_err(|e| CliError::Input(e.to_string()))?;
    let mut retired = Vec::new();
    let mut next = vec![KeyEntry { key, retired: None }];
    for entry in entries {
        if entry.retired.is_none() {
            retired.push(Sealer::fingerprint(&entry.key).unwrap_or_default());
            next.push(KeyEntry {
                key: entry.key,
                retired: Some(now),
            });
        } else {
            next.push(entry);
        }
    }
    file.write(&next)?;
    Ok(retired)
}

/// Removes the keys retired more than [`RETIRED_KEY_KEPT`] ago.
fn drop_long_retired(file: &KeyFile, now: chrono::DateTime<chrono::Utc>) -> Result<(), CliError> {
    let entries = file.read()?.unwrap_or_default();
    let kept: Vec<KeyEntry> = entries
        .iter()
        .filter(|e| e.retired.is_none_or(|at| now - at < RETIRED_KEY_KEPT))
        .cloned()
        .collect();
    if kept.len() != entries.len() {
        file.write(&kept)?;
        println!(
            "dropped {} key(s) retired more than an hour ago",
            entries.len() - kept.len()
        );
    }
    Ok(())
}

/// `authproxy backup --to DIR`: a consistent copy of the SQLite store, taken
/// while the service runs, with the key file that opens it.
pub async fn backup(config: &ConfigFile, to: &Path) -> ExitCode {
    finish(
        async {
            super::context::local_only(config)?;
            let config = Config::load(&config.path)?;
            let (store, sealer) = config.store.open_durable(&clock()).await?;
            let empty = std::fs::read_dir(to).map_or(true, |mut d| d.next().is_none());
            if !empty {
                return Err(CliError::Input(format!(
                    "{} is not empty: back up into a new or empty folder",
                    to.display()
                )));
            }
            std::fs::create_dir_all(to)
                .and_then(|()| std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)))
                .map_err(|e| CliError::Input(format!("{}: {e}", to.display())))?;
            let database = to.join(
                config
                    .store
                    .sqlite_path
                    .file_name()
                    .unwrap_or_else(|| std::ffi::OsStr::new("authproxy.db")),
            );
            store.backup_to(&database).await?;
            let size = std::fs::metadata(&database).map_or(0, |m| m.len());
            println!("{}: the database ({size} bytes)", database.display());
            match config.store.key_source()? {
                KeySource::File(file) => {
                    let entries = file.read()?.unwrap_or_default();
                    let copy = KeyFile::beside(&database);
                    copy.write(&entries)?;
                    println!(
                        "{}: the sealing key(s) {} that open it",
                        copy.path().display(),
                        sealer.key_ids().join(", ")
                    );
                }
                KeySource::Configured(_) => println!(
                    "the sealing key(s) {} are in store.sealing_keys, not in this folder: keep them with the backup, it cannot be opened without them",
                    sealer.key_ids().join(", ")
                ),
            }
            println!(
                "restore: stop the service, put these files in the folder of store.sqlite_path (an empty one), start it"
            );
            Ok(())
        }
        .await,
    )
}
