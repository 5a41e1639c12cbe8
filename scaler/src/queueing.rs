//! Queueing models and what the queueing baselines read from an observation: Erlang C, the
//! M/M/n response time, per-replica service rates estimated from CPU use, and the call
//! graph's structure for a static split of the SLO.

use holoscale_sim::engine::col;

use crate::Observation;

/// Erlang C: the probability that an arrival waits in an M/M/n queue with offered load
/// `a = λ/μ` (erlangs) on `n` servers; 1 when the queue is unstable (`a ≥ n`).
///
/// Computed through the Erlang B recursion `B_0 = 1`, `B_k = a·B_{k−1} / (k + a·B_{k−1})`,
/// then `C = n·B_n / (n − a·(1 − B_n))`, which is stable for any `n`.
pub fn erlang_c(n: u32, a: f64) -> f64 {
    if n == 0 || a >= n as f64 {
        return 1.0;
    }
    if a <= 0.0 {
        return 0.0;
    }
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (k as f64 + a * b);
    }
    let n = n as f64;
    n * b / (n - a * (1.0 - b))
}

/// Mean response time of an M/M/n queue, seconds: `W = 1/μ + C(n, λ/μ) / (nμ − λ)`;
/// infinite when unstable (`λ ≥ nμ`) or without servers.
pub fn mmn_response_s(n: u32, lambda: f64, mu: f64) -> f64 {
    if n == 0 || mu <= 0.0 || lambda >= n as f64 * mu {
        return f64::INFINITY;
    }
    if lambda <= 0.0 {
        return 1.0 / mu;
    }
    1.0 / mu + erlang_c(n, lambda / mu) / (n as f64 * mu - lambda)
}

/// A conservative percentile of the time a request spends at an M/M/n station, seconds: the
/// `p` percentile of the exponential service time (`−ln(1 − p) / μ`) plus that of the wait
/// (`P(W_q > t) = C · e^{−(nμ − λ) t}`, so `ln(C / (1 − p)) / (nμ − λ)` when `C > 1 − p`,
/// else 0). Infinite when unstable.
pub fn mmn_percentile_s(n: u32, lambda: f64, mu: f64, p: f64) -> f64 {
    if n == 0 || mu <= 0.0 || lambda >= n as f64 * mu {
        return f64::INFINITY;
    }
    let tail = (1.0 - p).clamp(1e-9, 1.0);
    let service = -tail.ln() / mu;
    if lambda <= 0.0 {
        return service;
    }
    let c = erlang_c(n, lambda / mu);
    let wait = if c > tail {
        (c / tail).ln() / (n as f64 * mu - lambda)
    } else {
        0.0
    };
    service + wait
}

/// The fewest replicas in `[min, max]` whose M/M/n response time at `lambda` with
/// per-replica rate `mu` is at most `target_s`; `max` when none is.
pub fn fewest_meeting(lambda: f64, mu: f64, target_s: f64, min: u32, max: u32) -> u32 {
    let mut n = min.max(1);
    while n < max && mmn_response_s(n, lambda, mu) > target_s {
        n += 1;
    }
    n.min(max).max(min)
}

/// Per-service rates a queueing model needs, estimated from what an observation shows:
/// arrivals `λ` (requests/s) and the per-replica service rate `μ = limit / (CPU seconds per
/// request)`, with the CPU cost per request smoothed across observations (exponentially,
/// weight `alpha` on the newest) so that a quiet interval does not throw it off.
#[derive(Debug, Clone)]
pub struct RateEstimator {
    alpha: f64,
    cpu_per_request: Vec<f64>,
}

impl RateEstimator {
    /// An estimator for `services` services.
    pub fn new(services: usize, alpha: f64) -> RateEstimator {
        RateEstimator {
            alpha,
            cpu_per_request: vec![f64::NAN; services],
        }
    }

    /// Takes the latest measurements.
    pub fn update(&mut self, obs: &Observation) {
        for (s, c) in self.cpu_per_request.iter_mut().enumerate() {
            let (cpu, rate) = (obs.value(s, col::CPU_CORES), obs.value(s, col::REQ_RATE));
            if cpu.is_finite() && rate.is_finite() && rate > 1e-6 && cpu > 0.0 {
                let x = cpu / rate;
                *c = if c.is_finite() {
                    self.alpha * x + (1.0 - self.alpha) * *c
                } else {
                    x
                };
            }
        }
    }

    /// Arrivals of service `s`, requests/s (NaN when not measured).
    pub fn lambda(&self, obs: &Observation, s: usize) -> f64 {
        obs.value(s, col::REQ_RATE)
    }

    /// Requests per second one replica of service `s` serves (NaN before the first
    /// measurement with requests).
    pub fn mu(&self, obs: &Observation, s: usize) -> f64 {
        obs.cpu_limit[s] / self.cpu_per_request[s]
    }
}

/// The call graph an observation shows (its static call edges), as adjacency lists.
fn callees(obs: &Observation) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); obs.len()];
    for e in &obs.edges {
        if e.caller < out.len() && e.callee < out.len() && !out[e.caller].contains(&e.callee) {
            out[e.caller].push(e.callee);
        }
    }
    out
}

/// For each service, the number of services on the longest call chain that starts at it
/// (itself included): 1 for a leaf. Cycles are cut at the service count.
pub fn chain_heights(obs: &Observation) -> Vec<usize> {
    let down = callees(obs);
    let n = down.len();
    let mut height = vec![0usize; n];
    fn visit(s: usize, down: &[Vec<usize>], height: &mut [usize], depth: usize) -> usize {
        if height[s] > 0 {
            return height[s];
        }
        if depth > down.len() {
            return 1;
        }
        let h = 1 + down[s]
            .iter()
            .map(|&c| visit(c, down, height, depth + 1))
            .max()
            .unwrap_or(0);
        height[s] = h;
        h
    }
    for s in 0..n {
        visit(s, &down, &mut height, 0);
    }
    height
}

/// Requests per second entering the application (the sum of the operations' rates), NaN
/// before the first interval.
pub fn ingress_rate(obs: &Observation) -> f64 {
    if obs.operations.is_empty() {
        return f64::NAN;
    }
    obs.operations.iter().map(|o| o.rate).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn erlang_c_matches_the_closed_form() {
        // λ = 8/s, μ = 5/s, n = 2: a = 1.6, ρ = 0.8. Closed form: P0 = 1/(1 + a + a²/2 ·
        // 1/(1 − ρ)) = 1/(2.6 + 6.4) = 1/9; C = 6.4/9 = 0.71111; W = C/(nμ − λ) + 1/μ
        // = 0.35556 + 0.2 = 0.55556 s; and L = λW = 2ρ/(1 − ρ²) = 4.4444 (M/M/2).
        assert_abs_diff_eq!(erlang_c(2, 1.6), 6.4 / 9.0, epsilon = 1e-12);
        let w = mmn_response_s(2, 8.0, 5.0);
        assert_abs_diff_eq!(w, 6.4 / 9.0 / 2.0 + 0.2, epsilon = 1e-12);
        assert_abs_diff_eq!(8.0 * w, 1.6 / 0.36, epsilon = 1e-12);
        // n = 3: C = (a³/3!)/(1 − ρ) · P0 with P0 = 1/(1 + a + a²/2 + a³/6/(1 − ρ)).
        let a: f64 = 1.6;
        let rho = a / 3.0;
        let top = a.powi(3) / 6.0 / (1.0 - rho);
        let c3 = top / (1.0 + a + a * a / 2.0 + top);
        assert_abs_diff_eq!(erlang_c(3, a), c3, epsilon = 1e-12);
        assert_abs_diff_eq!(erlang_c(3, a), 0.2738, epsilon = 1e-4);
        // One server: C = ρ (M/M/1), W = 1/(μ − λ).
        assert_abs_diff_eq!(erlang_c(1, 0.3), 0.3, epsilon = 1e-12);
        assert_abs_diff_eq!(mmn_response_s(1, 3.0, 10.0), 1.0 / 7.0, epsilon = 1e-12);
        // Unstable and idle.
        assert_eq!(erlang_c(2, 2.0), 1.0);
        assert!(mmn_response_s(2, 10.0, 5.0).is_infinite());
        assert_abs_diff_eq!(mmn_response_s(4, 0.0, 5.0), 0.2, epsilon = 1e-12);
    }

    #[test]
    fn percentile_of_the_time_at_a_station() {
        // λ = 8, μ = 5, n = 2, p = 0.95: service −ln 0.05 / 5 = 0.59915 s; C = 0.71111 >
        // 0.05, wait ln(0.71111 / 0.05) / 2 = 1.32743 s.
        let want = -(0.05f64.ln()) / 5.0 + (6.4 / 9.0 / 0.05f64).ln() / 2.0;
        assert_abs_diff_eq!(mmn_percentile_s(2, 8.0, 5.0, 0.95), want, epsilon = 1e-12);
        assert_abs_diff_eq!(want, 1.92658, epsilon = 1e-4);
        // Many servers: C below 5%, no wait at the percentile.
        assert!(erlang_c(6, 1.6) < 0.05);
        assert_abs_diff_eq!(
            mmn_percentile_s(6, 8.0, 5.0, 0.95),
            -(0.05f64.ln()) / 5.0,
            epsilon = 1e-12
        );
        assert!(mmn_percentile_s(1, 8.0, 5.0, 0.95).is_infinite());
    }

    #[test]
    fn fewest_replicas_meeting_a_target() {
        // λ = 8, μ = 5: n = 2 gives 0.5556 s, n = 3 gives 0.2391 s.
        assert_eq!(fewest_meeting(8.0, 5.0, 0.6, 1, 10), 2);
        assert_eq!(fewest_meeting(8.0, 5.0, 0.5, 1, 10), 3);
        assert_eq!(
            fewest_meeting(8.0, 5.0, 0.1, 1, 10),
            10,
            "unreachable: the maximum"
        );
        assert_eq!(fewest_meeting(8.0, 5.0, 0.6, 4, 10), 4, "the minimum holds");
    }
}
