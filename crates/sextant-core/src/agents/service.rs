//! The agents wired to the services: the strategy builder (with saving and a backtest
//! preview) and the ChatOps agent, built on first use (loading the embedding model and
//! embedding the catalog take about a second, which `sextant serve` should not wait for).

use super::{CoreTools, MetaAudit};
use crate::config::{AgentsSettings, LlmSettings};
use crate::jobs::JobManager;
use crate::Services;
use serde::Serialize;
use serde_json::{json, Value};
use sextant_agents::builder::{BuildAnswer, BuildError, BuildRequest, BuildStatus, Builder};
use sextant_agents::catalog::{catalog, CatalogIndex};
use sextant_agents::chat::{Agent, Caller, ChatAnswer, ChatError, ChatEvent, ToolGate, ToolHost};
use sextant_agents::embed::{Embedder, MiniLm, OpenAiEmbeddings, OpenAiEmbeddingsConfig};
use sextant_backtest::run::BacktestRequest;
use sextant_genai::{LlmProvider, OpenAiClient, OpenAiConfig, PromptRegistry};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, OnceCell};

/// Collection of successful builds (nothing else is ever stored by the builder).
pub const STRATEGY_BUILDS: &str = "strategy_builds";

/// Why an agents request failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentsError {
    /// The request is malformed (empty, too long, an unknown token, a bad preview).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The embedding model or LLM could not be set up; the message says how to fix it.
    #[error("agents unavailable: {0}")]
    Unavailable(String),
    /// Saving or previewing failed in a service.
    #[error("{0}")]
    Service(String),
}

impl From<BuildError> for AgentsError {
    fn from(e: BuildError) -> Self {
        match e {
            BuildError::InvalidRequest(m) => AgentsError::Invalid(m),
            BuildError::Embed(e) => AgentsError::Unavailable(e.to_string()),
        }
    }
}

impl From<ChatError> for AgentsError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::InvalidRequest(m) => AgentsError::Invalid(m),
            ChatError::Embed(e) => AgentsError::Unavailable(e.to_string()),
            ChatError::Audit(m) => AgentsError::Service(format!("audit failed: {m}")),
        }
    }
}

/// A backtest to run on a built config before saving anything.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preview {
    /// Symbols to run on (1 to the backtest limit).
    pub symbols: Vec<String>,
    /// First session date (`YYYY-MM-DD`), default the first cached bar.
    #[serde(default)]
    pub from: Option<String>,
    /// Last session date, default the last cached bar.
    #[serde(default)]
    pub to: Option<String>,
}

/// The builder's answer with what was saved and previewed.
#[derive(Debug, Clone, Serialize)]
pub struct BuildOutcome {
    /// The builder's answer.
    #[serde(flatten)]
    pub answer: BuildAnswer,
    /// The stored build's id (built answers only).
    pub build_id: Option<String>,
    /// The saved user strategy (`usd_…` id and version), when `save` was asked.
    pub saved: Option<Value>,
    /// The preview backtest (`run_id`, metrics), when asked.
    pub preview: Option<Value>,
}

struct Ready {
    builder: Builder,
    agent: Agent,
}

/// The builder and the agent over the services.
pub struct AgentsService {
    settings: AgentsSettings,
    llm: LlmSettings,
    services: Arc<Services>,
    gate: Arc<ToolGate>,
    audit: Arc<MetaAudit>,
    ready: OnceCell<Result<Arc<Ready>, String>>,
}

fn embedder(s: &AgentsSettings) -> Result<Arc<dyn Embedder>, String> {
    match s.embeddings.as_str() {
        "minilm" => {
            let dir = s.minilm_dir.clone().unwrap_or_else(MiniLm::default_dir);
            Ok(Arc::new(MiniLm::load(dir).map_err(|e| e.to_string())?))
        }
        "openai" => Ok(Arc::new(
            OpenAiEmbeddings::new(OpenAiEmbeddingsConfig {
                base_url: s.embeddings_base_url.clone(),
                model: s.embeddings_model.clone(),
                api_key: s.embeddings_api_key.clone(),
                dimension: s.embeddings_dimension,
                timeout: Duration::from_secs(60),
            })
            .map_err(|e| e.to_string())?,
        )),
        other => Err(format!("unknown embeddings {other:?}: minilm or openai")),
    }
}

fn llm(s: &LlmSettings) -> Result<Option<Arc<dyn LlmProvider>>, String> {
    match s.provider.as_str() {
        "offline" => Ok(None),
        "openai" => {
            let mut cfg = OpenAiConfig::new(s.base_url.clone(), s.model.clone());
            cfg.api_key = s.api_key.clone();
            cfg.timeout = Duration::from_secs(s.timeout_secs.max(1));
            Ok(Some(Arc::new(
                OpenAiClient::new(cfg).map_err(|e| e.to_string())?,
            )))
        }
        other => Err(format!("unknown LLM provider {other:?}: offline or openai")),
    }
}

impl AgentsService {
    /// The agents over `services`; `jobs` runs refreshes and cancellations.
    pub fn new(services: Arc<Services>, jobs: Arc<JobManager>) -> Self {
        let tools: Arc<dyn ToolHost> = Arc::new(CoreTools::new(&services, jobs));
        let audit = Arc::new(MetaAudit::new(services.meta.clone()));
        AgentsService {
            settings: services.config.agents.clone(),
            llm: services.config.llm.clone(),
            gate: Arc::new(ToolGate::new(tools, audit.clone())),
            audit,
            services,
            ready: OnceCell::new(),
        }
    }

    /// The tool gate (role filter, confirmations, audit), shared with MCP clients.
    pub fn gate(&self) -> &Arc<ToolGate> {
        &self.gate
    }

    /// The audit trail.
    pub fn audit(&self) -> &MetaAudit {
        &self.audit
    }

    /// The Slack settings (signing secret, user roles).
    pub fn settings(&self) -> &AgentsSettings {
        &self.settings
    }

    async fn ready(&self) -> Result<Arc<Ready>, AgentsError> {
        let r = self
            .ready
            .get_or_init(|| async {
                let embed = embedder(&self.settings)?;
                let model = llm(&self.llm)?;
                let prompts = PromptRegistry::load_builtin().map_err(|e| e.to_string())?;
                let pick = |name: &str| -> Result<_, String> {
                    let p = prompts
                        .latest(name)
                        .ok_or_else(|| format!("prompt {name} missing"))?;
                    Ok(model.clone().map(|m| (m, p.clone())))
                };
                let index = CatalogIndex::build(catalog(), embed.as_ref())
                    .await
                    .map_err(|e| e.to_string())?;
                let builder =
                    Builder::new(Arc::new(index), embed.clone(), pick("strategy_builder")?);
                let agent = Agent::new(self.gate.clone(), embed, pick("chatops_agent")?)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Arc::new(Ready { builder, agent }))
            })
            .await;
        r.clone().map_err(AgentsError::Unavailable)
    }

    /// Builds a strategy config from `req`; a built answer is stored (as a build and, with
    /// `save`, as a user strategy owned by `owner`) and optionally backtested. Nothing is
    /// stored unless the answer is built and its config validated.
    ///
    /// # Errors
    ///
    /// [`AgentsError`].
    pub async fn build(
        &self,
        owner: &str,
        req: &BuildRequest,
        save: bool,
        preview: Option<Preview>,
    ) -> Result<BuildOutcome, AgentsError> {
        let ready = self.ready().await?;
        let answer = ready.builder.build(req).await?;
        let mut out = BuildOutcome {
            answer,
            build_id: None,
            saved: None,
            preview: None,
        };
        let (Some(spec), Some(config), BuildStatus::Built) =
            (&out.answer.spec, &out.answer.config, out.answer.status)
        else {
            return Ok(out);
        };
        // Validated once more right before anything is stored.
        let checked = spec
            .validate()
            .map_err(|e| AgentsError::Service(format!("built config failed re-validation: {e}")))?;
        if &checked != config {
            return Err(AgentsError::Service(
                "built config changed on re-validation".into(),
            ));
        }
        if let Some(p) = preview {
            let req = json!({"strategy": config.strategy, "params": config.params, "sim": config.sim,
                             "symbols": p.symbols, "from": p.from, "to": p.to});
            let req: BacktestRequest = serde_json::from_value(req)
                .map_err(|e| AgentsError::Invalid(format!("preview: {e}")))?;
            req.validate()
                .map_err(|e| AgentsError::Invalid(format!("preview: {e}")))?;
            let run = self
                .services
                .backtests
                .run_for(&req, Some(owner))
                .await
                .map_err(|e| AgentsError::Invalid(format!("preview: {e}")))?;
            out.preview = Some(
                json!({"run_id": run.id, "metrics": run.metrics, "final_equity": run.final_equity, "trade_count": run.trade_count}),
            );
        }
        if save {
            let name = format!("built_{}", spec.strategy);
            let definition = spec
                .to_definition(&name)
                .map_err(|e| AgentsError::Service(e.to_string()))?;
            let v = self
                .services
                .definitions
                .create(&definition, owner)
                .await
                .map_err(|e| AgentsError::Service(e.to_string()))?;
            out.saved = Some(json!({"id": v.id, "version": v.version}));
        }
        let record = json!({
            "owner": owner, "request": req.text, "spec": spec, "config": config,
            "provenance": out.answer.provenance, "used": out.answer.used,
            "at": chrono::Utc::now().to_rfc3339(),
        });
        let id = self
            .services
            .meta
            .insert(STRATEGY_BUILDS, record)
            .await
            .map_err(|e| AgentsError::Service(e.to_string()))?;
        out.build_id = Some(id);
        Ok(out)
    }

    /// Answers a chat message (see [`Agent::chat`]).
    ///
    /// # Errors
    ///
    /// [`AgentsError`].
    pub async fn chat(
        &self,
        caller: &Caller,
        message: &str,
        events: Option<mpsc::Sender<ChatEvent>>,
    ) -> Result<ChatAnswer, AgentsError> {
        Ok(self
            .ready()
            .await?
            .agent
            .chat(caller, message, events)
            .await?)
    }

    /// Confirms a pending write (see [`Agent::confirm`]).
    ///
    /// # Errors
    ///
    /// [`AgentsError`].
    pub async fn confirm(&self, caller: &Caller, token: &str) -> Result<ChatAnswer, AgentsError> {
        Ok(self.ready().await?.agent.confirm(caller, token).await?)
    }
}
