//! Binary-classification metrics, matching scikit-learn's definitions so numbers can be
//! compared with Python research notebooks.
//!
//! A model is only useful if it beats the trivial forecaster that predicts the training base
//! rate for every row, so [`ClassificationReport`] always reports that baseline's log-loss and
//! Brier score next to the model's.

use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// Probability clip used by log-loss (scikit-learn's historical `eps=1e-15`).
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// Non-empty, aligned, 0/1 labels.
fn check_labels(n: usize, labels: &[f64]) -> Result<(), MlError> {
    if n == 0 {
        return Err(MlError::Empty("no predictions".into()));
    }
    check_aligned_labels(n, labels)
}

/// `n` labels, each 0 or 1 (training and evaluation share this rule).
pub(crate) fn check_aligned_labels(n: usize, labels: &[f64]) -> Result<(), MlError> {
    if n != labels.len() {
        return Err(MlError::LengthMismatch {
            what: "labels".into(),
            expected: n,
            got: labels.len(),
        });
    }
    if let Some((row, &value)) = labels
        .iter()
        .enumerate()
        .find(|(_, &y)| y != 0.0 && y != 1.0)
    {
        return Err(MlError::InvalidLabel { row, value });
    }
    Ok(())
}

/// Labels as above and probabilities in [0, 1] (NaN rejected).
fn check(probs: &[f64], labels: &[f64]) -> Result<(), MlError> {
    check_labels(probs.len(), labels)?;
    if let Some((row, &value)) = probs
        .iter()
        .enumerate()
        .find(|(_, &p)| !(0.0..=1.0).contains(&p))
    {
        return Err(MlError::InvalidPrediction { row, value });
    }
    Ok(())
}

/// ROC AUC via the Mann–Whitney U statistic with average ranks for ties (equal to sklearn's
/// `roc_auc_score`). Scores may be any finite reals (not only probabilities).
pub fn auc(scores: &[f64], labels: &[f64]) -> Result<f64, MlError> {
    if let Some((row, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(MlError::InvalidPrediction { row, value });
    }
    check_labels(scores.len(), labels)?;
    let n_pos = labels.iter().filter(|&&y| y == 1.0).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(MlError::Undefined("AUC needs both classes".into()));
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks are 1-based; tied block i..=j shares the average rank.
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_pos +=
            order[i..=j].iter().filter(|&&k| labels[k] == 1.0).count() as f64 * avg_rank;
        i = j + 1;
    }
    let (p, n) = (n_pos as f64, n_neg as f64);
    Ok((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// Mean negative log-likelihood with probabilities clipped to `[1e-15, 1 − 1e-15]`.
pub fn log_loss(probs: &[f64], labels: &[f64]) -> Result<f64, MlError> {
    check(probs, labels)?;
    let s: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    Ok(s / probs.len() as f64)
}

/// Mean squared error between probability and outcome.
pub fn brier(probs: &[f64], labels: &[f64]) -> Result<f64, MlError> {
    check(probs, labels)?;
    Ok(probs
        .iter()
        .zip(labels)
        .map(|(p, y)| (p - y) * (p - y))
        .sum::<f64>()
        / probs.len() as f64)
}

/// Fraction of rows where `p > 0.5` agrees with the label (a tie at exactly 0.5 predicts the
/// negative class, as `LGBMClassifier.predict`'s argmax does).
pub fn accuracy(probs: &[f64], labels: &[f64]) -> Result<f64, MlError> {
    check(probs, labels)?;
    let hits = probs
        .iter()
        .zip(labels)
        .filter(|(&p, &y)| (p > 0.5) == (y == 1.0))
        .count();
    Ok(hits as f64 / probs.len() as f64)
}

/// One reliability-diagram bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Lower edge (inclusive).
    pub lo: f64,
    /// Upper edge (exclusive, except 1.0 for the last bin).
    pub hi: f64,
    /// Rows whose prediction falls in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin.
    pub mean_pred: f64,
    /// Observed fraction of positives in the bin.
    pub frac_pos: f64,
}

/// Equal-width reliability bins over [0, 1]; empty bins are omitted (as in sklearn's
/// `calibration_curve`) so every reported mean is well defined.
pub fn calibration(probs: &[f64], labels: &[f64], n_bins: usize) -> Result<Vec<Bin>, MlError> {
    check(probs, labels)?;
    if n_bins == 0 {
        return Err(MlError::InvalidParam("n_bins must be >= 1".into()));
    }
    let mut acc = vec![(0usize, 0.0, 0.0); n_bins];
    for (&p, &y) in probs.iter().zip(labels) {
        let b = ((p * n_bins as f64) as usize).min(n_bins - 1);
        acc[b].0 += 1;
        acc[b].1 += p;
        acc[b].2 += y;
    }
    Ok(acc
        .into_iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(b, (count, sp, sy))| Bin {
            lo: b as f64 / n_bins as f64,
            hi: (b + 1) as f64 / n_bins as f64,
            count,
            mean_pred: sp / count as f64,
            frac_pos: sy / count as f64,
        })
        .collect())
}

/// Expected calibration error: count-weighted mean |mean_pred − frac_pos| over the bins.
pub fn expected_calibration_error(bins: &[Bin]) -> f64 {
    let n: usize = bins.iter().map(|b| b.count).sum();
    if n == 0 {
        return 0.0;
    }
    bins.iter()
        .map(|b| b.count as f64 * (b.mean_pred - b.frac_pos).abs())
        .sum::<f64>()
        / n as f64
}

/// Everything needed to judge a classifier on a held-out set, next to the base-rate baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// ROC AUC (computing the report errors if the evaluation set has a single class).
    pub auc: f64,
    /// Model log-loss.
    pub log_loss: f64,
    /// Model Brier score.
    pub brier: f64,
    /// Accuracy at the 0.5 threshold.
    pub accuracy: f64,
    /// Training base rate the baseline predicts for every row.
    pub base_rate: f64,
    /// Log-loss of always predicting `base_rate`.
    pub baseline_log_loss: f64,
    /// Brier score of always predicting `base_rate`.
    pub baseline_brier: f64,
    /// Number of evaluated rows.
    pub n: usize,
    /// 10-bin reliability diagram.
    pub calibration: Vec<Bin>,
    /// Expected calibration error of `calibration`.
    pub ece: f64,
}

impl ClassificationReport {
    /// Evaluates `probs` against `labels`; `train_base_rate` is the positive rate of the
    /// *training* labels (using the test rate would leak the answer into the baseline).
    pub fn compute(probs: &[f64], labels: &[f64], train_base_rate: f64) -> Result<Self, MlError> {
        if !(0.0..=1.0).contains(&train_base_rate) {
            return Err(MlError::InvalidParam(format!(
                "base rate {train_base_rate} not in [0, 1]"
            )));
        }
        let base = vec![train_base_rate; labels.len()];
        let calibration = calibration(probs, labels, 10)?;
        Ok(Self {
            auc: auc(probs, labels)?,
            log_loss: log_loss(probs, labels)?,
            brier: brier(probs, labels)?,
            accuracy: accuracy(probs, labels)?,
            base_rate: train_base_rate,
            baseline_log_loss: log_loss(&base, labels)?,
            baseline_brier: brier(&base, labels)?,
            n: probs.len(),
            ece: expected_calibration_error(&calibration),
            calibration,
        })
    }
}
