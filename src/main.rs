//! The `innfer` binary: parses the command line and dispatches; errors become one `error:` line.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    innfer::runtime::keep_freed_memory();
    let parsed = cli::Cli::parse();
    match cli::run(parsed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            let unavailable = matches!(error.downcast_ref(), Some(innfer::Error::CudaUnavailable { .. }));
            ExitCode::from(if unavailable { 2 } else { 1 })
        }
    }
}
