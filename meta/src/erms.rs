//! Erms' closed form for partial SLOs (Luo et al., ASPLOS 2023; SPEC 5): for a call tree of
//! services with linear latency-load profiles `L_i = a_i · (w_i / n_i) + b_i` (`w_i` the
//! service's total load, `n_i` its containers), the per-service latency targets that
//! minimise the total number of containers subject to the tree's latency meeting the
//! end-to-end SLO.
//!
//! On a sequential chain the optimum gives each service
//! `T_i = b_i + √(a_i w_i) / Σ_j √(a_j w_j) · (SLO − Σ_j b_j)` and
//! `n_i = ⌈a_i w_i / (T_i − b_i)⌉`. A tree is reduced bottom-up to one virtual service:
//! sequential steps merge as `√(a w) = Σ √(a_i w_i)`, `b = Σ b_i`; parallel branches as
//! `a w = Σ a_i w_i`, `b = max b_i` (each branch must finish within the block's target).
//! The targets are then handed down: a sequential block splits its target by the formula
//! above, a parallel block gives every branch its whole target.
//!
//! holoscale's choices where Erms is silent: a service with no load still runs one
//! container (the formula gives zero), and a sequential block whose services all have no
//! load splits its slack evenly.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::profile::Linear;

/// A call tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree {
    /// One service: its profile and its total load, requests/s.
    Service {
        /// The service.
        name: String,
        /// Its latency-load profile.
        profile: Linear,
        /// Its total load, requests/s (spread over its containers).
        load: f64,
    },
    /// Steps run one after another: their latencies add.
    Seq(Vec<Tree>),
    /// Branches run at the same time: the slowest one counts.
    Par(Vec<Tree>),
}

impl Tree {
    /// A service leaf.
    pub fn service(name: &str, a: f64, b: f64, load: f64) -> Result<Tree> {
        Ok(Tree::Service {
            name: name.to_string(),
            profile: Linear::new(a, b)?,
            load,
        })
    }

    /// The tree reduced to one virtual service: (`√(a·w)`, `b`).
    fn merged(&self) -> Result<(f64, f64)> {
        match self {
            Tree::Service {
                name,
                profile,
                load,
            } => {
                if name.is_empty() {
                    return Err(Error::param("service", "a service needs a name"));
                }
                if !(load.is_finite() && *load >= 0.0) {
                    return Err(Error::param(
                        name.as_str(),
                        format!("load must be a finite number of requests/s >= 0, got {load}"),
                    ));
                }
                Ok(((profile.a * load).sqrt(), profile.b))
            }
            Tree::Seq(steps) | Tree::Par(steps) if steps.is_empty() => Err(Error::param(
                "tree",
                "a sequential or parallel block needs at least one step",
            )),
            Tree::Seq(steps) => {
                let mut out = (0.0, 0.0);
                for s in steps {
                    let (sw, b) = s.merged()?;
                    out = (out.0 + sw, out.1 + b);
                }
                Ok(out)
            }
            Tree::Par(branches) => {
                let mut out = (0.0_f64, 0.0_f64);
                for s in branches {
                    let (sw, b) = s.merged()?;
                    out = (out.0 + sw * sw, out.1.max(b));
                }
                Ok((out.0.sqrt(), out.1))
            }
        }
    }

    /// Hands `target` down the tree.
    fn assign(&self, target: f64, out: &mut Vec<Target>) -> Result<()> {
        match self {
            Tree::Service {
                name,
                profile,
                load,
            } => {
                let slack = target - profile.b;
                let n = (profile.a * load / slack).ceil().max(1.0);
                out.push(Target {
                    service: name.clone(),
                    latency_ms: target,
                    containers: n as u32,
                });
                Ok(())
            }
            Tree::Seq(steps) => {
                let parts = steps.iter().map(Tree::merged).collect::<Result<Vec<_>>>()?;
                let total_sw: f64 = parts.iter().map(|p| p.0).sum();
                let total_b: f64 = parts.iter().map(|p| p.1).sum();
                let slack = target - total_b;
                for (step, (sw, b)) in steps.iter().zip(&parts) {
                    let share = if total_sw > 0.0 {
                        sw / total_sw
                    } else {
                        1.0 / steps.len() as f64
                    };
                    step.assign(b + share * slack, out)?;
                }
                Ok(())
            }
            Tree::Par(branches) => {
                for b in branches {
                    b.assign(target, out)?;
                }
                Ok(())
            }
        }
    }
}

/// One service's partial SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// The service.
    pub service: String,
    /// Its latency target, ms.
    pub latency_ms: f64,
    /// Containers that keep its latency within the target at its load.
    pub containers: u32,
}

/// The partial SLOs of a tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    /// Per service, in the tree's order (depth first).
    pub targets: Vec<Target>,
    /// Total containers.
    pub containers: u32,
    /// The smallest SLO that is feasible at all (the zero-load latencies along the slowest
    /// path): any SLO above it is.
    pub min_slo_ms: f64,
}

/// The partial SLOs of `tree` under an end-to-end `slo_ms`, by Erms' closed form. An SLO at
/// or below the zero-load latency of the slowest path is [`Error::Infeasible`].
pub fn allocate(tree: &Tree, slo_ms: f64) -> Result<Allocation> {
    if !(slo_ms.is_finite() && slo_ms > 0.0) {
        return Err(Error::param(
            "slo",
            format!("must be a positive number of ms, got {slo_ms}"),
        ));
    }
    let (_, min_slo_ms) = tree.merged()?;
    if slo_ms <= min_slo_ms {
        return Err(Error::Infeasible {
            slo_ms,
            min_ms: min_slo_ms,
        });
    }
    let mut targets = Vec::new();
    tree.assign(slo_ms, &mut targets)?;
    let containers = targets.iter().map(|t| t.containers).sum();
    Ok(Allocation {
        targets,
        containers,
        min_slo_ms,
    })
}
