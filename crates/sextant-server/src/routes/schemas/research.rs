//! Tuning studies, the model registry, the feature store, signals and strategy definitions.

use super::{items_schema, page_schema};
use chrono::{DateTime, NaiveDate, Utc};
use utoipa::ToSchema;

/// Where a study is.
#[derive(ToSchema)]
#[schema(as = StudyState, rename_all = "snake_case")]
pub enum StudyStateDoc {
    /// Recorded, waiting for its job.
    Queued,
    /// Its job is running trials.
    Running,
    /// Every trial ran and the analysis is stored.
    Complete,
    /// Stopped by a cancel; running it again resumes it.
    Cancelled,
    /// Ended with an error.
    Failed,
}

/// Trials of a study by state.
#[derive(ToSchema)]
#[schema(as = TrialCounts)]
pub struct TrialCountsDoc {
    /// Trials that finished.
    pub complete: u64,
    /// Trials stopped early by the pruner.
    pub pruned: u64,
    /// Trials whose backtest failed.
    pub failed: u64,
    /// Trials running now.
    pub running: u64,
}

/// A tuning study: the request, its state and counts, the best trial and (once complete) its
/// analysis.
#[derive(ToSchema)]
#[schema(as = Study)]
pub struct StudyDoc {
    /// `stu_` and 24 hex digits, a hash of the request and the bars.
    pub id: String,
    /// The name given, if any.
    pub name: Option<String>,
    /// The keys that asked for it.
    pub owners: Option<Vec<String>>,
    /// The tuning request with defaults filled (backtest, search space, objectives, sampler,
    /// pruner, trials, validation, constraints).
    #[schema(value_type = Object)]
    pub request: (),
    /// The strategy tuned.
    pub strategy: String,
    /// Hash of the bars the trials ran on.
    pub data_snapshot: String,
    /// The engine that ran them.
    pub engine_version: String,
    /// Where the study is.
    pub state: StudyStateDoc,
    /// Why it failed.
    pub error: Option<String>,
    /// Trials by state.
    pub counts: TrialCountsDoc,
    /// The best complete trial so far: its number, parameters and objective values.
    #[schema(value_type = Option<Object>)]
    pub best: (),
    /// The leaderboard with its deflated Sharpe ratio, PBO and out-of-sample result, once
    /// complete (not in listings).
    #[schema(value_type = Option<Object>)]
    pub analysis: (),
    /// Bars held by the quality checks inside the range (left out of every trial).
    #[schema(value_type = Vec<Object>)]
    pub excluded: (),
    /// The risk-free rate Sharpe and Sortino were measured against.
    #[schema(value_type = Option<Object>)]
    pub risk_free: (),
    /// When it was first recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

page_schema!(
    /// A page of studies, newest first, without their analysis.
    StudyPage,
    StudyDoc
);

/// A complete study's leaderboard with what discounts it.
#[derive(ToSchema)]
#[schema(as = StudyLeaderboard)]
pub struct StudyLeaderboardDoc {
    /// The study.
    pub study_id: String,
    /// The strategy tuned.
    pub strategy: String,
    /// Trials by state.
    pub counts: TrialCountsDoc,
    /// The leaderboard, Pareto front, deflated Sharpe ratio of the best trial, probability of
    /// backtest overfitting, walk-forward out-of-sample result beside buy and hold, and notes.
    #[schema(value_type = Object)]
    pub analysis: (),
    /// Bars held by the quality checks inside the range.
    pub excluded_bars: u64,
}

/// One trial of a study.
#[derive(ToSchema)]
#[schema(as = Trial)]
pub struct TrialDoc {
    /// The study.
    pub study: String,
    /// Its number, from 0.
    pub number: u32,
    /// The parameters tried.
    #[schema(value_type = Object)]
    pub params: (),
    /// The sampler's raw assignment.
    #[schema(value_type = Object)]
    pub assignment: (),
    /// `running`, `complete`, `pruned` or `failed`.
    pub state: String,
    /// Objective values (null where undefined).
    pub values: Vec<Option<f64>>,
    /// Per-fold values reported to the pruner.
    pub intermediate: Vec<Option<f64>>,
    /// NSGA-II's generation.
    pub generation: Option<u32>,
    /// Run time.
    pub duration_ms: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// While it runs: `[first trial number, size]` of the batch it was asked in.
    pub batch: Option<Vec<u32>>,
}

/// A window of a study's trials, by number.
#[derive(ToSchema)]
#[schema(as = TrialPage)]
pub struct TrialPageDoc {
    /// Trials in the study.
    pub total: u64,
    /// The first trial number returned.
    pub offset: u64,
    /// The trials.
    pub items: Vec<TrialDoc>,
}

/// A model's stage in the registry.
#[derive(ToSchema)]
#[schema(as = ModelStage, rename_all = "snake_case")]
pub enum ModelStageDoc {
    /// Trained, not serving.
    Staging,
    /// What its name resolves to.
    Production,
    /// Retired.
    Archived,
}

/// A trained signal model: how it was trained and how well it scores.
#[derive(ToSchema)]
#[schema(as = Model)]
pub struct ModelDoc {
    /// `mdl_` and 20 hex digits.
    pub id: String,
    /// The name versions accumulate under.
    pub name: String,
    /// Its version under the name, from 1.
    pub version: u32,
    /// Its stage.
    pub stage: ModelStageDoc,
    /// When it was trained.
    pub created_at: DateTime<Utc>,
    /// The training request as given.
    #[schema(value_type = Object)]
    pub request: (),
    /// The feature view it was trained on.
    pub view: String,
    /// That view's version.
    pub view_version: String,
    /// The table holding the materialised view.
    pub view_table: String,
    /// Bar resolution.
    pub resolution: String,
    /// Feature names in the model's order.
    pub features: Vec<String>,
    /// Hash of the bars behind features and labels.
    pub data_snapshot: String,
    /// The code that trained it.
    pub code_version: String,
    /// The fit's seed.
    pub seed: u64,
    /// The gradient-boosting parameters used.
    #[schema(value_type = Object)]
    pub params: (),
    /// Bars after a sample its label looks at.
    pub label_horizon: u64,
    /// In-sample, cross-validated and holdout scores beside the base rate, the training window
    /// (`train_first`, `train_last`) and feature importance.
    #[schema(value_type = Object)]
    pub metrics: (),
    /// SHA-256 of the serialised model.
    pub artifact_sha256: String,
    /// Its size in bytes.
    pub artifact_bytes: u64,
    /// Bars held by the quality checks inside the span (not learned from).
    #[schema(value_type = Vec<Object>)]
    pub excluded: (),
    /// The price basis of its labels and features.
    pub prices: Option<String>,
    /// The key that trained it.
    pub owner: Option<String>,
}

items_schema!(
    /// Registered models, newest first.
    ModelList,
    ModelDoc
);

/// The probability of an up move for a symbol's newest bar.
#[derive(ToSchema)]
#[schema(as = Signal)]
pub struct SignalDoc {
    /// The symbol scored.
    pub symbol: String,
    /// The model that scored it.
    pub model_id: String,
    /// The bar whose features were scored.
    pub ts: DateTime<Utc>,
    /// Probability of the label (an up move, by default).
    pub probability: f64,
    /// `[name, value]` pairs in the model's feature order.
    #[schema(value_type = Vec<Vec<Value>>)]
    pub features: (),
    /// `[name, contribution]` pairs in log-odds, with `explain=true`.
    #[schema(value_type = Option<Vec<Vec<Value>>>)]
    pub shap: (),
    /// The base score the contributions start from, with `explain=true`.
    pub expected_value: Option<f64>,
}

/// A built-in feature view.
#[derive(ToSchema)]
#[schema(as = FeatureViewInfo)]
pub struct FeatureViewInfoDoc {
    /// Its name.
    pub name: String,
    /// 12 hex digits of its definition hash.
    pub version: String,
    /// The bar resolution it is computed at.
    pub resolution: String,
    /// What it holds.
    pub description: String,
    /// Its features: name, stage, SQL and description.
    #[schema(value_type = Vec<Object>)]
    pub features: (),
}

/// A materialised version of a feature view.
#[derive(ToSchema)]
#[schema(as = MaterializedView)]
pub struct MaterializedViewDoc {
    /// The view's name.
    pub name: String,
    /// The view's version.
    pub version: String,
    /// The table holding the values.
    pub table_name: String,
    /// The bar resolution.
    pub resolution: String,
    /// Feature names in column order.
    pub features: Vec<String>,
    /// Rows: one per (symbol, bar).
    pub rows: u64,
    /// Distinct symbols.
    pub symbols: u64,
    /// Hash of the bars it was computed from.
    pub data_snapshot: String,
    /// When it was materialised.
    pub materialized_at: DateTime<Utc>,
}

/// The feature views and what is materialised.
#[derive(ToSchema)]
#[schema(as = FeatureViews)]
pub struct FeatureViewsDoc {
    /// The built-in definitions.
    pub views: Vec<FeatureViewInfoDoc>,
    /// Every materialised version.
    pub materialized: Vec<MaterializedViewDoc>,
}

/// Rows of a feature panel: one per (symbol, bar), every feature a column.
#[derive(ToSchema)]
#[schema(as = FeaturePanel)]
pub struct FeaturePanelDoc {
    /// The view.
    pub view: String,
    /// The version read.
    pub version: String,
    /// Feature names, the columns of every row.
    pub features: Vec<String>,
    /// `{symbol, ts, <feature>: value or null, …}` per row.
    #[schema(value_type = Vec<Object>)]
    pub rows: (),
    /// Bars held by the quality checks in the range (their rows are left out).
    #[schema(value_type = Vec<Object>)]
    pub excluded: (),
}

/// The truncation test a definition passed: running on cut histories gives the same orders.
#[derive(ToSchema)]
#[schema(as = TruncationReport)]
pub struct TruncationReportDoc {
    /// Bars in the full run.
    pub bars: u64,
    /// The cuts checked.
    pub cuts: Vec<u64>,
    /// Orders the full run placed.
    pub orders: u64,
    /// Fill timings checked.
    pub fills: Vec<String>,
}

/// One stored version of a user-defined strategy.
#[derive(ToSchema)]
#[schema(as = DefinitionVersion)]
pub struct DefinitionVersionDoc {
    /// `usd_…@version`.
    pub id: String,
    /// The version, from 1.
    pub version: u32,
    /// The definition's name.
    pub name: String,
    /// The definition as saved.
    #[schema(value_type = Object)]
    pub definition: (),
    /// sha256 of its canonical JSON.
    pub sha256: String,
    /// JSON Schema of its parameters.
    #[schema(value_type = Object)]
    pub params_schema: (),
    /// The compiled account: parameters, rules, warm-up, data.
    pub explain: String,
    /// External series it reads.
    pub references: Vec<String>,
    /// The truncation test it passed.
    pub truncation: TruncationReportDoc,
    /// The key that saved it.
    pub owner: String,
    /// When this version was saved.
    pub created_at: DateTime<Utc>,
}

items_schema!(
    /// Every version of a definition, newest first.
    DefinitionVersionList,
    DefinitionVersionDoc
);

/// A saved definition in a listing.
#[derive(ToSchema)]
#[schema(as = DefinitionHeader)]
pub struct DefinitionHeaderDoc {
    /// `usd_` and 16 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its newest version.
    pub latest: u32,
    /// The key that saved it.
    pub owner: String,
    /// When version 1 was saved.
    pub created_at: DateTime<Utc>,
    /// When the newest version was saved.
    pub updated_at: DateTime<Utc>,
}

page_schema!(
    /// A page of saved definitions, most recently changed first.
    DefinitionPage,
    DefinitionHeaderDoc
);

/// What checking a definition found.
#[derive(ToSchema)]
#[schema(as = DefinitionCheck)]
pub struct DefinitionCheckDoc {
    /// The definition's name.
    pub name: String,
    /// The compiled account.
    pub explain: String,
    /// JSON Schema of its parameters.
    #[schema(value_type = Object)]
    pub params_schema: (),
    /// External series read.
    pub references: Vec<String>,
    /// Nodes stepped per bar.
    pub nodes: u64,
    /// Bars before the first possible signal.
    pub warmup: u64,
    /// The truncation test's result.
    pub truncation: TruncationReportDoc,
}

/// A library strategy written in the rule language.
#[derive(ToSchema)]
#[schema(as = DefinitionExample)]
pub struct DefinitionExampleDoc {
    /// The library strategy it reproduces (bit-identical trades).
    pub library_strategy: String,
    /// The definition.
    #[schema(value_type = Object)]
    pub definition: (),
}

items_schema!(
    /// The library strategies as definitions.
    DefinitionExampleList,
    DefinitionExampleDoc
);

/// A confirmed regime change.
#[derive(ToSchema)]
#[schema(as = RegimeAlert)]
pub struct RegimeAlertDoc {
    /// `{model}:{day}`.
    pub id: String,
    /// The regime model.
    pub model: String,
    /// The day the change was confirmed.
    pub day: NaiveDate,
    /// The first day of the new label's run.
    pub began: NaiveDate,
    /// The regime confirmed before.
    pub from: String,
    /// The regime confirmed now.
    pub to: String,
    /// Days the new label had to hold.
    pub confirm_bars: u64,
    /// p(regime | data up to `day`), by regime.
    pub probabilities: std::collections::HashMap<String, f64>,
    /// True for changes found when the model was first fitted over history.
    pub backfill: bool,
    /// What the webhook answered, when one is configured.
    pub webhook: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}
