//! How the administration commands print: a line per entry for people, or the
//! admin API's JSON itself (`--output json`) for scripts. Secrets made by a
//! command go to standard output alone, the words about them to standard error.

use std::io::Write as _;

use serde_json::Value;

use super::context::CliError;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// A line per entry, fields separated by tabs.
    #[default]
    Text,
    /// The admin API's JSON.
    Json,
}

/// A field of an answer (`null` when absent).
#[must_use]
pub fn get<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// A string field as text (empty when absent).
#[must_use]
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// An optional field as text, `-` when absent.
#[must_use]
pub fn or_dash(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        other => text(other),
    }
}

/// A list field as `a,b,c`.
#[must_use]
pub fn join(value: &Value) -> String {
    value
        .as_array()
        .map(|items| items.iter().map(text).collect::<Vec<_>>().join(","))
        .unwrap_or_default()
}

/// Prints a list: a line per entry, or the JSON array.
pub fn list(out: Output, entries: &Value, line: impl Fn(&Value) -> String) {
    // A closed reader (`| head`) is the end of the listing, not a failure.
    let _ = lines(out, entries, line);
}

/// Prints a list a line at a time; a closed pipe ends it quietly.
pub fn lines(
    out: Output,
    entries: &Value,
    line: impl Fn(&Value) -> String,
) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    let written = match out {
        Output::Json => writeln!(stdout, "{}", pretty(entries)),
        Output::Text => entries
            .as_array()
            .into_iter()
            .flatten()
            .try_for_each(|entry| writeln!(stdout, "{}", line(entry))),
    };
    match written {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Input(format!("could not write: {err}")))
        }
        _ => Ok(()),
    }
}

/// Prints what a change did: `message`, or the answer's JSON.
pub fn done(out: Output, answer: &Value, message: &str) {
    match out {
        Output::Text => println!("{message}"),
        Output::Json => println!("{}", pretty(answer)),
    }
}

/// Prints a secret made this once: alone on standard output (text), or within
/// the answer's JSON; `note` goes to standard error.
pub fn secret(out: Output, answer: &Value, field: &str, note: &str) {
    match out {
        Output::Text => println!("{}", text(&answer[field])),
        Output::Json => println!("{}", pretty(answer)),
    }
    eprintln!("{note}");
}

/// Prints one entry: as one JSON line (text) or pretty JSON.
pub fn entry(out: Output, answer: &Value) {
    match out {
        Output::Text => println!("{answer}"),
        Output::Json => println!("{}", pretty(answer)),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
