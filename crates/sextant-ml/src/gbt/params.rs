//! Hyper-parameters, named and defaulted exactly like LightGBM's so that a parity run with
//! `lgb.LGBMClassifier()` defaults and `GbtParams::default()` trains the same kind of model.

use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// Most boosting rounds a model may have: 100 times LightGBM's default. Every parameter that
/// sizes work or memory has a maximum, checked by [`GbtParams::validate`] before anything is
/// allocated, so no request can make training exhaust the machine.
pub const MAX_TREES: usize = 10_000;
/// Most leaves per tree (LightGBM's default is 31).
pub const MAX_LEAVES: usize = 4_096;
/// Largest `max_depth` (deeper than any 4,096-leaf tree needs).
pub const MAX_DEPTH: i32 = 64;
/// Largest `min_data_in_leaf` / `min_data_in_bin`.
pub const MAX_MIN_DATA: usize = 1_000_000;
/// Largest `bagging_freq`.
pub const MAX_BAGGING_FREQ: usize = MAX_TREES;
/// Largest learning rate.
pub const MAX_LEARNING_RATE: f64 = 10.0;

/// Gradient-boosting hyper-parameters (LightGBM names and defaults). Unknown names are refused
/// (a misspelt parameter would otherwise silently train with the default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbtParams {
    /// Number of boosting rounds (`num_iterations`), at most [`MAX_TREES`].
    pub n_trees: usize,
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Maximum leaves per tree (leaf-wise growth stops here), 2 to [`MAX_LEAVES`].
    pub num_leaves: usize,
    /// Maximum depth; `<= 0` means unlimited (LightGBM's -1); at most [`MAX_DEPTH`].
    pub max_depth: i32,
    /// Minimum number of training rows in a leaf, at most [`MAX_MIN_DATA`].
    pub min_data_in_leaf: usize,
    /// Minimum sum of hessians in a leaf.
    pub min_sum_hessian_in_leaf: f64,
    /// L1 regularisation on leaf values.
    pub lambda_l1: f64,
    /// L2 regularisation on leaf values.
    pub lambda_l2: f64,
    /// Minimum gain for a split to be made.
    pub min_gain_to_split: f64,
    /// Maximum number of histogram bins per feature (excluding the NaN bin).
    pub max_bin: usize,
    /// Minimum number of rows per bin when building bin boundaries.
    pub min_data_in_bin: usize,
    /// Fraction of features sampled (without replacement) per tree.
    pub feature_fraction: f64,
    /// Fraction of rows sampled (without replacement) per bagging round.
    pub bagging_fraction: f64,
    /// Re-sample the bag every `bagging_freq` trees; 0 disables bagging.
    pub bagging_freq: usize,
    /// Seed for all sampling (ChaCha8, so identical across platforms).
    pub seed: u64,
    /// Start from the log-odds of the (weighted) base rate instead of 0.
    pub boost_from_average: bool,
}

impl Default for GbtParams {
    fn default() -> Self {
        Self {
            n_trees: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: -1,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l1: 0.0,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            max_bin: 255,
            min_data_in_bin: 3,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            bagging_freq: 0,
            seed: 0,
            boost_from_average: true,
        }
    }
}

impl GbtParams {
    /// Rejects parameter combinations that would make training meaningless or panic.
    pub fn validate(&self) -> Result<(), MlError> {
        let bad = |m: &str| Err(MlError::InvalidParam(m.to_string()));
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= MAX_LEARNING_RATE)
        {
            return bad("learning_rate must be in (0, 10]");
        }
        if !(1..=MAX_TREES).contains(&self.n_trees) {
            return bad("n_trees must be in 1..=10000");
        }
        if !(2..=MAX_LEAVES).contains(&self.num_leaves) {
            return bad("num_leaves must be in 2..=4096");
        }
        if self.max_depth > MAX_DEPTH {
            return bad("max_depth must be <= 64 (<= 0 means unlimited)");
        }
        if self.min_data_in_leaf > MAX_MIN_DATA || self.min_data_in_bin > MAX_MIN_DATA {
            return bad("min_data_in_leaf and min_data_in_bin must be <= 1000000");
        }
        if self.bagging_freq > MAX_BAGGING_FREQ {
            return bad("bagging_freq must be <= 10000");
        }
        if !(2..=65_534).contains(&self.max_bin) {
            return bad("max_bin must be in 2..=65534");
        }
        let nonneg = [
            ("min_sum_hessian_in_leaf", self.min_sum_hessian_in_leaf),
            ("lambda_l1", self.lambda_l1),
            ("lambda_l2", self.lambda_l2),
            ("min_gain_to_split", self.min_gain_to_split),
        ];
        for (name, v) in nonneg {
            if !(v.is_finite() && v >= 0.0) {
                return bad(&format!("{name} must be finite and >= 0"));
            }
        }
        for (name, v) in [
            ("feature_fraction", self.feature_fraction),
            ("bagging_fraction", self.bagging_fraction),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                // NaN fails the comparison too.
                return bad(&format!("{name} must be in (0, 1]"));
            }
        }
        Ok(())
    }
}
