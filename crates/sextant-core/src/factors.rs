//! `FactorService`: judges a signal over a universe the way a quant judges one (alphalens'
//! measures, computed by `sextant-xsection`).
//!
//! The signal is read exactly as the portfolio strategies read it: the request becomes a
//! `topk_weighted` backtest request (same `signal` parameters, same universe), loaded by the
//! backtest service with the same series sources (a model's point-in-time probabilities, a
//! feature column, membership), and every bar's scores come from the `≤ t` view
//! (`sextant_backtest::portfolio::signal_panel`). Forward returns start at the **next open**
//! (total-return prices by default), as the ML labels do: a score known at `t`'s close is judged
//! on `open[t+1+k] / open[t+1] − 1`.

use crate::backtest::{BacktestError, BacktestService};
use crate::regimes::RegimeService;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::portfolio::{opens, signal_panel, Signal};
use sextant_backtest::run::BacktestRequest;
use sextant_backtest::simulator::MarketData;
use sextant_backtest::strategy::{signal_of, REGIME_LABELS};
use sextant_domain::{PriceBasis, Resolution};
use sextant_xsection::{evaluate, figures, FactorReport, Panel};
use std::sync::Arc;

/// Most horizons in one evaluation.
pub const MAX_PERIODS: usize = 8;
/// Longest horizon, in bars.
pub const MAX_PERIOD: usize = 252;

/// A factor evaluation over a universe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FactorRequest {
    /// The universe (`cache` for every cached symbol).
    pub universe: String,
    /// The signal and its companions, as the portfolio strategies take them: `signal`
    /// (momentum, reversal, low_vol, model, feature, series), `lookback`, `model`, `feature`.
    #[serde(default = "default_signal")]
    pub signal: Value,
    /// First day (inclusive). Default: the first cached bar.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last day (inclusive). Default: the last cached bar.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Forward-return horizons in bars, 1 to [`MAX_PERIOD`], at most [`MAX_PERIODS`].
    /// Default: `[1, 5, 10]` (alphalens').
    #[serde(default = "default_periods")]
    pub periods: Vec<usize>,
    /// Number of quantiles, 2 to 20. Default: 5.
    #[serde(default = "five")]
    pub quantiles: usize,
    /// A regime model whose labels split the IC by regime.
    #[serde(default)]
    pub regime_model: Option<String>,
    /// Prices of the forward returns. Default: total return.
    #[serde(default)]
    pub prices: PriceBasis,
}

fn default_signal() -> Value {
    json!({"signal": "momentum", "lookback": 60})
}
fn default_periods() -> Vec<usize> {
    vec![1, 5, 10]
}
fn five() -> usize {
    5
}

/// What an evaluation returns.
#[derive(Debug, Clone, Serialize)]
pub struct FactorEvaluation {
    /// The request, with defaults filled.
    pub request: FactorRequest,
    /// The universe as used: members, those left out for want of bars, delisted count and the
    /// survivorship notice.
    pub universe: Value,
    /// Hash of the bars read.
    pub data_snapshot: String,
    /// Bars held by the quality checks inside the range (left out of the evaluation).
    pub excluded_bars: usize,
    /// What produced attached scores (a model's id and version, a feature view's version).
    pub inputs: Value,
    /// IC, quantile returns, spread, turnover, autocorrelation, IC by regime.
    pub report: FactorReport,
}

/// Evaluates signals over universes.
pub struct FactorService {
    backtests: Arc<BacktestService>,
    regimes: Arc<RegimeService>,
}

impl FactorService {
    /// A service loading (and resolving universes) through `backtests`, splitting by the
    /// labels of `regimes`.
    pub fn new(backtests: Arc<BacktestService>, regimes: Arc<RegimeService>) -> Self {
        FactorService { backtests, regimes }
    }

    /// Runs the evaluation.
    pub async fn evaluate(&self, req: FactorRequest) -> Result<FactorEvaluation, BacktestError> {
        let invalid = |m: String| Err(BacktestError::invalid(m));
        if req.periods.is_empty() || req.periods.len() > MAX_PERIODS {
            return invalid(format!("periods: 1 to {MAX_PERIODS} horizons"));
        }
        if let Some(p) = req.periods.iter().find(|p| !(1..=MAX_PERIOD).contains(*p)) {
            return invalid(format!("periods: {p} is not in 1..={MAX_PERIOD}"));
        }
        if !(2..=20).contains(&req.quantiles) {
            return invalid(format!("quantiles: {} is not in 2..=20", req.quantiles));
        }
        if !req.signal.is_object() {
            return invalid(
                "signal: an object such as {\"signal\": \"momentum\", \"lookback\": 60}".into(),
            );
        }
        let signal = signal_of("topk_weighted", &req.signal)
            .map_err(|e| BacktestError::invalid(format!("signal: {e}")))?;
        let bt = BacktestRequest {
            strategy: "topk_weighted".into(),
            params: req.signal.clone(),
            symbols: Vec::new(),
            universe: Some(req.universe.clone()),
            resolution: Resolution::Daily,
            from: req.from,
            to: req.to,
            sim: Default::default(),
            seed: 0,
            periods_per_year: None,
            prices: req.prices,
            risk_free: Default::default(),
        };
        let bt = self.backtests.resolve(&bt).await?;
        let backtests = self.backtests.clone();
        let regimes = self.regimes.clone();
        let r = req.clone();
        let (report, data) = tokio::task::spawn_blocking(move || {
            let data = backtests.load_for(backtests.reader().as_ref(), &bt)?;
            let m = &data.market;
            let labels = match &r.regime_model {
                None => None,
                Some(name) => {
                    let ts: Vec<chrono::NaiveDateTime> = m
                        .ts()
                        .iter()
                        .filter_map(|t| chrono::DateTime::from_timestamp(*t, 0))
                        .map(|d| d.naive_utc())
                        .collect();
                    let codes = regimes
                        .codes(name, &ts)
                        .map_err(|e| BacktestError::invalid(e.to_string()))?;
                    Some(
                        codes
                            .iter()
                            .map(|c| {
                                (c.is_finite() && *c >= 0.0)
                                    .then(|| REGIME_LABELS.get(*c as usize))
                                    .flatten()
                                    .map(|l| l.to_string())
                            })
                            .collect::<Vec<_>>(),
                    )
                }
            };
            let report = report_on(m, &signal, &r.periods, r.quantiles, labels.as_deref())
                .map_err(BacktestError::invalid)?;
            Ok::<_, BacktestError>((report, data))
        })
        .await
        .map_err(|e| BacktestError::invalid(format!("evaluation task failed: {e}")))??;
        Ok(FactorEvaluation {
            request: req,
            // The universe source recorded it while loading (membership, left out, notice).
            universe: data.inputs["universe"].clone(),
            data_snapshot: data.snapshot,
            excluded_bars: data.excluded.len(),
            inputs: data.inputs,
            report,
        })
    }
}

/// Evaluates `signal` on `market` as [`FactorService`] does: scores from the `≤ t` view of each
/// bar, forward returns from the next open. `regimes` has one label per bar when given.
pub fn report_on(
    market: &MarketData,
    signal: &Signal,
    periods: &[usize],
    quantiles: usize,
    regimes: Option<&[Option<String>]>,
) -> Result<FactorReport, String> {
    let days: Vec<i64> = market.ts().iter().map(|t| t.div_euclid(86_400)).collect();
    let assets: Vec<String> = market.symbols().to_vec();
    let scores = signal_panel(market, signal);
    let factor =
        Panel::new(days.clone(), assets.clone(), scores.concat()).map_err(|e| e.to_string())?;
    let prices = Panel::new(days, assets, next_open_prices(market)).map_err(|e| e.to_string())?;
    evaluate(&factor, &prices, periods, quantiles, regimes).map_err(|e| e.to_string())
}

/// Next-open prices, row-major by bar: row `t` holds `open[t+1]` (NaN on the last bar and
/// where a name has no bar), so a forward return from row `t` starts at the next open.
pub fn next_open_prices(market: &MarketData) -> Vec<f64> {
    let open = opens(market);
    let (n, k) = (market.len(), open.len());
    let mut out = vec![f64::NAN; n * k];
    for (s, col) in open.iter().enumerate() {
        for t in 0..n.saturating_sub(1) {
            out[t * k + s] = col[t + 1];
        }
    }
    out
}

/// The tearsheet figures of an evaluation as SVG: `ic` (the first horizon's IC series) or
/// `quantiles` (mean return by quantile).
pub fn figure(eval: &FactorEvaluation, which: &str) -> Option<String> {
    match which {
        "ic" => Some(figures::ic_series_svg(&eval.report, 0)),
        "quantiles" => Some(figures::quantile_returns_svg(&eval.report)),
        _ => None,
    }
}
