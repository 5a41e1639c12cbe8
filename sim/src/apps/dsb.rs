//! DeathStarBench Social Network, Hotel Reservation and Media from the Erms artifact
//! (`data/erms/`): call trees from `span-relationships.csv` and latency-load profiles from
//! `latency-profiles.csv`.
//!
//! Spans of a service calling itself (`parentMS == childMS`: its own handlers, Redis, Mongo
//! and Memcached calls) are folded into the service's own work; the calls they make to other
//! services keep their order (a self-span's step places its calls among its siblings').
//!
//! The profiles are two-piece linear fits whose units the artifact does not document. They
//! are read as microseconds of latency against requests per second per container and
//! sanitised: of the rows of a (operation, service) pair, the one with the lowest CPU and
//! memory interference whose fit succeeded is used; a negative intercept or slope is replaced
//! by a small positive default; the knee becomes the inflection point and capacity is set so
//! that the knee sits at 70% of it. Services without a usable fit get the default profile.

use std::collections::BTreeMap;

use super::calibrate;
use crate::spec::{
    AppSpec, CallSpec, DEFAULT_MEMORY_S, LatentKind, LatentSpec, LoadScale, OperationSpec, Profile,
    ServiceSpec, Slo,
};

struct Span {
    parent_ms: String,
    child_ms: String,
    step: u32,
}

/// Parses the span file into, per operation, spans by tag.
fn spans(csv: &str) -> BTreeMap<String, BTreeMap<String, Span>> {
    let mut out: BTreeMap<String, BTreeMap<String, Span>> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() < 7 || f[0].is_empty() || f[5].is_empty() {
            continue;
        }
        out.entry(f[5].to_string()).or_default().insert(
            f[4].to_string(),
            Span {
                parent_ms: f[0].to_string(),
                child_ms: f[1].to_string(),
                step: f[6].parse().unwrap_or(1),
            },
        );
    }
    out
}

/// Order key of a call: the steps along the self-spans that lead to it.
type Key = Vec<u32>;

/// The cross-service calls made by `service` under span `tag` (its children), with their
/// order keys, folding self-spans.
fn lift(
    op: &BTreeMap<String, Span>,
    tag: &str,
    service: &str,
    prefix: &Key,
    out: &mut Vec<(Key, String)>,
) {
    let depth = tag.split('.').count();
    for (t, s) in op.range(format!("{tag}.")..) {
        if !t.starts_with(&format!("{tag}.")) {
            break;
        }
        if t.split('.').count() != depth + 1 {
            continue;
        }
        let mut key = prefix.clone();
        key.push(s.step);
        if s.child_ms == service {
            lift(op, t, service, &key, out);
        } else {
            out.push((key, t.clone()));
        }
    }
}

/// Builds the call tree of one operation.
fn operation(name: &str, weight: f64, op: &BTreeMap<String, Span>) -> OperationSpec {
    let top: Vec<(&String, &Span)> = op.iter().filter(|(t, _)| !t.contains('.')).collect();
    let root_service = top[0].1.parent_ms.clone();
    let mut calls = vec![CallSpec::new("1", &root_service, 1)];
    // Top-level spans of the root service are its own handlers (self-spans) or direct calls.
    let mut first: Vec<(Key, String)> = Vec::new();
    for (t, s) in &top {
        if s.child_ms == root_service {
            lift(op, t, &root_service, &vec![s.step], &mut first);
        } else {
            first.push((vec![s.step], (*t).clone()));
        }
    }
    fn emit(
        op: &BTreeMap<String, Span>,
        mut children: Vec<(Key, String)>,
        parent_tag: &str,
        calls: &mut Vec<CallSpec>,
    ) {
        children.sort();
        let mut keys: Vec<Key> = children.iter().map(|(k, _)| k.clone()).collect();
        keys.dedup();
        for (i, (key, span_tag)) in children.iter().enumerate() {
            let step = keys.iter().position(|k| k == key).expect("key listed") as u32 + 1;
            let service = op[span_tag].child_ms.clone();
            let tag = format!("{parent_tag}.{}", i + 1);
            calls.push(CallSpec::new(&tag, &service, step));
            let mut grand = Vec::new();
            lift(op, span_tag, &service, &Vec::new(), &mut grand);
            emit(op, grand, &tag, calls);
        }
    }
    emit(op, first, "1", &mut calls);
    OperationSpec {
        name: name.to_string(),
        weight,
        calls,
    }
}

/// A sanitised two-piece profile per service from the Erms fits.
fn profiles(csv: &str) -> BTreeMap<String, (f64, f64, f64, f64)> {
    let num = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    // tag -> best row (interference, inflection, a1, b1, a2)
    let mut best: BTreeMap<String, (f64, f64, f64, f64, f64)> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 10 || f[0].trim() != "True" {
            continue;
        }
        let (Some(inf), Some(a1), Some(b1), Some(a2), Some(ci), Some(mi)) = (
            num(f[1]),
            num(f[3]),
            num(f[4]),
            num(f[5]),
            num(f[8]),
            num(f[9]),
        ) else {
            continue;
        };
        if inf <= 0.0 {
            continue;
        }
        let inter = ci * 1000.0 + mi;
        let tag = f[7].trim().to_string();
        if best.get(&tag).is_none_or(|b| inter < b.0) {
            best.insert(tag, (inter, inf, a1, b1, a2));
        }
    }
    let mut out = BTreeMap::new();
    for (tag, (_, inf, a1, b1, a2)) in best {
        let Some((_, service)) = tag.split_once('_') else {
            continue;
        };
        if out.contains_key(service) {
            continue;
        }
        // Microseconds -> milliseconds.
        let at_knee = ((a1 * inf + b1) / 1000.0).clamp(0.3, 40.0);
        let base = if b1 > 0.0 {
            (b1 / 1000.0).clamp(0.2, at_knee)
        } else {
            0.5 * at_knee
        };
        let slope = ((at_knee - base) / inf).max(0.0);
        let steep = (a2 / 1000.0).max(3.0 * slope).max(base / inf);
        out.insert(service.to_string(), (base, slope, inf, steep));
    }
    out
}

fn build(
    name: &str,
    description: &str,
    span_csv: &str,
    profile_csv: &str,
    weights: &[(&str, f64)],
    latent: Vec<LatentSpec>,
) -> AppSpec {
    let ops = spans(span_csv);
    let profs = profiles(profile_csv);
    let operations: Vec<OperationSpec> = weights
        .iter()
        .map(|(op, w)| operation(op, *w, &ops[*op]))
        .collect();
    let mut names: Vec<String> = operations
        .iter()
        .flat_map(|o| o.calls.iter().map(|c| c.service.clone()))
        .collect();
    names.sort();
    names.dedup();
    let services = names
        .iter()
        .map(|n| match profs.get(n) {
            Some(&(base_ms, slope_ms, knee_rps, steep_slope_ms)) => {
                // Capacity such that the knee is at 70% of it.
                let mu = knee_rps / 0.7;
                ServiceSpec::new(n, 1.0 / mu).with_profile(Profile::TwoPiece {
                    base_ms,
                    slope_ms,
                    knee_rps,
                    steep_slope_ms,
                })
            }
            None => ServiceSpec::new(n, 0.01),
        })
        .collect();
    let mut spec = AppSpec {
        name: name.to_string(),
        description: description.to_string(),
        slo: Slo {
            percentile: 95.0,
            latency_ms: 1.0,
        },
        workload: LoadScale {
            base_rps: 1.0,
            peak_rps: 1.0,
        },
        services,
        operations,
        latent,
    };
    calibrate(&mut spec);
    spec
}

fn latent(kind: LatentKind, a: &str, b: &str, via: Option<&str>) -> LatentSpec {
    LatentSpec {
        kind,
        services: [a.to_string(), b.to_string()],
        via: via.map(str::to_string),
        then: None,
        lag_s: 0.0,
        memory_s: DEFAULT_MEMORY_S,
        strength: 0.5,
    }
}

/// DeathStarBench Social Network: ComposePost 10%, ReadHomeTimeline 60%, ReadUserTimeline
/// 30% (the suite's mixed workload).
pub fn social_network() -> AppSpec {
    build(
        "social-network",
        "DeathStarBench Social Network: Erms call trees and latency profiles",
        include_str!("../../data/erms/social-network/span-relationships.csv"),
        include_str!("../../data/erms/social-network/latency-profiles.csv"),
        &[
            ("ComposePost", 0.1),
            ("HomeTimeline", 0.6),
            ("UserTimeline", 0.3),
        ],
        vec![
            latent(
                LatentKind::SameAction,
                "media-service",
                "unique-id-service",
                Some("ComposePost"),
            ),
            latent(
                LatentKind::SharedDatastore,
                "user-timeline-service",
                "home-timeline-service",
                Some("post-storage-service"),
            ),
            latent(
                LatentKind::CoLocated,
                "social-graph-service",
                "url-shorten-service",
                None,
            ),
        ],
    )
}

/// DeathStarBench Hotel Reservation: Search 60%, Recommendation 40%.
pub fn hotel_reservation() -> AppSpec {
    build(
        "hotel-reservation",
        "DeathStarBench Hotel Reservation: Erms call trees and latency profiles",
        include_str!("../../data/erms/hotel-reserv/span-relationships.csv"),
        include_str!("../../data/erms/hotel-reserv/latency-profiles.csv"),
        &[("Search", 0.6), ("Recommendation", 0.4)],
        vec![
            latent(LatentKind::SameAction, "geo", "rate", Some("Search")),
            latent(LatentKind::CoLocated, "reservation", "recommendation", None),
        ],
    )
}

/// DeathStarBench Media Microservices: ComposeReview.
pub fn media() -> AppSpec {
    build(
        "media",
        "DeathStarBench Media Microservices: Erms call tree and latency profiles",
        include_str!("../../data/erms/media-microsvc/span-relationships.csv"),
        include_str!("../../data/erms/media-microsvc/latency-profiles.csv"),
        &[("ComposeReview", 1.0)],
        vec![
            latent(
                LatentKind::SharedDatastore,
                "text-service",
                "unique-id-service",
                Some("compose-review-service"),
            ),
            latent(
                LatentKind::CoLocated,
                "movie-review-service",
                "user-review-service",
                None,
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotel_search_tree_keeps_the_sequence() {
        let spec = hotel_reservation();
        let search = spec.operations.iter().find(|o| o.name == "Search").unwrap();
        let calls: Vec<(&str, &str, u32)> = search
            .calls
            .iter()
            .map(|c| (c.tag.as_str(), c.service.as_str(), c.step))
            .collect();
        // frontend: search (geo, then rate), then reservation, then profile.
        assert_eq!(
            calls,
            [
                ("1", "frontend", 1),
                ("1.1", "search", 1),
                ("1.1.1", "geo", 1),
                ("1.1.2", "rate", 2),
                ("1.2", "reservation", 2),
                ("1.3", "profile", 3),
            ]
        );
        assert_eq!(spec.services.len(), 7);
    }

    #[test]
    fn social_network_compose_fans_out_in_parallel() {
        let spec = social_network();
        let compose = spec
            .operations
            .iter()
            .find(|o| o.name == "ComposePost")
            .unwrap();
        let first: Vec<(&str, u32)> = compose
            .calls
            .iter()
            .filter(|c| c.tag.matches('.').count() == 1)
            .map(|c| (c.service.as_str(), c.step))
            .collect();
        assert_eq!(
            first,
            [
                ("unique-id-service", 1),
                ("user-service", 1),
                ("text-service", 1),
                ("media-service", 1)
            ]
        );
        assert_eq!(spec.services.len(), 13);
        // Every profiled service got a two-piece profile with positive parts.
        let with_profile = spec.services.iter().filter(|s| s.profile.is_some()).count();
        assert!(with_profile >= 6, "{with_profile}");
    }
}
