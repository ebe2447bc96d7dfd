#![warn(missing_docs)]
//! `sextant-ml`: gradient-boosted trees, exact TreeSHAP, leakage-proof CV and metrics.
//!
//! # Why a Rust GBDT
//! The research backend needs to train and explain small tabular classifiers (thousands to a
//! few hundred thousand rows, tens of features) inside the service, reproducibly and without a
//! Python runtime. [`gbt`] re-implements the parts of LightGBM that matter at this scale —
//! LightGBM's bin-boundary algorithm, leaf-wise growth, NaN default directions, L1/L2
//! regularisation, bagging and feature sampling, with LightGBM's parameter names and defaults.
//! `scripts/ml-parity` measures it against LightGBM 4.5 on the bundled real equity sample
//! (7,774 train / 3,176 test rows, 17 features, default parameters): test AUC 0.5741 vs
//! 0.5753 (|ΔAUC| ≈ 0.001, acceptance bar 0.01), the first five trees are split-for-split
//! identical (later ones diverge on near-ties; LightGBM accumulates float32 gradients),
//! training takes ~0.15–0.17 s (LightGBM: 0.145 s on one thread, 0.095 s on two), and a
//! warm single-row prediction takes ~4 µs at p99.
//!
//! # Why leaf-wise
//! For a fixed leaf budget, best-first growth reaches lower loss than level-wise growth and is
//! what LightGBM's defaults (`num_leaves = 31`, unlimited depth) assume; matching it is what
//! makes default-for-default parity meaningful.
//!
//! # Determinism
//! Same data + parameters + seed ⇒ bit-identical models and [`GbtModel::to_bytes`]:
//! randomness comes only from a seeded `ChaCha8Rng` (platform independent), parallel work is
//! split per feature and reduced in index order, and every tie has a fixed rule (lower leaf and
//! feature index; higher threshold, as in LightGBM's reverse scan). This
//! is part of leakage control: a run can be reproduced from its recorded seed and data hash.
//!
//! # Explanations and evaluation
//! [`shap`] gives exact path-dependent TreeSHAP values that add up to the raw prediction and
//! exports the model in the dictionary format `shap.TreeExplainer` accepts, so values can be
//! cross-checked against the reference implementation. [`cv`] provides purged/embargoed
//! splitters, and [`metrics`] sklearn-compatible scores with a base-rate baseline.

pub mod cv;
pub mod dataset;
pub mod error;
pub mod gbt;
pub mod metrics;
pub mod shap;

pub use cv::{purged_kfold, walk_forward, Split};
pub use dataset::Dataset;
pub use error::MlError;
pub use gbt::{GbtModel, GbtParams, Tree};
pub use metrics::{
    accuracy, auc, brier, calibration, expected_calibration_error, log_loss, Bin,
    ClassificationReport,
};
pub use shap::Shap;

#[cfg(test)]
mod tests;
