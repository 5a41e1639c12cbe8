//! [`CallEdges`]: who calls whom, how often (SPEC 2.2).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::error::{Error, Result};

/// One observed call relation: `source` calls `destination` at `req_rate` requests per second,
/// at one time (`timestamp_ms`) or on average (static graph, no timestamp).
#[derive(Debug, Clone, PartialEq)]
pub struct CallEdge {
    /// Sample time, milliseconds since the epoch; `None` for a static graph.
    pub timestamp_ms: Option<i64>,
    /// Calling service (shared: a time-varying graph repeats each name many times).
    pub source: Arc<str>,
    /// Called service.
    pub destination: Arc<str>,
    /// Requests per second from source to destination.
    pub req_rate: f64,
    /// Mean latency of those calls, milliseconds, when known.
    pub latency_ms: Option<f64>,
}

/// Hands out one shared copy of each name, so that many edges naming the same services share
/// their strings.
#[derive(Debug, Default)]
pub(crate) struct Names(std::collections::HashMap<String, Arc<str>>);

impl Names {
    /// The shared copy of `name`.
    pub(crate) fn get(&mut self, name: &str) -> Arc<str> {
        if let Some(n) = self.0.get(name) {
            return n.clone();
        }
        let n: Arc<str> = name.into();
        self.0.insert(name.to_string(), n.clone());
        n
    }
}

/// A static edge after aggregation over time.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticEdge {
    /// Calling service.
    pub source: String,
    /// Called service.
    pub destination: String,
    /// Mean requests per second over the sampled times (absent samples count as zero).
    pub req_rate: f64,
    /// Rate-weighted mean latency, milliseconds, when known.
    pub latency_ms: Option<f64>,
}

/// The call edges of an application: either all static (no timestamps) or all time-stamped.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallEdges {
    edges: Vec<CallEdge>,
}

impl CallEdges {
    /// Checks and wraps edges. `source` names the data in messages.
    ///
    /// Refused: empty service names, rates that are negative or not finite, a mix of edges
    /// with and without timestamps.
    pub fn try_new(source: &str, edges: Vec<CallEdge>) -> Result<CallEdges> {
        let stamped = edges.iter().filter(|e| e.timestamp_ms.is_some()).count();
        if stamped != 0 && stamped != edges.len() {
            return Err(Error::Parse {
                file: source.to_string(),
                line: None,
                column: crate::schema::TIMESTAMP.into(),
                message: "some edges have a timestamp and some do not; a file is either static or time-varying".into(),
            });
        }
        for e in &edges {
            if e.source.is_empty() || e.destination.is_empty() {
                return Err(Error::Parse {
                    file: source.to_string(),
                    line: None,
                    column: if e.source.is_empty() {
                        "source"
                    } else {
                        "destination"
                    }
                    .into(),
                    message: "an edge has an empty service name".into(),
                });
            }
            if !(e.req_rate.is_finite() && e.req_rate >= 0.0) {
                return Err(Error::Parse {
                    file: source.to_string(),
                    line: None,
                    column: crate::schema::REQ_RATE.into(),
                    message: format!(
                        "edge {} -> {} has rate {}; expected a finite number >= 0",
                        e.source, e.destination, e.req_rate
                    ),
                });
            }
        }
        Ok(CallEdges { edges })
    }

    /// A static graph from (source, destination, rate) triples.
    pub fn from_static<S: AsRef<str>>(edges: &[(S, S, f64)]) -> Result<CallEdges> {
        CallEdges::try_new(
            "edges",
            edges
                .iter()
                .map(|(s, d, r)| CallEdge {
                    timestamp_ms: None,
                    source: s.as_ref().into(),
                    destination: d.as_ref().into(),
                    req_rate: *r,
                    latency_ms: None,
                })
                .collect(),
        )
    }

    /// All edges in file order.
    pub fn edges(&self) -> &[CallEdge] {
        &self.edges
    }

    /// Number of edge rows.
    pub fn len(&self) -> usize {
        self.edges.len()
    }

    /// True when there are no edges.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// True when no edge carries a timestamp.
    pub fn is_static(&self) -> bool {
        self.edges.iter().all(|e| e.timestamp_ms.is_none())
    }

    /// Every service named by an edge, sorted.
    pub fn services(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .edges
            .iter()
            .flat_map(|e| [&*e.source, &*e.destination])
            .collect();
        set.into_iter().map(str::to_string).collect()
    }

    /// The static graph: per (source, destination), the mean rate over the distinct sample
    /// times (a pair absent at a time counts as zero there) and the rate-weighted latency.
    /// Sorted by (source, destination).
    pub fn aggregate(&self) -> Vec<StaticEdge> {
        let times: BTreeSet<Option<i64>> = self.edges.iter().map(|e| e.timestamp_ms).collect();
        let samples = times.len().max(1) as f64;
        let mut acc: BTreeMap<(&str, &str), (f64, f64, f64)> = BTreeMap::new();
        for e in &self.edges {
            let a = acc.entry((&*e.source, &*e.destination)).or_default();
            a.0 += e.req_rate;
            if let Some(l) = e.latency_ms.filter(|l| l.is_finite()) {
                a.1 += l * e.req_rate.max(f64::MIN_POSITIVE);
                a.2 += e.req_rate.max(f64::MIN_POSITIVE);
            }
        }
        acc.into_iter()
            .map(|((s, d), (rate, lat_w, w))| StaticEdge {
                source: s.to_string(),
                destination: d.to_string(),
                req_rate: rate / samples,
                latency_ms: (w > 0.0).then(|| lat_w / w),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(t: Option<i64>, s: &str, d: &str, r: f64, l: Option<f64>) -> CallEdge {
        CallEdge {
            timestamp_ms: t,
            source: s.into(),
            destination: d.into(),
            req_rate: r,
            latency_ms: l,
        }
    }

    #[test]
    fn aggregate_averages_over_sample_times() {
        let edges = CallEdges::try_new(
            "t",
            vec![
                e(Some(0), "a", "b", 4.0, Some(10.0)),
                e(Some(30), "a", "b", 2.0, Some(40.0)),
                e(Some(30), "a", "c", 6.0, None),
            ],
        )
        .unwrap();
        let agg = edges.aggregate();
        assert_eq!(agg.len(), 2);
        assert_eq!(agg[0].req_rate, 3.0);
        // Rate-weighted: (4*10 + 2*40) / 6 = 20.
        assert!((agg[0].latency_ms.unwrap() - 20.0).abs() < 1e-12);
        assert_eq!(agg[1].req_rate, 3.0, "absent at t=0 counts as zero");
        assert_eq!(edges.services(), ["a", "b", "c"]);
    }

    #[test]
    fn bad_edges_are_refused() {
        let err = CallEdges::try_new("x.csv", vec![e(None, "a", "b", -1.0, None)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.csv") && err.contains("a -> b") && err.contains("-1"),
            "{err}"
        );
        let err = CallEdges::try_new(
            "x.csv",
            vec![
                e(None, "a", "b", 1.0, None),
                e(Some(0), "a", "c", 1.0, None),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("static or time-varying"), "{err}");
    }
}
