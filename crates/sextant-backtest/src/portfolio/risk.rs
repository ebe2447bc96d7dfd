//! Risk models and the weightings that use them: the Ledoit–Wolf shrunk covariance,
//! inverse-volatility, equal risk contribution and long-only mean-variance.
//!
//! Matrices are dense, row-major `n × n` in a `Vec<f64>`; `n` is the number of selected names
//! (tens to a few hundred), so O(n²) per iteration is cheap next to the bars.

/// The Ledoit–Wolf covariance of `rows` (one row per observation, one column per asset), as
/// scikit-learn's `LedoitWolf().fit(X)` computes it: the biased sample covariance of the
/// centred data shrunk toward `mu · I` (`mu` the mean variance) by the optimal intensity of
/// Ledoit & Wolf (2004). Returns the matrix and the shrinkage. `rows` must be non-empty and
/// rectangular.
pub fn ledoit_wolf(rows: &[Vec<f64>]) -> (Vec<f64>, f64) {
    let t = rows.len();
    let n = rows.first().map_or(0, Vec::len);
    if t == 0 || n == 0 {
        return (Vec::new(), 0.0);
    }
    // scikit-learn shrinks nothing with one asset (the target would be the matrix itself).
    let single = n == 1;
    let mut mean = vec![0.0; n];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v;
        }
    }
    for m in &mut mean {
        *m /= t as f64;
    }
    let x: Vec<Vec<f64>> = rows
        .iter()
        .map(|r| r.iter().zip(&mean).map(|(v, m)| v - m).collect())
        .collect();
    let mut emp = vec![0.0; n * n];
    // sum over observations of x_i² x_j² (scikit-learn's beta_ before its final sum)
    let mut beta_sum = 0.0;
    for r in &x {
        for i in 0..n {
            let xi = r[i];
            for j in 0..n {
                emp[i * n + j] += xi * r[j];
                beta_sum += xi * xi * r[j] * r[j];
            }
        }
    }
    let tf = t as f64;
    let nf = n as f64;
    let trace: f64 = (0..n).map(|i| emp[i * n + i]).sum::<f64>() / tf;
    let mu = trace / nf;
    // delta_ = ||X'X||_F² / t²
    let delta_sq = emp.iter().map(|v| v * v).sum::<f64>() / (tf * tf);
    let beta = (beta_sum / tf - delta_sq) / (nf * tf);
    let delta = (delta_sq - 2.0 * mu * trace + nf * mu * mu) / nf;
    let beta = beta.min(delta);
    let shrinkage = if single || beta == 0.0 {
        0.0
    } else {
        beta / delta
    };
    let mut cov = emp;
    for (k, c) in cov.iter_mut().enumerate() {
        *c = (1.0 - shrinkage) * (*c / tf);
        if k / n == k % n {
            *c += shrinkage * mu;
        }
    }
    (cov, shrinkage)
}

/// Weights proportional to `1 / vol`, summing to 1; names with a zero or non-finite volatility
/// get none (all equal when every name has one).
pub fn inverse_vol(vols: &[f64]) -> Vec<f64> {
    let inv: Vec<f64> = vols
        .iter()
        .map(|v| {
            if v.is_finite() && *v > 0.0 {
                1.0 / v
            } else {
                0.0
            }
        })
        .collect();
    normalised(inv, vols.len())
}

fn normalised(w: Vec<f64>, n: usize) -> Vec<f64> {
    let s: f64 = w.iter().sum();
    if s > 0.0 && s.is_finite() {
        w.into_iter().map(|v| v / s).collect()
    } else {
        vec![1.0 / n as f64; n]
    }
}

/// Equal risk contribution weights for covariance `cov` (`n × n`): each name contributes the
/// same share of portfolio variance. Solved by cyclical coordinate descent on
/// `½ yᵀΣy − Σ ln yᵢ / n` (Griveau-Billion, Richard & Roncalli, 2013), whose minimiser
/// normalised to sum 1 is the ERC portfolio; stops when no coordinate moves by more than 1e-13
/// relative, or after 10 000 sweeps.
pub fn risk_parity(cov: &[f64], n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let b = 1.0 / n as f64;
    let mut y: Vec<f64> = (0..n)
        .map(|i| {
            let v = cov[i * n + i];
            if v > 0.0 {
                1.0 / v.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    for _ in 0..10_000 {
        let mut moved = 0.0f64;
        for i in 0..n {
            let sii = cov[i * n + i];
            if sii <= 0.0 {
                continue;
            }
            let others: f64 = (0..n)
                .filter(|&j| j != i)
                .map(|j| cov[i * n + j] * y[j])
                .sum();
            let new = (-others + (others * others + 4.0 * sii * b).sqrt()) / (2.0 * sii);
            moved = moved.max(((new - y[i]) / new).abs());
            y[i] = new;
        }
        if moved < 1e-13 {
            break;
        }
    }
    normalised(y, n)
}

/// Long-only mean-variance weights: maximise `μᵀw − (λ/2) wᵀΣw` subject to `Σw = total` and
/// `0 ≤ wᵢ ≤ cap`, by accelerated projected gradient (FISTA) with step `1/L`, `L` the largest
/// eigenvalue of `λΣ` (power iteration); the projection onto the capped simplex is exact
/// (bisection on the shift). Stops when the weights move by less than 1e-13 or after 20 000
/// iterations. `cap · n` must be at least `total` (else every name is at the cap).
pub fn mean_variance(mu: &[f64], cov: &[f64], lambda: f64, cap: f64, total: f64) -> Vec<f64> {
    let n = mu.len();
    if n == 0 {
        return Vec::new();
    }
    if cap * n as f64 <= total {
        return vec![cap; n];
    }
    let l = lambda * largest_eigenvalue(cov, n);
    let step = if l > 0.0 { 1.0 / l } else { 1.0 };
    let mut w = project(&vec![total / n as f64; n], cap, total);
    let mut z = w.clone();
    let mut tk = 1.0f64;
    for _ in 0..20_000 {
        let grad: Vec<f64> = (0..n)
            .map(|i| {
                let sz: f64 = (0..n).map(|j| cov[i * n + j] * z[j]).sum();
                lambda * sz - mu[i]
            })
            .collect();
        let moved: Vec<f64> = z.iter().zip(&grad).map(|(v, g)| v - step * g).collect();
        let next = project(&moved, cap, total);
        let tn = (1.0 + (1.0 + 4.0 * tk * tk).sqrt()) / 2.0;
        let change = next
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        z = next
            .iter()
            .zip(&w)
            .map(|(a, b)| a + (tk - 1.0) / tn * (a - b))
            .collect();
        w = next;
        tk = tn;
        if change < 1e-13 {
            break;
        }
    }
    w
}

/// Euclidean projection of `v` onto `{w : Σw = total, 0 ≤ wᵢ ≤ cap}`: `wᵢ = clip(vᵢ − θ)`
/// with `θ` found by bisection to machine precision.
fn project(v: &[f64], cap: f64, total: f64) -> Vec<f64> {
    let sum_at = |theta: f64| -> f64 { v.iter().map(|x| (x - theta).clamp(0.0, cap)).sum() };
    let (mut lo, mut hi) = (
        v.iter().copied().fold(f64::INFINITY, f64::min) - cap,
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if sum_at(mid) > total {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let theta = 0.5 * (lo + hi);
    v.iter().map(|x| (x - theta).clamp(0.0, cap)).collect()
}

fn largest_eigenvalue(m: &[f64], n: usize) -> f64 {
    let mut x = vec![1.0 / (n as f64).sqrt(); n];
    let mut lambda = 0.0;
    for _ in 0..500 {
        let y: Vec<f64> = (0..n)
            .map(|i| (0..n).map(|j| m[i * n + j] * x[j]).sum())
            .collect();
        let norm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        let next = norm;
        x = y.into_iter().map(|v| v / norm).collect();
        if (next - lambda).abs() <= 1e-12 * next {
            return next;
        }
        lambda = next;
    }
    lambda
}

/// Each name's share of portfolio variance, `wᵢ (Σw)ᵢ / wᵀΣw`.
pub fn risk_contributions(w: &[f64], cov: &[f64]) -> Vec<f64> {
    let n = w.len();
    let sw: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| cov[i * n + j] * w[j]).sum())
        .collect();
    let var: f64 = w.iter().zip(&sw).map(|(a, b)| a * b).sum();
    w.iter().zip(&sw).map(|(a, b)| a * b / var).collect()
}
