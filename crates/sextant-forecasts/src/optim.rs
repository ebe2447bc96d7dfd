//! A small BFGS minimiser for smooth objectives with analytic gradients (the GARCH likelihood
//! has five parameters). Written here rather than taken from `argmin`: that crate's generic math
//! backends are far more machinery than a dense 5×5 inverse-Hessian update needs, and the
//! convergence rule we want (gradient below 1e-9 *and* no further decrease) is two lines.

/// Where a minimisation stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// The minimiser.
    pub x: Vec<f64>,
    /// The objective at `x`.
    pub f: f64,
    /// Iterations taken.
    pub iterations: usize,
    /// Whether the gradient fell below the tolerance (otherwise the line search could not
    /// decrease the objective further, or the iteration cap was reached).
    pub converged: bool,
}

/// Relative decrease below which an iteration counts as stalled (three in a row stop).
const FTOL: f64 = 1e-15;

/// Minimises `f` from `x0`; `f` returns the value and writes the gradient. Non-finite values
/// are treated as +∞ (the line search steps back). Gradient tolerance `gtol` is on the
/// largest component; three iterations in a row that lower `f` by less than 1e-15 relative
/// also stop it (converged when the gradient is below `√gtol`); at most `max_iter` iterations.
pub fn bfgs<F>(mut f: F, x0: &[f64], gtol: f64, max_iter: usize) -> Minimum
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut h = identity(n);
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut d = vec![0.0; n];
    let mut iterations = 0;
    let mut converged = false;
    let mut stalled = 0;
    while iterations < max_iter {
        if g.iter().all(|v| v.abs() < gtol) {
            converged = true;
            break;
        }
        iterations += 1;
        for i in 0..n {
            d[i] = -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>();
        }
        let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // Not a descent direction (a poor Hessian estimate): restart from steepest descent.
            h = identity(n);
            for i in 0..n {
                d[i] = -g[i];
            }
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            for i in 0..n {
                xn[i] = x[i] + step * d[i];
            }
            let fnew = f(&xn, &mut gn);
            if fnew.is_finite() && fnew <= fx + 1e-4 * step * slope {
                accepted = true;
                let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
                update_inverse_hessian(&mut h, &s, &y);
                x.copy_from_slice(&xn);
                g.copy_from_slice(&gn);
                stalled = if fx - fnew <= FTOL * (1.0 + fnew.abs()) {
                    stalled + 1
                } else {
                    0
                };
                fx = fnew;
                break;
            }
            step *= 0.5;
        }
        if !accepted || stalled >= 3 {
            // No decrease the arithmetic can resolve: at the minimum if the gradient is small.
            converged = g.iter().all(|v| v.abs() < gtol.sqrt());
            break;
        }
    }
    Minimum {
        x,
        f: fx,
        iterations,
        converged,
    }
}

fn identity(n: usize) -> Vec<f64> {
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        h[i * n + i] = 1.0;
    }
    h
}

/// The BFGS update of the inverse Hessian; skipped when the curvature `sᵀy` is not positive
/// (the update would lose positive definiteness).
fn update_inverse_hessian(h: &mut [f64], s: &[f64], y: &[f64]) {
    let n = s.len();
    let sy: f64 = s.iter().zip(y).map(|(a, b)| a * b).sum();
    if sy <= 1e-300 {
        return;
    }
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
        .collect();
    let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
    for i in 0..n {
        for j in 0..n {
            h[i * n + j] +=
                -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let m = bfgs(
            |x, g| {
                let (a, b) = (x[0], x[1]);
                g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[1] = 200.0 * (b - a * a);
                (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
            },
            &[-1.2, 1.0],
            1e-10,
            1000,
        );
        assert!(m.converged, "{m:?}");
        assert!(
            (m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8,
            "{m:?}"
        );
    }
}
