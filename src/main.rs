//! The `agent-panel` binary: logs, command line, and the library does the rest.

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// A request allocates and frees many small values; mimalloc serves them faster than glibc's
/// malloc did in profiles (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = agent_panel::cli::Cli::parse();
    match agent_panel::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
