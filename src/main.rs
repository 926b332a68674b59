//! The `hrsync` binary: parse the command line, start logging, run the command, and
//! map the outcome to an exit code (0 success, 1 error, 2 changes for
//! `plan --detailed-exitcode`). Errors print with their causes, one per line.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use hrsync::cli::{Cli, LogFormat};
use mimalloc::MiMalloc;
use tracing_subscriber::EnvFilter;

// Plans hold a hundred thousand small records and build them on every core; mimalloc
// keeps that fast and compact where the system allocator fragments per thread.
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    hrsync::memory::configure();
    let cli = Cli::parse();
    // Progress of long steps shows without -v: on a terminal it is a bar, elsewhere these
    // lines stand in for it.
    let default_filter = match cli.verbosity() {
        0 => "warn,hrsync::run::progress=info",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("HRSYNC_LOG").unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let json = matches!(cli.log_format(), LogFormat::Json);
    if json {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
    match hrsync::cli::execute(cli) {
        Ok(code) => code,
        Err(e) if matches!(e.downcast_ref(), Some(hrsync::run::OpenError::Reported)) => ExitCode::FAILURE,
        Err(e) if json => {
            // One JSON line, like every other line of the log.
            let causes: Vec<String> = e.chain().skip(1).map(ToString::to_string).collect();
            tracing::error!(error = %e, causes = ?causes, "failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
