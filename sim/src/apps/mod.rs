//! The built-in benchmark applications (SPEC 6), shipped inside the binary.
//!
//! | name | services | topology from |
//! |---|---|---|
//! | `bookinfo` | 4 | Istio's Bookinfo (`data/apps/bookinfo-calls.csv`) |
//! | `online-boutique` | 10 (14 call edges) | Google's Online Boutique and its load generator's request mix |
//! | `sock-shop` | 14 with datastores and queue | Weaveworks' Sock Shop manifests |
//! | `social-network`, `hotel-reservation`, `media` | 13, 8, 10 | DeathStarBench call trees and measured latency profiles (Erms) |
//! | `train-ticket` | 41 (the 95 static call references) | Train-Ticket's sources and gateway routes |
//! | `alibaba` | any (`alibaba:2000`) | random, sampled from Alibaba's call-graph statistics |
//!
//! Every application's default workload scale is calibrated so that its busiest service
//! needs about twelve replicas at the peak rate and no service more than twenty.

mod alibaba;
mod classic;
mod dsb;

use std::collections::BTreeSet;

use super::spec::{AppSpec, CallSpec, LoadScale, OperationSpec, Profile, Slo};
use crate::error::{Error, Result};

pub use alibaba::random_app;

/// Names of the built-in applications (`alibaba` takes a size: `alibaba:N`).
pub const BUILTIN: [&str; 8] = [
    "bookinfo",
    "online-boutique",
    "sock-shop",
    "social-network",
    "hotel-reservation",
    "media",
    "train-ticket",
    "alibaba",
];

/// Replicas the busiest service needs at the default peak rate.
pub const CALIBRATED_PEAK_REPLICAS: f64 = 12.0;

/// An application by name or file: a spec file when `app` ends in `.toml` or names an
/// existing file, else a built-in application ([`builtin`]).
pub fn resolve(app: &str, seed: u64) -> Result<AppSpec> {
    if app.ends_with(".toml") || std::path::Path::new(app).is_file() {
        return AppSpec::from_file(std::path::Path::new(app));
    }
    builtin(app, seed)
}

/// A built-in application by name; `seed` only matters for `alibaba:N` (default 200
/// services).
pub fn builtin(name: &str, seed: u64) -> Result<AppSpec> {
    let spec = match name {
        "bookinfo" => classic::bookinfo(),
        "online-boutique" | "boutique" => classic::online_boutique(),
        "sock-shop" => classic::sock_shop(),
        "train-ticket" => classic::train_ticket(),
        "social-network" => dsb::social_network(),
        "hotel-reservation" => dsb::hotel_reservation(),
        "media" => dsb::media(),
        n if n == "alibaba" || n.starts_with("alibaba:") => {
            let size = match n.split_once(':') {
                Some((_, s)) => s.parse::<usize>().ok().filter(|&s| s >= 4).ok_or_else(|| {
                    Error::param(
                        "app",
                        format!("`{n}`: give the size as alibaba:N with N >= 4"),
                    )
                })?,
                None => 200,
            };
            random_app(size, seed)
        }
        other => {
            return Err(Error::param(
                "app",
                format!(
                    "no built-in application `{other}`; choose one of {} or give a TOML file",
                    BUILTIN.join(", ")
                ),
            ));
        }
    };
    spec.validate(name)?;
    Ok(spec)
}

/// Parses operations written as indented trees:
///
/// ```text
/// op checkout 1.0
/// frontend
///   1 checkoutservice
///     1 cartservice
///     2 productcatalogservice x3
///   2 emailservice async
/// ```
///
/// A line is `step service` (root: only `service`), optionally `xF` for the fan-out and
/// `async`; two spaces of indentation per level.
pub(crate) fn parse_ops(text: &str) -> Vec<OperationSpec> {
    let mut ops: Vec<OperationSpec> = Vec::new();
    // Stack of (depth, tag, number of children so far).
    let mut stack: Vec<(usize, String, usize)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let depth = (line.len() - line.trim_start().len()) / 2;
        let mut words = line.split_whitespace();
        let first = words.next().expect("non-empty line");
        if first == "op" {
            let name = words.next().expect("op has a name");
            let weight: f64 = words
                .next()
                .expect("op has a weight")
                .parse()
                .expect("weight is a number");
            ops.push(OperationSpec {
                name: name.to_string(),
                weight,
                calls: Vec::new(),
            });
            stack.clear();
            continue;
        }
        let op = ops.last_mut().expect("a tree follows an `op` line");
        if depth == 0 {
            op.calls.push(CallSpec::new("1", first, 1));
            stack = vec![(0, "1".to_string(), 0)];
            continue;
        }
        let step: u32 = first.parse().expect("call lines start with a step");
        let service = words.next().expect("call line names a service");
        let mut call = CallSpec::new("", service, step);
        for w in words {
            if w == "async" {
                call = call.asynchronous();
            } else if let Some(f) = w.strip_prefix('x') {
                call = call.fanout(f.parse().expect("fan-out is a number"));
            }
        }
        while stack.last().is_some_and(|(d, _, _)| *d >= depth) {
            stack.pop();
        }
        let parent = stack.last_mut().expect("indented under a parent");
        parent.2 += 1;
        let tag = format!("{}.{}", parent.1, parent.2);
        call.tag = tag.clone();
        op.calls.push(call);
        stack.push((depth, tag, 0));
    }
    ops
}

/// Expected calls to each service per request entering the application (mix-weighted).
pub fn load_shares(spec: &AppSpec) -> Vec<f64> {
    let names: BTreeSet<&str> = spec.services.iter().map(|s| s.name.as_str()).collect();
    let total: f64 = spec.operations.iter().map(|o| o.weight).sum();
    let mut share = vec![0.0; spec.services.len()];
    for op in &spec.operations {
        let tree = op.tree(&names).expect("valid spec");
        let mut mult = vec![1.0; tree.len()];
        for (k, n) in tree.iter().enumerate() {
            if let Some(p) = n.parent {
                mult[k] = mult[p] * n.fanout;
            }
            let s = spec.service_index(&n.service).expect("valid spec");
            share[s] += op.weight / total * mult[k];
        }
    }
    share
}

/// Sets the default workload so that the busiest service needs
/// [`CALIBRATED_PEAK_REPLICAS`] replicas at the peak (base = peak / 4), and the SLO to three
/// times the slowest operation's mean latency at half the knee load, rounded up to 10 ms.
pub(crate) fn calibrate(spec: &mut AppSpec) {
    let share = load_shares(spec);
    let peak = spec
        .services
        .iter()
        .zip(&share)
        .filter(|(_, sh)| **sh > 0.0)
        .map(|(s, &sh)| s.capacity_rps() * s.util_target / sh)
        .fold(f64::INFINITY, f64::min)
        * CALIBRATED_PEAK_REPLICAS;
    let peak = (peak * 10.0).round() / 10.0;
    spec.workload = LoadScale {
        base_rps: (peak / 4.0 * 10.0).round() / 10.0,
        peak_rps: peak,
    };
    // Nominal own latency at half the knee, ms.
    let own: Vec<f64> = spec
        .services
        .iter()
        .map(|s| match s.effective_profile() {
            Profile::TwoPiece {
                base_ms,
                slope_ms,
                knee_rps,
                ..
            } => base_ms + slope_ms * knee_rps / 2.0,
            Profile::Mmc => 1000.0 / s.capacity_rps() / 0.65,
        })
        .collect();
    let names: BTreeSet<&str> = spec.services.iter().map(|s| s.name.as_str()).collect();
    let mut worst: f64 = 0.0;
    for op in &spec.operations {
        let tree = op.tree(&names).expect("valid spec");
        let mut mean = vec![0.0; tree.len()];
        for k in (0..tree.len()).rev() {
            let s = spec.service_index(&tree[k].service).expect("valid spec");
            let mut stages: std::collections::BTreeMap<u32, f64> = Default::default();
            for (c, n) in tree.iter().enumerate() {
                if n.parent == Some(k) && !n.asynchronous {
                    let e = stages.entry(n.step).or_default();
                    *e = e.max(mean[c] * n.fanout);
                }
            }
            mean[k] = own[s] + stages.values().sum::<f64>();
        }
        worst = worst.max(mean[0]);
    }
    spec.slo = Slo {
        percentile: 95.0,
        latency_ms: ((3.0 * worst) / 10.0).ceil() * 10.0,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_text_becomes_tagged_calls() {
        let ops = parse_ops("op buy 2\nfront\n  1 a x3\n    1 db\n  2 b async\nop look 1\nfront\n");
        assert_eq!(ops.len(), 2);
        let tags: Vec<(&str, &str, u32)> = ops[0]
            .calls
            .iter()
            .map(|c| (c.tag.as_str(), c.service.as_str(), c.step))
            .collect();
        assert_eq!(
            tags,
            [
                ("1", "front", 1),
                ("1.1", "a", 1),
                ("1.1.1", "db", 1),
                ("1.2", "b", 2)
            ]
        );
        assert_eq!(ops[0].calls[1].fanout, 3.0);
        assert!(ops[0].calls[3].asynchronous);
        assert_eq!(ops[1].calls.len(), 1);
    }

    #[test]
    fn unknown_app_lists_the_choices() {
        let err = builtin("nope", 0).unwrap_err().to_string();
        assert!(err.contains("app") && err.contains("train-ticket"), "{err}");
        assert!(builtin("alibaba:2", 0).is_err());
    }
}
