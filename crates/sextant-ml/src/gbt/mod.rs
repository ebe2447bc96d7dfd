//! LightGBM-style gradient-boosted decision trees for binary classification (log-loss).
//!
//! Training: features are binned once ([`binning`]), then each round computes the log-loss
//! gradient `p − y` and hessian `p(1 − p)` (times the sample weight), optionally samples rows
//! (bagging) and features, and grows one leaf-wise tree ([`grow`]). Scores start from the
//! log-odds of the weighted base rate (`boost_from_average`), exactly like LightGBM, which is
//! what makes the first trees spend their capacity on structure rather than on the intercept.

mod binning;
mod grow;
pub mod params;
mod spin;
mod tree;

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use params::GbtParams;
pub use tree::Tree;

use crate::dataset::Dataset;
use crate::error::MlError;
use binning::BinnedData;
use grow::GrowContext;

/// Format tag written into serialized models; bumped on incompatible layout changes.
const FORMAT: &str = "sextant-gbt/1";

/// A trained boosted-tree ensemble. Raw output is in log-odds space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbtModel {
    format: String,
    feature_names: Vec<String>,
    init_score: f64,
    params: GbtParams,
    trees: Vec<Tree>,
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn validate_labels(labels: &[f64], weights: Option<&[f64]>, n: usize) -> Result<(), MlError> {
    crate::metrics::check_aligned_labels(n, labels)?;
    if let Some(w) = weights {
        if w.len() != n {
            return Err(MlError::LengthMismatch {
                what: "weights".into(),
                expected: n,
                got: w.len(),
            });
        }
        if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return Err(MlError::InvalidWeight(format!("row {i}: {}", w[i])));
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return Err(MlError::InvalidWeight("all weights are zero".into()));
        }
    }
    Ok(())
}

/// Sorted random subset of `0..n` of size `round(frac × n)` (at least 1).
fn sample_sorted(rng: &mut ChaCha8Rng, n: usize, frac: f64) -> Vec<usize> {
    let k = ((n as f64 * frac).round() as usize).clamp(1, n);
    let mut v = sample(rng, n, k).into_vec();
    v.sort_unstable();
    v
}

impl GbtModel {
    /// Trains a model. `labels` must be 0/1; `weights` (optional) non-negative and finite.
    /// NaN features are allowed and treated as missing.
    pub fn fit(
        data: &Dataset,
        labels: &[f64],
        weights: Option<&[f64]>,
        params: &GbtParams,
    ) -> Result<Self, MlError> {
        Self::fit_with_stop(data, labels, weights, params, &|| false)
    }

    /// [`Self::fit`], checking `stop` before every tree: a cancelled training stops within one
    /// tree with [`MlError::Cancelled`].
    pub fn fit_with_stop(
        data: &Dataset,
        labels: &[f64],
        weights: Option<&[f64]>,
        params: &GbtParams,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<Self, MlError> {
        // Run the whole fit on a pool worker: the many small fork-joins inside tree growth are
        // then cheap work-stealing pushes instead of cross-thread injections from the caller;
        // and keep a second worker spinning while it runs (see `spin`).
        let active = std::sync::atomic::AtomicBool::new(false);
        rayon::scope(|s| {
            let wake = || spin::wake(s, &active);
            Self::fit_inner(data, labels, weights, params, stop, &wake)
        })
    }

    fn fit_inner(
        data: &Dataset,
        labels: &[f64],
        weights: Option<&[f64]>,
        params: &GbtParams,
        stop: &(dyn Fn() -> bool + Sync),
        wake: &(dyn Fn() + Sync),
    ) -> Result<Self, MlError> {
        params.validate()?;
        data.validate()?;
        let n = data.n_rows;
        if n > u32::MAX as usize {
            return Err(MlError::InvalidParam("more than 2^32 rows".into()));
        }
        validate_labels(labels, weights, n)?;
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);
        let (sw, swy) = (0..n).fold((0.0, 0.0), |(a, b), i| (a + w(i), b + w(i) * labels[i]));
        let init_score = if params.boost_from_average {
            // LightGBM clamps the base rate the same way so single-class data stays finite.
            let p = (swy / sw).clamp(1e-15, 1.0 - 1e-15);
            (p / (1.0 - p)).ln()
        } else {
            0.0
        };
        let binned = BinnedData::new(&data.columns, params.max_bin, params.min_data_in_bin);
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let mut scores = vec![init_score; n];
        let mut gh = vec![(0.0, 0.0); n];
        let all_rows: Vec<u32> = (0..n as u32).collect();
        let mut bag = all_rows.clone();
        let bagging = params.bagging_freq > 0 && params.bagging_fraction < 1.0;
        let n_features = data.n_features();
        let mut trees = Vec::with_capacity(params.n_trees.min(1024));
        for it in 0..params.n_trees {
            if stop() {
                return Err(MlError::Cancelled);
            }
            wake();
            gh.par_iter_mut().enumerate().for_each(|(i, gh)| {
                let p = sigmoid(scores[i]);
                let wi = w(i);
                *gh = ((p - labels[i]) * wi, (p * (1.0 - p)).max(1e-16) * wi);
            });
            if bagging && it % params.bagging_freq == 0 {
                bag = sample_sorted(&mut rng, n, params.bagging_fraction)
                    .into_iter()
                    .map(|i| i as u32)
                    .collect();
            }
            let features: Vec<usize> = if params.feature_fraction < 1.0 {
                sample_sorted(&mut rng, n_features, params.feature_fraction)
            } else {
                (0..n_features).collect()
            };
            let ctx = GrowContext {
                wake,
                data: &binned,
                gh: &gh,
                features: &features,
                params,
            };
            let (tree, assignment) = ctx.grow(bag.clone());
            if tree.len() == 1 {
                // No split met the constraints: LightGBM stops boosting here as well.
                break;
            }
            if bag.len() == n {
                for (node, rows) in assignment {
                    let v = tree.value[node];
                    for r in rows {
                        scores[r as usize] += v;
                    }
                }
            } else {
                let mut row = vec![0.0; n_features];
                for (i, s) in scores.iter_mut().enumerate() {
                    for (x, col) in row.iter_mut().zip(&data.columns) {
                        *x = col[i];
                    }
                    *s += tree.predict(&row);
                }
            }
            trees.push(tree);
        }
        Ok(Self {
            format: FORMAT.into(),
            feature_names: data.feature_names.clone(),
            init_score,
            params: params.clone(),
            trees,
        })
    }

    /// Raw score (log-odds) for one row in training column order. Missing trailing features
    /// are treated as NaN rather than panicking.
    pub fn predict_raw(&self, row: &[f64]) -> f64 {
        self.init_score + self.trees.iter().map(|t| t.predict(row)).sum::<f64>()
    }

    /// Probability of the positive class for one row.
    pub fn predict_proba(&self, row: &[f64]) -> f64 {
        sigmoid(self.predict_raw(row))
    }

    /// Column indices of `data` matching this model's features by name (None → missing).
    pub(crate) fn column_map(&self, data: &Dataset) -> Vec<Option<usize>> {
        self.feature_names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                if data.feature_names.get(j) == Some(name) {
                    Some(j)
                } else {
                    data.feature_names.iter().position(|n| n == name)
                }
            })
            .collect()
    }

    /// Row `i` of `data` in this model's feature order (columns matched by name; absent → NaN).
    pub(crate) fn aligned_row(data: &Dataset, map: &[Option<usize>], i: usize) -> Vec<f64> {
        map.iter()
            .map(|c| {
                c.and_then(|c| data.columns.get(c))
                    .and_then(|col| col.get(i))
                    .copied()
                    .unwrap_or(f64::NAN)
            })
            .collect()
    }

    /// Probabilities for every row of a dataset. Columns are matched by name, so a dataset
    /// with extra or reordered columns is fine; a column the model needs but the dataset lacks
    /// is treated as missing.
    pub fn predict_proba_dataset(&self, data: &Dataset) -> Vec<f64> {
        let map = self.column_map(data);
        (0..data.n_rows)
            .into_par_iter()
            .map(|i| self.predict_proba(&Self::aligned_row(data, &map, i)))
            .collect()
    }

    /// Feature names in training order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Number of trees actually built (fewer than `n_trees` if boosting stopped early).
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// The trees (read-only), e.g. for inspection or export.
    pub fn trees(&self) -> &[Tree] {
        &self.trees
    }

    /// Log-odds every prediction starts from.
    pub fn init_score(&self) -> f64 {
        self.init_score
    }

    /// Parameters the model was trained with.
    pub fn params(&self) -> &GbtParams {
        &self.params
    }

    /// Deterministic serialization (JSON with round-trip floats): the same data, parameters and
    /// seed always produce identical bytes, so model files can be content-hashed.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain structs of Vec/f64/String into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Decodes and structurally validates a model written by [`GbtModel::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MlError> {
        let m: Self =
            serde_json::from_slice(bytes).map_err(|e| MlError::InvalidModel(e.to_string()))?;
        if m.format != FORMAT {
            return Err(MlError::InvalidModel(format!(
                "unknown format '{}'",
                m.format
            )));
        }
        if !m.init_score.is_finite() {
            return Err(MlError::InvalidModel("non-finite init_score".into()));
        }
        for t in &m.trees {
            t.validate(m.feature_names.len())?;
        }
        Ok(m)
    }
}
