//! What every leaderboard carries: the best trials with their whole-period figures, the
//! deflated Sharpe ratio of the best, the probability of backtest overfitting, and the
//! walk-forward out-of-sample result beside buy and hold.

use super::objective::{BacktestObjective, Fold, TrialRun};
use crate::overfit::{deflated_sharpe, pbo_blocks, psr, BlockSums, Deflated, Pbo, DEFAULT_BLOCKS};
use crate::study::Study;
use crate::trial::{Trial, TrialState};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sextant_backtest::metrics::{cagr, max_drawdown, sharpe_ratio, Convention};
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
    /// The trial with the best training score on this fold.
    pub trial: u32,
    /// Its parameters.
    pub params: Value,
    /// Its training score (first objective).
    pub train_score: f64,
    /// Its compound return on the test window, as a fraction.
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

/// Most trials PBO and DSR are computed over.
pub const MAX_ANALYSED: usize = 5_000;

fn compound(r: &[f64]) -> f64 {
    r.iter().fold(1.0, |a, x| a * (1.0 + x)) - 1.0
}

fn equity(cash: f64, r: &[f64]) -> Vec<f64> {
    let mut e = cash;
    r.iter()
        .map(|x| {
            e *= 1.0 + x;
            e
        })
        .collect()
}

/// Analyses the study's complete trials on `obj` (re-simulating each distinct parameter set;
/// the objective is deterministic). `fixed` are the parameters held fixed, `top` the rows
/// of the leaderboard, `initial_cash` the start of the stitched equity.
pub fn analyse(
    study: &Study,
    obj: &BacktestObjective,
    fixed: &Map<String, Value>,
    top: usize,
    initial_cash: f64,
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
    if distinct.len() > MAX_ANALYSED {
        notes.push(format!(
            "DSR and PBO use the {MAX_ANALYSED} best of {} distinct parameter sets",
            distinct.len()
        ));
        distinct.truncate(MAX_ANALYSED);
    }
    let runs: Vec<Option<TrialRun>> = distinct
        .par_iter()
        .map(|(_, p)| obj.simulate(None, p).ok())
        .collect();
    let ppy = obj.periods_per_year();
    let leaderboard = distinct
        .iter()
        .zip(&runs)
        .filter_map(|((t, p), r)| Some((t, p, r.as_ref()?)))
        .take(top)
        .enumerate()
        .map(|(i, (t, p, r))| LeaderboardRow {
            rank: i + 1,
            trial: t.number,
            params: p.clone(),
            values: t.values.clone(),
            sharpe: sharpe_ratio(&r.returns, 0.0, ppy),
            cagr: cagr(&r.returns, ppy, Convention::Empyrical),
            max_drawdown: max_drawdown(&r.returns),
            trades: r.trades,
        })
        .collect();
    let ok: Vec<(&Trial, &Value, &TrialRun)> = distinct
        .iter()
        .zip(&runs)
        .filter_map(|((t, p), r)| Some((*t, p, r.as_ref()?)))
        .collect();
    let deflated = match ok.first() {
        None => {
            notes.push("no complete trial: no deflated Sharpe ratio".into());
            None
        }
        Some((_, _, best)) => {
            let srs: Vec<f64> = ok
                .iter()
                .map(|(_, _, r)| crate::overfit::sharpe(&r.returns))
                .collect();
            match deflated_sharpe(&best.returns, &srs) {
                Ok(d) => Some(d),
                Err(e) => {
                    notes.push(format!("no deflated Sharpe ratio: {e}"));
                    None
                }
            }
        }
    };
    let blocks: Result<Vec<BlockSums>, _> = ok
        .iter()
        .map(|(_, _, r)| BlockSums::new(&r.returns, DEFAULT_BLOCKS))
        .collect();
    let pbo = match blocks.and_then(|b| pbo_blocks(&b)) {
        Ok(p) => Some(p),
        Err(e) => {
            notes.push(format!("no PBO: {e}"));
            None
        }
    };
    let out_of_sample = out_of_sample(obj, &ok, initial_cash, &mut notes);
    notes.push(format!(
        "objective values are means over {} fold training window(s); the leaderboard's \
         sharpe/cagr/max_drawdown are over all {} bars (in sample)",
        obj.folds().len(),
        obj.market().len()
    ));
    notes.push(format!(
        "DSR and PBO count {} distinct parameter sets among {} complete trials; {} pruned and \
         {} failed trials are excluded",
        ok.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
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

fn out_of_sample(
    obj: &BacktestObjective,
    ok: &[(&Trial, &Value, &TrialRun)],
    initial_cash: f64,
    notes: &mut Vec<String>,
) -> Option<OutOfSample> {
    let folds = obj.folds();
    if folds.iter().all(|f| f.test_end == f.train_end) {
        notes.push("validation is in sample: there is no out-of-sample result".into());
        return None;
    }
    if ok.is_empty() {
        return None;
    }
    let baseline = match obj.simulate(Some("buy_and_hold"), &json!({})) {
        Ok(b) => b,
        Err(e) => {
            notes.push(format!("no buy-and-hold baseline: {e}"));
            return None;
        }
    };
    let scores: Vec<Vec<f64>> = ok.iter().map(|(_, _, r)| obj.fold_scores(r, 0)).collect();
    let ppy = obj.periods_per_year();
    let ts_all = obj.market().ts();
    let (mut rets, mut base, mut ts, mut choices) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (k, f) in folds.iter().enumerate() {
        // Best training score on this fold; ties keep the better-ranked trial.
        let mut best = 0;
        for i in 1..ok.len() {
            if scores[i][k] > scores[best][k] || scores[best][k].is_nan() {
                best = i;
            }
        }
        let (t, p, r) = ok[best];
        let window = &r.returns[f.train_end..f.test_end];
        let bwin = &baseline.returns[f.train_end..f.test_end];
        rets.extend_from_slice(window);
        base.extend_from_slice(bwin);
        ts.extend_from_slice(&ts_all[f.train_end..f.test_end]);
        choices.push(FoldChoice {
            fold: *f,
            trial: t.number,
            params: p.clone(),
            train_score: scores[best][k],
            test_return: compound(window),
            baseline_return: compound(bwin),
        });
    }
    notes.push(
        "out of sample: each fold trades the trial with the best training score on that fold; \
         the trials were proposed by a sampler that saw every fold's training score"
            .into(),
    );
    let per_period = |r: &[f64]| crate::overfit::sharpe(r);
    let moments = crate::overfit::deflated_sharpe(&rets, &[]).ok();
    let (psr0, psr_b) = match &moments {
        Some(m) => (
            psr(m.sharpe, m.periods, m.skew, m.kurtosis, 0.0),
            psr(m.sharpe, m.periods, m.skew, m.kurtosis, per_period(&base)),
        ),
        None => (f64::NAN, f64::NAN),
    };
    Some(OutOfSample {
        folds: choices,
        equity: equity(initial_cash, &rets),
        baseline_equity: equity(initial_cash, &base),
        ts,
        sharpe: sharpe_ratio(&rets, 0.0, ppy),
        baseline_sharpe: sharpe_ratio(&base, 0.0, ppy),
        cagr: cagr(&rets, ppy, Convention::Empyrical),
        baseline_cagr: cagr(&base, ppy, Convention::Empyrical),
        max_drawdown: max_drawdown(&rets),
        baseline_max_drawdown: max_drawdown(&base),
        psr: psr0,
        psr_vs_baseline: psr_b,
    })
}
