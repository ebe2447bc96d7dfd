//! The service registry (the original system's `ServiceFactory`): the one place that turns a
//! [`Config`] into running services. The CLI uses it today and the HTTP server uses the same
//! registry, so both always agree on which stores and providers are in play.
//!
//! Who writes DuckDB: DuckDB allows one writing process per file. The process that builds the
//! registry owns the cache; a second process gets `DataError::Locked` naming the holder (see
//! [`sextant_data::Cache::open`]) and is told to stop it or to talk to the running server.

use crate::backtest::BacktestService;
use crate::config::Config;
use crate::dashboard::DashboardService;
use crate::market_data::MarketDataService;
use crate::portfolios::PortfolioService;
use crate::quality::QualityService;
use crate::watchlists::WatchlistService;
use sextant_data::cache::ReadPool;
use sextant_data::providers::alphavantage::{AlphaVantage, AlphaVantageConfig};
use sextant_data::{Cache, DataError};
use sextant_meta::{MetaConfig, MetaStore};
use std::sync::Arc;

/// Extra read connections to the bar store (see [`ReadPool`]).
const READERS: usize = 4;

/// Why the services could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The configuration could not be read, parsed or taken from the environment (for
    /// callers that load it with [`Config::load`]; [`Services::build`] takes it ready-made).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The DuckDB cache could not be opened (`DataError::Locked` when another process holds
    /// it), the bundled sample not loaded, or the Alpha Vantage client not built.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The metadata store could not be opened (or reached).
    #[error("metadata store: {0}")]
    Meta(#[from] sextant_meta::MetaError),
    /// Copying the bundled sample's anomaly flags to the metadata store failed.
    #[error(transparent)]
    Quality(#[from] crate::quality::QualityError),
    /// Not even the offline narrative writer could be built (an unusable LLM configuration
    /// alone falls back to it instead).
    #[error(transparent)]
    Narrative(#[from] crate::reports::NarrativeError),
    /// `[mlops] mlflow_uri` is set but no client can be built for it, or the drift bands are
    /// invalid.
    #[error("MLOps: {0}")]
    Mlflow(String),
    /// The object store (`[objects]`) cannot be opened.
    #[error(transparent)]
    Objects(#[from] sextant_objects::ObjectsError),
    /// `metadata.backend` names no known store; accepted: `embedded` (alias `sqlite`) and
    /// `mongodb` (alias `mongo`).
    #[error("unknown metadata backend {0:?}: use `embedded` or `mongodb`")]
    UnknownBackend(String),
    /// The data directory (`data_dir`) could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory, as configured.
        path: String,
        /// Why the file system refused.
        #[source]
        source: std::io::Error,
    },
}

/// Every service, built once from one configuration.
pub struct Services {
    /// The configuration the services were built from.
    pub config: Config,
    /// The DuckDB bar store, opened for writing: this process holds the file's writer lock.
    /// Equity curves of stored runs live here too.
    pub cache: Arc<Cache>,
    /// Read connections to `cache`, for reads that must not queue behind writes.
    pub reads: Arc<ReadPool>,
    /// Artefacts that travel (RL checkpoints): the data directory, or the `[objects]` bucket.
    pub objects: Arc<sextant_objects::Objects>,
    /// Data snapshots for remote workers, in `objects` ([`crate::scale::snapshots`]).
    pub snapshots: Arc<crate::scale::snapshots::Snapshots>,
    /// The metadata store (embedded or MongoDB, per `config.metadata`): runs, trades, models,
    /// portfolios, watchlists, API keys and jobs.
    pub meta: Arc<dyn MetaStore>,
    /// Reads bars and refreshes them from providers.
    pub market_data: Arc<MarketDataService>,
    /// Corporate actions, economic series, the symbol directory, market status and FX rates.
    pub reference: Arc<crate::reference::ReferenceService>,
    /// Runs and stores backtests; its series sources are `signals` and `regimes`, so
    /// `ml_signal` and `regime_switch` runs work.
    pub backtests: Arc<BacktestService>,
    /// Stores watchlists and prices them from the cache.
    pub watchlists: Arc<WatchlistService>,
    /// Portfolios, their transactions and their valuation.
    pub portfolios: Arc<PortfolioService>,
    /// Overviews built from the other services' stores.
    pub dashboard: Arc<DashboardService>,
    /// Data-quality review: held bars, flags, reviews.
    pub quality: Arc<QualityService>,
    /// Trains, registers and scores machine-learned signals.
    pub signals: Arc<crate::signals::MlSignalService>,
    /// Tracked runs (trainings…) in the metadata store, mirrored to MLflow when configured.
    pub tracker: Arc<sextant_mlops::tracking::Tracker>,
    /// Promotions with who and why, retraining and drift-check schedules, the promotion rule.
    pub mlops: Arc<crate::mlops::MlopsService>,
    /// Named regime models: walk-forward fits, labels, alerts.
    pub regimes: Arc<crate::regimes::RegimeService>,
    /// Reinforcement-learning policies: training, checkpoints, out-of-sample evaluation.
    pub rl: Arc<crate::rl::RlService>,
    /// Probabilistic forecasts (fans, VaR, drawdown risk) and their calibration: the seed's
    /// `InferenceEngine`.
    pub forecasts: Arc<crate::forecasts::InferenceEngine>,
    /// Strategy parameter tuning: studies, trials, leaderboards with DSR and PBO.
    pub tuning: Arc<crate::tuning::TuningService>,
    /// Named universes with point-in-time membership.
    pub universes: Arc<crate::universes::UniverseService>,
    /// Cross-sectional factor evaluation (IC, quantile returns, turnover) over a universe.
    pub factors: Arc<crate::factors::FactorService>,
    /// Saved strategy configurations.
    pub configs: Arc<crate::configs::StrategyConfigService>,
    /// Saved user-defined strategies (rule-language definitions), versioned: the seed's
    /// `StrategyService` for strategies that are more than a library name and parameters.
    pub definitions: Arc<crate::definitions::DefinitionService>,
    /// Narratives of stored runs (the offline grounded writer or an OpenAI-compatible endpoint).
    pub reports: Arc<crate::reports::ReportService>,
    /// Built once so that one rate limiter guards every request this process makes.
    alphavantage: Arc<AlphaVantage>,
}

impl Services {
    /// Opens the stores and builds the services. Loads the bundled sample into an empty cache
    /// when `config.load_sample` is set, so a fresh machine has real data at once.
    pub async fn build(config: Config) -> Result<Services, CoreError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| CoreError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let cache =
            Arc::new(Cache::open(&config.cache_path())?.with_quality(config.quality.clone()));
        let meta = open_meta(&config).await?;
        let reads = Arc::new(ReadPool::new(cache.clone(), READERS));
        let market_data = Arc::new(MarketDataService::new(reads.clone()));
        let quality = Arc::new(QualityService::new(cache.clone(), meta.clone()));
        if config.load_sample && market_data.ensure_sample()?.is_some() {
            quality.sync_flags().await?;
        }
        let alphavantage =
            Arc::new(AlphaVantage::new(alphavantage_config(&config)).map_err(DataError::from)?);
        let watchlists = Arc::new(WatchlistService::new(cache.clone(), meta.clone()));
        let portfolios = Arc::new(PortfolioService::new(cache.clone(), meta.clone()));
        let tracker = Arc::new(build_tracker(&config, meta.clone())?);
        let signals = Arc::new(
            crate::signals::MlSignalService::new(
                cache.clone(),
                meta.clone(),
                config.data_dir.join("models"),
            )
            .with_tracker(tracker.clone())
            .with_drift_webhook(config.mlops.drift_webhook.clone())
            .map_err(|e| CoreError::Mlflow(e.to_string()))?,
        );
        let regimes = Arc::new(crate::regimes::RegimeService::new(
            reads.clone(),
            meta.clone(),
        ));
        let objects = Arc::new(sextant_objects::Objects::open(
            &config.objects,
            &config.data_dir,
        )?);
        let rl = Arc::new(crate::rl::RlService::new(
            reads.clone(),
            meta.clone(),
            objects.clone(),
        ));
        let universes = Arc::new(crate::universes::UniverseService::new(
            reads.clone(),
            meta.clone(),
        ));
        let series: Arc<dyn crate::backtest::SeriesSource> =
            Arc::new(crate::backtest::SeriesSources(vec![
                signals.clone(),
                regimes.clone(),
                universes.clone(),
            ]));
        let backtests = Arc::new(
            BacktestService::new(reads.clone(), meta.clone(), Some(series))
                .with_universes(universes.clone()),
        );
        let factors = Arc::new(crate::factors::FactorService::new(
            backtests.clone(),
            regimes.clone(),
        ));
        let dashboard = Arc::new(
            DashboardService::new(cache.clone(), meta.clone(), portfolios.clone())
                .with_regimes(regimes.clone()),
        );
        let reports = Arc::new(
            crate::reports::ReportService::new(&config.llm, meta.clone(), backtests.clone())?
                .with_regimes(regimes.clone()),
        );
        let configs = Arc::new(crate::configs::StrategyConfigService::new(meta.clone()));
        let definitions = Arc::new(crate::definitions::DefinitionService::new(meta.clone()));
        let forecasts = Arc::new(crate::forecasts::InferenceEngine::new(
            reads.clone(),
            portfolios.clone(),
        ));
        portfolios.attach_forecasts(Arc::downgrade(&forecasts));
        let tuning = Arc::new(
            crate::tuning::TuningService::new(backtests.clone(), meta.clone())
                .with_tracker(tracker.clone()),
        );
        let reference = Arc::new(crate::reference::ReferenceService::new(cache.clone()));
        let bands =
            sextant_mlops::drift::Bands::new(config.mlops.drift_warn, config.mlops.drift_alert)
                .map_err(|e| CoreError::Mlflow(format!("[mlops] drift bands: {e}")))?;
        let mlops = Arc::new(crate::mlops::MlopsService::new(
            meta.clone(),
            signals.clone(),
            bands,
            backtests.clone(),
            cache.clone(),
            tracker.clone(),
        ));
        Ok(Services {
            mlops,
            universes,
            factors,
            tuning,
            forecasts,
            regimes,
            rl,
            configs,
            definitions,
            reads,
            snapshots: Arc::new(crate::scale::snapshots::Snapshots::new(
                objects.clone(),
                config.jobs.worker_cache_dir(&config),
            )),
            objects,
            reports,
            config,
            cache,
            meta,
            market_data,
            reference,
            backtests,
            watchlists,
            portfolios,
            dashboard,
            quality,
            signals,
            tracker,
            alphavantage,
        })
    }

    /// The Alpha Vantage provider. Without a key every fetch fails with a typed `MissingKey`
    /// error before any request is sent.
    pub fn alphavantage(&self) -> Result<Arc<AlphaVantage>, CoreError> {
        Ok(self.alphavantage.clone())
    }
}

fn alphavantage_config(config: &Config) -> AlphaVantageConfig {
    let s = &config.alphavantage;
    let mut c = AlphaVantageConfig::new(s.api_key.clone().unwrap_or_default());
    c.base_url = s.base_url.clone();
    c.requests_per_minute = s.requests_per_minute;
    c.requests_per_day = Some(s.requests_per_day);
    c
}

/// Opens only the metadata store (for commands that must not take the DuckDB writer lock, such
/// as `sextant keys` while a server runs).
pub async fn open_meta(config: &Config) -> Result<Arc<dyn MetaStore>, CoreError> {
    let mc = match config.metadata.backend.as_str() {
        "embedded" | "sqlite" => MetaConfig::Embedded {
            path: config.metadata_path(),
        },
        "mongodb" | "mongo" => MetaConfig::Mongo {
            uri: config.metadata.mongodb_uri.clone(),
            database: config.metadata.mongodb_database.clone(),
        },
        other => return Err(CoreError::UnknownBackend(other.to_string())),
    };
    Ok(sextant_meta::open_store(&mc).await?)
}

/// The run tracker: embedded always, with an MLflow client when `[mlops] mlflow_uri` is set.
fn build_tracker(
    config: &Config,
    meta: Arc<dyn MetaStore>,
) -> Result<sextant_mlops::tracking::Tracker, CoreError> {
    let mlflow = match &config.mlops.mlflow_uri {
        Some(uri) => Some(
            sextant_mlops::mlflow::MlflowClient::new(uri, config.mlops.mlflow_token.clone())
                .map_err(|e| CoreError::Mlflow(format!("[mlops] mlflow_uri {uri}: {e}")))?,
        ),
        None => None,
    };
    Ok(sextant_mlops::tracking::Tracker::new(
        meta,
        config.data_dir.join("mlops").join("artifacts"),
        mlflow,
        &config.mlops.experiment_prefix,
    ))
}
