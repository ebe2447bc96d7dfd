//! Walk-forward calibration of every model and baseline on the cached history: at each origin
//! the models see only the rows before it (see `sextant_forecasts::evaluate`). Crisis periods
//! are part of the history and stay in; nothing is excluded but days on which a member of a
//! universe has no return (counted).

use super::engine::InferenceEngine;
use super::history::{self, History};
use super::ForecastServiceError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_domain::Symbol;
use sextant_forecasts::evaluate::{evaluate, EvalSpec, ModelScore};
use sextant_forecasts::{Drift, FitConfig, ModelKind};

/// Most simulated steps (origins × models × paths × longest horizon × assets) one calibration
/// may take by default: about a minute on two cores (the CLI's bound; the HTTP route sets a
/// smaller one through [`CalibrationRequest::max_work`]).
pub const MAX_WORK: f64 = 2e10;

fn default_max_work() -> f64 {
    MAX_WORK
}

/// How to calibrate (every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalibrationRequest {
    /// Models scored. Default: naive, historical, bootstrap, garch, gjr, fhs, fhs_gjr, and
    /// regime when `regime_model` is given.
    pub models: Vec<ModelKind>,
    /// Horizons in trading days. Default 1 and 10.
    pub horizons: Vec<usize>,
    /// Paths per forecast. Default 1,000.
    pub paths: usize,
    /// Sessions between origins. Default 1.
    pub step: usize,
    /// Sessions of history before the first origin. Default 504.
    pub min_history: usize,
    /// Sessions between GARCH refits. Default 21.
    pub refit_every: usize,
    /// Seed. Default 7.
    pub seed: u64,
    /// Use the history up to this session only. Default: all of it.
    pub as_of: Option<NaiveDate>,
    /// The regime model whose labels condition `regime`.
    pub regime_model: Option<String>,
    /// The drift of the paths: `estimated` (default) or `zero`.
    pub drift: Drift,
    /// The work bound (simulated steps) this caller allows; not part of a request body.
    #[serde(skip, default = "default_max_work")]
    pub max_work: f64,
}

impl Default for CalibrationRequest {
    fn default() -> Self {
        let e = EvalSpec::default();
        CalibrationRequest {
            models: Vec::new(),
            horizons: e.horizons,
            paths: 1_000,
            step: e.step,
            min_history: e.min_history,
            refit_every: e.refit_every,
            seed: e.seed,
            as_of: None,
            regime_model: None,
            drift: Drift::Estimated,
            max_work: MAX_WORK,
        }
    }
}

/// The best model of one horizon by mean CRPS (the proper score: sharp *and* calibrated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestModel {
    /// Trading days ahead.
    pub horizon: usize,
    /// The model with the lowest mean CRPS.
    pub model: ModelKind,
    /// Its mean CRPS.
    pub crps: f64,
    /// Its 90 % band's coverage.
    pub coverage_90: f64,
    /// Its 99 % VaR's Kupiec p-value.
    pub kupiec_99_p: f64,
}

/// A calibration report: every model and baseline side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// The symbol, `equal_weight(…)` or portfolio id.
    pub target: String,
    /// The assets held.
    pub assets: Vec<String>,
    /// The first origin's session.
    pub first_origin: NaiveDate,
    /// The last origin's session.
    pub last_origin: NaiveDate,
    /// Origins forecast from.
    pub origins: usize,
    /// Return days in the history.
    pub days: usize,
    /// Days left out because a member had no return.
    pub excluded_days: usize,
    /// Every model requested, baselines included, in order; a model that could not be
    /// evaluated says why.
    pub models: Vec<ModelScore>,
    /// The best model per horizon.
    pub best: Vec<BestModel>,
    /// The evaluation's settings.
    pub spec: EvalSpec,
}

impl InferenceEngine {
    /// Calibrates each symbol alone and, with `together`, the equal-weight portfolio of them
    /// (one unit of value each, on the days all have a return).
    pub async fn calibrate_symbols(
        &self,
        symbols: &[Symbol],
        together: bool,
        req: &CalibrationRequest,
    ) -> Result<Vec<CalibrationReport>, ForecastServiceError> {
        if symbols.is_empty() {
            return Err(ForecastServiceError::Invalid("at least one symbol".into()));
        }
        let mut out = Vec::new();
        let mut all = Vec::new();
        for s in symbols {
            let reader = self.reads().get();
            let (sym, as_of) = (s.clone(), req.as_of);
            let series = crate::common::blocking(move || {
                Ok(history::symbol_returns(reader.as_ref(), &sym, as_of))
            })
            .await??;
            let h = history::joint(vec![(s.to_string(), series.clone())], vec![1.0], 0.0)?;
            out.push(self.calibrate(s.to_string(), h, req).await?);
            all.push((s.to_string(), series));
        }
        if together && symbols.len() > 1 {
            let name = format!(
                "equal_weight({})",
                symbols
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let n = all.len();
            let h = history::joint(all, vec![1.0 / n as f64; n], 0.0)?;
            out.push(self.calibrate(name, h, req).await?);
        }
        Ok(out)
    }

    async fn calibrate(
        &self,
        target: String,
        h: History,
        req: &CalibrationRequest,
    ) -> Result<CalibrationReport, ForecastServiceError> {
        let mut models = req.models.clone();
        if models.is_empty() {
            models = EvalSpec::default().models;
            if req.regime_model.is_some() {
                models.push(ModelKind::Regime);
            }
        }
        let spec = EvalSpec {
            models,
            horizons: req.horizons.clone(),
            paths: req.paths,
            step: req.step,
            min_history: req.min_history,
            refit_every: req.refit_every,
            seed: req.seed,
            config: FitConfig {
                drift: req.drift,
                ..FitConfig::default()
            },
        };
        let max_h = spec.horizons.iter().copied().max().unwrap_or(0);
        let origins = h
            .dates
            .len()
            .saturating_sub(spec.min_history.saturating_add(max_h))
            / spec.step.max(1)
            + 1;
        let work = origins as f64
            * spec.models.len() as f64
            * spec.paths as f64
            * max_h as f64
            * h.target.assets() as f64;
        if work > req.max_work {
            return Err(ForecastServiceError::Invalid(format!(
                "{origins} origins × {} models × {} paths × {max_h} days × {} assets is {work:.1e} steps, over {:.0e}: a larger step or fewer paths",
                spec.models.len(),
                spec.paths,
                h.target.assets(),
                req.max_work
            )));
        }
        let labels = if spec.models.contains(&ModelKind::Regime) {
            self.labels(req.regime_model.as_deref(), &h).await?
        } else {
            None
        };
        let h2 = h.clone();
        let spec2 = spec.clone();
        let e =
            tokio::task::spawn_blocking(move || evaluate(&h2.target, labels.as_deref(), &spec2))
                .await
                .map_err(|e| {
                    ForecastServiceError::Internal(format!("calibration task failed: {e}"))
                })??;
        // The walk's origins, whether or not any model produced a record from them (a model
        // that could not be evaluated is listed with its reason).
        let first = spec
            .min_history
            .max(sextant_forecasts::garch::MIN_OBSERVATIONS)
            .clamp(1, h.dates.len());
        let last = (first + e.origins.saturating_sub(1) * spec.step).clamp(1, h.dates.len());
        let date_of = |o: usize| h.dates[o - 1];
        let best = spec
            .horizons
            .iter()
            .filter_map(|&hz| {
                e.models
                    .iter()
                    .filter_map(|m| Some((m.model, m.horizons.iter().find(|x| x.horizon == hz)?)))
                    .min_by(|a, b| a.1.crps.total_cmp(&b.1.crps))
                    .map(|(model, s)| BestModel {
                        horizon: hz,
                        model,
                        crps: s.crps,
                        coverage_90: s.bands[2].coverage,
                        kupiec_99_p: s.var[1].kupiec_p,
                    })
            })
            .collect();
        Ok(CalibrationReport {
            target,
            assets: h.assets.clone(),
            first_origin: date_of(first),
            last_origin: date_of(last),
            origins: e.origins,
            days: h.dates.len(),
            excluded_days: h.excluded_days,
            models: e.models,
            best,
            spec,
        })
    }
}
