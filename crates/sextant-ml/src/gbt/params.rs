//! Hyper-parameters, named and defaulted exactly like LightGBM's so that a parity run with
//! `lgb.LGBMClassifier()` defaults and `GbtParams::default()` trains the same kind of model.

use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// Gradient-boosting hyper-parameters (LightGBM names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GbtParams {
    /// Number of boosting rounds (`num_iterations`).
    pub n_trees: usize,
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Maximum leaves per tree (leaf-wise growth stops here).
    pub num_leaves: usize,
    /// Maximum depth; `<= 0` means unlimited (LightGBM's -1).
    pub max_depth: i32,
    /// Minimum number of training rows in a leaf.
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
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate must be finite and > 0");
        }
        if self.num_leaves < 2 {
            return bad("num_leaves must be >= 2");
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
                return bad(&format!("{name} must be in (0, 1]"));
            }
        }
        Ok(())
    }
}
