//! Random applications shaped like Alibaba's production call graphs, of any size.
//!
//! The statistics (`data/alibaba/`, from the Erms artifact's analysis of Alibaba's 2021
//! traces) are used as follows: an operation's call-graph depth `D` is drawn with the share
//! of calls found at each depth (`nodeDistribution.csv`, depths 1–10); its size given the
//! depth from `depth-size.csv` (capped at 64 calls); each call below the root is a leaf with
//! the probability measured at its depth (`leafDistribution.csv`); a leaf's communication
//! paradigm is drawn from the shares at its depth (`paradigm.csv`): `db` and `memcached`
//! calls go to datastores, `mq` calls to queues (asynchronous), `rpc` and `http` calls to
//! stateless services. Services are picked by a Zipf popularity, so a few are shared by many
//! operations, as in Alibaba's traces; operation weights follow a Zipf law too.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::calibrate;
use crate::spec::{
    AppSpec, CallSpec, DEFAULT_MEMORY_S, LatentKind, LatentSpec, LoadScale, OperationSpec, Profile,
    ServiceKind, ServiceSpec, Slo,
};

struct Stats {
    depth: Vec<(usize, f64)>,
    size: BTreeMap<usize, Vec<(usize, f64)>>,
    leaf: BTreeMap<usize, f64>,
    /// Per depth: rpc, http, mq, db, memcached.
    paradigm: BTreeMap<usize, [f64; 5]>,
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect())
}

fn stats() -> Stats {
    let f = |s: &str| s.parse::<f64>().unwrap_or(0.0);
    let u = |s: &str| s.parse::<usize>().unwrap_or(0);
    let depth = rows(include_str!("../../data/alibaba/nodeDistribution.csv"))
        .map(|r| (u(r[1]), f(r[2])))
        .filter(|&(d, _)| (1..=10).contains(&d))
        .collect();
    let mut size: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
    for r in rows(include_str!("../../data/alibaba/depth-size.csv")) {
        size.entry(u(r[0])).or_default().push((u(r[1]), f(r[2])));
    }
    let leaf = rows(include_str!("../../data/alibaba/leafDistribution.csv"))
        .map(|r| (u(r[2]), f(r[4])))
        .collect();
    let paradigm = rows(include_str!("../../data/alibaba/paradigm.csv"))
        .map(|r| (u(r[0]), [f(r[1]), f(r[2]), f(r[3]), f(r[4]), f(r[5])]))
        .collect();
    Stats {
        depth,
        size,
        leaf,
        paradigm,
    }
}

fn pick<T: Copy>(rng: &mut impl Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|i| i.1).sum();
    let mut x = rng.random::<f64>() * total;
    for &(v, w) in items {
        if x < w {
            return v;
        }
        x -= w;
    }
    items.last().expect("non-empty").0
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stateless,
    Store,
    Queue,
}

struct Pool {
    names: Vec<String>,
    weights: Vec<f64>,
}

impl Pool {
    fn new(prefix: &str, n: usize, rng: &mut impl Rng) -> Pool {
        let mut weights: Vec<f64> = (1..=n).map(|r| 1.0 / r as f64).collect();
        // Shuffle popularity ranks.
        for i in (1..n).rev() {
            let j = rng.random_range(0..=i);
            weights.swap(i, j);
        }
        Pool {
            names: (0..n).map(|i| format!("{prefix}-{i:04}")).collect(),
            weights,
        }
    }

    fn draw(
        &self,
        rng: &mut impl Rng,
        avoid: &BTreeSet<usize>,
        uncovered: &BTreeSet<usize>,
    ) -> Option<usize> {
        if !uncovered.is_empty() && rng.random_bool(0.9) {
            let free: Vec<usize> = uncovered
                .iter()
                .copied()
                .filter(|i| !avoid.contains(i))
                .collect();
            if !free.is_empty() {
                return Some(free[rng.random_range(0..free.len())]);
            }
        }
        let items: Vec<(usize, f64)> = (0..self.names.len())
            .filter(|i| !avoid.contains(i))
            .map(|i| (i, self.weights[i]))
            .collect();
        (!items.is_empty()).then(|| pick(rng, &items))
    }
}

/// A random Alibaba-like application with `n` services (n >= 4), seeded.
pub fn random_app(n: usize, seed: u64) -> AppSpec {
    let n = n.max(4);
    let st = stats();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xa11_baba);
    let n_store = (n / 5).max(1);
    let n_queue = if n >= 20 { (n / 40).max(1) } else { 0 };
    let n_svc = n - n_store - n_queue;
    let pools = [
        Pool::new("svc", n_svc, &mut rng),
        Pool::new("db", n_store, &mut rng),
        Pool::new("mq", n_queue, &mut rng),
    ];
    let mut uncovered: [BTreeSet<usize>; 3] = [
        (0..n_svc).collect(),
        (0..n_store).collect(),
        (0..n_queue).collect(),
    ];
    let max_depth = if n < 12 {
        2
    } else {
        ((n as f64).log2() as usize).clamp(2, 10)
    };
    let depths: Vec<(usize, f64)> = st
        .depth
        .iter()
        .copied()
        .filter(|&(d, _)| d <= max_depth)
        .collect();
    let mut ops = Vec::new();
    let max_ops = 4 * n;
    while (!uncovered[0].is_empty() || ops.len() < 3) && ops.len() < max_ops {
        let d = pick(&mut rng, &depths);
        let sizes = &st.size[&d];
        let size = pick(&mut rng, sizes).clamp(d + 1, (d + 1).max(n_svc.min(64)));
        // Structure: parent of each call, depth of each call.
        let mut parent = vec![usize::MAX];
        let mut depth = vec![0usize];
        for k in 1..=d {
            parent.push(k - 1);
            depth.push(k);
        }
        while parent.len() < size {
            let dd = rng.random_range(1..=d);
            let candidates: Vec<usize> =
                (0..parent.len()).filter(|&i| depth[i] == dd - 1).collect();
            let p = candidates[rng.random_range(0..candidates.len())];
            parent.push(p);
            depth.push(dd);
        }
        let has_child: Vec<bool> = (0..parent.len()).map(|i| parent.contains(&i)).collect();
        // Kinds: inner calls are stateless; leaves become leaves with the measured share,
        // and take their paradigm at their depth.
        let kinds: Vec<Kind> = (0..parent.len())
            .map(|i| {
                if i == 0 || has_child[i] {
                    return Kind::Stateless;
                }
                let leafy = st.leaf.get(&depth[i]).copied().unwrap_or(0.3);
                if !rng.random_bool(leafy.clamp(0.05, 0.95)) {
                    return Kind::Stateless;
                }
                let p = st
                    .paradigm
                    .get(&depth[i])
                    .copied()
                    .unwrap_or([1.0, 0.0, 0.0, 0.0, 0.0]);
                match pick(&mut rng, &[(0, p[0] + p[1]), (1, p[2]), (2, p[3] + p[4])]) {
                    1 if n_queue > 0 => Kind::Queue,
                    2 => Kind::Store,
                    _ => Kind::Stateless,
                }
            })
            .collect();
        // Services: no service twice on one root-to-call path.
        let mut chosen: Vec<(Kind, usize)> = Vec::with_capacity(parent.len());
        let mut ok = true;
        for i in 0..parent.len() {
            let kind = kinds[i];
            let pool = kind as usize;
            let mut avoid = BTreeSet::new();
            let mut a = parent[i];
            while a != usize::MAX {
                if chosen[a].0 == kind {
                    avoid.insert(chosen[a].1);
                }
                a = parent[a];
            }
            match pools[pool].draw(&mut rng, &avoid, &uncovered[pool]) {
                Some(s) => chosen.push((kind, s)),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        for &(k, s) in &chosen {
            uncovered[k as usize].remove(&s);
        }
        let mut tags = vec!["1".to_string()];
        let mut kids = vec![0usize; parent.len()];
        let mut last_step = vec![0u32; parent.len()];
        let mut calls = vec![CallSpec::new("1", &pools[0].names[chosen[0].1], 1)];
        for i in 1..parent.len() {
            let p = parent[i];
            kids[p] += 1;
            let tag = format!("{}.{}", tags[p], kids[p]);
            // Siblings run in parallel or after one another, half and half.
            let step = if last_step[p] == 0 || rng.random_bool(0.5) {
                last_step[p] + 1
            } else {
                last_step[p]
            };
            last_step[p] = step;
            let (kind, s) = chosen[i];
            let mut call = CallSpec::new(&tag, &pools[kind as usize].names[s], step.max(1));
            match kind {
                Kind::Queue => call = call.asynchronous(),
                Kind::Store if rng.random_bool(0.3) => {
                    call = call.fanout(rng.random_range(2..=3) as f64)
                }
                _ => {}
            }
            calls.push(call);
            tags.push(tag);
        }
        ops.push(calls);
    }
    // Services the loop could not place (small pools with deep paths) hang off a root.
    for (pool, left) in uncovered.iter().enumerate() {
        for &s in left {
            let pick_op = rng.random_range(0..ops.len());
            let op = &mut ops[pick_op];
            let root_kids = op
                .iter()
                .filter(|c| c.tag.matches('.').count() == 1)
                .count();
            let mut call = CallSpec::new(&format!("1.{}", root_kids + 1), &pools[pool].names[s], 1);
            if pool == Kind::Queue as usize {
                call = call.asynchronous();
            }
            if op[0].service != call.service {
                op.push(call);
            }
        }
    }
    let operations: Vec<OperationSpec> = ops
        .into_iter()
        .enumerate()
        .map(|(i, calls)| OperationSpec {
            name: format!("op-{i:04}"),
            weight: 1.0 / ((i + 1) as f64).powf(0.8),
            calls,
        })
        .collect();
    let mut services = Vec::with_capacity(n);
    for (k, pool) in pools.iter().enumerate() {
        for name in &pool.names {
            let spec = match k {
                0 => ServiceSpec::new(name, rng.random_range(0.003..0.02)),
                1 => ServiceSpec::new(name, rng.random_range(0.0005..0.003))
                    .with_kind(ServiceKind::Datastore)
                    .with_profile(Profile::Mmc),
                _ => ServiceSpec::new(name, rng.random_range(0.0005..0.002))
                    .with_kind(ServiceKind::Queue)
                    .with_profile(Profile::Mmc),
            };
            services.push(spec);
        }
    }
    let mut spec = AppSpec {
        name: format!("alibaba-{n}"),
        description: format!("random Alibaba-like application, {n} services, seed {seed}"),
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
        latent: Vec::new(),
    };
    spec.latent = plant(&spec, &mut rng);
    calibrate(&mut spec);
    spec
}

/// One latent dependency of each kind where the graph allows it, between services that do
/// not call each other.
fn plant(spec: &AppSpec, rng: &mut impl Rng) -> Vec<LatentSpec> {
    let calls: BTreeSet<(String, String)> = spec.call_edges().into_iter().collect();
    let linked = |a: &str, b: &str| {
        a == b || calls.contains(&(a.into(), b.into())) || calls.contains(&(b.into(), a.into()))
    };
    let stateless = |s: &str| s.starts_with("svc-");
    let mut out = Vec::new();
    // Shared datastore: two callers of one datastore.
    let mut callers: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in &calls {
        if b.starts_with("db-") && stateless(a) {
            callers.entry(b.as_str()).or_default().push(a.as_str());
        }
    }
    'ds: for (ds, cs) in &callers {
        for i in 0..cs.len() {
            for j in i + 1..cs.len() {
                if !linked(cs[i], cs[j]) {
                    out.push(LatentSpec {
                        kind: LatentKind::SharedDatastore,
                        services: [cs[i].to_string(), cs[j].to_string()],
                        via: Some(ds.to_string()),
                        strength: 0.5,
                        then: None,
                        lag_s: 0.0,
                        memory_s: DEFAULT_MEMORY_S,
                    });
                    break 'ds;
                }
            }
        }
    }
    // Same action: two stateless services of one operation that do not call each other.
    'op: for op in &spec.operations {
        let svcs: Vec<&str> = op
            .calls
            .iter()
            .skip(1)
            .map(|c| c.service.as_str())
            .filter(|s| stateless(s))
            .collect();
        for i in 0..svcs.len() {
            for j in i + 1..svcs.len() {
                if !linked(svcs[i], svcs[j])
                    && !out
                        .iter()
                        .any(|l: &LatentSpec| l.services.contains(&svcs[i].to_string()))
                {
                    out.push(LatentSpec {
                        kind: LatentKind::SameAction,
                        services: [svcs[i].to_string(), svcs[j].to_string()],
                        via: Some(op.name.clone()),
                        strength: 0.6,
                        then: None,
                        lag_s: 0.0,
                        memory_s: DEFAULT_MEMORY_S,
                    });
                    break 'op;
                }
            }
        }
    }
    // Co-located: two random stateless services that do not call each other.
    let pool: Vec<&str> = spec
        .services
        .iter()
        .map(|s| s.name.as_str())
        .filter(|s| stateless(s))
        .collect();
    for _ in 0..100 {
        let (a, b) = (
            pool[rng.random_range(0..pool.len())],
            pool[rng.random_range(0..pool.len())],
        );
        if !linked(a, b)
            && !out
                .iter()
                .any(|l| l.services.contains(&a.to_string()) || l.services.contains(&b.to_string()))
        {
            out.push(LatentSpec {
                kind: LatentKind::CoLocated,
                services: [a.to_string(), b.to_string()],
                via: None,
                strength: 0.5,
                then: None,
                lag_s: 0.0,
                memory_s: DEFAULT_MEMORY_S,
            });
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_apps_cover_every_service_and_are_seeded() {
        for n in [4, 30, 200] {
            let spec = random_app(n, 5);
            spec.validate("random").unwrap();
            assert_eq!(spec.services.len(), n);
            let used: BTreeSet<&str> = spec
                .operations
                .iter()
                .flat_map(|o| o.calls.iter().map(|c| c.service.as_str()))
                .collect();
            assert_eq!(used.len(), n, "every service is called by some operation");
            assert_eq!(random_app(n, 5), spec);
        }
        let big = random_app(200, 1);
        assert!(big.latent.len() >= 2, "{:?}", big.latent);
        assert!(
            big.operations
                .iter()
                .any(|o| o.calls.iter().any(|c| c.tag.matches('.').count() >= 3)),
            "some depth"
        );
    }
}
