//! Narratives of backtests: the report service built from configuration, and its route.

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::Value;
use sextant_core::config::LlmSettings;
use sextant_genai::{LlmProvider, OpenAiClient, OpenAiConfig, PromptRegistry};
use sextant_meta::MetaStore;
use sextant_narrative::service::{offline_provider, ReportGenerationService};
use std::sync::Arc;
use std::time::Duration;

/// The report service for `settings`: the offline grounded writer by default, or any
/// OpenAI-compatible endpoint. Both go through the same validation and fallback path.
pub fn report_service(
    settings: &LlmSettings,
    meta: Arc<dyn MetaStore>,
) -> Result<ReportGenerationService, String> {
    let provider: Arc<dyn LlmProvider> = match settings.provider.as_str() {
        "offline" => Arc::new(offline_provider()),
        "openai" => {
            let mut cfg = OpenAiConfig::new(settings.base_url.clone(), settings.model.clone());
            cfg.api_key = settings.api_key.clone();
            cfg.timeout = Duration::from_secs(settings.timeout_secs.max(1));
            Arc::new(OpenAiClient::new(cfg).map_err(|e| e.to_string())?)
        }
        other => {
            return Err(format!(
                "unknown LLM provider {other:?}: use offline or openai"
            ))
        }
    };
    let prompts = PromptRegistry::load_builtin().map_err(|e| e.to_string())?;
    Ok(ReportGenerationService::new(
        provider,
        meta,
        prompts,
        settings.max_attempts.max(1),
    ))
}

/// The narrative of a stored backtest (markdown plus the fact sheet and the validation report).
/// Cached per (backtest, prompt version, model).
#[utoipa::path(get, path = "/{id}/report", tag = "backtests", params(("id" = String, Path)),
    responses((status = 200, body = Object)), security(("api_key" = [])))]
pub async fn report(
    State(s): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Value>> {
    if id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ApiError::not_found(format!("no backtest {id:?}")));
    }
    crate::routes::backtests::visible_run(&s, &caller, &id).await?;
    if let Some(report) = s
        .reports
        .cached(&id)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
    {
        // A cached narrative costs a snapshot check (one hash over the run's bars), not the
        // run and its benchmark again; changed data still answers 409.
        let cache = s.read_cache();
        s.services.backtests.check_unchanged(&cache, &id).await?;
        return serde_json::to_value(report)
            .map(Json)
            .map_err(|e| ApiError::internal(e.to_string()));
    }
    let cache = s.read_cache();
    let backtests = s.services.backtests.clone();
    let stored = backtests
        .stored_with_benchmark(&cache, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no backtest {id}")))?;
    let sheet = sextant_narrative::FactSheet::build(
        &stored.run,
        &stored.trades,
        &stored.curve,
        &stored.benchmark,
    );
    let report = s
        .reports
        .report(&sheet, &id)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    serde_json::to_value(report)
        .map(Json)
        .map_err(|e| ApiError::internal(e.to_string()))
}
