//! The continuous coordinates samplers search in (Optuna's `_SearchSpaceTransform`).
//!
//! A log-scale parameter is searched as its logarithm; an integer or stepped float is searched
//! over `[low − step/2, top + step/2]` and rounded back, so each grid value owns an equal-width
//! cell (the end points are not half as likely as the inside ones).

use crate::space::Distribution;

/// The search interval of a numeric distribution; `None` for categoricals.
pub fn bounds(d: &Distribution) -> Option<(f64, f64)> {
    match *d {
        Distribution::Int {
            low,
            step,
            log: true,
            ..
        } => {
            let _ = step;
            Some(((low as f64 - 0.5).ln(), (d.top() + 0.5).ln()))
        }
        Distribution::Int { low, step, .. } => {
            let h = step as f64 / 2.0;
            Some((low as f64 - h, d.top() + h))
        }
        Distribution::Float {
            low, step: Some(s), ..
        } => Some((low - s / 2.0, d.top() + s / 2.0)),
        Distribution::Float {
            low,
            high,
            log: true,
            ..
        } => Some((low.ln(), high.ln())),
        Distribution::Float { low, high, .. } => Some((low, high)),
        Distribution::Categorical { .. } => None,
    }
}

/// An internal value in search coordinates.
pub fn to_search(d: &Distribution, v: f64) -> f64 {
    if d.is_log() {
        v.ln()
    } else {
        v
    }
}

/// A point in search coordinates back to an internal value on the distribution's grid.
pub fn from_search(d: &Distribution, x: f64) -> f64 {
    let v = if d.is_log() { x.exp() } else { x };
    d.snap(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_cells_have_equal_width() {
        let d = Distribution::Int {
            low: 1,
            high: 3,
            step: 1,
            log: false,
        };
        assert_eq!(bounds(&d), Some((0.5, 3.5)));
        assert_eq!(from_search(&d, 0.6), 1.0);
        assert_eq!(from_search(&d, 3.49), 3.0);
        let l = Distribution::Float {
            low: 0.01,
            high: 1.0,
            step: None,
            log: true,
        };
        let (a, b) = bounds(&l).unwrap();
        assert!(
            (from_search(&l, a) - 0.01).abs() < 1e-15 && (from_search(&l, b) - 1.0).abs() < 1e-15
        );
        assert!((to_search(&l, 0.1) - 0.1f64.ln()).abs() < 1e-15);
    }
}
