//! The `authproxy` binary: parse the command line, set up logging, run.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// Every request allocates a little (its headers, its future, its answer); a
/// thread-caching allocator makes those cheap (docs/src/operate/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = authproxy::cli::Cli::parse();
    // The service sets up its own logging from its configuration ([log]).
    if let authproxy::cli::Command::Serve { config } = &cli.command {
        return authproxy::startup::serve(config).await;
    }
    // Other commands keep stdout for their output (tokens, CSV, JSON) and log
    // to stderr: their own news (a sealing key made) and others' warnings, not
    // a library's chatter (a database's notices) between a command's lines.
    let (writer, ansi) = (
        BoxMakeWriter::new(std::io::stderr),
        std::io::stderr().is_terminal(),
    );
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,authproxy=info")),
        )
        .with_target(false)
        .with_writer(writer)
        // Colour codes only for a person at a terminal, never in log files.
        .with_ansi(ansi)
        .init();
    authproxy::cli::run(cli.command).await
}
