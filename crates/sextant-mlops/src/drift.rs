//! Distribution drift between a model's training reference and what it sees now.
//!
//! * **PSI** (population stability index), the credit-risk form: bins at the reference's deciles
//!   (numpy's default `linear` quantiles), left-closed, open outer bins; an empty bin's share is
//!   replaced by 1e-4 (Evidently's convention) so the log stays finite;
//!   `PSI = Σ (c − r)·ln(c / r)`.
//! * **Two-sample Kolmogorov–Smirnov**: the statistic and the exact two-sided p-value exactly as
//!   `scipy.stats.ks_2samp(a, b)` computes them by default (`method="auto"` is exact up to
//!   10,000 values per side; callers thin the reference to that), ported from scipy's
//!   `_compute_prob_outside_square` and `_compute_outer_prob_inside_method`.
//!
//! PSI has a sampling floor: with B bins its mean under no drift is about
//! `(B − 1)(1/n_ref + 1/n_cur)`, so a window of 126 rows crosses 0.1 about a quarter of the time
//! on undrifted data. [`expected_null_psi`] reports that floor beside each value, and
//! [`MIN_CURRENT_ROWS`] is the smallest window the monitor judges.

use crate::MlopsError;
use serde::{Deserialize, Serialize};

/// Share given to an empty bin.
pub const EMPTY_BIN_SHARE: f64 = 1e-4;
/// Fewest current rows a PSI is judged on (below it the null PSI alone nears the warn band).
pub const MIN_CURRENT_ROWS: usize = 250;

/// How far a distribution moved, by PSI.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DriftBand {
    /// Below the warn threshold.
    None,
    /// At or above warn, below alert.
    Warn,
    /// At or above alert.
    Alert,
}

/// PSI thresholds. Default: warn at 0.1, alert at 0.25 (the industry's usual bands).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bands {
    /// PSI at which a feature is reported as drifting.
    pub warn: f64,
    /// PSI at which an alert is raised (and a drift-triggered retrain may fire).
    pub alert: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Bands {
            warn: 0.1,
            alert: 0.25,
        }
    }
}

impl Bands {
    /// Checked bands: finite, positive, warn below alert.
    pub fn new(warn: f64, alert: f64) -> Result<Bands, MlopsError> {
        if !(warn.is_finite() && alert.is_finite() && warn > 0.0 && warn < alert) {
            return Err(MlopsError::Input(format!(
                "drift bands need 0 < warn < alert, got warn {warn} and alert {alert}"
            )));
        }
        Ok(Bands { warn, alert })
    }

    /// The band of a PSI value (NaN counts as no evidence: `None`).
    pub fn band(&self, psi: f64) -> DriftBand {
        if psi >= self.alert {
            DriftBand::Alert
        } else if psi >= self.warn {
            DriftBand::Warn
        } else {
            DriftBand::None
        }
    }
}

/// A PSI with the bins it was computed on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Psi {
    /// The index.
    pub psi: f64,
    /// Inner bin edges (the reference's deciles, deduplicated).
    pub edges: Vec<f64>,
    /// Reference share per bin (empty bins at [`EMPTY_BIN_SHARE`]).
    pub reference: Vec<f64>,
    /// Current share per bin.
    pub current: Vec<f64>,
}

/// The `q` quantile of sorted `x` by numpy's default (`linear`, Hyndman–Fan type 7).
pub fn quantile_sorted(x: &[f64], q: f64) -> f64 {
    let n = x.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let t = h - lo as f64;
    let (a, b) = (x[lo], x[hi]);
    // numpy's lerp: a + (b − a)·t for t < 0.5, else b − (b − a)·(1 − t).
    if t < 0.5 {
        a + (b - a) * t
    } else {
        b - (b - a) * (1.0 - t)
    }
}

fn finite_sorted(x: &[f64], what: &str) -> Result<Vec<f64>, MlopsError> {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(MlopsError::Input(format!(
            "{what} value {i} is not finite ({})",
            x[i]
        )));
    }
    if x.is_empty() {
        return Err(MlopsError::Input(format!("{what} is empty")));
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    Ok(s)
}

fn shares(sorted_edges: &[f64], x: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; sorted_edges.len() + 1];
    for v in x {
        counts[sorted_edges.partition_point(|e| *e <= *v)] += 1;
    }
    let n = x.len() as f64;
    counts
        .into_iter()
        .map(|c| {
            let p = c as f64 / n;
            if p == 0.0 {
                EMPTY_BIN_SHARE
            } else {
                p
            }
        })
        .collect()
}

/// PSI of `current` against `reference` over `bins` quantile bins (10 in the monitor).
pub fn psi(reference: &[f64], current: &[f64], bins: usize) -> Result<Psi, MlopsError> {
    if bins < 2 {
        return Err(MlopsError::Input("PSI needs at least 2 bins".into()));
    }
    let r = finite_sorted(reference, "reference")?;
    finite_sorted(current, "current")?;
    let mut edges: Vec<f64> = (1..bins)
        .map(|k| quantile_sorted(&r, k as f64 / bins as f64))
        .collect();
    edges.dedup();
    let rs = shares(&edges, reference);
    let cs = shares(&edges, current);
    let psi = rs
        .iter()
        .zip(&cs)
        .map(|(r, c)| (c - r) * (c / r).ln())
        .sum();
    Ok(Psi {
        psi,
        edges,
        reference: rs,
        current: cs,
    })
}

/// The PSI expected from sampling alone, `(bins − 1)(1/n_ref + 1/n_cur)`.
pub fn expected_null_psi(bins: usize, n_ref: usize, n_cur: usize) -> f64 {
    (bins.saturating_sub(1)) as f64 * (1.0 / n_ref.max(1) as f64 + 1.0 / n_cur.max(1) as f64)
}

/// A two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ks {
    /// The largest gap between the two empirical CDFs.
    pub d: f64,
    /// Two-sided exact p-value (scipy's `ks_2samp` default).
    pub p: f64,
}

/// Largest values per side for which the exact p-value is computed (scipy's `auto` limit).
pub const KS_EXACT_MAX: usize = 10_000;

/// `scipy.stats.ks_2samp(a, b)` (two-sided, exact). Refuses more than [`KS_EXACT_MAX`] values
/// on a side, where scipy switches to an asymptotic form: thin the sample first.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<Ks, MlopsError> {
    let a = finite_sorted(a, "first sample")?;
    let b = finite_sorted(b, "second sample")?;
    let (n1, n2) = (a.len(), b.len());
    if n1.max(n2) > KS_EXACT_MAX {
        return Err(MlopsError::Input(format!(
            "the exact KS test takes at most {KS_EXACT_MAX} values per side ({n1} and {n2} given)"
        )));
    }
    let mut d = 0.0f64;
    for v in a.iter().chain(&b) {
        let ca = a.partition_point(|x| x <= v) as f64 / n1 as f64;
        let cb = b.partition_point(|x| x <= v) as f64 / n2 as f64;
        d = d.max((ca - cb).abs());
    }
    let g = gcd(n1, n2);
    let lcm = (n1 / g) as f64 * n2 as f64;
    let h = (d * lcm).round_ties_even();
    let d = h / lcm;
    if h == 0.0 {
        return Ok(Ks { d, p: 1.0 });
    }
    let h = h as usize;
    let p = if n1 == n2 {
        outside_square(n1, h)
    } else {
        outer_inside(n1, n2, g, h)
    };
    Ok(Ks {
        d,
        p: p.clamp(0.0, 1.0),
    })
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D ≥ h/n) for two samples of size n (scipy `_compute_prob_outside_square`).
fn outside_square(n: usize, h: usize) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let ku = k as usize;
        let mut p1 = 1.0;
        for j in 0..h {
            // Signed, as in scipy: the factor reaches 0 (and p1 stays 0) before it would go
            // below it, but unsigned it would overflow there.
            let num = n as i64 - (ku * h) as i64 - j as i64;
            p1 = num as f64 * p1 / (n + ku * h + j + 1) as f64;
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// P(D ≥ h/lcm) for sizes m ≠ n by the lattice-path recursion (scipy
/// `_compute_outer_prob_inside_method`, Hodges 1958 as reformulated by Viehmann 2021).
fn outer_inside(m: usize, n: usize, g: usize, h: usize) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let ceil_div = |a: i64, b: i64| -> i64 { (a + b - 1).div_euclid(b) };
    let (h, mg_i, ng_i, n_i) = (h as i64, mg as i64, ng as i64, n as i64);
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg_i).min(n_i + 1);
    let mut curlen = maxj - minj;
    let len_a = ((2 * maxj + 2).min(n_i + 1)).max(1) as usize;
    let mut a = vec![1.0f64; len_a.max(n + 2)];
    for t in minj..maxj {
        a[t as usize] = 0.0;
    }
    for i in 1..=m as i64 {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((ng_i * i - h).div_euclid(mg_i) + 1).max(0).min(n_i);
        maxj = ceil_div(ng_i * i + h, mg_i).min(n_i + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            val = (a[(jj + minj - lastminj) as usize] * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            for t in (maxj - minj)..(maxj - minj + (lastlen - curlen)) {
                a[t as usize] = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_linear() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&x, 0.5), 2.5);
        assert_eq!(quantile_sorted(&x, 0.0), 1.0);
        assert_eq!(quantile_sorted(&x, 1.0), 4.0);
        assert!((quantile_sorted(&x, 0.1) - 1.3).abs() < 1e-15);
    }

    #[test]
    fn identical_samples_do_not_drift() {
        let x: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin()).collect();
        let p = psi(&x, &x, 10).expect("psi");
        assert!(p.psi.abs() < 1e-12, "{}", p.psi);
        assert_eq!(Bands::default().band(p.psi), DriftBand::None);
        let k = ks_2samp(&x, &x).expect("ks");
        assert_eq!((k.d, k.p), (0.0, 1.0));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(psi(&[1.0, f64::NAN], &[1.0], 10).is_err());
        assert!(psi(&[], &[1.0], 10).is_err());
        assert!(Bands::new(0.3, 0.2).is_err());
        assert!(ks_2samp(&vec![0.0; KS_EXACT_MAX + 1], &[1.0]).is_err());
    }
}
