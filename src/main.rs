//! The `holoscale` command line.

use std::process::ExitCode;

use clap::Parser;

mod cli;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::logging::init(args.global.quiet, args.global.verbose);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            cli::logging::report_error(&err);
            ExitCode::FAILURE
        }
    }
}
