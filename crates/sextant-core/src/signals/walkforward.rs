//! Walk-forward ML backtests: for each test window, a model trained only on samples whose
//! labels were known before the window opened scores the window; the stitched out-of-sample
//! probabilities then drive a `series_threshold` backtest. Nothing of a test window reaches the
//! model that trades it.

use super::train::TrainRequest;
use super::{MlSignalService, SignalError};
use crate::backtest::{
    execute, BacktestError, BacktestRequest, BacktestRun, BacktestService, SeriesSource,
};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::simulator::SimConfig;
use sextant_domain::{PriceBasis, Symbol};
use sextant_ml::{ClassificationReport, GbtModel};
use std::collections::HashMap;

/// A walk-forward ML backtest: the test span is cut into `windows` blocks, a model is
/// retrained before each block on samples whose labels ended before it, and the stitched
/// out-of-sample probabilities are traded with `series_threshold`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlWalkForwardRequest {
    /// Symbols, view, label, parameters and seed; `train_from` bounds the oldest sample used.
    pub train: TrainRequest,
    /// First day of the test span (inclusive); the backtest starts here.
    pub test_from: NaiveDate,
    /// Last day of the test span (inclusive); none = the last day with features.
    #[serde(default)]
    pub test_to: Option<NaiveDate>,
    /// Number of contiguous test blocks, each with its own retrained model: 1 to 50, and no
    /// more than the test days. Default: `4`.
    #[serde(default = "four")]
    pub windows: usize,
    /// Probability below which the position is closed (or shorted). Default: `0.5`.
    #[serde(default = "lower")]
    pub lower: f64,
    /// Probability above which the position is long; not below `lower`. Default: `0.55`.
    #[serde(default = "upper")]
    pub upper: f64,
    /// Go short below `lower` instead of flat. Default: `false`.
    #[serde(default)]
    pub allow_short: bool,
    /// Simulator settings of the backtest (costs, sizing, ...). Default: `SimConfig::default()`.
    #[serde(default, deserialize_with = "sextant_backtest::simulator::sim_object")]
    pub sim: SimConfig,
    /// Trade the stitched probabilities as a cross-sectional portfolio over the symbols instead
    /// of per-symbol thresholds (`lower`, `upper` and `allow_short` are then unused): a
    /// portfolio strategy (`topk_dropout`, `topk_weighted`, `long_short`) and its parameters,
    /// whose signal is set to the stitched probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio: Option<PortfolioSpec>,
}

/// A portfolio strategy fed by the walk-forward's probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioSpec {
    /// `topk_dropout`, `topk_weighted` or `long_short`.
    pub strategy: String,
    /// Its parameters (`signal` and `series` are set by the walk-forward).
    #[serde(default)]
    pub params: Value,
}

fn four() -> usize {
    4
}
fn lower() -> f64 {
    0.5
}
fn upper() -> f64 {
    0.55
}

/// One retraining window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// First test day of the window (inclusive).
    pub from: NaiveDate,
    /// Last test day of the window (inclusive).
    pub to: NaiveDate,
    /// Samples the window's model was trained on (at least 100).
    pub train_samples: usize,
    /// The latest label end among the training samples: always before `from`.
    pub train_label_end: Option<NaiveDateTime>,
    /// Labelled samples in the window that were scored.
    pub test_samples: usize,
    /// Out-of-sample scores of the window; none when they cannot be computed (e.g. a single
    /// class in the window).
    pub oos: Option<ClassificationReport>,
}

/// The result of a walk-forward ML backtest; its backtest run is also stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlWalkForward {
    /// One report per test window, in time order.
    pub windows: Vec<WindowReport>,
    /// All windows' out-of-sample predictions together.
    pub oos: Option<ClassificationReport>,
    /// The `series_threshold` backtest over the test span, as stored.
    pub backtest: BacktestRun,
    /// The cross-sectional evaluation of the stitched probabilities over the test span (rank
    /// IC at 1, 5 and 10 bars from the next open, quintile returns, turnover), when there are
    /// at least two symbols. Not read back (a report holds NaN, which JSON writes as null).
    #[serde(default, skip_deserializing)]
    pub factor: Option<sextant_xsection::FactorReport>,
}

/// Serves the stitched probabilities as the `ml_proba` series.
/// The stitched out-of-sample probabilities and what produced them (the walk-forward request).
struct Stitched(HashMap<String, HashMap<NaiveDateTime, f64>>, Value);

impl SeriesSource for Stitched {
    fn series(
        &self,
        _req: &BacktestRequest,
        symbol: &Symbol,
        ts: &[NaiveDateTime],
    ) -> Result<Vec<(String, Vec<f64>)>, BacktestError> {
        let m = self.0.get(symbol.as_str());
        let v = ts
            .iter()
            .map(|t| m.and_then(|m| m.get(t)).copied().unwrap_or(f64::NAN))
            .collect();
        Ok(vec![(super::ML_PROBA.into(), v)])
    }

    fn provenance(&self, _req: &BacktestRequest) -> Result<Value, BacktestError> {
        Ok(self.1.clone())
    }
}

pub(super) async fn run(
    svc: &MlSignalService,
    req: MlWalkForwardRequest,
    backtests: &BacktestService,
) -> Result<MlWalkForward, SignalError> {
    if req.windows == 0 || req.windows > 50 {
        return Err(SignalError::Invalid("windows must be 1 to 50".into()));
    }
    if req.train.symbols.is_empty() || req.train.symbols.len() > super::train::MAX_TRAIN_SYMBOLS {
        return Err(SignalError::Invalid(format!(
            "1 to {} symbols",
            super::train::MAX_TRAIN_SYMBOLS
        )));
    }
    if let Some(p) = &req.portfolio {
        if !sextant_backtest::strategy::PORTFOLIO_STRATEGIES.contains(&p.strategy.as_str()) {
            return Err(SignalError::Invalid(format!(
                "portfolio.strategy must be one of {}",
                sextant_backtest::strategy::PORTFOLIO_STRATEGIES.join(", ")
            )));
        }
    }
    req.train.label.validate().map_err(SignalError::Invalid)?;
    let cache = svc.cache().clone();
    let r = req.clone();
    let (windows, oos, run, trades, curve, factor) = tokio::task::spawn_blocking(move || {
        let mut params = r.train.params.clone();
        params.seed = r.train.seed;
        params.validate()?;
        let super::Prepared {
            resolution,
            panel,
            samples,
            ..
        } = super::prepare(&cache, &r.train)?;
        // Test days: every panel day in the test span, cut into `windows` contiguous blocks.
        let mut days: Vec<NaiveDate> = panel
            .ts
            .iter()
            .map(|t| t.date())
            .filter(|d| *d >= r.test_from && r.test_to.is_none_or(|t| *d <= t))
            .collect();
        days.sort();
        days.dedup();
        if days.len() < r.windows {
            return Err(SignalError::Invalid("fewer test days than windows".into()));
        }
        let per = days.len().div_ceil(r.windows);
        let mut stitched: HashMap<String, HashMap<NaiveDateTime, f64>> = HashMap::new();
        let mut reports = Vec::new();
        let (mut all_p, mut all_y, mut rate_sum) = (Vec::new(), Vec::new(), 0.0);
        for block in days.chunks(per) {
            let (a, b) = (block[0], block[block.len() - 1]);
            let train_idx: Vec<usize> = (0..samples.ts.len())
                .filter(|&i| r.train.train_from.is_none_or(|f| samples.ts[i].date() >= f))
                .filter(|&i| samples.end_ts[i].date() < a)
                .collect();
            if train_idx.len() < 100 {
                return Err(SignalError::Invalid(format!(
                    "window {a}..{b}: only {} training samples before it",
                    train_idx.len()
                )));
            }
            let y = samples.labels_of(&train_idx);
            let model = GbtModel::fit(&samples.dataset(&train_idx)?, &y, None, &params)?;
            let rate = y.iter().sum::<f64>() / y.len() as f64;
            for i in 0..panel.len() {
                let d = panel.ts[i].date();
                if d >= a && d <= b {
                    stitched
                        .entry(panel.symbols[i].clone())
                        .or_default()
                        .insert(panel.ts[i], model.predict_proba(&panel.row(i)));
                }
            }
            let test_idx: Vec<usize> = (0..samples.ts.len())
                .filter(|&i| samples.ts[i].date() >= a && samples.ts[i].date() <= b)
                .collect();
            let p = model.predict_proba_dataset(&samples.dataset(&test_idx)?);
            let yt = samples.labels_of(&test_idx);
            let oos = ClassificationReport::compute(&p, &yt, rate).ok();
            rate_sum += rate * yt.len() as f64;
            all_p.extend(p);
            all_y.extend(yt);
            reports.push(WindowReport {
                from: a,
                to: b,
                train_samples: train_idx.len(),
                train_label_end: train_idx.iter().map(|&i| samples.end_ts[i]).max(),
                test_samples: test_idx.len(),
                oos,
            });
        }
        let oos = if all_y.is_empty() {
            None
        } else {
            ClassificationReport::compute(&all_p, &all_y, rate_sum / all_y.len() as f64).ok()
        };
        let (strategy, params) = match &r.portfolio {
            None => (
                "series_threshold".to_string(),
                json!({ "series": super::ML_PROBA, "lower": r.lower, "upper": r.upper, "allow_short": r.allow_short }),
            ),
            Some(p) => {
                let mut params = match &p.params {
                    Value::Object(m) => m.clone(),
                    Value::Null => serde_json::Map::new(),
                    _ => return Err(SignalError::Invalid("portfolio.params must be an object".into())),
                };
                params.insert("signal".into(), json!("series"));
                params.insert("series".into(), json!(super::ML_PROBA));
                (p.strategy.clone(), Value::Object(params))
            }
        };
        // A portfolio trades the names that have scores in the test span: a universe's names
        // delisted before it (or listed after it) have no bars there and are left out, listed.
        let (symbols, left_out): (Vec<Symbol>, Vec<Symbol>) = if r.portfolio.is_some() {
            r.train
                .symbols
                .iter()
                .cloned()
                .partition(|s| stitched.contains_key(s.as_str()))
        } else {
            (r.train.symbols.clone(), Vec::new())
        };
        let bt = BacktestRequest {
            strategy,
            params,
            symbols,
            universe: None,
            resolution,
            from: Some(r.test_from),
            to: r.test_to,
            sim: r.sim,
            seed: r.train.seed,
            periods_per_year: None,
            prices: PriceBasis::TotalReturn,
            risk_free: Default::default(),
        };
        let provenance = serde_json::to_value(&r).map_err(|e| SignalError::Invalid(e.to_string()))?;
        let mut inputs = json!({ "ml_walk_forward": provenance });
        if r.portfolio.is_some() {
            inputs["left_out_without_scores"] = json!(left_out);
        }
        let source = Stitched(stitched, inputs);
        let data = BacktestService::load_with(cache.as_ref(), &bt, Some(&source))
            .map_err(|e| SignalError::Invalid(e.to_string()))?;
        let (run, trades, curve) = execute(&bt, &data).map_err(|e| SignalError::Invalid(e.to_string()))?;
        let factor = (bt.symbols.len() >= 2)
            .then(|| {
                let signal = sextant_backtest::portfolio::Signal::Series(super::ML_PROBA.into());
                crate::factors::report_on(&data.market, &signal, &[1, 5, 10], 5, None)
            })
            .transpose()
            .map_err(SignalError::Invalid)?;
        Ok::<_, SignalError>((reports, oos, run, trades, curve, factor))
    })
    .await
    .map_err(|e| SignalError::Task(e.to_string()))??;
    backtests
        .store(&run, &trades, &curve)
        .await
        .map_err(|e| SignalError::Invalid(e.to_string()))?;
    Ok(MlWalkForward {
        windows,
        oos,
        backtest: run,
        factor,
    })
}
