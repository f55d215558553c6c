//! `authproxy directory import FILE`: loads directory rules from CSV in one
//! transaction. The first bad row aborts the import with its line number and
//! nothing is written. Rows stream from the file into the transaction, so a
//! million rows need no more memory than one.
//!
//! The format is in [`crate::admin::directory_csv`].

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;

use crate::admin::directory_csv::parse_rows;
use crate::config::RawConfig;
use crate::domain::RealmName;
use crate::store::StoreError;
use crate::store::sqlite::SqliteStore;

pub async fn import(file: &Path, config: &Path, replace: bool) -> ExitCode {
    let config = match RawConfig::load(config).and_then(RawConfig::validate) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let realms: BTreeSet<RealmName> = config.realms.iter().map(|r| r.name.clone()).collect();
    let path = config.sqlite_path.clone();
    let file = file.to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let store = SqliteStore::open_with_key(&path, config.sealing_key.as_ref())?;
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(&file)
            .map_err(|e| StoreError::InvalidRow {
                line: 0,
                message: format!("{}: {e}", file.display()),
            })?;
        store.import(parse_rows(reader, &realms), replace)
    })
    .await;
    match result {
        Ok(Ok(count)) => {
            println!("imported {count} directory rule(s)");
            ExitCode::SUCCESS
        }
        Ok(Err(err)) => {
            eprintln!("import aborted, nothing was written: {err}");
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("import failed: {err}");
            ExitCode::FAILURE
        }
    }
}
