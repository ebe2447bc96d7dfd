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
            config_error,
        })
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
        let sheet = FactSheet::build(
            &stored.run,
            &stored.trades,
            &stored.curve,
            &stored.benchmark,
        );
        Ok(Some(self.writer.report(&sheet, id).await?))
    }
}
