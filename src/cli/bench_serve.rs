//! `holoscale bench serve`: the KEDA server under load on loopback. It starts `holoscale
//! serve` as a child process (push feed, on free loopback ports), pushes simulated
//! telemetry one interval at a time (the decision time per period), then sends
//! `GetMetrics` for every service at a fixed rate for a bounded time and number of
//! requests (p50/p99 latency, errors), and reads the server's CPU time and peak memory
//! before stopping it with SIGTERM.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use holoscale::datasets::io::NoProgress;
use holoscale::datasets::time;
use holoscale::scaler::serve::load::{self, LoadReport};
use holoscale::sim::{self, observe::OBSERVED_COLUMNS, policy};

use super::output::print_json;

#[derive(Debug, Args)]
pub struct ServeBenchArgs {
    /// Application whose services are served (`holoscale apps list`).
    #[arg(long, default_value = "train-ticket")]
    app: String,
    /// Simulated telemetry pushed before the load (one push per interval).
    #[arg(long, default_value = "2h")]
    duration: String,
    /// The served scaler (`hpa`, `deepscaler:MODEL_DIR` with a model of the app, ...).
    #[arg(long, default_value = "hpa")]
    scaler: String,
    /// GetMetrics requests per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Length of the load, seconds.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// Most requests sent (the load stops at whichever bound comes first).
    #[arg(long, default_value_t = 100_000)]
    max_requests: u64,
    /// gRPC connections the requests are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Simulation seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Debug, Serialize)]
struct ServeBench {
    app: String,
    services: usize,
    scaler: String,
    pushed_intervals: usize,
    push_p50_ms: f64,
    push_p99_ms: f64,
    decision_mean_ms: f64,
    load: LoadReport,
    server_cpu_seconds: Option<f64>,
    server_cpu_share_during_load: Option<f64>,
    server_peak_rss_mib: Option<f64>,
    server_exit: String,
}

/// Kills the child if the benchmark fails half-way.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// CPU seconds (user + system) of process `pid` (Linux `/proc/PID/stat`).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / USER_HZ)
}

/// The unit of `/proc/PID/stat`'s CPU times: the kernel ABI's USER_HZ, 100 per second on
/// x86 and ARM Linux (what `sysconf(_SC_CLK_TCK)` returns there).
const USER_HZ: f64 = 100.0;

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn percentile(times: &mut [f64], q: f64) -> f64 {
    times.sort_by(f64::total_cmp);
    load::quantile(times, q)
}

pub fn run(a: ServeBenchArgs) -> Result<()> {
    if !(a.seconds > 0.0 && a.seconds <= 600.0) {
        bail!("--seconds must be in (0, 600]");
    }
    let spec = sim::apps::resolve(&a.app, a.seed)?;
    let services: Vec<String> = spec.services.iter().map(|s| s.name.clone()).collect();
    let cfg = sim::SimConfig {
        duration_ms: time::parse_duration_ms(&a.duration, "--duration")?,
        seed: a.seed,
        ..sim::SimConfig::default()
    };
    let mut pol = policy::by_name("hpa", services.len(), a.seed)?;
    let out = sim::simulate(&spec, &cfg, &mut pol, &NoProgress)?;
    let tel = &out.telemetry;

    let dir = std::env::temp_dir().join(format!("holoscale-bench-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (grpc, http) = (free_port()?, free_port()?);
    let scaler = match a.scaler.strip_prefix("deepscaler:") {
        Some(dir) => format!(
            "deepscaler:{}",
            std::fs::canonicalize(dir)
                .with_context(|| format!("model directory {dir}"))?
                .display()
        ),
        None => a.scaler.clone(),
    };
    let names: Vec<String> = services.iter().map(|s| format!("\"{s}\"")).collect();
    let services_line = if scaler.starts_with("deepscaler:") {
        String::new()
    } else {
        format!(
            "services = [{}]\ninterval_s = {}\n",
            names.join(", "),
            cfg.interval_ms as f64 / 1000.0
        )
    };
    let toml = format!(
        "scalers = [\"{scaler}\"]\n{services_line}grpc_listen = \"127.0.0.1:{grpc}\"\nhttp_listen = \"127.0.0.1:{http}\"\nkeep_last_s = 100000\n[feed]\nmode = \"push\"\n"
    );
    let config = dir.join("serve.toml");
    std::fs::File::create(&config)?.write_all(toml.as_bytes())?;
    let child = Command::new(std::env::current_exe()?)
        .args(["-q", "serve", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("starting holoscale serve")?;
    let pid = child.id();
    let mut server = Server(Some(child));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let base = format!("http://127.0.0.1:{http}");
    let started = Instant::now();
    while agent.get(format!("{base}/healthz")).call().is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("holoscale serve did not answer /healthz within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // Push every interval: the decision time per period, as the feed sees it.
    let columns: Vec<(usize, &str)> = tel
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| OBSERVED_COLUMNS.contains(&c.as_str()))
        .map(|(i, c)| (i, c.as_str()))
        .collect();
    let mut push_ms = Vec::with_capacity(tel.len());
    for t in 0..tel.len() {
        let mut rows = Vec::with_capacity(services.len());
        for (n, service) in tel.services().iter().enumerate() {
            let mut row = serde_json::Map::new();
            row.insert("timestamp".into(), tel.timestamp(t).into());
            row.insert("service".into(), service.clone().into());
            for &(c, name) in &columns {
                let v = tel.values()[[t, n, c]];
                if tel.observed()[[t, n, c]] && v.is_finite() && v >= 0.0 {
                    row.insert(name.into(), v.into());
                }
            }
            rows.push(serde_json::Value::Object(row));
        }
        let body = serde_json::to_string(&rows)?;
        let t0 = Instant::now();
        let mut r = agent
            .post(format!("{base}/push"))
            .header("content-type", "application/json")
            .send(body)?;
        let status = r.status().as_u16();
        if status != 200 {
            bail!(
                "push {t} refused: {}",
                r.body_mut().read_to_string().unwrap_or_default()
            );
        }
        push_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let metrics = agent
        .get(format!("{base}/metrics"))
        .call()?
        .body_mut()
        .read_to_string()?;
    let value = |name: &str| {
        metrics.lines().find_map(|l| {
            l.strip_prefix(name)
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
    };
    let decision_mean_ms = match (
        value("holoscale_serve_decision_seconds_total "),
        value("holoscale_serve_decisions_total "),
    ) {
        (Some(s), Some(n)) if n > 0.0 => 1000.0 * s / n,
        _ => f64::NAN,
    };

    let cpu_before = cpu_seconds(pid);
    let load = load::run_blocking(
        &format!("http://127.0.0.1:{grpc}"),
        &services,
        a.rate,
        Duration::from_secs_f64(a.seconds),
        a.max_requests,
        a.connections,
    )?;
    let cpu_after = cpu_seconds(pid);
    let peak = peak_rss_mib(pid);
    // Graceful stop: SIGTERM, as Kubernetes sends.
    let mut child = server.0.take().expect("started");
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = child.wait()?;
    let report = ServeBench {
        app: a.app.clone(),
        services: services.len(),
        scaler,
        pushed_intervals: push_ms.len(),
        push_p50_ms: percentile(&mut push_ms.clone(), 0.5),
        push_p99_ms: percentile(&mut push_ms, 0.99),
        decision_mean_ms,
        server_cpu_seconds: cpu_after,
        server_cpu_share_during_load: match (cpu_before, cpu_after) {
            (Some(b), Some(e)) => Some((e - b) / load.seconds),
            _ => None,
        },
        server_peak_rss_mib: peak,
        server_exit: exit.to_string(),
        load,
    };
    let _ = std::fs::remove_dir_all(&dir);
    print_json(&report)
}
