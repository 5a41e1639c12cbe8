//! `holoscale serve --config serve.toml`: the KEDA external scaler (README, "Run it in a
//! cluster"; `holoscale_scaler::serve`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use holoscale::scaler::serve::{self, ServeConfig};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The server's settings (scalers or model, feed, addresses, bounds; README "Run it in
    /// a cluster").
    #[arg(long)]
    config: PathBuf,
    /// Check the settings (and load the models) and exit without serving.
    #[arg(long)]
    check: bool,
}

pub fn run(a: ServeArgs) -> Result<()> {
    let cfg = ServeConfig::from_file(&a.config)
        .with_context(|| format!("reading {}", a.config.display()))?;
    if a.check {
        // Building the state loads every model and checks it against the services.
        serve::Shared::new(cfg.clone()).context("checking the scalers")?;
        tracing::info!(
            "{}: {} services ({}), scalers {}, decision period {} s",
            a.config.display(),
            cfg.services().len(),
            cfg.services().join(", "),
            cfg.scalers
                .iter()
                .map(|(l, _)| l.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            cfg.interval_ms() as f64 / 1000.0
        );
        return Ok(());
    }
    serve::run_until_signal(cfg, |r| {
        tracing::info!(
            "listening: gRPC {} (KEDA), HTTP {} (/healthz, /readyz, /metrics, /push)",
            r.grpc,
            r.http
        );
    })?;
    Ok(())
}
