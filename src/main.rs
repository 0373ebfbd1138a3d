//! The `innfer` binary: parses the command line and dispatches; errors become one `error:` line.

mod app;
mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    innfer::runtime::keep_freed_memory();
    innfer::runtime::flush_subnormals_to_zero();
    // Last line of defence: libtorch failures that tch reports by panicking (out of memory, say)
    // become one error line instead of a panic message and a backtrace.
    std::panic::set_hook(Box::new(|info| {
        if innfer::error::guarded() {
            return; // The guard turns this panic into an error of its own.
        }
        let message = innfer::error::panic_message(info.payload());
        let first_line = message.lines().next().unwrap_or_default();
        eprintln!("error: internal failure: {first_line}");
    }));
    let parsed = cli::Cli::parse();
    match std::panic::catch_unwind(|| cli::run(parsed)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("error: {error:#}");
            match error.downcast_ref() {
                Some(innfer::Error::CudaUnavailable { .. }) => ExitCode::from(2),
                // The shell's convention for a command ended by SIGINT.
                Some(innfer::Error::Interrupted { .. }) => ExitCode::from(130),
                _ => ExitCode::from(1),
            }
        }
        Err(_) => ExitCode::from(1),
    }
}
