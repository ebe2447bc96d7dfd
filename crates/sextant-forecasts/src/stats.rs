//! Small numerical helpers: special functions, quantiles of samples, proper scoring rules and
//! the p-values of the VaR backtests. `libm` supplies `lgamma` and `erfc` (ports of musl's, to
//! within an ulp or two), so only what it lacks is written here.

/// `ln Γ(x)` for `x > 0`.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// The digamma function `ψ(x) = d ln Γ(x) / dx` for `x > 0`: the recurrence
/// `ψ(x) = ψ(x + 1) − 1/x` up to `x ≥ 10`, then the asymptotic series (error below 1e-15).
pub fn digamma(mut x: f64) -> f64 {
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series = f
        * (-1.0 / 12.0
            + f * (1.0 / 120.0
                + f * (-1.0 / 252.0
                    + f * (1.0 / 240.0 + f * (-1.0 / 132.0 + f * (691.0 / 32_760.0))))));
    acc + x.ln() - 0.5 / x + series
}

pub use sextant_numeric::{norm_cdf, norm_ppf};

/// Upper tail of a χ² with one degree of freedom: `P(X > x)`.
pub fn chi2_sf_1(x: f64) -> f64 {
    if x <= 0.0 {
        1.0
    } else {
        libm::erfc((x / 2.0).sqrt())
    }
}

/// Upper tail of a χ² with two degrees of freedom: `P(X > x) = e^{−x/2}`.
pub fn chi2_sf_2(x: f64) -> f64 {
    if x <= 0.0 {
        1.0
    } else {
        (-x / 2.0).exp()
    }
}

/// The `q`-quantile of ascending `sorted` samples by linear interpolation between order
/// statistics (numpy's default, Hyndman–Fan type 7). NaN for no samples.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            interpolate(sorted[lo], sorted[hi], h - lo as f64)
        }
    }
}

/// The `qs`-quantiles of unsorted `values` (same interpolation and the same bits as
/// [`quantile_sorted`] on the sorted values), by successive selection: O(n) per quantile
/// instead of a sort. Reorders `values`.
pub fn quantiles_unsorted(values: &mut [f64], qs: &[f64]) -> Vec<f64> {
    let n = values.len();
    if n == 0 {
        return vec![f64::NAN; qs.len()];
    }
    let ranks = |q: f64| {
        let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
        let lo = h.floor() as usize;
        (h, lo, (lo + 1).min(n - 1))
    };
    let mut needed: Vec<usize> = qs
        .iter()
        .flat_map(|&q| {
            let (_, lo, hi) = ranks(q);
            [lo, hi]
        })
        .collect();
    needed.sort_unstable();
    needed.dedup();
    // Each selection leaves everything left of its rank no larger: the next one searches the
    // rest only.
    let mut base = 0;
    for &r in &needed {
        if r >= base {
            values[base..].select_nth_unstable_by(r - base, f64::total_cmp);
            base = r + 1;
        }
    }
    qs.iter()
        .map(|&q| {
            let (h, lo, hi) = ranks(q);
            interpolate(values[lo], values[hi], h - lo as f64)
        })
        .collect()
}

/// `a + f·(b − a)`, exact at the order statistics: `f = 0` gives `a` and `a = b` gives `a`,
/// so a neighbouring ∞ (an overflowed path) never turns into `0·∞` or `∞ − ∞` = NaN.
fn interpolate(a: f64, b: f64, f: f64) -> f64 {
    if f == 0.0 || a == b {
        a
    } else {
        a + f * (b - a)
    }
}

/// Pinball (quantile) loss of the forecast `q_hat` of quantile `tau` at outcome `y`.
pub fn pinball(y: f64, q_hat: f64, tau: f64) -> f64 {
    let d = y - q_hat;
    if d >= 0.0 {
        tau * d
    } else {
        (tau - 1.0) * d
    }
}

/// The continuous ranked probability score of the empirical distribution of ascending `sorted`
/// samples at outcome `y`: `E|X − y| − ½ E|X − X′|`, the second term in O(n) from order
/// statistics (`Σ (2i − n − 1) x₍ᵢ₎ / n²`). Lower is better; in the units of `y`.
pub fn crps_sorted(sorted: &[f64], y: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    if sorted.iter().any(|x| !x.is_finite()) {
        // An overflowed sample: the score is unbounded, not ∞ − ∞.
        return f64::INFINITY;
    }
    let nf = n as f64;
    let mut first = 0.0;
    let mut spread = 0.0;
    for (i, &x) in sorted.iter().enumerate() {
        first += (x - y).abs();
        spread += (2.0 * (i as f64 + 1.0) - nf - 1.0) * x;
    }
    first / nf - spread / (nf * nf)
}

/// Sample mean and standard deviation (n − 1); NaN when undefined.
pub fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_tables() {
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
        assert!((norm_ppf(0.01) + 2.326_347_874_040_841).abs() < 1e-13);
        assert!((norm_ppf(0.5)).abs() < 1e-15);
        for p in [1e-10, 0.001, 0.2, 0.7, 0.999_99] {
            assert!((norm_cdf(norm_ppf(p)) - p).abs() < 1e-15 * p.max(1e-3) * 1e3);
        }
    }

    #[test]
    fn digamma_matches_known_values() {
        // ψ(1) = −γ, ψ(0.5) = −γ − 2 ln 2.
        let gamma = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + gamma).abs() < 1e-14);
        assert!((digamma(0.5) + gamma + 2.0 * std::f64::consts::LN_2).abs() < 1e-14);
        let h = 1e-5;
        let x = 3.7;
        let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
        assert!((digamma(x) - numeric).abs() < 1e-9);
    }

    #[test]
    fn chi2_tails_match_tables() {
        assert!((chi2_sf_1(3.841_458_820_694_124) - 0.05).abs() < 1e-12);
        assert!((chi2_sf_2(5.991_464_547_107_979) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn crps_of_samples_equals_the_pairwise_definition() {
        let s: [f64; 4] = [-1.0, 0.2, 0.5, 3.0];
        let y: f64 = 0.4;
        let n = s.len() as f64;
        let a: f64 = s.iter().map(|x| (x - y).abs()).sum::<f64>() / n;
        let b: f64 = s
            .iter()
            .flat_map(|x| s.iter().map(move |z| (x - z).abs()))
            .sum::<f64>()
            / (2.0 * n * n);
        assert!((crps_sorted(&s, y) - (a - b)).abs() < 1e-15);
    }

    #[test]
    fn selected_quantiles_equal_sorted_ones_bit_for_bit() {
        let mut v: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 1009) as f64 / 3.0)
            .collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let qs = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.333];
        let got = quantiles_unsorted(&mut v, &qs);
        for (q, g) in qs.iter().zip(&got) {
            assert_eq!(g.to_bits(), quantile_sorted(&sorted, *q).to_bits(), "{q}");
        }
    }

    #[test]
    fn an_infinite_neighbour_never_makes_a_nan() {
        // 101 samples: the 1 % quantile is exactly the second order statistic.
        let mut s = vec![1.0; 101];
        s[100] = f64::INFINITY;
        assert_eq!(quantile_sorted(&s, 0.99), 1.0);
        assert_eq!(quantile_sorted(&s, 1.0), f64::INFINITY);
        let mut v = s.clone();
        let q = quantiles_unsorted(&mut v, &[0.99, 0.995]);
        assert_eq!(q[0], 1.0);
        assert_eq!(q[1], f64::INFINITY);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let s = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&s, 0.5), 2.5);
        assert_eq!(quantile_sorted(&s, 0.0), 1.0);
        assert!((quantile_sorted(&s, 0.1) - 1.3).abs() < 1e-15);
    }
}
