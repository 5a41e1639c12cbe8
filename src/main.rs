//! The `holoscale` command line.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

mod cli;

/// Exit code of a failure (bad data, a refused output, a failed computation).
const FAILURE: u8 = 1;
/// Exit code of a usage error (a flag, a value or a combination the command refuses before
/// reading anything), as clap's own.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    keep_freed_memory();
    // A decoder's panic on a corrupt file is reported as an error naming the file; say it
    // once, not also as a panic.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !holoscale::datasets::io::guard::reading_untrusted() {
            default_hook(info)
        }
    }));
    let matches = cli::Cli::command().get_matches();
    let args = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli::remember_given(&matches);
    cli::logging::init(args.global.quiet, args.global.verbose);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            cli::logging::report_error(&err);
            ExitCode::from(if cli::is_usage_error(&err) {
                USAGE
            } else {
                FAILURE
            })
        }
    }
}

/// Training allocates and frees tensor buffers of a few MiB for every batch. glibc maps
/// buffers above its mmap threshold freshly and unmaps them on free, and trims the heap
/// top, so each batch paid for system calls and page faults: a fifth of the training time.
/// Raising the threshold (to 32 MiB, glibc's cap) and the trim threshold keeps freed
/// buffers for reuse. Programs embedding the library can do the same, or set
/// `MALLOC_MMAP_THRESHOLD_` and `MALLOC_TRIM_THRESHOLD_`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // the one unsafe call of the workspace: libc's mallopt
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator tuning parameters; it runs before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}
