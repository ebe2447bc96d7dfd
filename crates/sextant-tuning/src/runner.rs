//! Drives a study: ask a batch, evaluate it on all cores, tell the results in trial order.
//!
//! Reproducibility: the batch size is part of the run's configuration (never the core count),
//! pruning decisions look only at the trials finished before the batch began, and results are
//! told in trial-number order, so the same seed gives the same trials on any machine. A trial
//! whose parameters were already evaluated reuses that result (the objective is deterministic),
//! which matters for integer spaces where samplers repeat themselves.

use crate::pruner::Snapshot;
use crate::study::Study;
use crate::trial::{Direction, Outcome, Trial, TrialState};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::Instant;

/// What a study optimises.
pub trait Objective: Sync {
    /// Evaluates the strategy parameter object `params`. After each fold it reports the
    /// intermediate values so far to `prune`, and stops with [`Outcome::Pruned`] when it says
    /// so.
    fn evaluate(&self, params: &Value, prune: &(dyn Fn(&[f64]) -> bool + Sync)) -> Outcome;
}

/// How many trials, how many at once, and the parameters held fixed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Total trials in the study (those resumed included).
    pub n_trials: u32,
    /// Trials asked (and evaluated in parallel) together. Part of what makes a run
    /// reproducible: the same batch size gives the same trials.
    pub batch: usize,
    /// Parameters not searched, merged into every trial's parameter object.
    pub fixed: Map<String, Value>,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E> {
    /// Cancellation was requested; finished trials are kept.
    #[error("cancelled")]
    Cancelled,
    /// A callback failed (e.g. the store could not write a trial).
    #[error(transparent)]
    Callback(E),
    /// The study refused a tell.
    #[error(transparent)]
    Study(#[from] crate::TuningError),
}

/// Runs the study until it holds `n_trials` ended trials (or its grid is exhausted). Trials
/// left running by an interrupted run are evaluated first, with their stored parameters.
/// `on_ask` sees each batch before it is evaluated (persist it there), `on_tell` each trial
/// as it ends. Batches are evaluated here, on all cores ([`evaluate_batch`]).
pub fn run<E: Send>(
    study: &mut Study,
    objective: &dyn Objective,
    cfg: &RunConfig,
    on_ask: &mut dyn FnMut(&[Trial]) -> Result<(), E>,
    on_tell: &mut dyn FnMut(&Trial) -> Result<(), E>,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<(), RunError<E>> {
    let mut local = |b: &Batch<'_>| {
        Ok(evaluate_batch(
            objective,
            b.items,
            b.prune,
            b.direction,
            stop,
        ))
    };
    run_with(study, cfg, on_ask, on_tell, stop, &mut local)
}

/// Evaluates one batch: `(number, params)` items against `objective`, on all cores, pruning
/// against `prune` (the trials ended before the batch was asked). Returns `(number, outcome,
/// milliseconds)` per item, in item order. A worker on another machine calls this with the same
/// inputs and gets the same outcomes, which is what makes a distributed study equal to a local
/// one.
pub fn evaluate_batch(
    objective: &dyn Objective,
    items: &[(u32, Value)],
    prune: &Snapshot,
    dir: Direction,
    stop: &(dyn Fn() -> bool + Sync),
) -> Vec<(u32, Outcome, f64)> {
    items
        .par_iter()
        .map(|(number, params)| {
            if stop() {
                return (*number, Outcome::Failed("cancelled".into()), 0.0);
            }
            let t0 = Instant::now();
            let pruned = |iv: &[f64]| prune.should_prune(dir, iv);
            let o = objective.evaluate(params, &pruned);
            (*number, o, t0.elapsed().as_secs_f64() * 1e3)
        })
        .collect()
}

/// What an [`Evaluate`] gets: the items of a batch whose parameters were not evaluated before,
/// and what pruning needs.
#[derive(Debug)]
pub struct Batch<'a> {
    /// `(trial number, parameter object)`.
    pub items: &'a [(u32, Value)],
    /// The pruner's view of the trials that ended before the batch was asked.
    pub prune: &'a Snapshot,
    /// The first objective's direction (pruning compares along it).
    pub direction: Direction,
    /// The number of the batch's first trial: the trials numbered below it are the ones
    /// `prune` was built from (a remote evaluator rebuilds it from the stored trials).
    pub first: u32,
}

/// Evaluates a batch's items (see [`evaluate_batch`]); another implementation sends them to
/// workers. Must return one result per item.
pub type Evaluate<'a, E> = dyn FnMut(&Batch<'_>) -> Result<Vec<(u32, Outcome, f64)>, E> + 'a;

/// [`run`] with the batches evaluated by `evaluate`. Items whose parameters were already
/// evaluated in this study are answered from that result and never reach it.
pub fn run_with<E: Send>(
    study: &mut Study,
    cfg: &RunConfig,
    on_ask: &mut dyn FnMut(&[Trial]) -> Result<(), E>,
    on_tell: &mut dyn FnMut(&Trial) -> Result<(), E>,
    stop: &(dyn Fn() -> bool + Sync),
    evaluate: &mut Evaluate<'_, E>,
) -> Result<(), RunError<E>> {
    let mut cache: HashMap<String, Outcome> = HashMap::new();
    for t in study.trials() {
        let key = key(study, &t.params, &cfg.fixed);
        match t.state {
            TrialState::Complete => {
                cache.insert(
                    key,
                    Outcome::Complete {
                        values: t.values.clone(),
                        intermediate: t.intermediate.clone(),
                    },
                );
            }
            TrialState::Failed => {
                let why = t.error.clone().unwrap_or_else(|| "failed".into());
                cache.insert(key, Outcome::Failed(why));
            }
            _ => {}
        }
    }
    let batch = cfg.batch.max(1);
    loop {
        if stop() {
            return Err(RunError::Cancelled);
        }
        let mut todo: Vec<Trial> = study
            .trials()
            .iter()
            .filter(|t| t.state == TrialState::Running)
            .cloned()
            .collect();
        if todo.is_empty() {
            let left = (cfg.n_trials as usize).saturating_sub(study.trials().len());
            if left == 0 {
                return Ok(());
            }
            todo = study.ask(left.min(batch));
            if todo.is_empty() {
                return Ok(()); // the grid is exhausted
            }
            on_ask(&todo).map_err(RunError::Callback)?;
        }
        // Pruning sees the trials that ended before this batch was asked, also when the batch
        // is resumed after some of its trials were told.
        let first = todo.iter().map(|t| t.number).min().unwrap_or(0) as usize;
        let before = &study.trials()[..first.min(study.trials().len())];
        let snapshot = Snapshot::new(study.spec().pruner, before);
        let dir = study.spec().directions[0];
        let jobs: Vec<(u32, Value, String)> = todo
            .iter()
            .map(|t| {
                (
                    t.number,
                    study.spec().space.to_json(&t.params, &cfg.fixed),
                    key(study, &t.params, &cfg.fixed),
                )
            })
            .collect();
        let misses: Vec<(u32, Value)> = jobs
            .iter()
            .filter(|(_, _, k)| !cache.contains_key(k))
            .map(|(n, p, _)| (*n, p.clone()))
            .collect();
        let mut fresh: HashMap<u32, (Outcome, f64)> = HashMap::new();
        if !misses.is_empty() {
            let b = Batch {
                items: &misses,
                prune: &snapshot,
                direction: dir,
                first: first as u32,
            };
            for (n, o, ms) in evaluate(&b).map_err(RunError::Callback)? {
                fresh.insert(n, (o, ms));
            }
        }
        if stop() {
            return Err(RunError::Cancelled);
        }
        for (number, _, k) in &jobs {
            let (outcome, ms) = match cache.get(k) {
                Some(o) => (o.clone(), 0.0),
                None => fresh.remove(number).unwrap_or_else(|| {
                    (
                        Outcome::Failed(format!("trial {number} was not evaluated")),
                        0.0,
                    )
                }),
            };
            if matches!(outcome, Outcome::Complete { .. } | Outcome::Failed(_)) {
                cache.entry(k.clone()).or_insert_with(|| outcome.clone());
            }
            let t = study.tell(*number, outcome, ms)?.clone();
            on_tell(&t).map_err(RunError::Callback)?;
        }
    }
}

fn key(study: &Study, params: &crate::space::Assignment, fixed: &Map<String, Value>) -> String {
    study.spec().space.to_json(params, fixed).to_string()
}
