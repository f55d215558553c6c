//! The `authproxy` binary: parse the command line, set up logging, run.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = authproxy::cli::Cli::parse();
    // The service logs to stdout; other commands keep stdout for their output
    // (tokens, CSV, JSON) and log to stderr.
    let (writer, ansi) = if cli.is_serve() {
        (
            BoxMakeWriter::new(std::io::stdout),
            std::io::stdout().is_terminal(),
        )
    } else {
        (
            BoxMakeWriter::new(std::io::stderr),
            std::io::stderr().is_terminal(),
        )
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .with_writer(writer)
        // Colour codes only for a person at a terminal, never in log files.
        .with_ansi(ansi)
        .init();
    match cli.command {
        authproxy::cli::Command::Serve { config } => authproxy::startup::serve(&config).await,
        command => authproxy::cli::run(command).await,
    }
}
