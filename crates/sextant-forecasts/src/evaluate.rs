//! Walk-forward calibration: at each origin the models are fitted on rows up to the origin
//! only (GARCH parameters refitted every `refit_every` rows and filtered daily between refits)
//! and their forecasts scored against the value that followed.
//!
//! Scores per model and horizon:
//! * coverage of the central 50, 80, 90 and 98 % bands (from the 25–75, 10–90, 5–95 and
//!   1–99 % quantiles), and how often the outcome fell below and above;
//! * mean pinball loss over the nine quantiles and the mean CRPS (both in relative value,
//!   lower is better);
//! * VaR backtests at 95 and 99 %: the breach count, Kupiec's proportion-of-failures test and
//!   Christoffersen's independence and conditional-coverage tests. For horizons longer than
//!   one day the breaches of overlapping windows are dependent by construction, so the tests
//!   use only origins at least a horizon apart; coverage uses every origin.

use crate::model::{FitConfig, Fitted, ModelKind};
use crate::simulate::simulate;
use crate::stats::{chi2_sf_1, chi2_sf_2, crps_sorted, pinball, quantile_sorted};
use crate::summary::QUANTILES;
use crate::{ForecastError, GarchT, Target};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSpec {
    /// Models to score (baselines included by the caller's choice; reports show all).
    pub models: Vec<ModelKind>,
    /// Horizons scored, in trading days. Default 1 and 10.
    pub horizons: Vec<usize>,
    /// Paths per forecast. Default 2,000.
    pub paths: usize,
    /// Rows between origins. Default 1 (every day).
    pub step: usize,
    /// Rows of history before the first origin. Default 504 (two years).
    pub min_history: usize,
    /// Rows between GARCH refits. Default 21 (a month).
    pub refit_every: usize,
    /// Seed; origin `o` uses a seed derived from it and `o`.
    pub seed: u64,
    /// The models' history windows and drift.
    pub config: FitConfig,
}

impl Default for EvalSpec {
    fn default() -> Self {
        EvalSpec {
            models: vec![
                ModelKind::Naive,
                ModelKind::Historical,
                ModelKind::Bootstrap,
                ModelKind::Garch,
                ModelKind::Gjr,
                ModelKind::Fhs,
                ModelKind::FhsGjr,
            ],
            horizons: vec![1, 10],
            paths: 2_000,
            step: 1,
            min_history: 504,
            refit_every: 21,
            seed: 7,
            config: FitConfig::default(),
        }
    }
}

/// One forecast of the walk and what followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Rows the forecast saw (rows `0..origin`); the outcome is rows `origin..origin + horizon`.
    pub origin: usize,
    /// The model.
    pub model: ModelKind,
    /// Trading days ahead.
    pub horizon: usize,
    /// The forecast value at each of [`QUANTILES`], relative to the origin's.
    pub quantiles: Vec<f64>,
    /// The value that followed, relative to the origin's.
    pub outcome: f64,
    /// CRPS of the forecast's samples at the outcome.
    pub crps: f64,
}

/// Coverage of one central band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BandCoverage {
    /// The band's nominal coverage (0.9 = the 5–95 % band).
    pub level: f64,
    /// Share of outcomes inside the band.
    pub coverage: f64,
    /// Share below the band's lower quantile.
    pub below: f64,
    /// Share above its upper quantile.
    pub above: f64,
}

/// A VaR backtest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VarTest {
    /// Confidence level of the VaR (0.99: breached 1 % of the time if right).
    pub level: f64,
    /// Forecasts tested (non-overlapping for horizons over one day).
    pub observations: usize,
    /// Outcomes below the VaR.
    pub breaches: usize,
    /// `breaches / observations`.
    pub rate: f64,
    /// Kupiec's proportion-of-failures p-value (χ²₁); below 0.05 rejects the VaR.
    pub kupiec_p: f64,
    /// Christoffersen's independence p-value (χ²₁): do breaches cluster?
    pub independence_p: f64,
    /// Christoffersen's conditional coverage p-value (χ²₂).
    pub conditional_p: f64,
}

/// Scores of one model at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonScore {
    /// Trading days ahead.
    pub horizon: usize,
    /// Forecasts scored.
    pub forecasts: usize,
    /// The 50, 80, 90 and 98 % bands.
    pub bands: Vec<BandCoverage>,
    /// Mean pinball loss over the nine quantiles.
    pub pinball: f64,
    /// Mean CRPS.
    pub crps: f64,
    /// VaR backtests at 95 and 99 %.
    pub var: Vec<VarTest>,
}

/// One model's scores, or why it could not be evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// The model.
    pub model: ModelKind,
    /// Whether it is a baseline.
    pub baseline: bool,
    /// Scores per horizon (empty when `error` is set).
    pub horizons: Vec<HorizonScore>,
    /// Origins left out for this model: for `regime`, origins whose day has no label yet
    /// (before the regime model's first fit).
    #[serde(default)]
    pub skipped_origins: usize,
    /// Why the model was not evaluated (it is still listed: nothing disappears silently).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The request.
    pub spec: EvalSpec,
    /// Rows of history in the target.
    pub rows: usize,
    /// Origins forecast from.
    pub origins: usize,
    /// Every model, baselines included, in the order requested.
    pub models: Vec<ModelScore>,
    /// Every forecast and its outcome (to store and to re-score).
    #[serde(skip)]
    pub records: Vec<EvalRecord>,
}

/// Band levels scored and the indexes of their quantiles in [`QUANTILES`].
const BANDS: [(f64, usize, usize); 4] = [(0.5, 3, 5), (0.8, 2, 6), (0.9, 1, 7), (0.98, 0, 8)];
/// VaR levels and the index of their quantile.
const VARS: [(f64, usize); 2] = [(0.95, 1), (0.99, 0)];

/// Evaluates `spec.models` on `target` walking forward. `labels` (one per row) feed the regime
/// model; without them it is listed with an error.
pub fn evaluate(
    target: &Target,
    labels: Option<&[Option<usize>]>,
    spec: &EvalSpec,
) -> Result<Evaluation, ForecastError> {
    let rows = target.rows();
    // A horizon listed twice would count every forecast twice (and interleave the breach
    // sequence the VaR tests read): each horizon once, ascending.
    let mut horizons = spec.horizons.clone();
    horizons.sort_unstable();
    horizons.dedup();
    let spec = &EvalSpec {
        horizons,
        ..spec.clone()
    };
    if let Some(l) = labels {
        if l.len() != rows {
            return Err(ForecastError::Data(format!(
                "{} regime labels for {rows} days",
                l.len()
            )));
        }
    }
    let max_h = spec.horizons.iter().copied().max().unwrap_or(0);
    if max_h == 0 || spec.horizons.contains(&0) || spec.step == 0 || spec.refit_every == 0 {
        return Err(ForecastError::Config(
            "horizons, step and refit_every must be positive".into(),
        ));
    }
    if !(1..=crate::MAX_PATHS).contains(&spec.paths) {
        return Err(ForecastError::Config(format!(
            "paths {} out of range",
            spec.paths
        )));
    }
    let first = spec.min_history.max(crate::garch::MIN_OBSERVATIONS);
    if first.checked_add(max_h).is_none_or(|need| rows < need) {
        return Err(ForecastError::Data(format!(
            "{rows} days: need {first} before the first origin and {max_h} after it"
        )));
    }
    // An origin is the count of rows a forecast has seen: its outcomes are the rows
    // `origin..origin + h`, which it never saw.
    let origins: Vec<usize> = (first..=rows - max_h).step_by(spec.step).collect();
    let keep = spec
        .config
        .fit
        .max(spec.config.historical)
        .max(spec.config.naive);
    let mut models = Vec::new();
    let mut records = Vec::new();
    for &kind in &spec.models {
        match evaluate_model(kind, target, labels, spec, &origins, keep) {
            Ok((mut recs, skipped)) => {
                models.push(ModelScore {
                    skipped_origins: skipped,
                    ..score(kind, &recs, spec)
                });
                records.append(&mut recs);
            }
            Err(e) => models.push(ModelScore {
                model: kind,
                baseline: kind.is_baseline(),
                horizons: Vec::new(),
                skipped_origins: 0,
                error: Some(e.to_string()),
            }),
        }
    }
    Ok(Evaluation {
        spec: spec.clone(),
        rows,
        origins: origins.len(),
        models,
        records,
    })
}

fn evaluate_model(
    kind: ModelKind,
    target: &Target,
    labels: Option<&[Option<usize>]>,
    spec: &EvalSpec,
    origins: &[usize],
    keep: usize,
) -> Result<(Vec<EvalRecord>, usize), ForecastError> {
    // A regime forecast needs the label of its origin's day: origins before the regime
    // model's first fit are skipped and counted.
    let labelled: Vec<usize> = match (kind, labels) {
        (ModelKind::Regime, Some(l)) => origins
            .iter()
            .copied()
            .filter(|&o| l[o - 1].is_some())
            .collect(),
        _ => origins.to_vec(),
    };
    let skipped = origins.len() - labelled.len();
    let origins = labelled.as_slice();
    if origins.is_empty() {
        return Err(ForecastError::Data("no origin has a regime label".into()));
    }
    let first = origins[0];
    let max_h = spec.horizons.iter().copied().max().unwrap_or(1);
    let refits = matches!(
        kind,
        ModelKind::Garch | ModelKind::Gjr | ModelKind::Fhs | ModelKind::FhsGjr
    );
    // GARCH parameters at each refit point, fitted on rows before it only.
    let points: Vec<usize> = if refits {
        (first..=origins[origins.len() - 1])
            .step_by(spec.refit_every)
            .collect()
    } else {
        Vec::new()
    };
    let params: Vec<Vec<GarchT>> = points
        .par_iter()
        .map(|&r| {
            let w = target.window(r.saturating_sub(keep), r);
            let lab = labels.map(|l| &l[r.saturating_sub(keep)..r]);
            Fitted::fit(kind, &w, &spec.config, lab, None).and_then(|f| {
                f.garch_params()
                    .ok_or_else(|| ForecastError::Fit(format!("{kind} learnt no GARCH parameters")))
            })
        })
        .collect::<Result<_, _>>()?;
    let per_origin: Vec<Vec<EvalRecord>> = origins
        .par_iter()
        .map(|&o| {
            let start = o.saturating_sub(keep);
            let w = target.window(start, o);
            let lab = labels.map(|l| &l[start..o]);
            let fixed = points
                .partition_point(|p| *p <= o)
                .checked_sub(1)
                .map(|i| params[i].as_slice());
            let fitted = Fitted::fit(kind, &w, &spec.config, lab, fixed)?;
            let seed = spec.seed ^ (o as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let paths = simulate(&fitted, &w, max_h, spec.paths, seed)?;
            Ok(spec
                .horizons
                .iter()
                .map(|&h| {
                    let sorted = paths.sorted_day(h - 1);
                    let outcome = target.realised(o, o + h);
                    EvalRecord {
                        origin: o,
                        model: kind,
                        horizon: h,
                        quantiles: QUANTILES
                            .iter()
                            .map(|q| quantile_sorted(&sorted, *q))
                            .collect(),
                        outcome,
                        crps: crps_sorted(&sorted, outcome),
                    }
                })
                .collect())
        })
        .collect::<Result<_, ForecastError>>()?;
    Ok((per_origin.into_iter().flatten().collect(), skipped))
}

/// Scores records of one model (any order; sorted by origin here).
pub fn score(kind: ModelKind, records: &[EvalRecord], spec: &EvalSpec) -> ModelScore {
    let horizons = spec
        .horizons
        .iter()
        .map(|&h| {
            let mut rs: Vec<&EvalRecord> = records
                .iter()
                .filter(|r| r.horizon == h && r.model == kind)
                .collect();
            rs.sort_by_key(|r| r.origin);
            horizon_score(h, &rs, spec.step)
        })
        .collect();
    ModelScore {
        model: kind,
        baseline: kind.is_baseline(),
        horizons,
        skipped_origins: 0,
        error: None,
    }
}

fn horizon_score(h: usize, rs: &[&EvalRecord], step: usize) -> HorizonScore {
    let n = rs.len().max(1) as f64;
    let bands = BANDS
        .iter()
        .map(|&(level, lo, hi)| {
            let below = rs.iter().filter(|r| r.outcome < r.quantiles[lo]).count() as f64;
            let above = rs.iter().filter(|r| r.outcome > r.quantiles[hi]).count() as f64;
            BandCoverage {
                level,
                coverage: 1.0 - (below + above) / n,
                below: below / n,
                above: above / n,
            }
        })
        .collect();
    let pinball_mean = rs
        .iter()
        .map(|r| {
            QUANTILES
                .iter()
                .zip(&r.quantiles)
                .map(|(tau, q)| pinball(r.outcome, *q, *tau))
                .sum::<f64>()
                / QUANTILES.len() as f64
        })
        .sum::<f64>()
        / n;
    let crps = rs.iter().map(|r| r.crps).sum::<f64>() / n;
    // Non-overlapping origins: every ⌈h / step⌉-th.
    let spacing = h.div_ceil(step).max(1);
    let var = VARS
        .iter()
        .map(|&(level, qi)| {
            let hits: Vec<bool> = rs
                .iter()
                .step_by(spacing)
                .map(|r| r.outcome < r.quantiles[qi])
                .collect();
            var_test(level, &hits)
        })
        .collect();
    HorizonScore {
        horizon: h,
        forecasts: rs.len(),
        bands,
        pinball: pinball_mean,
        crps,
        var,
    }
}

fn xlny(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x * y.ln()
    }
}

/// Kupiec's and Christoffersen's tests of a breach sequence for a VaR at `level`.
pub fn var_test(level: f64, hits: &[bool]) -> VarTest {
    let n = hits.len();
    let x = hits.iter().filter(|h| **h).count();
    let (nf, xf) = (n as f64, x as f64);
    let p = 1.0 - level;
    let rate = if n > 0 { xf / nf } else { f64::NAN };
    let lr_pof = if n > 0 {
        -2.0 * (xlny(nf - xf, 1.0 - p) + xlny(xf, p))
            + 2.0 * (xlny(nf - xf, 1.0 - rate) + xlny(xf, rate))
    } else {
        f64::NAN
    };
    let mut c = [[0.0f64; 2]; 2];
    for w in hits.windows(2) {
        c[w[0] as usize][w[1] as usize] += 1.0;
    }
    let (n00, n01, n10, n11) = (c[0][0], c[0][1], c[1][0], c[1][1]);
    let pi01 = if n00 + n01 > 0.0 {
        n01 / (n00 + n01)
    } else {
        0.0
    };
    let pi11 = if n10 + n11 > 0.0 {
        n11 / (n10 + n11)
    } else {
        0.0
    };
    let total = n00 + n01 + n10 + n11;
    let pi = if total > 0.0 {
        (n01 + n11) / total
    } else {
        0.0
    };
    let lr_ind = -2.0 * (xlny(n00 + n10, 1.0 - pi) + xlny(n01 + n11, pi))
        + 2.0 * (xlny(n00, 1.0 - pi01) + xlny(n01, pi01) + xlny(n10, 1.0 - pi11) + xlny(n11, pi11));
    VarTest {
        level,
        observations: n,
        breaches: x,
        rate,
        kupiec_p: chi2_sf_1(lr_pof),
        independence_p: chi2_sf_1(lr_ind),
        conditional_p: chi2_sf_2(lr_pof + lr_ind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kupiec_accepts_the_nominal_rate_and_rejects_double() {
        let hits: Vec<bool> = (0..1000).map(|i| i % 100 == 0).collect();
        let t = var_test(0.99, &hits);
        assert_eq!(t.breaches, 10);
        assert!(t.kupiec_p > 0.99, "{t:?}");
        let hits: Vec<bool> = (0..1000).map(|i| i % 50 == 0).collect();
        assert!(var_test(0.99, &hits).kupiec_p < 0.01);
    }

    #[test]
    fn christoffersen_rejects_clustered_breaches() {
        // Ten breaches, all in one run: the rate is right, the timing is not.
        let hits: Vec<bool> = (0..1000).map(|i| (500..510).contains(&i)).collect();
        let t = var_test(0.99, &hits);
        assert!(t.kupiec_p > 0.99);
        assert!(t.independence_p < 1e-6, "{t:?}");
    }
}
