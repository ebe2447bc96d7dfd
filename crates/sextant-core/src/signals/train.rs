//! Training: feature panel + labels → samples → leakage-proof validation → final model.
//!
//! Samples are ordered by (timestamp, symbol). A training sample is used only when its label
//! is known by the end of the training period (`end_ts ≤ train_to`): nothing of the test
//! window leaks through a label. Cross-validation purges every training sample whose label
//! span reaches a test fold and embargoes the samples right after it (see
//! `../shared/reference/leakage.md` and `sextant_ml::cv`). The only learnable transform, the
//! trees' histogram binning, is fitted inside `GbtModel::fit` on the training fold alone.

use super::labels::LabelSpec;
use super::SignalError;
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sextant_data::Cache;
use sextant_domain::{PriceBasis, Resolution, Symbol};
use sextant_features::FeaturePanel;
use sextant_ml::{ClassificationReport, Dataset, GbtModel, GbtParams};

/// How the training period is validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Validation {
    /// Contiguous folds; training samples whose labels reach a test fold are purged and the
    /// `embargo` bars after it are dropped.
    PurgedKfold {
        /// Number of folds, 2 to 50. Default: `5`.
        #[serde(default = "five")]
        k: usize,
        /// Bars of every symbol dropped after each test fold, up to 1000. Default: `5`.
        #[serde(default = "five")]
        embargo: usize,
    },
    /// Expanding window: each fold trains strictly before its test block, with a gap of the
    /// label horizon plus `embargo` bars.
    WalkForward {
        /// Number of test blocks, 1 to 50. Default: `5`.
        #[serde(default = "five")]
        splits: usize,
        /// Extra bars of every symbol between training and test, up to 1000. Default: `5`.
        #[serde(default = "five")]
        embargo: usize,
    },
    /// No cross-validation: only the in-sample fit and the optional holdout are reported.
    None,
}

fn five() -> usize {
    5
}

impl Default for Validation {
    fn default() -> Self {
        Validation::PurgedKfold { k: 5, embargo: 5 }
    }
}

/// Most symbols pooled in one training: a universe (500 names × 20 years of daily samples is
/// 2.5 million rows, a few hundred MB of features).
pub const MAX_TRAIN_SYMBOLS: usize = 500;

/// A training request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainRequest {
    /// The model's name (versions accumulate under it).
    pub name: String,
    /// The symbols whose samples are pooled for training: 1 to [`MAX_TRAIN_SYMBOLS`].
    pub symbols: Vec<Symbol>,
    /// A feature view (`sextant features ls`).
    #[serde(default = "technical")]
    pub view: String,
    /// What the model predicts and with which execution timing. Default: `next_return`, filled
    /// at the next open, horizon 1 bar, no dead zone.
    #[serde(default)]
    pub label: LabelSpec,
    /// First date of the training samples (inclusive); none = the first available.
    #[serde(default)]
    pub train_from: Option<NaiveDate>,
    /// Last date of the training period (inclusive): a sample is used only when its label ends
    /// by then. None = the last available.
    #[serde(default)]
    pub train_to: Option<NaiveDate>,
    /// An optional out-of-sample holdout after the training period.
    #[serde(default)]
    pub test_from: Option<NaiveDate>,
    /// Last date of the holdout (inclusive). Giving `test_from` or `test_to` enables the
    /// holdout; `test_from` then defaults to the day after `train_to`.
    #[serde(default)]
    pub test_to: Option<NaiveDate>,
    /// How the training period is cross-validated. Default: purged 5-fold, embargo 5 bars.
    #[serde(default)]
    pub validation: Validation,
    /// Gradient-boosted tree hyper-parameters. Default: `GbtParams::default()`. Its `seed` is
    /// replaced by the request's `seed`.
    #[serde(default)]
    pub params: GbtParams,
    /// Overrides `params.seed`.
    #[serde(default)]
    pub seed: u64,
}

fn technical() -> String {
    "technical".into()
}

impl TrainRequest {
    /// Everything that can be checked without data: the job API refuses a bad request at
    /// submission instead of failing it later.
    pub fn validate(&self) -> Result<(), SignalError> {
        super::clean_name(&self.name)?;
        if self.symbols.is_empty() || self.symbols.len() > MAX_TRAIN_SYMBOLS {
            return Err(SignalError::Invalid(format!(
                "1 to {MAX_TRAIN_SYMBOLS} symbols"
            )));
        }
        for (field, d) in [
            ("train_from", self.train_from),
            ("train_to", self.train_to),
            ("test_from", self.test_from),
            ("test_to", self.test_to),
        ] {
            if let Some(d) = d {
                sextant_domain::dates::check_date(field, d)
                    .map_err(|e| SignalError::Invalid(e.to_string()))?;
            }
        }
        if sextant_features::find(&self.view).is_none() {
            return Err(SignalError::Invalid(format!(
                "unknown feature view {:?}",
                self.view
            )));
        }
        self.label.validate().map_err(SignalError::Invalid)?;
        let mut params = self.params.clone();
        params.seed = self.seed;
        params.validate()?;
        if let (Some(a), Some(b)) = (self.train_to, self.test_from) {
            if b <= a {
                return Err(SignalError::Invalid(
                    "test_from must be after train_to".into(),
                ));
            }
        }
        if let (Some(a), Some(b)) = (self.train_from, self.train_to) {
            if b < a {
                return Err(SignalError::Invalid(
                    "train_to must not be before train_from".into(),
                ));
            }
        }
        match self.validation {
            Validation::PurgedKfold { k, embargo } if !(2..=50).contains(&k) || embargo > 1000 => {
                Err(SignalError::Invalid(
                    "purged_kfold: k 2 to 50, embargo up to 1000 bars".into(),
                ))
            }
            Validation::WalkForward { splits, embargo }
                if !(1..=50).contains(&splits) || embargo > 1000 =>
            {
                Err(SignalError::Invalid(
                    "walk_forward: 1 to 50 splits, embargo up to 1000 bars".into(),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Scores of one evaluation, next to the base-rate baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Pooled over every fold's out-of-fold predictions, against the folds' training base
    /// rates.
    pub report: ClassificationReport,
    /// Per fold (cross-validation only).
    #[serde(default)]
    pub folds: Vec<ClassificationReport>,
}

/// Everything training measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    /// The final model on its own training samples (optimistic by construction).
    pub in_sample: ClassificationReport,
    /// Out-of-fold scores; none with [`Validation::None`] or when no fold was usable.
    pub cross_validation: Option<Evaluation>,
    /// Scores on the holdout period; none when no holdout was requested or it holds no sample.
    pub holdout: Option<ClassificationReport>,
    /// Labelled samples (symbol × bar) the final model was fitted on.
    pub train_samples: usize,
    /// Labelled samples in the holdout.
    pub test_samples: usize,
    /// Timestamp of the first training sample.
    pub train_first: Option<NaiveDateTime>,
    /// Timestamp of the last training sample.
    pub train_last: Option<NaiveDateTime>,
    /// Global importance: mean |SHAP| per feature on the training samples (log-odds).
    pub importance: Vec<(String, f64)>,
}

/// Labelled samples in (ts, symbol) order.
pub(crate) struct Samples {
    pub symbols: Vec<String>,
    pub ts: Vec<NaiveDateTime>,
    pub end_ts: Vec<NaiveDateTime>,
    pub labels: Vec<f64>,
    pub features: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Samples {
    fn len(&self) -> usize {
        self.ts.len()
    }

    /// Indices of the samples that start at or after `from` and whose labels end by `to`.
    pub fn select(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| from.is_none_or(|f| self.ts[i].date() >= f))
            .filter(|&i| to.is_none_or(|t| self.end_ts[i].date() <= t))
            .collect()
    }

    pub fn dataset(&self, idx: &[usize]) -> Result<Dataset, SignalError> {
        let columns = (0..self.features.len())
            .map(|j| idx.iter().map(|&i| self.rows[i][j]).collect())
            .collect();
        Ok(Dataset::from_columns(self.features.clone(), columns)?)
    }

    pub fn labels_of(&self, idx: &[usize]) -> Vec<f64> {
        idx.iter().map(|&i| self.labels[i]).collect()
    }
}

/// Timestamps, adjusted opens and adjusted closes of one symbol.
pub(crate) type AdjustedBars = (Vec<NaiveDateTime>, Vec<f64>, Vec<f64>);

/// What a final fit produces: the model, in-sample and holdout reports, importance.
pub(crate) type Fitted = (
    GbtModel,
    ClassificationReport,
    Option<ClassificationReport>,
    Vec<(String, f64)>,
);

/// Total-return opens and closes of a symbol (see `sextant_domain::prices`): labels are
/// returns a holder earned, never a split's fake drop.
pub(crate) fn adjusted_bars(
    cache: &Cache,
    symbol: &Symbol,
    resolution: Resolution,
) -> Result<AdjustedBars, SignalError> {
    let bars = cache.bars_on(symbol, resolution, None, None, PriceBasis::TotalReturn)?;
    let ts = bars.iter().map(|b| b.ts).collect();
    let open = bars.iter().map(|b| b.open).collect();
    let close = bars.iter().map(|b| b.close).collect();
    Ok((ts, open, close))
}

/// Builds the labelled samples of `symbols` from `panel`.
pub(crate) fn build_samples(
    cache: &Cache,
    panel: &FeaturePanel,
    symbols: &[Symbol],
    resolution: Resolution,
    spec: &LabelSpec,
) -> Result<Samples, SignalError> {
    let mut out: Vec<(NaiveDateTime, String, NaiveDateTime, f64, Vec<f64>)> = Vec::new();
    for sym in symbols {
        let (ts, open, close) = adjusted_bars(cache, sym, resolution)?;
        let labels = spec.labels(&open, &close);
        let pos: std::collections::HashMap<NaiveDateTime, usize> =
            ts.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        for i in 0..panel.len() {
            if panel.symbols[i] != sym.as_str() {
                continue;
            }
            let Some(&t) = pos.get(&panel.ts[i]) else {
                continue;
            };
            let l = labels[t];
            if l.value.is_nan() {
                continue;
            }
            out.push((
                panel.ts[i],
                sym.to_string(),
                ts[l.end],
                l.value,
                panel.row(i),
            ));
        }
    }
    out.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut s = Samples {
        symbols: Vec::with_capacity(out.len()),
        ts: Vec::with_capacity(out.len()),
        end_ts: Vec::with_capacity(out.len()),
        labels: Vec::with_capacity(out.len()),
        features: panel.features.clone(),
        rows: Vec::with_capacity(out.len()),
    };
    for (ts, sym, end, label, row) in out {
        s.ts.push(ts);
        s.symbols.push(sym);
        s.end_ts.push(end);
        s.labels.push(label);
        s.rows.push(row);
    }
    Ok(s)
}

fn base_rate(labels: &[f64]) -> f64 {
    if labels.is_empty() {
        0.5
    } else {
        labels.iter().sum::<f64>() / labels.len() as f64
    }
}

/// For each selected sample (in order), the position of the last selected sample whose start
/// is at or before its label's end: the label span in sample units that purging needs.
fn label_end_positions(s: &Samples, idx: &[usize]) -> Vec<usize> {
    let starts: Vec<NaiveDateTime> = idx.iter().map(|&i| s.ts[i]).collect();
    idx.iter()
        .enumerate()
        .map(|(k, &i)| {
            let end = s.end_ts[i];
            starts
                .partition_point(|t| *t <= end)
                .saturating_sub(1)
                .max(k)
        })
        .collect()
}

/// The validation splits of the training samples `idx`, as positions into `idx`. Purging works
/// in sample units: a label ending at time `e` spans every sample that starts by `e`, so the
/// purge also covers the other symbols trading at the same times; the embargo is `embargo`
/// bars of every symbol.
pub(crate) fn splits(
    s: &Samples,
    idx: &[usize],
    validation: &Validation,
    n_symbols: usize,
) -> Result<Vec<sextant_ml::Split>, SignalError> {
    let label_end = label_end_positions(s, idx);
    Ok(match *validation {
        Validation::None => Vec::new(),
        Validation::PurgedKfold { k, embargo } => {
            sextant_ml::purged_kfold(&label_end, k, embargo * n_symbols.max(1))?
        }
        Validation::WalkForward { splits, embargo } => {
            let horizon = label_end
                .iter()
                .enumerate()
                .map(|(k, &e)| e - k)
                .max()
                .unwrap_or(0);
            let gap = horizon + embargo * n_symbols.max(1);
            let test_size = idx.len().saturating_sub(gap) / (splits + 1);
            sextant_ml::walk_forward(idx.len(), splits, test_size.max(1), test_size.max(1), gap)?
        }
    })
}

/// Cross-validates on the training samples `idx`.
pub(crate) fn cross_validate(
    s: &Samples,
    idx: &[usize],
    validation: &Validation,
    params: &GbtParams,
    n_symbols: usize,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Evaluation>, SignalError> {
    let splits = splits(s, idx, validation, n_symbols)?;
    let mut probs = Vec::new();
    let mut labels = Vec::new();
    let mut folds = Vec::new();
    let mut rate_sum = 0.0;
    let mut rate_n = 0usize;
    for split in &splits {
        let train: Vec<usize> = split.train.iter().map(|&k| idx[k]).collect();
        let test: Vec<usize> = split.test.iter().map(|&k| idx[k]).collect();
        if train.is_empty() || test.is_empty() {
            continue;
        }
        let y = s.labels_of(&train);
        let model = GbtModel::fit_with_stop(&s.dataset(&train)?, &y, None, params, stop)?;
        let p = model.predict_proba_dataset(&s.dataset(&test)?);
        let yt = s.labels_of(&test);
        let rate = base_rate(&y);
        if let Ok(r) = ClassificationReport::compute(&p, &yt, rate) {
            folds.push(r);
        }
        rate_sum += rate * test.len() as f64;
        rate_n += test.len();
        probs.extend(p);
        labels.extend(yt);
    }
    if probs.is_empty() {
        return Ok(None);
    }
    let report = ClassificationReport::compute(&probs, &labels, rate_sum / rate_n as f64)?;
    Ok(Some(Evaluation { report, folds }))
}

/// Fits on `train`, reports in-sample and on `test`, computes importance.
pub(crate) fn fit_and_report(
    s: &Samples,
    train: &[usize],
    test: &[usize],
    params: &GbtParams,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Fitted, SignalError> {
    let data = s.dataset(train)?;
    let y = s.labels_of(train);
    let model = GbtModel::fit_with_stop(&data, &y, None, params, stop)?;
    let p_in = model.predict_proba_dataset(&data);
    let rate = base_rate(&y);
    let in_sample = ClassificationReport::compute(&p_in, &y, rate)?;
    let holdout = if test.is_empty() {
        None
    } else {
        let p = model.predict_proba_dataset(&s.dataset(test)?);
        Some(ClassificationReport::compute(&p, &s.labels_of(test), rate)?)
    };
    // Importance on at most 2,000 evenly spaced training rows (TreeSHAP is exact but not free).
    let step = (train.len() / 2000).max(1);
    let sample: Vec<usize> = train.iter().copied().step_by(step).collect();
    let importance = model.mean_abs_shap(&s.dataset(&sample)?);
    Ok((model, in_sample, holdout, importance))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    /// Three symbols on the same 300 days, labels spanning 5 days: in every purged fold and every
    /// walk-forward fold, no training label overlaps the test fold's label span, and no training
    /// sample starts in the embargo after it.
    #[test]
    fn purged_splits_never_train_on_a_test_label_span() {
        let t0 = NaiveDate::from_ymd_opt(2020, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("t0");
        let mut s = Samples {
            symbols: Vec::new(),
            ts: Vec::new(),
            end_ts: Vec::new(),
            labels: Vec::new(),
            features: vec!["x".into()],
            rows: Vec::new(),
        };
        for d in 0..300 {
            for sym in ["A", "B", "C"] {
                s.symbols.push(sym.into());
                s.ts.push(t0 + Duration::days(d));
                s.end_ts.push(t0 + Duration::days(d + 5));
                s.labels.push(f64::from(d % 2 == 0));
                s.rows.push(vec![d as f64]);
            }
        }
        let idx: Vec<usize> = (0..s.ts.len()).collect();
        let embargo_days = 3;
        for v in [
            Validation::PurgedKfold {
                k: 5,
                embargo: embargo_days,
            },
            Validation::WalkForward {
                splits: 4,
                embargo: embargo_days,
            },
        ] {
            let splits = splits(&s, &idx, &v, 3).expect("splits");
            assert!(!splits.is_empty());
            for sp in &splits {
                let lo = sp.test.iter().map(|&k| s.ts[k]).min().expect("test");
                let hi = sp.test.iter().map(|&k| s.end_ts[k]).max().expect("test");
                for &k in &sp.train {
                    let overlaps = s.ts[k] <= hi && s.end_ts[k] >= lo;
                    assert!(
                        !overlaps,
                        "{v:?}: train sample {k} spans into the test fold"
                    );
                    let in_embargo =
                        s.ts[k] > hi && s.ts[k] <= hi + Duration::days(embargo_days as i64);
                    assert!(!in_embargo, "{v:?}: train sample {k} lies in the embargo");
                }
            }
        }
    }
}
