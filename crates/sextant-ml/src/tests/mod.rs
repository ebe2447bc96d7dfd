//! Crate-level unit tests (one test binary keeps link time low on small machines).

mod cv_props;
mod gbt;
mod metrics;
mod shap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::Dataset;

/// Synthetic data with a learnable signal, some NaNs and a noise feature.
pub(crate) fn synthetic(n: usize, seed: u64) -> (Dataset, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cols: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let a: f64 = rng.gen_range(-2.0..2.0);
        let b: f64 = rng.gen_range(-2.0..2.0);
        let c: f64 = (rng.gen_range(0..20) as f64) / 4.0;
        let d: f64 = rng.gen_range(-1.0..1.0);
        let logit = 1.5 * a - b * b + 0.8 * (c > 2.0) as u8 as f64;
        let p = 1.0 / (1.0 + (-logit).exp());
        y.push(if rng.gen::<f64>() < p { 1.0 } else { 0.0 });
        let b_obs = if rng.gen::<f64>() < 0.1 { f64::NAN } else { b };
        for (col, v) in cols.iter_mut().zip([a, b_obs, c, d]) {
            col.push(v);
        }
    }
    let names = ["a", "b", "c", "noise"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    (Dataset::from_columns(names, cols).unwrap(), y)
}
