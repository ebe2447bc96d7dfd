//! The expected block length of the stationary bootstrap, chosen from the data by Politis and
//! White (2004) with the correction of Patton, Politis and White (2009), computed as `arch`'s
//! `optimal_block_length` does (so its answer is a reference: `scripts/forecasts-parity`).
//!
//! The autocovariances are summed with a flat-top (trapezoid) kernel up to lag `m`, where `m`
//! is twice the first lag after which `K_N = max(5, ⌊log₁₀ n⌋)` consecutive autocorrelations
//! are all insignificant (below `2·√(log₁₀ n / n)`), capped at `⌈√n⌉ + K_N`. The block length
//! is `(2 G² / D)^{1/3} n^{1/3}` with `G = Σ 2λ(k/m)·k·γ(k)` and `D = 2 (Σ 2λ(k/m)·γ(k) + γ(0))²`,
//! capped at `⌈min(3√n, n/3)⌉`.

/// The stationary bootstrap's expected block length for `x` (capped, not floored). `x` needs
/// at least 9 observations; fewer give 1 (no dependence can be measured).
pub fn stationary_block_length(x: &[f64]) -> f64 {
    let nobs = x.len();
    if nobs < 9 {
        return 1.0;
    }
    let nf = nobs as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let eps: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let b_max = (3.0 * nf.sqrt()).min(nf / 3.0).ceil();
    let kn = 5usize.max(nf.log10() as usize);
    let m_max = (nf.sqrt().ceil() as usize + kn).min(nobs - 2);
    let cv = 2.0 * (nf.log10() / nf).sqrt();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut acv = vec![0.0; m_max + 1];
    let mut abs_acorr = vec![0.0; m_max + 1];
    let mut opt_m: Option<usize> = None;
    for i in 0..=m_max {
        let v1 = dot(&eps[i + 1..], &eps[i + 1..]);
        let v2 = dot(&eps[..nobs - i - 1], &eps[..nobs - i - 1]);
        let cross = dot(&eps[i..], &eps[..nobs - i]);
        acv[i] = cross / nf;
        abs_acorr[i] = cross.abs() / (v1 * v2).sqrt();
        if i >= kn && opt_m.is_none() && abs_acorr[i - kn..i].iter().all(|&a| a < cv) {
            opt_m = Some(i - kn);
        }
    }
    let m = opt_m.map_or(m_max, |m| 2 * m.max(1)).min(m_max);
    let mut g = 0.0;
    let mut lr_acv = acv[0];
    for (k, &a) in acv.iter().enumerate().take(m + 1).skip(1) {
        let r = k as f64 / m as f64;
        let lam = if r <= 0.5 { 1.0 } else { 2.0 * (1.0 - r) };
        g += 2.0 * lam * k as f64 * a;
        lr_acv += 2.0 * lam * a;
    }
    let d_sb = 2.0 * lr_acv * lr_acv;
    let b = (2.0 * g * g / d_sb).cbrt() * nf.cbrt();
    // No floor at 1, as in `arch`: below 1 every day starts a new block (the stationary
    // bootstrap's restart probability 1/b exceeds one), i.e. independent draws.
    if b.is_finite() {
        b.min(b_max)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn persistent_series_get_longer_blocks() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let white: Vec<f64> = (0..2000).map(|_| rng.gen::<f64>() - 0.5).collect();
        let mut ar = vec![0.0; 2000];
        for t in 1..2000 {
            ar[t] = 0.8 * ar[t - 1] + white[t];
        }
        let bw = stationary_block_length(&white);
        let ba = stationary_block_length(&ar);
        assert!(ba > 3.0 * bw, "white {bw}, AR(1) {ba}");
        assert!(ba <= (3.0 * 2000f64.sqrt()).ceil());
    }
}
