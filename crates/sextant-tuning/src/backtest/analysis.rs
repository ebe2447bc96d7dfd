//! What every leaderboard carries: the best trials with their whole-period figures, the
//! deflated Sharpe ratio of the best, the probability of backtest overfitting, and the
//! walk-forward out-of-sample result beside buy and hold.

use super::objective::{BacktestObjective, Fold};
use crate::overfit::{
    deflated_sharpe_among, pbo_blocks, psr, BlockSums, Deflated, Pbo, DEFAULT_BLOCKS,
};
use crate::runner::{run, RunConfig};
use crate::study::{Study, StudySpec};
use crate::trial::{Direction, Trial, TrialState};
use crate::PrunerKind;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sextant_backtest::metrics::{cagr, max_drawdown, sharpe_ratio, total_return, Convention};
use std::collections::BTreeMap;

/// One row of the leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    /// 1 = best.
    pub rank: usize,
    /// The trial.
    pub trial: u32,
    /// Its strategy parameters.
    pub params: Value,
    /// Its objective values (means over the folds' training windows).
    pub values: Vec<f64>,
    /// Annualised Sharpe ratio over all bars (in sample: the number other tools report).
    pub sharpe: f64,
    /// CAGR over all bars, as a fraction.
    pub cagr: f64,
    /// Maximum drawdown over all bars, a negative fraction.
    pub max_drawdown: f64,
    /// Trades opened over all bars.
    pub trades: usize,
}

/// The parameters chosen for one fold and how they did on its test window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldChoice {
    /// The fold's bars.
    pub fold: Fold,
    /// Trials of the fold's own search (on its training window only).
    pub trials: usize,
    /// The parameters that search chose; `null` when no trial completed (the fold stays flat).
    pub params: Value,
    /// Their training score (first objective).
    pub train_score: f64,
    /// Their compound return on the test window, as a fraction.
    pub test_return: f64,
    /// Buy and hold's compound return on the same window.
    pub baseline_return: f64,
}

/// The stitched test windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutOfSample {
    /// Per fold: the choice and its test result.
    pub folds: Vec<FoldChoice>,
    /// Timestamps (Unix seconds) of the stitched test bars.
    pub ts: Vec<i64>,
    /// Equity of the chosen parameters over them, from the initial cash.
    pub equity: Vec<f64>,
    /// Buy and hold's equity over the same bars.
    pub baseline_equity: Vec<f64>,
    /// Annualised Sharpe ratio of the stitched returns.
    pub sharpe: f64,
    /// Buy and hold's, on the same bars.
    pub baseline_sharpe: f64,
    /// CAGR, as a fraction.
    pub cagr: f64,
    /// Buy and hold's CAGR.
    pub baseline_cagr: f64,
    /// Maximum drawdown, a negative fraction.
    pub max_drawdown: f64,
    /// Buy and hold's.
    pub baseline_max_drawdown: f64,
    /// Probability that the true Sharpe ratio of the stitched returns exceeds 0 (PSR).
    pub psr: f64,
    /// Probability that it exceeds buy and hold's Sharpe ratio on the same bars (PSR with the
    /// baseline's per-period Sharpe as the benchmark).
    pub psr_vs_baseline: f64,
}

/// The analysis of a study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The objectives, as written.
    pub objectives: Vec<String>,
    /// Trials by state.
    pub complete: usize,
    /// Pruned trials.
    pub pruned: usize,
    /// Failed trials (infeasible parameters, broken constraints).
    pub failed: usize,
    /// Distinct parameter sets among the complete trials (what DSR and PBO count).
    pub distinct: usize,
    /// The best complete trials, best first.
    pub leaderboard: Vec<LeaderboardRow>,
    /// The non-dominated trials (several objectives only).
    pub pareto_front: Vec<u32>,
    /// Deflated Sharpe ratio of the best trial over all bars; `None` with the reason in
    /// `notes`.
    pub deflated_sharpe: Option<Deflated>,
    /// Probability of backtest overfitting by CSCV over the distinct complete trials.
    pub pbo: Option<Pbo>,
    /// The walk-forward result; `None` in sample.
    pub out_of_sample: Option<OutOfSample>,
    /// What the figures exclude and how they were made.
    pub notes: Vec<String>,
}

/// Most trials PBO and DSR are computed over (the best distinct ones).
pub const MAX_ANALYSED: usize = 5_000;
/// Most trials of each fold's own search in the out-of-sample analysis.
pub const FOLD_TRIALS: u32 = 200;

fn equity(cash: f64, r: &[f64]) -> Vec<f64> {
    let mut e = cash;
    r.iter()
        .map(|x| {
            e *= 1.0 + x;
            e
        })
        .collect()
}

/// What the analysis keeps of one trial's run (not its returns, unless it leads).
struct Summary {
    sharpe: f64,
    blocks: Option<BlockSums>,
    row: Option<(f64, f64, f64, usize)>,
    returns: Option<Vec<f64>>,
}

/// How each fold's own search runs in the out-of-sample analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldSearch {
    /// Trials per fold (at most [`FOLD_TRIALS`]).
    pub trials: u32,
    /// Batch size, as the study's.
    pub batch: usize,
}

/// Analyses the study's complete trials on `obj` (re-simulating each distinct parameter set;
/// the objective is deterministic) and runs the walk-forward out-of-sample analysis. `fixed`
/// are the parameters held fixed, `top` the rows of the leaderboard, `initial_cash` the start
/// of the stitched equity.
pub fn analyse(
    study: &Study,
    obj: &BacktestObjective,
    fixed: &Map<String, Value>,
    top: usize,
    initial_cash: f64,
    search: &FoldSearch,
) -> Analysis {
    let space = &study.spec().space;
    let count = |s: TrialState| study.trials().iter().filter(|t| t.state == s).count();
    let ranked = study.ranked();
    let mut notes = Vec::new();
    // Distinct parameter sets, in rank order (a repeat keeps its first, best-ranked trial).
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut distinct: Vec<(&Trial, Value)> = Vec::new();
    for t in &ranked {
        let p = space.to_json(&t.params, fixed);
        if seen.insert(p.to_string(), distinct.len()).is_none() {
            distinct.push((t, p));
        }
    }
    // Everything tried counts in the deflated Sharpe ratio's N: pruned trials too.
    let tried = {
        let mut all = seen.clone();
        for t in study
            .trials()
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
        {
            all.insert(space.to_json(&t.params, fixed).to_string(), 0);
        }
        all.len()
    };
    if distinct.len() > MAX_ANALYSED {
        notes.push(format!(
            "PBO uses the {MAX_ANALYSED} best of {} distinct parameter sets",
            distinct.len()
        ));
        distinct.truncate(MAX_ANALYSED);
    }
    let ppy = obj.periods_per_year();
    let summaries: Vec<Option<Summary>> = distinct
        .par_iter()
        .enumerate()
        .map(|(i, (_, p))| {
            let r = obj.simulate(None, p).ok()?;
            Some(Summary {
                sharpe: crate::overfit::sharpe(&r.excess),
                blocks: BlockSums::new(&r.excess, DEFAULT_BLOCKS).ok(),
                row: (i < top).then(|| {
                    (
                        sharpe_ratio(&r.excess, 0.0, ppy),
                        cagr(&r.returns, ppy, Convention::Empyrical),
                        max_drawdown(&r.returns),
                        r.trades,
                    )
                }),
                returns: (i == 0).then_some(r.excess),
            })
        })
        .collect();
    let leaderboard = distinct
        .iter()
        .zip(&summaries)
        .filter_map(|((t, p), s)| Some((t, p, s.as_ref()?.row?)))
        .enumerate()
        .map(
            |(i, (t, p, (sharpe, cagr, max_drawdown, trades)))| LeaderboardRow {
                rank: i + 1,
                trial: t.number,
                params: p.clone(),
                values: t.values.clone(),
                sharpe,
                cagr,
                max_drawdown,
                trades,
            },
        )
        .collect();
    let ok: Vec<&Summary> = summaries.iter().flatten().collect();
    let deflated = match summaries.first().and_then(|s| s.as_ref()?.returns.as_ref()) {
        None => {
            notes.push("no complete trial: no deflated Sharpe ratio".into());
            None
        }
        Some(best) => {
            let srs: Vec<f64> = ok.iter().map(|s| s.sharpe).collect();
            match deflated_sharpe_among(best, &srs, tried) {
                Ok(d) => Some(d),
                Err(e) => {
                    notes.push(format!("no deflated Sharpe ratio: {e}"));
                    None
                }
            }
        }
    };
    let blocks: Option<Vec<BlockSums>> = ok.iter().map(|s| s.blocks.clone()).collect();
    let pbo = match blocks.map(|b| pbo_blocks(&b)) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            notes.push(format!("no PBO: {e}"));
            None
        }
        None => {
            notes.push("no PBO: too few bars for its blocks".into());
            None
        }
    };
    let out_of_sample = out_of_sample(study, obj, fixed, initial_cash, search, &mut notes);
    notes.push(format!(
        "objective values are means over {} fold training window(s); the leaderboard's \
         sharpe/cagr/max_drawdown are over all {} bars (in sample)",
        obj.folds().len(),
        obj.market().len()
    ));
    notes.push(format!(
        "DSR counts {tried} distinct parameter sets tried (pruned ones included) and PBO the {} \
         complete ones that ran; {} failed trials are excluded",
        ok.len(),
        count(TrialState::Failed)
    ));
    Analysis {
        objectives: obj.objectives().iter().map(ToString::to_string).collect(),
        complete: count(TrialState::Complete),
        pruned: count(TrialState::Pruned),
        failed: count(TrialState::Failed),
        distinct: ok.len(),
        leaderboard,
        pareto_front: if study.spec().directions.len() > 1 {
            study.pareto_front().iter().map(|t| t.number).collect()
        } else {
            Vec::new()
        },
        deflated_sharpe: deflated,
        pbo,
        out_of_sample,
        notes,
    }
}

/// Longest stitched equity kept in the analysis; longer ones are thinned evenly (the last
/// point kept).
pub const MAX_CURVE_POINTS: usize = 5_000;

fn thin<T: Copy>(v: &[T]) -> Vec<T> {
    if v.len() <= MAX_CURVE_POINTS {
        return v.to_vec();
    }
    let step = v.len().div_ceil(MAX_CURVE_POINTS);
    let mut out: Vec<T> = v.iter().step_by(step).copied().collect();
    if !(v.len() - 1).is_multiple_of(step) {
        out.extend(v.last().copied());
    }
    out
}

/// The walk-forward result: each fold runs its own search (the study's sampler, space and
/// seed stream, at most [`FOLD_TRIALS`] trials) on its training window, with the bars cut at
/// its end, and trades the winner on its test window. No choice saw its test window or
/// anything after it.
fn out_of_sample(
    study: &Study,
    obj: &BacktestObjective,
    fixed: &Map<String, Value>,
    initial_cash: f64,
    search: &FoldSearch,
    notes: &mut Vec<String>,
) -> Option<OutOfSample> {
    let folds = obj.folds();
    if folds.iter().all(|f| f.test_end == f.train_end) {
        notes.push("validation is in sample: there is no out-of-sample result".into());
        return None;
    }
    let baseline = match obj.simulate(Some("buy_and_hold"), &json!({})) {
        Ok(b) => b,
        Err(e) => {
            notes.push(format!("no buy-and-hold baseline: {e}"));
            return None;
        }
    };
    let spec = study.spec();
    let trials = search.trials.clamp(1, FOLD_TRIALS);
    // Per fold: the choice, its training score, its test-window returns, the trials tried.
    let choices: Vec<(Value, f64, Vec<f64>, usize)> = (0..folds.len())
        .into_par_iter()
        .map(|k| {
            let f = folds[k];
            let flat = |tried| {
                (
                    Value::Null,
                    f64::NAN,
                    vec![0.0; f.test_end - f.train_end],
                    tried,
                )
            };
            let Some(fold_obj) = obj.for_fold(k) else {
                return flat(0);
            };
            let fold_spec = StudySpec {
                space: spec.space.clone(),
                directions: vec![Direction::Maximize],
                sampler: spec.sampler,
                pruner: PrunerKind::None,
                seed: spec.seed.wrapping_add(1 + k as u64),
            };
            let Ok(mut s) = Study::new(fold_spec) else {
                return flat(0);
            };
            let cfg = RunConfig {
                n_trials: trials,
                batch: search.batch,
                fixed: fixed.clone(),
            };
            let ran = run::<()>(
                &mut s,
                &fold_obj,
                &cfg,
                &mut |_| Ok(()),
                &mut |_| Ok(()),
                &|| false,
            );
            let tried = s.trials().len();
            let Some(best) = ran.ok().and(s.ranked().first().copied()) else {
                return flat(tried);
            };
            let params = s.spec().space.to_json(&best.params, fixed);
            match obj.simulate(None, &params) {
                Ok(r) => (
                    params,
                    best.values[0],
                    r.returns[f.train_end..f.test_end].to_vec(),
                    tried,
                ),
                Err(_) => flat(tried),
            }
        })
        .collect();
    let ts_all = obj.market().ts();
    let (mut rets, mut base, mut ts, mut out) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rf: Vec<f64> = Vec::new();
    let most = choices.iter().map(|c| c.3).max().unwrap_or(0);
    for (f, (params, score, window, tried)) in folds.iter().zip(choices) {
        let bwin = &baseline.returns[f.train_end..f.test_end];
        if params.is_null() {
            notes.push(format!(
                "fold ending at bar {}: no trial completed on its training window; it stays flat",
                f.train_end
            ));
        }
        rets.extend_from_slice(&window);
        base.extend_from_slice(bwin);
        rf.extend(obj.excess_rate(f.train_end, f.test_end));
        ts.extend_from_slice(&ts_all[f.train_end..f.test_end]);
        out.push(FoldChoice {
            fold: *f,
            trials: tried,
            params,
            train_score: score,
            test_return: total_return(&window),
            baseline_return: total_return(bwin),
        });
    }
    notes.push(format!(
        "out of sample: each of {} folds ran its own search (up to {most} trials) on its \
         training window only (bars after it did not exist for the search) and traded the \
         winner on its test window",
        folds.len()
    ));
    // Sharpe-type figures against the risk-free rate of the same bars.
    let sub = |x: &[f64]| -> Vec<f64> { x.iter().zip(&rf).map(|(a, b)| a - b).collect() };
    let (xrets, xbase) = (sub(&rets), sub(&base));
    let moments = deflated_sharpe_among(&xrets, &[], 0).ok();
    let (psr0, psr_b) = match &moments {
        Some(m) => (
            psr(m.sharpe, m.periods, m.skew, m.kurtosis, 0.0),
            psr(
                m.sharpe,
                m.periods,
                m.skew,
                m.kurtosis,
                crate::overfit::sharpe(&xbase),
            ),
        ),
        None => (f64::NAN, f64::NAN),
    };
    if rets.len() > MAX_CURVE_POINTS {
        notes.push(format!(
            "the stitched equity is thinned to at most {MAX_CURVE_POINTS} points"
        ));
    }
    Some(OutOfSample {
        folds: out,
        equity: thin(&equity(initial_cash, &rets)),
        baseline_equity: thin(&equity(initial_cash, &base)),
        ts: thin(&ts),
        sharpe: sharpe_ratio(&xrets, 0.0, obj.periods_per_year()),
        baseline_sharpe: sharpe_ratio(&xbase, 0.0, obj.periods_per_year()),
        cagr: cagr(&rets, obj.periods_per_year(), Convention::Empyrical),
        baseline_cagr: cagr(&base, obj.periods_per_year(), Convention::Empyrical),
        max_drawdown: max_drawdown(&rets),
        baseline_max_drawdown: max_drawdown(&base),
        psr: psr0,
        psr_vs_baseline: psr_b,
    })
}
