//! Narratives of stored backtests: the one path from a run id to a checked narrative, shared by
//! the HTTP route and the CLI.
//!
//! The writer is chosen by configuration: the offline grounded writer by default, or any
//! OpenAI-compatible endpoint. Both go through the same validation, retry and fallback path in
//! [`sextant_narrative::service`].

use crate::backtest::{BacktestError, BacktestService};
use crate::config::LlmSettings;
use sextant_genai::{LlmProvider, OpenAiClient, OpenAiConfig, PromptRegistry};
use sextant_meta::MetaStore;
use sextant_narrative::service::{offline_provider, Report, ReportError, ReportGenerationService};
use sextant_narrative::FactSheet;
use std::sync::Arc;
use std::time::Duration;

/// Why a narrative could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum NarrativeError {
    /// The LLM settings name an unknown provider or an unusable endpoint.
    #[error("LLM configuration: {0}")]
    Config(String),
    /// Loading the run, its benchmark or its data failed (409 when the data changed).
    #[error(transparent)]
    Backtest(#[from] BacktestError),
    /// The writer or the store of narratives failed.
    #[error(transparent)]
    Report(#[from] ReportError),
}

/// The narrative writer for `settings`.
///
/// # Errors
/// [`NarrativeError::Config`] for an unknown provider, an endpoint the client cannot be built
/// for, or prompts that do not load.
pub fn report_generator(
    settings: &LlmSettings,
    meta: Arc<dyn MetaStore>,
) -> Result<ReportGenerationService, NarrativeError> {
    let provider: Arc<dyn LlmProvider> = match settings.provider.as_str() {
        "offline" => Arc::new(offline_provider()),
        "openai" => {
            let mut cfg = OpenAiConfig::new(settings.base_url.clone(), settings.model.clone());
            cfg.api_key = settings.api_key.clone();
            cfg.timeout = Duration::from_secs(settings.timeout_secs.max(1));
            Arc::new(OpenAiClient::new(cfg).map_err(|e| NarrativeError::Config(e.to_string()))?)
        }
        other => {
            return Err(NarrativeError::Config(format!(
                "unknown LLM provider {other:?}: use offline or openai"
            )))
        }
    };
    let prompts =
        PromptRegistry::load_builtin().map_err(|e| NarrativeError::Config(e.to_string()))?;
    Ok(ReportGenerationService::new(
        provider,
        meta,
        prompts,
        settings.max_attempts.max(1),
    ))
}

/// Narratives of stored runs: the run as stored, its buy-and-hold benchmark on the same
/// (unchanged) bars, the fact sheet, then the configured writer.
pub struct ReportService {
    writer: ReportGenerationService,
    backtests: Arc<BacktestService>,
    /// Adds the market-regime context of a run when a regime model covers its symbols.
    regimes: Option<Arc<crate::regimes::RegimeService>>,
    /// Set when the configured writer could not be built and the offline writer stands in.
    config_error: Option<String>,
}

impl ReportService {
    /// The service for `settings`. An unusable LLM configuration does not stop the process:
    /// the offline writer stands in, the error is logged and kept ([`Self::config_error`]).
    pub fn new(
        settings: &LlmSettings,
        meta: Arc<dyn MetaStore>,
        backtests: Arc<BacktestService>,
    ) -> Result<Self, NarrativeError> {
        let (writer, config_error) = match report_generator(settings, meta.clone()) {
            Ok(w) => (w, None),
            Err(e) => {
                tracing::error!(error = %e, "LLM configuration unusable: narratives use the offline writer");
                let offline = report_generator(&LlmSettings::default(), meta)?;
                (offline, Some(e.to_string()))
            }
        };
        Ok(ReportService {
            writer,
            backtests,
            regimes: None,
            config_error,
        })
    }

    /// Adds the regime context to every fact sheet (seed §4.1): the run's performance in each
    /// regime of the smallest regime model whose members include all the run's symbols, and
    /// the regime at the run's end. Without such a model the sheet has no regime context.
    pub fn with_regimes(mut self, regimes: Arc<crate::regimes::RegimeService>) -> Self {
        self.regimes = Some(regimes);
        self
    }

    /// The regime context of `run`, if a model covers its symbols (errors are logged and
    /// leave the context out: a narrative does not fail for want of it).
    async fn regime_context(
        &self,
        cache: &sextant_data::Cache,
        run: &sextant_backtest::run::BacktestRun,
    ) -> Option<serde_json::Value> {
        let svc = self.regimes.as_ref()?;
        let symbols = &run.manifest.request.symbols;
        let model = svc
            .list()
            .await
            .ok()?
            .into_iter()
            .filter(|m| symbols.iter().all(|s| m.spec.symbols.contains(s)))
            .min_by_key(|m| m.spec.symbols.len())?;
        let name = model.spec.name.clone();
        let slices = match crate::regimes::performance_by_regime(cache, svc, &run.id, &name).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(model = %name, error = %e, "regime context left out");
                return None;
            }
        };
        let end = run.last_ts.map(|t| t.date_naive());
        let at_end = svc.at(&name, end).await.ok().map(|(_, now)| now.regime);
        let round = |v: f64, places: i32| {
            let m = 10f64.powi(places);
            (v * m).round() / m
        };
        let by: Vec<serde_json::Value> = slices
            .iter()
            .map(|r| {
                serde_json::json!({
                    "regime": r.regime,
                    "days": r.days,
                    "return_pct": round(100.0 * r.total_return, 1),
                    "volatility_pct": round(100.0 * r.volatility, 1),
                    "sharpe": if r.sharpe.is_finite() { serde_json::json!(round(r.sharpe, 2)) } else { serde_json::Value::Null },
                })
            })
            .collect();
        Some(serde_json::json!({
            "model": name,
            "members": model.spec.symbols.len(),
            "kind": model.spec.walk.kind.to_string(),
            "regime_at_end": at_end,
            "by_regime": by,
        }))
    }

    /// Why the configured writer is not in use (`None`: it is).
    pub fn config_error(&self) -> Option<&str> {
        self.config_error.as_deref()
    }

    /// The narrative of stored run `id` (its bars read on a connection of the backtests' read
    /// pool), or `None` when there is no such run.
    /// A narrative already written for the current prompt and model costs one lookup and a
    /// snapshot check, not the run and its benchmark again.
    ///
    /// # Errors
    /// [`BacktestError::DataChanged`] (inside [`NarrativeError::Backtest`]) when the run's bars
    /// changed since it ran: a narrative now would describe different data.
    pub async fn report(&self, id: &str) -> Result<Option<Report>, NarrativeError> {
        let cache = self.backtests.reader();
        let cache = cache.as_ref();
        if let Some(report) = self.writer.cached(id).await? {
            return match self.backtests.check_unchanged(cache, id).await? {
                true => Ok(Some(report)),
                false => Ok(None),
            };
        }
        let Some(stored) = self.backtests.stored_with_benchmark(cache, id).await? else {
            return Ok(None);
        };
        let mut sheet = FactSheet::build(
            &stored.run,
            &stored.trades,
            &stored.curve,
            &stored.benchmark,
        );
        if let Some(ctx) = self.regime_context(cache, &stored.run).await {
            sheet = sheet.with_extra("regime", ctx);
        }
        Ok(Some(self.writer.report(&sheet, id).await?))
    }
}
