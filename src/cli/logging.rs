//! Logs on stderr (honouring `RUST_LOG`), progress bars, and the final error paragraph.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;

use holoscale::datasets::io::Progress;
use holoscale::estimator::EpochReport;

static QUIET: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Installs the stderr subscriber. `RUST_LOG` wins over the flags when set.
pub fn init(quiet: bool, verbose: u8) {
    let _ = QUIET.set(quiet);
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Prints the error and its causes as one paragraph on stderr, with the library's field
/// names shown as the flags that set them.
pub fn report_error(err: &anyhow::Error) {
    #[allow(clippy::print_stderr)]
    {
        eprintln!("error: {}", super::flags::cli_text(&format!("{err:#}")));
    }
}

/// A [`Progress`] drawn as an indicatif bar on a terminal, and as log lines otherwise.
/// Hidden with `--quiet`.
pub struct Bar {
    bar: Mutex<Option<ProgressBar>>,
    phase: Mutex<(String, Instant)>,
    draw: bool,
    quiet: bool,
}

impl Bar {
    /// Whether progress bars are drawn (not quiet, stderr a terminal).
    pub fn draws() -> bool {
        !*QUIET.get().unwrap_or(&false) && std::io::stderr().is_terminal()
    }

    /// A bar for the current process settings.
    pub fn new() -> Bar {
        let quiet = *QUIET.get().unwrap_or(&false);
        Bar {
            bar: Mutex::new(None),
            phase: Mutex::new((String::new(), Instant::now())),
            draw: !quiet && std::io::stderr().is_terminal(),
            quiet,
        }
    }
}

impl Progress for Bar {
    fn begin(&self, label: &str, total: Option<u64>) {
        *self.phase.lock().expect("progress lock") = (label.to_string(), Instant::now());
        if !self.draw {
            if !self.quiet {
                tracing::info!("{label}...");
            }
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let style = ProgressStyle::with_template(
            "{msg:>20} [{bar:32}] {percent:>3}% {human_pos}/{human_len} ({eta} left)",
        )
        .expect("static template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(label.to_string());
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, delta: u64) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            b.inc(delta);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar.lock().expect("progress lock").take() {
            b.finish_and_clear();
        }
        let (label, start) = self.phase.lock().expect("progress lock").clone();
        tracing::debug!("{label}: done in {:.2?}", start.elapsed());
    }
}

/// A bar over epochs showing losses; log lines when stderr is not a terminal.
pub struct EpochBar {
    bar: Option<ProgressBar>,
}

impl EpochBar {
    pub fn new(label: &str, epochs: usize) -> EpochBar {
        let bar = Bar::draws().then(|| {
            let b =
                ProgressBar::with_draw_target(Some(epochs as u64), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} epoch {pos}/{len} [{bar:24}] {msg} ({eta} left)",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b.set_prefix(label.to_string());
            b
        });
        EpochBar { bar }
    }

    pub fn update(&self, label: &str, r: &EpochReport) {
        let msg = format!(
            "loss {:.4}, val loss {:.4}, val MAE {:.4}",
            r.train_loss, r.val_loss, r.val_mae
        );
        match &self.bar {
            Some(b) => {
                b.set_position(r.epoch as u64);
                b.set_message(msg);
            }
            None => tracing::info!(
                "{label} epoch {}/{}: {msg} ({:.1} s)",
                r.epoch,
                r.max_epochs,
                r.seconds
            ),
        }
    }

    /// A line above the bar (a log line without one).
    pub fn note(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => tracing::info!("{msg}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// A bar of boosting rounds for the trees baseline: one line per horizon step when no bar is
/// drawn.
pub struct RoundBar {
    bar: Option<ProgressBar>,
    step: Mutex<usize>,
}

impl RoundBar {
    pub fn new(label: &str, rounds: usize) -> RoundBar {
        let bar = Bar::draws().then(|| {
            let b =
                ProgressBar::with_draw_target(Some(rounds as u64), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{prefix:>8} {msg} round {pos}/{len} [{bar:24}] (early stopping may end it sooner)",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b.set_prefix(label.to_string());
            b
        });
        RoundBar {
            bar,
            step: Mutex::new(0),
        }
    }

    pub fn update(&self, label: &str, p: &holoscale::estimator::gbdt::GbdtProgress) {
        let mut step = self.step.lock().expect("progress lock");
        let new_step = *step != p.step;
        *step = p.step;
        match &self.bar {
            Some(b) => {
                if new_step {
                    b.set_message(format!("horizon step {}/{}", p.step, p.steps));
                }
                b.set_position(p.round as u64);
            }
            None if new_step => tracing::info!(
                "{label}: training horizon step {}/{} (at most {} rounds)",
                p.step,
                p.steps,
                p.rounds
            ),
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
