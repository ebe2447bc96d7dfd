//! `InferenceEngine`: reads the history, fits, simulates, summarises in currency, stores.

use super::history::{self, History};
use super::spec::{
    quantile_levels, BaselineFigures, FanPoint, ForecastReport, ForecastRequest, HistoryUsed,
    RiskLine, TargetKind, MIN_PATHS,
};
use super::ForecastServiceError;
use crate::common::blocking;
use crate::portfolios::PortfolioService;
use chrono::{Days, NaiveDate, Utc};
use sextant_data::cache::{ForecastQuantile, ReadPool, StoredForecast};
use sextant_domain::Symbol;
use sextant_forecasts::{forecast, FitConfig, Forecast, ForecastSpec, ModelKind, Summary};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most simulated values one forecast may hold (paths × days): 80 MB of doubles.
pub const MAX_CELLS: usize = 10_000_000;
/// Most simulated asset-steps one forecast may take (paths × days × assets): about two
/// seconds of filtered historical simulation on two cores.
pub const MAX_ASSET_STEPS: f64 = 1e9;
/// Changes when the models or the simulation change, so ids of older forecasts differ.
const ENGINE_VERSION: &str = "forecasts-1";
/// Sessions of recent values a report carries for charts.
const RECENT: usize = 60;

/// Forecasts over the bar store; stores each one's quantiles.
pub struct InferenceEngine {
    reads: Arc<ReadPool>,
    portfolios: Arc<PortfolioService>,
}

impl InferenceEngine {
    /// An engine reading bars through `reads` (forecasts are written through its main
    /// connection) and holdings through `portfolios`.
    pub fn new(reads: Arc<ReadPool>, portfolios: Arc<PortfolioService>) -> Self {
        InferenceEngine { reads, portfolios }
    }

    pub(crate) fn reads(&self) -> &Arc<ReadPool> {
        &self.reads
    }

    /// The forecast of one share of `symbol`.
    pub async fn forecast_symbol(
        &self,
        symbol: &Symbol,
        req: &ForecastRequest,
    ) -> Result<ForecastReport, ForecastServiceError> {
        let req = &resolve(req, TargetKind::Symbol)?;
        let reader = self.reads.get();
        let sym = symbol.clone();
        let as_of = req.as_of;
        let h = blocking_forecast(move || {
            let series = history::symbol_returns(reader.as_ref(), &sym, as_of)?;
            let last = series.keys().next_back().copied();
            let price = match last {
                Some(d) => history::last_close(reader.as_ref(), &sym, d)?,
                None => f64::NAN,
            };
            history::joint(vec![(sym.to_string(), series)], vec![price], 0.0)
        })
        .await?;
        self.run(h, TargetKind::Symbol, symbol.as_str(), req).await
    }

    /// The forecast of portfolio `id`'s holdings and cash at the origin (ownership is the
    /// caller's check).
    pub async fn forecast_portfolio(
        &self,
        id: &str,
        req: &ForecastRequest,
    ) -> Result<ForecastReport, ForecastServiceError> {
        let req = &resolve(req, TargetKind::Portfolio)?;
        let holdings = self.portfolios.holdings(id, req.as_of).await?;
        if holdings.positions.is_empty() {
            return Err(ForecastServiceError::Invalid(format!(
                "portfolio {id} holds no positions on {}: its value is its cash",
                holdings.as_of
            )));
        }
        let reader = self.reads.get();
        let as_of = req.as_of;
        let h = blocking_forecast(move || {
            let mut series = Vec::new();
            let mut values = Vec::new();
            for p in &holdings.positions {
                series.push((
                    p.symbol.to_string(),
                    history::symbol_returns(reader.as_ref(), &p.symbol, as_of)?,
                ));
                values.push(p.market_value);
            }
            history::joint(series, values, holdings.cash)
        })
        .await?;
        self.run(h, TargetKind::Portfolio, id, req).await
    }

    /// The forecast of stored run `run_id`'s equity (visibility is the caller's check).
    pub async fn forecast_backtest(
        &self,
        run_id: &str,
        req: &ForecastRequest,
    ) -> Result<ForecastReport, ForecastServiceError> {
        let req = &resolve(req, TargetKind::Backtest)?;
        let reader = self.reads.get();
        let id = run_id.to_string();
        let as_of = req.as_of;
        let h = blocking_forecast(move || {
            let curve = reader.equity_curve(&id)?;
            history::equity_history(&id, &curve, as_of)
        })
        .await?;
        self.run(h, TargetKind::Backtest, run_id, req).await
    }

    /// A stored forecast: its record and quantiles.
    pub async fn stored(
        &self,
        id: &str,
    ) -> Result<(StoredForecast, Vec<ForecastQuantile>), ForecastServiceError> {
        let reader = self.reads.get();
        let key = id.to_string();
        blocking(move || reader.forecast(&key))
            .await?
            .ok_or_else(|| ForecastServiceError::NotFound(format!("no stored forecast {id}")))
    }

    /// The regime ids of each row of `h` from a regime model's stored labels (`None` before
    /// its first label), ids numbering the label names in sorted order.
    pub(crate) async fn labels(
        &self,
        model: Option<&str>,
        h: &History,
    ) -> Result<Option<Vec<Option<usize>>>, ForecastServiceError> {
        let Some(model) = model else {
            return Ok(None);
        };
        let reader = self.reads.get();
        let name = model.to_string();
        let to = h.as_of();
        let stored = blocking(move || reader.regime_labels(&name, None, to)).await?;
        if stored.is_empty() {
            return Err(ForecastServiceError::NotFound(format!(
                "regime model {model} has no labels (fit it first: `sextant regime fit`)"
            )));
        }
        let mut names: Vec<&str> = stored.iter().map(|l| l.label.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let by_day: BTreeMap<NaiveDate, usize> = stored
            .iter()
            .filter_map(|l| Some((l.day, names.binary_search(&l.label.as_str()).ok()?)))
            .collect();
        Ok(Some(
            h.dates.iter().map(|d| by_day.get(d).copied()).collect(),
        ))
    }

    async fn run(
        &self,
        h: History,
        kind: TargetKind,
        target: &str,
        req: &ForecastRequest,
    ) -> Result<ForecastReport, ForecastServiceError> {
        let labels = if model_of(req) == ModelKind::Regime {
            let name = req.regime_model.as_deref().ok_or_else(|| {
                ForecastServiceError::Invalid(
                    "the regime model needs `regime_model`: the name of a fitted regime model"
                        .into(),
                )
            })?;
            self.labels(Some(name), &h).await?
        } else {
            None
        };
        let steps = req.paths as f64 * req.horizon.max(10) as f64 * h.target.assets() as f64;
        if steps > MAX_ASSET_STEPS {
            return Err(ForecastServiceError::Invalid(format!(
                "paths × days × {} assets = {steps:.1e} steps, over {MAX_ASSET_STEPS:.0e}: fewer paths or a shorter horizon",
                h.target.assets()
            )));
        }
        // The history's hash names the inputs in the id and in the report: computed once.
        let snapshot = h.snapshot();
        let id = forecast_id(kind, target, req, &snapshot, labels.as_deref())?;
        let req2 = req.clone();
        let target2 = target.to_string();
        let (report, record, quantiles) = blocking_forecast(move || {
            compute(&h, kind, &target2, &req2, labels.as_deref(), id, snapshot)
        })
        .await?;
        if req.store {
            let writer = self.reads.main().clone();
            blocking(move || writer.put_forecast(&record, &quantiles)).await?;
            tracing::debug!(forecast = %report.forecast_id, "forecast stored");
        }
        Ok(report)
    }
}

async fn blocking_forecast<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ForecastServiceError> + Send + 'static,
) -> Result<T, ForecastServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ForecastServiceError::Internal(format!("forecast task failed: {e}")))?
}

/// The request with its model resolved for the target, checked.
fn resolve(
    req: &ForecastRequest,
    kind: TargetKind,
) -> Result<ForecastRequest, ForecastServiceError> {
    let req = ForecastRequest {
        model: Some(req.model.unwrap_or(kind.default_model())),
        ..req.clone()
    };
    validate(&req)?;
    Ok(req)
}

/// The model of a resolved request.
fn model_of(req: &ForecastRequest) -> ModelKind {
    req.model.unwrap_or(ModelKind::FhsGjr)
}

fn validate(req: &ForecastRequest) -> Result<(), ForecastServiceError> {
    let spec = spec_of(req);
    // Out-of-range requests are the caller's error, not a fact of the data.
    spec.validate()
        .map_err(|e| ForecastServiceError::Invalid(e.to_string()))?;
    if req.paths < MIN_PATHS {
        return Err(ForecastServiceError::Invalid(format!(
            "paths {} is below {MIN_PATHS}: too few to estimate a 1 % quantile",
            req.paths
        )));
    }
    let cells = req.paths.saturating_mul(req.horizon.max(10));
    if cells > MAX_CELLS {
        return Err(ForecastServiceError::Invalid(format!(
            "paths × horizon = {cells} exceeds {MAX_CELLS}: fewer paths or a shorter horizon"
        )));
    }
    Ok(())
}

fn spec_of(req: &ForecastRequest) -> ForecastSpec {
    ForecastSpec {
        model: model_of(req),
        horizon: req.horizon,
        paths: req.paths,
        seed: req.seed,
        config: FitConfig {
            drift: req.drift,
            ..FitConfig::default()
        },
        ..ForecastSpec::default()
    }
}

fn forecast_id(
    kind: TargetKind,
    target: &str,
    req: &ForecastRequest,
    snapshot: &str,
    labels: Option<&[Option<usize>]>,
) -> Result<String, ForecastServiceError> {
    let spec = serde_json::to_string(&spec_of(req))
        .map_err(|e| ForecastServiceError::Invalid(format!("request: {e}")))?;
    let mut d = Sha256::new();
    for part in [
        ENGINE_VERSION,
        &kind.to_string(),
        target,
        &spec,
        // The regime model matters only to the model it conditions.
        match model_of(req) {
            ModelKind::Regime => req.regime_model.as_deref().unwrap_or(""),
            _ => "",
        },
        snapshot,
    ] {
        d.update(part.as_bytes());
        d.update([0]);
    }
    // A refitted regime model relabels the past: its labels are inputs too.
    for l in labels.into_iter().flatten() {
        d.update(l.map_or(u64::MAX, |v| v as u64).to_le_bytes());
    }
    Ok(hex::encode(&d.finalize()[..16]))
}

type Computed = (ForecastReport, StoredForecast, Vec<ForecastQuantile>);

fn compute(
    h: &History,
    kind: TargetKind,
    target: &str,
    req: &ForecastRequest,
    labels: Option<&[Option<usize>]>,
    id: String,
    snapshot: String,
) -> Result<Computed, ForecastServiceError> {
    let as_of = h
        .as_of()
        .ok_or_else(|| ForecastServiceError::NotFound(format!("{target}: no history")))?;
    let spec = spec_of(req);
    let f = forecast(&h.target, &spec, labels)?;
    let v0 = h.target.start_value();
    let dates = sessions_after(as_of, req.horizon);
    let fan: Vec<FanPoint> = f
        .summary
        .fan
        .iter()
        .map(|d| FanPoint {
            day: d.day,
            date: dates.get(d.day - 1).copied(),
            quantiles: d.quantiles.iter().map(|q| q * v0).collect(),
            mean: d.mean * v0,
        })
        .collect();
    let mut baselines = Vec::new();
    if req.baselines && !model_of(req).is_baseline() {
        for model in [ModelKind::Naive, ModelKind::Historical] {
            let b = forecast(
                &h.target,
                &ForecastSpec {
                    model,
                    ..spec.clone()
                },
                None,
            )?;
            baselines.push(BaselineFigures {
                model,
                band_5_95: band(&b.summary, v0),
                var: risk_lines(&b, v0),
            });
        }
    }
    let report = ForecastReport {
        forecast_id: id.clone(),
        target_kind: kind,
        target: target.to_string(),
        assets: h.assets.clone(),
        start_value: v0,
        cash: h.target.cash(),
        model: model_of(req),
        horizon: req.horizon,
        paths: req.paths,
        seed: req.seed,
        quantile_levels: quantile_levels(),
        band_5_95: band(&f.summary, v0),
        var: risk_lines(&f, v0),
        drawdown: f.summary.drawdown.clone(),
        probability_of_loss: f.summary.probability_of_loss,
        shortfall_path: f.summary.shortfall_path.iter().map(|v| v * v0).collect(),
        fit: f.fit.clone(),
        history: HistoryUsed {
            first: h.dates.first().copied().unwrap_or(as_of),
            last: as_of,
            days: h.dates.len(),
            excluded_days: h.excluded_days,
            snapshot,
        },
        recent_values: recent_values(h),
        baselines,
        stored: req.store,
        warnings: warnings(&f),
        fan,
    };
    let record = StoredForecast {
        id,
        target_kind: kind.to_string(),
        target: target.to_string(),
        model: model_of(req).to_string(),
        as_of,
        horizon: req.horizon as u32,
        paths: req.paths as u32,
        seed: req.seed,
        start_value: v0,
        snapshot: report.history.snapshot.clone(),
        spec: json(req)?,
        fit: json(&report.fit)?,
        risk: serde_json::json!({
            "var": report.var, "drawdown": report.drawdown,
            "probability_of_loss": report.probability_of_loss,
        })
        .to_string(),
        created_at: Utc::now().naive_utc(),
    };
    let quantiles = report
        .fan
        .iter()
        .flat_map(|p| {
            report
                .quantile_levels
                .iter()
                .zip(&p.quantiles)
                .map(|(q, v)| ForecastQuantile {
                    day: p.day as u32,
                    quantile: *q,
                    value: *v,
                })
        })
        .collect();
    Ok((report, record, quantiles))
}

/// What a reader must know: paths that overflowed (a fitted model whose tails explode on this
/// history: the mean and the outer quantiles are then not numbers worth reading).
fn warnings(f: &Forecast) -> Vec<String> {
    let n = f.summary.non_finite_paths;
    if n == 0 {
        return Vec::new();
    }
    vec![format!(
        "{n} of {} paths left the range of a number (the value overflowed or reached 0): the {} model's tails explode on this history; read the central quantiles only, or use the bootstrap",
        f.spec.paths, f.spec.model
    )]
}

/// JSON of a stored column, with a typed error.
fn json<T: serde::Serialize>(v: &T) -> Result<String, ForecastServiceError> {
    serde_json::to_string(v).map_err(|e| ForecastServiceError::Invalid(format!("serialising: {e}")))
}

fn band(s: &Summary, v0: f64) -> [f64; 2] {
    s.fan.last().map_or([f64::NAN; 2], |d| {
        [d.quantiles[1] * v0, d.quantiles[7] * v0]
    })
}

fn risk_lines(f: &Forecast, v0: f64) -> Vec<RiskLine> {
    f.summary
        .var
        .iter()
        .map(|r| RiskLine {
            days: r.days,
            level: r.level,
            var: r.var,
            cvar: r.cvar,
            var_value: r.var * v0,
            cvar_value: r.cvar * v0,
        })
        .collect()
}

/// The value of the origin's holdings over the last sessions before it and on it (oldest
/// first, the origin last): `cash + Σ vᵢ · exp(−Σ later returns of i)`, the same quantities
/// priced back in time.
fn recent_values(h: &History) -> Vec<f64> {
    let t = &h.target;
    let mut cum = vec![0.0; t.assets()];
    let value = |cum: &[f64]| {
        t.cash()
            + t.values()
                .iter()
                .zip(cum)
                .map(|(v, c)| v * (-c).exp())
                .sum::<f64>()
    };
    let mut out = vec![value(&cum)];
    for row in (0..t.rows()).rev().take(RECENT) {
        for (c, r) in cum.iter_mut().zip(t.row(row)) {
            *c += r;
        }
        out.push(value(&cum));
    }
    out.reverse();
    out
}

/// The next `n` XNYS sessions after `d`.
fn sessions_after(d: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let mut cal = sextant_quality::calendar::Calendar::new();
    let end = d
        .checked_add_days(Days::new((n as u64) * 2 + 14))
        .unwrap_or(NaiveDate::MAX);
    cal.sessions_between(d, end).into_iter().take(n).collect()
}
