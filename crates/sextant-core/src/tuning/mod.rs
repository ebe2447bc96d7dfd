//! Strategy parameter tuning as a service: studies over [`crate::backtest`]'s data path,
//! durable in the metadata store, resumable after a crash, with the analysis (deflated Sharpe
//! ratio, PBO, walk-forward out-of-sample result) stored beside every leaderboard.
//!
//! A study's id is a hash of its request (without `trials`), the data snapshot and the engine,
//! so asking again for the same study on the same bars finds it: a finished study is returned
//! as it is, an interrupted one continues (its finished trials are not run again), and asking
//! for more trials extends it with the same trials a longer first run would have made.

pub mod card;
pub mod remote;
mod request;
mod store;
mod tracking;

pub use request::{parse_param, OptimizeRequest, MAX_BATCH, MAX_OBJECTIVES, MAX_TRIALS};
pub use store::{BestTrial, Counts, StudyRecord, StudyState, TrialRecord, STUDIES, TRIALS};

use crate::backtest::{BacktestError, BacktestService, ENGINE_VERSION};
use crate::common::{Actor, Page, PageRequest};
use chrono::Utc;
use serde_json::{json, Value};
use sextant_meta::{Filter, MetaStore, Query};
use sextant_tuning::backtest::analysis::{FoldSearch, FOLD_TRIALS};
use sextant_tuning::backtest::{analyse, BacktestObjective};
use sextant_tuning::runner::{run, run_with, Batch, RunConfig, RunError};
use sextant_tuning::{Study, Trial};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;

/// Leaderboard rows kept in a study's analysis.
pub const LEADERBOARD_ROWS: usize = 20;
/// Most bar-evaluations one study may cost: its trials and the out-of-sample searches
/// (counted as [`MAX_FOLDS_COST`] folds of [`FOLD_TRIALS`] trials) × bars × symbols. About ten
/// minutes of one core.
pub const MAX_COST: usize = 20_000_000_000;
/// Folds the cost bound assumes for the out-of-sample searches.
pub const MAX_FOLDS_COST: usize = 20;

/// Why a study could not run or be read.
#[derive(Debug, thiserror::Error)]
pub enum TuningServiceError {
    /// A request field is invalid; `field` names it.
    #[error("{field}: {message}")]
    Invalid {
        /// The request field at fault (`search`, `objectives`, …).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Loading the backtest's bars failed or its request is invalid.
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    /// The metadata store failed.
    #[error(transparent)]
    Meta(#[from] sextant_meta::MetaError),
    /// No such study (or not the caller's).
    #[error("study {0} not found")]
    NotFound(String),
    /// Cancellation was requested; finished trials are kept.
    #[error("cancelled")]
    Cancelled,
    /// The same study is already running in this process.
    #[error("study {0} is already running")]
    Busy(String),
    /// A stored document is unreadable or a task failed.
    #[error("{0}")]
    Internal(String),
}

impl From<crate::common::InvalidField> for TuningServiceError {
    fn from(e: crate::common::InvalidField) -> Self {
        TuningServiceError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<sextant_backtest::run::RunError> for TuningServiceError {
    fn from(e: sextant_backtest::run::RunError) -> Self {
        TuningServiceError::Backtest(e.into())
    }
}

/// Progress as (fraction, message), from the thread running the trials.
pub type ProgressFn = Arc<dyn Fn(f64, String) + Send + Sync>;
/// Polled between batches: true stops the study (finished trials are kept).
pub type StopFn = Arc<dyn Fn() -> bool + Send + Sync>;

/// Runs and stores studies.
pub struct TuningService {
    backtests: Arc<BacktestService>,
    meta: Arc<dyn MetaStore>,
    /// Studies running in this process: a second run of the same study waits its turn
    /// (refused), so two runs never write the same trials.
    running: Mutex<HashSet<String>>,
    /// Where completed studies are tracked (and mirrored to MLflow).
    tracker: Option<Arc<sextant_mlops::tracking::Tracker>>,
}

/// Releases a study's claim when its run ends.
struct Claim<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.set.lock() {
            s.remove(&self.id);
        }
    }
}

fn study_id(req: &OptimizeRequest, snapshot: &str) -> String {
    // Equal studies hash equal: defaults resolved, objectives in their canonical spelling.
    let mut r = req.clone();
    r.trials = 0;
    r.name = None;
    r.sampler = Some(req.sampler_kind());
    if let Ok(exprs) = req.objective_exprs() {
        r.objectives = exprs.iter().map(ToString::to_string).collect();
    }
    let doc = json!({"request": r, "snapshot": snapshot, "engine": ENGINE_VERSION,
                     "tuning": env!("CARGO_PKG_VERSION")});
    let h = Sha256::digest(doc.to_string().as_bytes());
    format!("stu_{}", &hex::encode(h)[..24])
}

/// The objective of `req` on loaded `data`: the same on the server and on a worker (which
/// loads the same snapshot), so a trial evaluates to the same values wherever it runs.
pub(crate) fn build_objective(
    req: &OptimizeRequest,
    data: sextant_backtest::run::LoadedData,
) -> Result<BacktestObjective, TuningServiceError> {
    let objectives = req.objective_exprs()?;
    let ppy = req
        .backtest
        .periods_per_year
        .unwrap_or_else(|| data.session.periods_per_year(req.backtest.resolution));
    let risk_free = data.risk_free.as_ref().map(|r| r.per_period(ppy));
    BacktestObjective::new(
        &req.backtest.strategy,
        Arc::new(data.market),
        req.backtest.sim,
        req.validation,
        objectives,
        req.constraints,
        ppy,
    )
    .and_then(|o| match risk_free {
        Some(rf) => o.with_risk_free(rf),
        None => Ok(o),
    })
    .map_err(|e| TuningServiceError::Invalid {
        field: "validation".into(),
        message: e.to_string(),
    })
}

impl TuningService {
    /// A service loading bars through `backtests` and storing studies in `meta`.
    pub fn new(backtests: Arc<BacktestService>, meta: Arc<dyn MetaStore>) -> Self {
        TuningService {
            backtests,
            meta,
            running: Mutex::new(HashSet::new()),
            tracker: None,
        }
    }

    /// Tracks every completed study with `tracker`.
    pub fn with_tracker(mut self, tracker: Arc<sextant_mlops::tracking::Tracker>) -> Self {
        self.tracker = Some(tracker);
        self
    }

    /// Whether study `id` is running in this process.
    pub fn is_running(&self, id: &str) -> bool {
        self.running.lock().is_ok_and(|s| s.contains(id))
    }

    fn claim(&self, id: &str) -> Result<Claim<'_>, TuningServiceError> {
        let mut set = self
            .running
            .lock()
            .map_err(|_| TuningServiceError::Internal("study registry poisoned".into()))?;
        if !set.insert(id.to_string()) {
            return Err(TuningServiceError::Busy(id.to_string()));
        }
        Ok(Claim {
            set: &self.running,
            id: id.to_string(),
        })
    }

    /// Checks a request and returns the id its study has on the current bars (reads the
    /// bars' snapshot: call it before queueing the study as a job).
    pub async fn study_id(&self, req: &OptimizeRequest) -> Result<String, TuningServiceError> {
        Ok(self.snapshot_and_id(req).await?.1)
    }

    async fn snapshot_and_id(
        &self,
        req: &OptimizeRequest,
    ) -> Result<(String, String), TuningServiceError> {
        req.validate()?;
        let backtests = self.backtests.clone();
        let r = req.backtest.clone();
        let snapshot = tokio::task::spawn_blocking(move || {
            BacktestService::snapshot(backtests.reader().as_ref(), &r)
        })
        .await
        .map_err(|e| TuningServiceError::Internal(format!("snapshot task failed: {e}")))??;
        let id = study_id(req, &snapshot);
        Ok((snapshot, id))
    }

    /// Checks a request before its job is queued and returns its study's id; a study not
    /// stored yet is recorded as `queued` for `owner`, so it can be read at once.
    pub async fn queue(
        &self,
        req: &OptimizeRequest,
        owner: &str,
    ) -> Result<String, TuningServiceError> {
        let (snapshot, id) = self.snapshot_and_id(req).await?;
        if store::get_study(self.meta.as_ref(), &id).await?.is_none() {
            let now = Utc::now();
            let rec = StudyRecord {
                id: id.clone(),
                name: req.name.clone(),
                owners: vec![owner.to_string()],
                request: req.clone(),
                strategy: req.backtest.strategy.clone(),
                data_snapshot: snapshot,
                engine_version: ENGINE_VERSION.to_string(),
                state: StudyState::Queued,
                error: None,
                counts: Counts::default(),
                best: None,
                analysis: None,
                excluded: Vec::new(),
                risk_free: None,
                created_at: now,
                updated_at: now,
            };
            store::put_study(self.meta.as_ref(), &rec).await?;
        }
        Ok(id)
    }

    /// Runs (or resumes, or extends) the study of `req` until it holds `req.trials` ended
    /// trials, stores its analysis and returns it. `owner` joins the study's owners.
    pub async fn optimize(
        &self,
        req: &OptimizeRequest,
        owner: Option<&str>,
        progress: ProgressFn,
        stop: StopFn,
    ) -> Result<StudyRecord, TuningServiceError> {
        self.optimize_with(req, owner, progress, stop, None).await
    }

    /// [`Self::optimize`] with the trial batches evaluated by remote workers when `remote` is
    /// given (see [`remote`]); the trials, their order and their values are the same.
    pub async fn optimize_with(
        &self,
        req: &OptimizeRequest,
        owner: Option<&str>,
        progress: ProgressFn,
        stop: StopFn,
        remote: Option<remote::RemoteTrials>,
    ) -> Result<StudyRecord, TuningServiceError> {
        let spec = req.validate()?;
        let backtests = self.backtests.clone();
        let r = req.backtest.clone();
        let data = tokio::task::spawn_blocking(move || {
            backtests.load_for(backtests.reader().as_ref(), &r)
        })
        .await
        .map_err(|e| TuningServiceError::Internal(format!("load task failed: {e}")))??;
        let id = study_id(req, &data.snapshot);
        let bars = data.market.len();
        let cost = (req.trials as usize)
            .saturating_add(FOLD_TRIALS as usize * MAX_FOLDS_COST)
            .saturating_mul(bars)
            .saturating_mul(req.backtest.symbols.len());
        if cost > MAX_COST {
            return Err(TuningServiceError::Invalid {
                field: "trials".into(),
                message: format!(
                    "{} trials (and the out-of-sample searches) on {bars} bars × {} symbols \
                     cost {cost:.3e} bar-evaluations, more than {MAX_COST:.0e}: fewer trials, \
                     symbols or bars",
                    req.trials,
                    req.backtest.symbols.len()
                ),
            });
        }
        let excluded = data.excluded.clone();
        let risk_free_used = match &data.risk_free {
            Some(r) => r.used.clone(),
            None => sextant_backtest::run::RiskFreeUsed::zero(&data.risk_free_reason),
        };
        let snapshot = data.snapshot.clone();
        let objective = build_objective(req, data)?;
        let _guard = self.claim(&id)?;
        let now = Utc::now();
        let stored = store::get_study(self.meta.as_ref(), &id).await?;
        let mut owners = stored
            .as_ref()
            .map(|s| s.owners.clone())
            .unwrap_or_default();
        let fresh = stored.is_none();
        if let Some(o) = owner {
            if !owners.iter().any(|x| x == o) && (fresh || !owners.is_empty()) {
                owners.push(o.to_string());
            }
        }
        let records = store::trials(self.meta.as_ref(), &id).await?;
        // A process killed while it stored a batch's asks leaves only the batch's head: ask
        // its tail now (with the head in place, as the first run did) so the batch is the one
        // an uninterrupted run evaluates.
        let unasked = store::unasked(&records);
        let trials: Vec<Trial> = records.iter().map(TrialRecord::trial).collect();
        let ended = trials
            .iter()
            .filter(|t| t.state != sextant_tuning::TrialState::Running)
            .count();
        if let Some(s) = &stored {
            if s.state == StudyState::Complete && ended >= req.trials as usize {
                let mut s = s.clone();
                if s.owners != owners {
                    s.owners = owners;
                    store::put_study(self.meta.as_ref(), &s).await?;
                }
                return Ok(s);
            }
        }
        let resumed = trials.len();
        let mut rec = StudyRecord {
            id: id.clone(),
            name: req
                .name
                .clone()
                .or_else(|| stored.as_ref().and_then(|s| s.name.clone())),
            owners,
            request: req.clone(),
            strategy: req.backtest.strategy.clone(),
            data_snapshot: snapshot,
            engine_version: ENGINE_VERSION.to_string(),
            state: StudyState::Running,
            error: None,
            counts: Counts::of(&trials),
            best: None,
            analysis: None,
            excluded,
            risk_free: Some(risk_free_used),
            created_at: stored.as_ref().map_or(now, |s| s.created_at),
            updated_at: now,
        };
        store::put_study(self.meta.as_ref(), &rec).await?;
        tracing::info!(study = %id, resumed, target = req.trials, "study running");

        let meta = self.meta.clone();
        let cfg = RunConfig {
            n_trials: req.trials,
            batch: req.batch,
            fixed: req.fixed(),
        };
        let study_key = id.clone();
        let initial_cash = req.backtest.sim.initial_cash;
        let outcome = tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            let mut study = Study::resume(spec, trials)
                .map_err(|e| TuningServiceError::Internal(e.to_string()))?;
            let total = cfg.n_trials as f64;
            // The callbacks cannot borrow the study the runner mutates: they rebuild the
            // parameter object from a copy of the space.
            let space = study.spec().space.clone();
            let fixed = cfg.fixed.clone();
            let write_in = |t: &Trial, batch: Option<(u32, u32)>| {
                let params = space.to_json(&t.params, &fixed);
                let mut rec = TrialRecord::new(&study_key, t, params);
                rec.batch = batch.map(|(first, len)| [first, len]);
                handle.block_on(store::put_trial(meta.as_ref(), &rec))
            };
            let write = |t: &Trial| write_in(t, None);
            // Asked trials are stored with their batch (first number, size), so a resumed run
            // can tell a batch whose asks were cut short.
            let ask_write = |batch: &[Trial]| {
                let first = batch.first().map_or(0, |t| t.number);
                let n = batch.len() as u32;
                batch.iter().try_for_each(|t| write_in(t, Some((first, n))))
            };
            if unasked > 0 {
                let tail = study.ask(unasked);
                ask_write(&tail)?;
            }
            let mut ended = 0usize;
            let mut on_ask = |batch: &[Trial]| ask_write(batch);
            let mut on_tell = |t: &Trial| {
                ended += 1;
                progress(
                    (ended as f64 / total).min(1.0),
                    format!("trial {} {}", t.number, t.state),
                );
                write(t)
            };
            let result = match &remote {
                None => run(
                    &mut study,
                    &objective,
                    &cfg,
                    &mut on_ask,
                    &mut on_tell,
                    &|| stop(),
                ),
                Some(r) => run_with(
                    &mut study,
                    &cfg,
                    &mut on_ask,
                    &mut on_tell,
                    &|| stop(),
                    &mut |b: &Batch<'_>| r.evaluate(&study_key, b),
                ),
            };
            match result {
                Ok(()) => {}
                Err(RunError::Cancelled)
                | Err(RunError::Callback(TuningServiceError::Cancelled)) => {
                    return Ok((study, None))
                }
                Err(RunError::Callback(e)) => return Err(e),
                Err(RunError::Study(e)) => return Err(TuningServiceError::Internal(e.to_string())),
            }
            let search = FoldSearch {
                trials: cfg.n_trials.min(FOLD_TRIALS),
                batch: cfg.batch,
            };
            let analysis = analyse(
                &study,
                &objective,
                &cfg.fixed,
                LEADERBOARD_ROWS,
                initial_cash,
                &search,
            );
            Ok((study, Some(analysis)))
        })
        .await
        .map_err(|e| TuningServiceError::Internal(format!("study task failed: {e}")))?;
        let (study, analysis) = match outcome {
            Ok(x) => x,
            Err(e) => {
                rec.state = StudyState::Failed;
                rec.error = Some(e.to_string());
                rec.updated_at = Utc::now();
                store::put_study(self.meta.as_ref(), &rec).await?;
                return Err(e);
            }
        };
        rec.counts = Counts::of(study.trials());
        rec.updated_at = Utc::now();
        let Some(analysis) = analysis else {
            rec.state = StudyState::Cancelled;
            store::put_study(self.meta.as_ref(), &rec).await?;
            return Err(TuningServiceError::Cancelled);
        };
        rec.best = study.ranked().first().map(|t| BestTrial {
            trial: t.number,
            params: study.spec().space.to_json(&t.params, &req.fixed()),
            values: t.values.clone(),
        });
        rec.analysis = Some(
            serde_json::to_value(&analysis)
                .map_err(|e| TuningServiceError::Internal(e.to_string()))?,
        );
        rec.state = StudyState::Complete;
        store::put_study(self.meta.as_ref(), &rec).await?;
        tracing::info!(study = %id, complete = rec.counts.complete, "study complete");
        if self.tracker.is_some() {
            let trials = store::trials(self.meta.as_ref(), &id).await?;
            self.track_study(&rec, &trials).await;
        }
        Ok(rec)
    }

    /// A study `actor` may read.
    pub async fn get_as(
        &self,
        id: &str,
        actor: Actor<'_>,
    ) -> Result<StudyRecord, TuningServiceError> {
        match store::get_study(self.meta.as_ref(), id).await? {
            Some(s) if s.owners.is_empty() || s.owners.iter().any(|o| actor.may(o)) => Ok(s),
            _ => Err(TuningServiceError::NotFound(id.to_string())),
        }
    }

    /// A stored study, whoever owns it (the CLI).
    pub async fn get(&self, id: &str) -> Result<Option<StudyRecord>, TuningServiceError> {
        store::get_study(self.meta.as_ref(), id).await
    }

    /// Studies `actor` owns (every study for an admin), newest first, as stored documents
    /// without their analysis.
    pub async fn list(
        &self,
        actor: Actor<'_>,
        page: &PageRequest,
    ) -> Result<Page<Value>, TuningServiceError> {
        let filter = actor
            .scope()
            .map_or_else(Filter::new, |key| Filter::new().eq("owners", key));
        let query = Query::new().filter(filter).sort_desc("created_at");
        let mut p = crate::common::find_page::<TuningServiceError>(
            self.meta.as_ref(),
            STUDIES,
            query,
            page,
        )
        .await?;
        for item in &mut p.items {
            if let Some(o) = item.as_object_mut() {
                o.remove("analysis");
            }
        }
        Ok(p)
    }

    /// The trials of a study `actor` may read, by number, `offset..offset + limit`.
    pub async fn trials_as(
        &self,
        id: &str,
        actor: Actor<'_>,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<TrialRecord>), TuningServiceError> {
        self.get_as(id, actor).await?;
        let all = store::trials(self.meta.as_ref(), id).await?;
        let total = all.len();
        Ok((total, all.into_iter().skip(offset).take(limit).collect()))
    }
}
