//! The commands about a running service rather than its data: `login` and
//! `logout` (an admin token kept for the remote commands), `healthcheck`,
//! `migrate` and `check-config`.

use std::process::ExitCode;

use super::{context, remote};
use crate::config::Config;

/// `authproxy login`: checks the token against the broker, then keeps it.
pub(super) async fn login(url: &str, token_file: &std::path::Path) -> ExitCode {
    context::finish(
        async {
            let base = remote::broker_url(url)?;
            let token = context::read_secret(token_file)?;
            let broker = remote::Remote::new(base.clone(), token.clone())?;
            let tokens = broker
                .send(reqwest::Method::GET, "tokens", remote::Body::None)
                .await?;
            let mut logins = remote::Logins::open()?;
            logins.set(&base, Some(&token))?;
            println!(
                "logged in to {base} ({} admin token(s) there); the token is kept in {}",
                tokens.as_array().map_or(0, Vec::len),
                logins.path().display()
            );
            Ok(())
        }
        .await,
    )
}

/// `authproxy logout`: forgets the token kept for a broker.
pub(super) fn logout(url: &str) -> ExitCode {
    context::finish((|| {
        let base = remote::broker_url(url)?;
        let mut logins = remote::Logins::open()?;
        if logins.set(&base, None)? {
            println!("forgot the admin token of {base}");
        } else {
            println!("no admin token was kept for {base}");
        }
        Ok(())
    })())
}

pub(super) async fn healthcheck(url: &str) -> ExitCode {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let answer = match client {
        Ok(client) => client.get(url).send().await,
        Err(err) => Err(err),
    };
    match answer {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("authproxy: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("authproxy: {url}: {err}");
            ExitCode::FAILURE
        }
    }
}

pub(super) async fn migrate(path: &std::path::Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{}: {err}", path.display());
            return ExitCode::from(2);
        }
    };
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let opened = config.store.open_durable(&clock).await.map(|_| ());
    match opened {
        Ok(()) => {
            let backend = if config.store.postgres_url.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            };
            println!("{backend}: the schema is up to date");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("authproxy: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Whether the file at `path` holds no setting (only blanks and comments) and
/// no `AUTHPROXY__` variable sets one: a mistaken path or an unwritten file.
fn sets_nothing(path: &std::path::Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let blank = text
        .lines()
        .map(str::trim)
        .all(|line| line.is_empty() || line.starts_with('#'));
    blank && !std::env::vars_os().any(|(name, _)| name.to_string_lossy().starts_with("AUTHPROXY__"))
}

pub(super) fn check_config(path: &std::path::Path) -> ExitCode {
    if sets_nothing(path) {
        eprintln!(
            "{}: the file sets nothing (and no AUTHPROXY__ variable does): every setting would be its default, with no realm and no client. Is this the right file?",
            path.display()
        );
        return ExitCode::from(2);
    }
    match Config::load(path) {
        Ok(config) => {
            println!(
                "{}: ok ({} realm(s), {} client(s), {} directory rule(s))",
                path.display(),
                config.realms.len(),
                config.clients.len(),
                config.directory_seed.len()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{}: {err}", path.display());
            ExitCode::from(2)
        }
    }
}
