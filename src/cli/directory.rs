//! `authproxy directory import FILE`: loads directory rules from CSV. The whole
//! file is checked first (every bad row reported with its line, a key given twice
//! with different targets refused) against the realms in the store, as every
//! command reads them; only a clean file is written, in one transaction.
//!
//! The format is in [`crate::admin::directory_csv`].

use std::path::Path;
use std::process::ExitCode;

use super::ConfigFile;
use super::admin::{CliError, finish, open_context};
use crate::admin::directory_csv::{self, CsvProblems};

pub async fn import(file: &Path, config: &ConfigFile, replace: bool) -> ExitCode {
    finish(
        async {
            let ctx = open_context(config).await?;
            let actor = ctx.actor()?;
            let csv = std::fs::read(file)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            let realms = ctx.registry.snapshot().realms.keys().cloned().collect();
            if let Err(problems) = directory_csv::check(&csv, &realms) {
                return Err(CliError::Input(report(&problems)));
            }
            let store = std::sync::Arc::clone(&ctx.store);
            let count = tokio::task::spawn_blocking(move || {
                store.import(directory_csv::rules(&csv, &realms), replace)
            })
            .await
            .map_err(|e| CliError::Input(format!("the import failed: {e}")))??;
            crate::admin::ops::record(
                ctx.store.as_ref(),
                &actor,
                if replace {
                    "directory.replace"
                } else {
                    "directory.import"
                },
                &format!("{count} rules"),
                crate::clock::Clock::now(&crate::clock::SystemClock),
            )
            .await?;
            println!("imported {count} directory rule(s)");
            Ok(())
        }
        .await,
    )
}

fn report(problems: &CsvProblems) -> String {
    let mut lines = vec![format!("import refused, nothing was written: {problems}")];
    lines.extend(
        problems
            .rows
            .iter()
            .map(|p| format!("  line {}: {}", p.line, p.message)),
    );
    lines.join("\n")
}
