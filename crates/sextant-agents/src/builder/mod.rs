//! The strategy builder: a natural-language request to a validated strategy config, or a
//! clarifying question. Never a guess, never an invalid config.
//!
//! Offline (the default) a deterministic parser reads the request, grounded by the catalog
//! embeddings. With an LLM configured, the model answers with structured output (a JSON schema
//! of the [`BuildSpec`]) grounded by the same retrieved catalog entries; its spec goes through
//! the same validation, with one repair turn carrying the engine's error. Either way only
//! [`BuildSpec::validate`] produces a config.

pub mod offline;
pub mod spec;

use crate::catalog::{CatalogIndex, Hit};
use crate::embed::{EmbedError, Embedder};
use offline::{ClarifyReason, Models, Parsed};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_genai::{ChatRequest, JsonSchemaFormat, LlmProvider, Message, Prompt, PromptRef};
use spec::{BuildSpec, StrategyConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Longest request accepted, in bytes.
pub const MAX_REQUEST_BYTES: usize = 2_000;
/// Catalog entries retrieved per request (shown to the LLM and returned to the caller).
pub const TOP_K: usize = 8;

/// A request to the builder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildRequest {
    /// What the user wants, in words.
    pub text: String,
    /// The regime model regime filters read (`in_regime`).
    #[serde(default)]
    pub regime_model: Option<String>,
    /// The ML signal model probability filters read (`ml_proba`).
    #[serde(default)]
    pub ml_model: Option<String>,
}

/// How the answer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum BuildStatus {
    /// A validated config.
    Built,
    /// A clarifying question instead of a config.
    Clarify,
    /// The model's answer failed validation twice: no config, the errors are given.
    Rejected,
}

/// Which path produced the answer and with what.
#[derive(Debug, Clone, Serialize)]
pub struct BuildProvenance {
    /// `offline` or `llm`.
    pub mode: &'static str,
    /// The chat model, when one answered.
    pub model: Option<String>,
    /// The prompt template, when a model was asked.
    pub prompt: Option<PromptRef>,
    /// The embedding model the catalog retrieval used.
    pub embedding_model: String,
    /// Model calls made (2 when a repair turn was needed).
    pub attempts: u32,
    /// Why the LLM path fell back to the offline parser, if it did.
    pub fallback: Option<String>,
    /// Lineage: sha256 of the request (as JSON) and the ids of the catalog entries retrieved
    /// for it, see [`crate::inputs_sha256`].
    pub inputs_sha256: String,
}

/// The builder's answer.
#[derive(Debug, Clone, Serialize)]
pub struct BuildAnswer {
    /// Built, clarify or rejected.
    pub status: BuildStatus,
    /// The structured request, when built.
    pub spec: Option<BuildSpec>,
    /// The validated strategy config (`strategy`, `params`, `sim`), when built.
    pub config: Option<StrategyConfig>,
    /// Why a question is asked.
    pub reason: Option<ClarifyReason>,
    /// The clarifying question, or the rejection's errors.
    pub question: Option<String>,
    /// One line per choice made (strategy, each parameter, filter, exit, cost, default).
    pub explanation: Vec<String>,
    /// Catalog entries retrieved for the request, best first.
    pub retrieved: Vec<Hit>,
    /// Catalog entries the decision rests on.
    pub used: Vec<String>,
    /// How the answer was produced.
    pub provenance: BuildProvenance,
}

/// Why a request could not be answered at all.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Empty or too long.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The embedding model failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// Explains each choice in a built spec.
pub fn explain(spec: &BuildSpec) -> Vec<String> {
    let mut out = Vec::new();
    if spec.strategy == spec::CUSTOM {
        out.push(format!(
            "custom rules: enter long when {}",
            spec.entry.join(" and ")
        ));
        if spec.exit.is_empty() {
            out.push("no exit condition: the position closes only on a risk exit".into());
        } else {
            out.push(format!("exit when {}", spec.exit.join(" or ")));
        }
    } else {
        out.push(format!(
            "strategy {} (catalog: strategy.{})",
            spec.strategy, spec.strategy
        ));
        let stated: Vec<String> = spec
            .params
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        out.push(if stated.is_empty() {
            "parameters: all library defaults".into()
        } else {
            format!(
                "parameters from the request: {}; the others take library defaults",
                stated.join(", ")
            )
        });
    }
    for f in &spec.filters {
        out.push(format!("entry filter: {f}"));
    }
    let risk = [
        (
            "stop loss",
            spec.stop_loss
                .map(|v| format!("{}% below the entry close", v * 100.0)),
        ),
        (
            "stop loss",
            spec.stop_loss_atr
                .map(|v| format!("{v} x ATR({})", spec::ATR_PERIOD)),
        ),
        (
            "take profit",
            spec.take_profit
                .map(|v| format!("{}% above the entry close", v * 100.0)),
        ),
        (
            "trailing stop",
            spec.trailing_stop.map(|v| format!("{}%", v * 100.0)),
        ),
        (
            "time exit",
            spec.max_bars.map(|v| format!("after {v} bars")),
        ),
        (
            "size",
            spec.size_fraction
                .map(|v| format!("{}% of equity per position", v * 100.0)),
        ),
        (
            "commission",
            spec.commission
                .map(|v| format!("{}% of notional per fill", v * 100.0)),
        ),
        (
            "slippage",
            spec.slippage_bps.map(|v| format!("{v} bps per fill")),
        ),
    ];
    for (what, v) in risk {
        if let Some(v) = v {
            out.push(format!("{what}: {v}"));
        }
    }
    if spec.commission.is_none() && spec.slippage_bps.is_none() {
        out.push(
            "costs: none stated, so none are charged (state a commission to include one)".into(),
        );
    }
    out
}

/// The builder: catalog retrieval plus the offline parser or an LLM.
pub struct Builder {
    index: Arc<CatalogIndex>,
    embedder: Arc<dyn Embedder>,
    llm: Option<(Arc<dyn LlmProvider>, Prompt)>,
}

/// The JSON schema the LLM's answer must match (structured output).
pub fn answer_schema() -> Value {
    let num = json!({"type": ["number", "null"]});
    let list = json!({"type": "array", "items": {"type": "string"}});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["status", "spec", "reason", "question", "explanation"],
        "properties": {
            "status": {"type": "string", "enum": ["build", "clarify"]},
            "reason": {"type": ["string", "null"], "enum": ["ambiguous", "unsupported", null]},
            "question": {"type": ["string", "null"]},
            "explanation": list,
            "spec": {"type": ["object", "null"], "additionalProperties": false,
                "required": ["strategy", "params", "entry", "exit", "filters", "stop_loss", "stop_loss_atr", "take_profit", "trailing_stop", "max_bars", "size_fraction", "commission", "slippage_bps"],
                "properties": {
                    "strategy": {"type": "string"},
                    "params": {"type": "object"},
                    "entry": list, "exit": list, "filters": list,
                    "stop_loss": num, "stop_loss_atr": num, "take_profit": num, "trailing_stop": num,
                    "max_bars": {"type": ["integer", "null"]}, "size_fraction": num,
                    "commission": num, "slippage_bps": num,
                }},
        },
    })
}

#[derive(Deserialize)]
struct LlmAnswer {
    status: String,
    #[serde(default)]
    spec: Option<Value>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    question: Option<String>,
    #[serde(default)]
    explanation: Vec<String>,
}

/// The model's spec with nulls dropped, as a [`BuildSpec`].
fn spec_from(v: Value) -> Result<BuildSpec, String> {
    let Value::Object(mut m) = v else {
        return Err("spec is not an object".into());
    };
    m.retain(|_, v| !v.is_null());
    serde_json::from_value(Value::Object(m)).map_err(|e| format!("spec: {e}"))
}

impl Builder {
    /// A builder over `index`; `llm` (a provider and the `strategy_builder` prompt) switches on
    /// the model path.
    pub fn new(
        index: Arc<CatalogIndex>,
        embedder: Arc<dyn Embedder>,
        llm: Option<(Arc<dyn LlmProvider>, Prompt)>,
    ) -> Self {
        Builder {
            index,
            embedder,
            llm,
        }
    }

    /// The catalog index.
    pub fn index(&self) -> &CatalogIndex {
        &self.index
    }

    /// Answers `req`.
    ///
    /// # Errors
    ///
    /// [`BuildError`] for an empty or oversized request, or an embedding failure.
    pub async fn build(&self, req: &BuildRequest) -> Result<BuildAnswer, BuildError> {
        let text = req.text.trim();
        if text.is_empty() {
            return Err(BuildError::InvalidRequest("text is empty".into()));
        }
        if text.len() > MAX_REQUEST_BYTES {
            return Err(BuildError::InvalidRequest(format!(
                "text is {} bytes (at most {MAX_REQUEST_BYTES})",
                text.len()
            )));
        }
        let q = self.embedder.embed(&[text.to_string()]).await?;
        let ranked = q.first().map(|v| self.index.rank(v)).unwrap_or_default();
        let retrieved: Vec<Hit> = ranked.iter().take(TOP_K).cloned().collect();
        let models = Models {
            regime: req.regime_model.clone(),
            ml: req.ml_model.clone(),
        };
        let mut prov = BuildProvenance {
            mode: "offline",
            model: None,
            prompt: None,
            embedding_model: self.index.model().to_string(),
            attempts: 0,
            fallback: None,
            inputs_sha256: {
                let request =
                    serde_json::to_vec(req).unwrap_or_else(|e| e.to_string().into_bytes());
                let ids: Vec<&str> = retrieved.iter().map(|h| h.id.as_str()).collect();
                crate::inputs_sha256(&[&request, ids.join("\n").as_bytes()])
            },
        };
        if let Some((llm, prompt)) = &self.llm {
            prov.mode = "llm";
            prov.model = Some(llm.model().to_string());
            prov.prompt = Some(prompt.reference.clone());
            match self
                .ask_llm(llm.as_ref(), prompt, req, &retrieved, &mut prov)
                .await
            {
                Ok(answer) => return Ok(answer),
                Err(e) => prov.fallback = Some(e),
            }
            prov.mode = "offline";
        }
        let parsed = offline::parse(text, &models, &ranked);
        Ok(finish(parsed, retrieved, prov))
    }

    /// The LLM path; `Err` means the provider failed and the offline parser should answer.
    async fn ask_llm(
        &self,
        llm: &dyn LlmProvider,
        prompt: &Prompt,
        req: &BuildRequest,
        retrieved: &[Hit],
        prov: &mut BuildProvenance,
    ) -> Result<BuildAnswer, String> {
        let catalog: Vec<Value> = retrieved
            .iter()
            .filter_map(|h| self.index.get(&h.id))
            .map(|e| json!({"id": e.id, "kind": e.kind, "text": e.text}))
            .collect();
        let strategies = sextant_backtest::rules::library_definitions()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ");
        let vars = BTreeMap::from([
            (
                "catalog".to_string(),
                serde_json::to_string_pretty(&catalog).unwrap_or_default(),
            ),
            ("strategies".to_string(), strategies),
        ]);
        let system = prompt.render(&vars).map_err(|e| e.to_string())?;
        let context = json!({"request": req.text, "regime_model": req.regime_model, "ml_model": req.ml_model});
        let mut messages = vec![Message::system(system), Message::user(context.to_string())];
        let mut last_error = String::new();
        for attempt in 1..=2u32 {
            prov.attempts = attempt;
            let mut chat = ChatRequest::new(messages.clone());
            chat.temperature = Some(0.0);
            chat.seed = Some(0);
            chat.response_format = Some(JsonSchemaFormat {
                name: "build_answer".into(),
                schema: answer_schema(),
            });
            let resp = llm
                .complete(&chat)
                .await
                .map_err(|e| format!("LLM call failed: {e}"))?;
            // An answer without content is a malformed answer, repaired like any other.
            let content = resp
                .content
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| "(the model answered without content)".to_string());
            let outcome = serde_json::from_str::<LlmAnswer>(&content)
                .map_err(|e| format!("the answer is not the schema's JSON: {e}"))
                .and_then(|a| self.check_llm(a, retrieved, prov));
            match outcome {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    last_error = e;
                    messages.push(Message::assistant(content));
                    messages.push(Message::user(format!(
                        "That answer was rejected by validation: {last_error}. Answer again with JSON matching the schema."
                    )));
                }
            }
        }
        Ok(BuildAnswer {
            status: BuildStatus::Rejected,
            spec: None,
            config: None,
            reason: None,
            question: Some(format!("The model's answer failed validation twice; nothing was built. Last error: {last_error}")),
            explanation: Vec::new(),
            retrieved: retrieved.to_vec(),
            used: Vec::new(),
            provenance: prov.clone(),
        })
    }

    fn check_llm(
        &self,
        a: LlmAnswer,
        retrieved: &[Hit],
        prov: &BuildProvenance,
    ) -> Result<BuildAnswer, String> {
        // The model's own words are shown to the user: the same policy filter as narratives
        // and chat replies (advice, abuse, personal data) applies before anything is kept.
        for text in a.question.iter().chain(&a.explanation) {
            if let Some(v) = sextant_narrative::policy::check_policy(text).first() {
                return Err(format!("policy: {}", v.detail));
            }
        }
        let used: Vec<String> = retrieved
            .iter()
            .map(|h| h.id.clone())
            .filter(|id| a.explanation.iter().any(|x| x.contains(id.as_str())))
            .collect();
        match a.status.as_str() {
            "clarify" => {
                let reason = match a.reason.as_deref() {
                    Some("unsupported") => ClarifyReason::Unsupported,
                    Some("ambiguous") => ClarifyReason::Ambiguous,
                    other => {
                        return Err(format!(
                            "clarify needs reason ambiguous or unsupported, got {other:?}"
                        ))
                    }
                };
                let question = a
                    .question
                    .filter(|q| !q.trim().is_empty())
                    .ok_or("clarify needs a question")?;
                Ok(BuildAnswer {
                    status: BuildStatus::Clarify,
                    spec: None,
                    config: None,
                    reason: Some(reason),
                    question: Some(question),
                    explanation: a.explanation,
                    retrieved: retrieved.to_vec(),
                    used,
                    provenance: prov.clone(),
                })
            }
            "build" => {
                let spec = spec_from(a.spec.ok_or("build needs a spec")?)?;
                let config = spec.validate().map_err(|e| e.to_string())?;
                let mut explanation = explain(&spec);
                explanation.extend(a.explanation.into_iter().map(|x| format!("model: {x}")));
                Ok(BuildAnswer {
                    status: BuildStatus::Built,
                    spec: Some(spec),
                    config: Some(config),
                    reason: None,
                    question: None,
                    explanation,
                    retrieved: retrieved.to_vec(),
                    used,
                    provenance: prov.clone(),
                })
            }
            other => Err(format!("status must be build or clarify, got {other:?}")),
        }
    }
}

fn finish(parsed: Parsed, retrieved: Vec<Hit>, provenance: BuildProvenance) -> BuildAnswer {
    match parsed {
        Parsed::Spec { spec, used } => match spec.validate() {
            Ok(config) => BuildAnswer {
                status: BuildStatus::Built,
                explanation: explain(&spec),
                spec: Some(*spec),
                config: Some(config),
                reason: None,
                question: None,
                retrieved,
                used,
                provenance,
            },
            Err(e) => BuildAnswer {
                status: BuildStatus::Clarify,
                spec: None,
                config: None,
                reason: Some(ClarifyReason::Ambiguous),
                question: Some(format!(
                    "The request gives a value the engine cannot use ({e}). What did you mean?"
                )),
                explanation: Vec::new(),
                retrieved,
                used,
                provenance,
            },
        },
        Parsed::Clarify {
            reason,
            question,
            used,
        } => BuildAnswer {
            status: BuildStatus::Clarify,
            spec: None,
            config: None,
            reason: Some(reason),
            question: Some(question),
            explanation: Vec::new(),
            retrieved,
            used,
            provenance,
        },
    }
}
