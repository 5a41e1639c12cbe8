//! Small numerical pieces of the simulator: the Erlang C probability of waiting, the normal
//! distribution, gamma quantiles by moment matching, the moments of the maximum of two
//! random variables (Clark 1961), and Poisson sampling.

use rand::{Rng, RngExt};

/// Probability that an arriving request waits in an M/M/c queue with offered load
/// `a = λ/μ` (Erlang C). Returns 1 when `a >= c` (unstable).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    if c == 0 || a >= c as f64 {
        return 1.0;
    }
    if a <= 0.0 {
        return 0.0;
    }
    // Erlang B by the stable recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)).
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c as f64;
    b / (1.0 - rho + rho * b)
}

/// Mean and variance (seconds, seconds²) of the sojourn time of an M/M/c queue with arrival
/// rate `lambda`, per-server rate `mu` and `c` servers. `None` when unstable.
pub fn mmc_sojourn(lambda: f64, mu: f64, c: u32) -> Option<(f64, f64)> {
    if c == 0 || mu <= 0.0 || lambda >= c as f64 * mu {
        return None;
    }
    let pw = erlang_c(c, lambda / mu);
    let drain = c as f64 * mu - lambda;
    // Service Exp(μ); with probability pw an independent wait Exp(cμ − λ).
    let mean = 1.0 / mu + pw / drain;
    let var = 1.0 / (mu * mu) + pw * (2.0 - pw) / (drain * drain);
    Some((mean, var))
}

/// Standard normal density.
pub fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function (Abramowitz-Stegun 7.1.26 on erf, |error| < 1.5e-7).
pub fn norm_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// [`norm_cdf`] reusing the density at `x` (they share exp(−x²/2)).
#[inline]
fn norm_cdf_with_pdf(x: f64, pdf: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    // exp(−z²) = exp(−x²/2) = pdf·√(2π).
    let erf = 1.0 - poly * pdf * (2.0 * std::f64::consts::PI).sqrt();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn norm_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let lo = 0.02425;
    if p < lo {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - lo {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -norm_quantile(1.0 - p)
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised lower incomplete gamma P(a, x).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let lg = ln_gamma(a);
    if x < a + 1.0 {
        // Series.
        let (mut sum, mut term, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..500 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum.ln() - x + a * x.ln() - lg).exp().min(1.0)
    } else {
        // Continued fraction (Lentz) for Q, then P = 1 − Q.
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        let q = (-x + a * x.ln() - lg).exp() * h;
        (1.0 - q).clamp(0.0, 1.0)
    }
}

/// The `p`-quantile of the gamma distribution with the given mean and variance: the tail of a
/// latency distribution known by its first two moments. An exponential (variance = mean²)
/// gives exactly `−mean·ln(1−p)`.
pub fn gamma_quantile(mean: f64, var: f64, p: f64) -> f64 {
    if mean.is_nan() || mean <= 0.0 {
        return mean.max(0.0);
    }
    if var.is_nan() || var <= 1e-18 * mean * mean {
        return mean;
    }
    let k = mean * mean / var; // shape
    let theta = var / mean; // scale
    let z = norm_quantile(p);
    if k > 50.0 {
        // Nearly normal: Wilson-Hilferty is accurate to about 1e-4 relative here.
        let c = 1.0 / (9.0 * k);
        return k * theta * (1.0 - c + z * c.sqrt()).powi(3).max(0.0);
    }
    // Wilson-Hilferty start, then safeguarded Newton on P(k, x) = p (in units of θ).
    let c = 1.0 / (9.0 * k);
    let mut x = (k * (1.0 - c + z * c.sqrt()).powi(3)).max(1e-8);
    let (mut lo, mut hi) = (0.0_f64, f64::INFINITY);
    let lg = ln_gamma(k);
    for _ in 0..60 {
        let f = gamma_p(k, x) - p;
        if f > 0.0 {
            hi = hi.min(x);
        } else {
            lo = lo.max(x);
        }
        if f.abs() < 1e-10 {
            break;
        }
        let dens = ((k - 1.0) * x.ln() - x - lg).exp();
        let mut next = if dens > 0.0 { x - f / dens } else { f64::NAN };
        if !(next > lo && next < hi) {
            next = if hi.is_finite() {
                0.5 * (lo + hi)
            } else {
                2.0 * x.max(1.0)
            };
        }
        if (next - x).abs() <= 1e-10 * x {
            x = next;
            break;
        }
        x = next;
    }
    x * theta
}

/// Gamma quantiles at one probability for any shape, tabulated: the `p`-quantile of a gamma
/// distribution divided by its mean depends on the shape `k = mean²/var` alone, so it is
/// computed exactly on a log-spaced grid of shapes once and interpolated (relative error
/// below 1e-4 against [`gamma_quantile`]).
#[derive(Debug, Clone)]
pub struct QuantileTable {
    p: f64,
    log_k0: f64,
    step: f64,
    ratio: Vec<f64>,
}

impl QuantileTable {
    const K_MIN: f64 = 1e-3;
    const K_MAX: f64 = 50.0;
    const POINTS: usize = 600;

    /// The table for probability `p`.
    pub fn new(p: f64) -> QuantileTable {
        let (lo, hi) = (Self::K_MIN.ln(), Self::K_MAX.ln());
        let step = (hi - lo) / (Self::POINTS - 1) as f64;
        let ratio = (0..Self::POINTS)
            .map(|i| {
                let k = (lo + step * i as f64).exp();
                // mean 1, variance 1/k.
                gamma_quantile(1.0, 1.0 / k, p)
            })
            .collect();
        QuantileTable {
            p,
            log_k0: lo,
            step,
            ratio,
        }
    }

    /// The `p`-quantile of the gamma distribution with this mean and variance.
    #[inline]
    pub fn quantile(&self, mean: f64, var: f64) -> f64 {
        if mean.is_nan() || mean <= 0.0 || var.is_nan() || var <= 1e-18 * mean * mean {
            return mean.max(0.0);
        }
        let k = mean * mean / var;
        if !(Self::K_MIN..Self::K_MAX).contains(&k) {
            return gamma_quantile(mean, var, self.p);
        }
        let x = (k.ln() - self.log_k0) / self.step;
        let i = (x.floor() as usize).min(self.ratio.len() - 2);
        let f = x - i as f64;
        mean * (self.ratio[i] * (1.0 - f) + self.ratio[i + 1] * f)
    }
}

/// Mean and variance of max(X, Y) for independent X, Y with the given moments, by Clark's
/// normal approximation.
pub fn max_moments(m1: f64, v1: f64, m2: f64, v2: f64) -> (f64, f64) {
    let a2 = v1 + v2;
    if a2 <= 1e-24 {
        return if m1 >= m2 { (m1, v1) } else { (m2, v2) };
    }
    let a = a2.sqrt();
    let alpha = (m1 - m2) / a;
    let d = norm_pdf(alpha);
    let p = norm_cdf_with_pdf(alpha, d);
    let q = 1.0 - p;
    let mean = m1 * p + m2 * q + a * d;
    let second = (m1 * m1 + v1) * p + (m2 * m2 + v2) * q + (m1 + m2) * a * d;
    (mean, (second - mean * mean).max(0.0))
}

/// A Poisson sample with mean `lambda`: inversion of the distribution function with one
/// uniform below 10, a rounded normal above (skewness 1/√λ ≤ 0.32 there, and the inversion's
/// cost grows with λ).
pub fn poisson<R: Rng + ?Sized>(rng: &mut R, normals: &mut Normals, lambda: f64) -> f64 {
    if lambda.is_nan() || lambda <= 0.0 {
        return 0.0;
    }
    if lambda < 10.0 {
        let u = rng.random::<f64>();
        let mut p = (-lambda).exp();
        let mut cdf = p;
        let mut k = 0usize;
        while u > cdf && k + 1 < RECIPROCALS.len() {
            k += 1;
            p *= lambda * RECIPROCALS[k];
            cdf += p;
        }
        return k as f64;
    }
    (lambda + lambda.sqrt() * normals.next(rng))
        .round()
        .max(0.0)
}

/// 1/k for k < 128 (0 at k = 0), so the Poisson inversion multiplies instead of dividing.
static RECIPROCALS: [f64; 128] = {
    let mut t = [0.0; 128];
    let mut k = 1;
    while k < 128 {
        t[k] = 1.0 / k as f64;
        k += 1;
    }
    t
};

/// Standard normal samples by Marsaglia's polar method, two per draw.
#[derive(Debug, Clone, Default)]
pub struct Normals {
    spare: Option<f64>,
}

impl Normals {
    /// The next standard normal sample.
    #[inline]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * rng.random::<f64>() - 1.0;
            let v = 2.0 * rng.random::<f64>() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let m = (-2.0 * s.ln() / s).sqrt();
                self.spare = Some(v * m);
                return u * m;
            }
        }
    }
}

/// A standard normal sample (Box-Muller, one of the pair).
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn erlang_c_matches_known_values() {
        // c = 1: the probability of waiting is ρ.
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
        // c = 2, a = 1: C = 1/3 (textbook value).
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(erlang_c(3, 3.5), 1.0);
    }

    #[test]
    fn mm1_sojourn_is_exponential() {
        let (m, v) = mmc_sojourn(60.0, 100.0, 1).unwrap();
        assert!((m - 1.0 / 40.0).abs() < 1e-12);
        assert!((v - m * m).abs() < 1e-12);
        // p95 of Exp(40) is ln(20)/40.
        let q = gamma_quantile(m, v, 0.95);
        assert!((q - 20f64.ln() / 40.0).abs() < 1e-9, "{q}");
        assert!(mmc_sojourn(100.0, 100.0, 1).is_none());
    }

    #[test]
    fn gamma_quantile_inverts_the_distribution() {
        for (mean, var) in [(1.0, 0.25), (5.0, 50.0), (2.0, 0.01), (10.0, 100.0)] {
            for p in [0.5, 0.95, 0.99] {
                let q = gamma_quantile(mean, var, p);
                let k = mean * mean / var;
                let got = gamma_p(k, q / (var / mean));
                // Exact below shape 50, Wilson-Hilferty above.
                let tol = if k > 50.0 { 2e-3 } else { 1e-6 };
                assert!(
                    (got - p).abs() < tol,
                    "mean {mean} var {var} p {p}: P = {got}"
                );
            }
        }
    }

    #[test]
    fn quantile_table_matches_the_exact_quantile() {
        let t = QuantileTable::new(0.99);
        for (mean, var) in [
            (1.0, 1.0),
            (0.02, 0.0001),
            (3.0, 0.5),
            (5.0, 200.0),
            (1.0, 1e-6),
        ] {
            let (a, b) = (t.quantile(mean, var), gamma_quantile(mean, var, 0.99));
            assert!((a - b).abs() <= 1e-4 * b, "{mean} {var}: {a} vs {b}");
        }
    }

    #[test]
    fn normal_pieces() {
        assert!((norm_cdf(1.959_963_985) - 0.975).abs() < 2e-7);
        assert!((norm_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn max_of_two_identical_normals() {
        // E[max] of two iid N(0,1) is 1/sqrt(π); Var is 1 − 1/π.
        let (m, v) = max_moments(0.0, 1.0, 0.0, 1.0);
        assert!((m - 1.0 / std::f64::consts::PI.sqrt()).abs() < 1e-6);
        assert!((v - (1.0 - 1.0 / std::f64::consts::PI)).abs() < 1e-6);
        assert_eq!(max_moments(3.0, 0.0, 1.0, 0.0), (3.0, 0.0));
    }

    #[test]
    fn poisson_mean_and_variance() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut normals = Normals::default();
        for lambda in [0.5, 7.0, 12.0, 300.0] {
            let n = 20_000;
            let xs: Vec<f64> = (0..n)
                .map(|_| poisson(&mut rng, &mut normals, lambda))
                .collect();
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (mean - lambda).abs() < 0.03 * lambda.max(1.0),
                "{lambda}: {mean}"
            );
            assert!(
                (var - lambda).abs() < 0.08 * lambda.max(1.0),
                "{lambda}: {var}"
            );
        }
    }
}
