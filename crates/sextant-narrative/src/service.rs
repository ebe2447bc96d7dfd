//! Narratives of backtests written by a language model, checked against the fact sheet, retried
//! with the violations spelled out, and replaced by the grounded template when the model cannot
//! produce a valid one. Every output is cached and recorded with its provenance (prompt
//! version and hash, provider, model, attempts) in the metadata store.

use crate::{render_template, validate_with, FactSheet, ValidationReport, ValidatorConfig};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_genai::{
    ChatRequest, LlmProvider, Message, OfflineProvider, PromptError, PromptRef, PromptRegistry,
};
use sextant_meta::{MetaError, MetaStore};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Collection of generated narratives, keyed by [`cache_key`].
pub const NARRATIVES: &str = "narratives";
/// Collection recording which prompt version, provider, model and parameters produced outputs.
pub const PROMPT_VERSIONS: &str = "prompt_versions";
/// The prompt the service renders (its latest version).
pub const PROMPT_NAME: &str = "backtest_narrative";

/// Kept short and fixed: the prompt template carries the detailed rules, and changing this text
/// would change outputs without a prompt version bump.
const SYSTEM: &str = "You write factual narratives of backtest results. Use only the facts you \
are given, describe what happened without predicting the future, and never recommend buying, \
selling or holding anything.";

/// Why a narrative could not be produced or read. A failing model is not an error: it ends in
/// the fallback narrative.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The metadata store failed (the narrative cache or the provenance records).
    #[error("metadata store: {0}")]
    Meta(#[from] MetaError),
    /// The narrative prompt is not registered or could not be rendered.
    #[error("prompt: {0}")]
    Prompt(#[from] PromptError),
    /// The fact sheet or a stored report could not be converted to or from JSON.
    #[error("serialisation: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// How one model call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The answer passed validation and is the report's narrative.
    Accepted,
    /// The answer failed validation; its violations go back to the model on the next attempt.
    Rejected,
    /// The provider call failed or returned no text.
    Error,
}

/// One model call: what came back and why it was not used, so a fallback can be explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// 1-based.
    pub n: usize,
    /// How the call ended.
    pub outcome: Outcome,
    /// For `Rejected`: each violation as `Kind: detail`, as sent in the retry prompt; else empty.
    pub violations: Vec<String>,
    /// For `Error`: the provider's error or "the model returned no text"; else `None`.
    pub error: Option<String>,
}

/// A narrative with everything needed to trust (or audit) it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The run narrated, as the caller identified it.
    pub backtest_id: String,
    /// The narrative in markdown with `## ` sections; a fallback starts with [`fallback_note`].
    pub markdown: String,
    /// The fact sheet the narrative was generated from and validated against.
    pub facts: FactSheet,
    /// The validation of `markdown` itself (the accepted answer, or the fallback).
    pub validation: ValidationReport,
    /// Every model call, in order (at most the service's `max_attempts`).
    pub attempts: Vec<AttemptRecord>,
    /// True when `markdown` is the grounded template because no model answer passed.
    pub fallback: bool,
    /// True when this report was served from the metadata store without calling the model.
    #[serde(default)]
    pub cached: bool,
    /// The prompt template (name, version, sha256) that produced the narrative.
    pub prompt: PromptRef,
    /// The provider's model name; part of the cache key.
    pub model: String,
    /// The provider's name.
    pub provider: String,
    /// Lineage: sha256 of the fact sheet as JSON, the only input besides the prompt (`prompt`
    /// carries its own hash) and the model. Empty on narratives stored before it was recorded.
    #[serde(default)]
    pub inputs_sha256: String,
}

/// The embedded default provider: answers with the grounded template of the facts in the
/// prompt, so narratives work offline, are deterministic and pass validation.
pub fn offline_provider() -> OfflineProvider {
    OfflineProvider::with_renderer(Arc::new(|facts: &Value| {
        match serde_json::from_value::<FactSheet>(facts.clone()) {
            Ok(sheet) => render_template(&sheet),
            // Not a narrative, so validation rejects it and the service falls back visibly.
            Err(e) => format!("The facts block is not a fact sheet: {e}"),
        }
    }))
}

/// The one-line note that starts a fallback narrative. It quotes `attempts`, so validate the
/// text with that number allowed (see [`ReportGenerationService::report`]).
pub fn fallback_note(attempts: usize) -> String {
    format!(
        "> Generated from the grounded template: the language model's narrative failed \
         validation ({attempts} attempts)."
    )
}

/// The fact sheet as the prompt's facts block: JSON in which `<`, `>` and `&` are written as
/// `\u003c`, `\u003e` and `\u0026`. Every string a user controls (parameters, names) lands inside
/// a JSON string, where it cannot end the string; escaped, it cannot end the `<facts>` block
/// around it either. The JSON means exactly the same after escaping.
pub fn facts_block(sheet: &FactSheet) -> Result<String, serde_json::Error> {
    let json = serde_json::to_string_pretty(sheet)?;
    Ok(json
        .replace('&', "\\u0026")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e"))
}

/// The cache id: one narrative per backtest, prompt version and hash, and model, so a new
/// prompt or model regenerates instead of serving a stale text.
pub fn cache_key(backtest_id: &str, prompt: &PromptRef, model: &str) -> String {
    let raw = format!("{backtest_id}|{prompt}|{}|{model}", prompt.sha256);
    hex::encode(Sha256::digest(raw.as_bytes()))[..32].to_string()
}

/// Writes narratives for backtests through any [`LlmProvider`], with validation, retries,
/// fallback, caching and provenance.
pub struct ReportGenerationService {
    provider: Arc<dyn LlmProvider>,
    meta: Arc<dyn MetaStore>,
    prompts: PromptRegistry,
    max_attempts: usize,
}

impl ReportGenerationService {
    /// `max_attempts` counts model calls in total (at least one is always made).
    pub fn new(
        provider: Arc<dyn LlmProvider>,
        meta: Arc<dyn MetaStore>,
        prompts: PromptRegistry,
        max_attempts: usize,
    ) -> Self {
        ReportGenerationService {
            provider,
            meta,
            prompts,
            max_attempts: max_attempts.max(1),
        }
    }

    /// The narrative of `backtest_id` if one was already generated with the current prompt
    /// and model: reading a report then costs one store lookup, no backtest.
    pub async fn cached(&self, backtest_id: &str) -> Result<Option<Report>, ReportError> {
        let prompt = self
            .prompts
            .latest(PROMPT_NAME)
            .ok_or_else(|| PromptError::Unknown(PROMPT_NAME.into()))?;
        let key = cache_key(backtest_id, &prompt.reference, self.provider.model());
        match self.meta.get(NARRATIVES, &key).await? {
            Some(doc) => {
                let mut report: Report = from_doc(doc)?;
                report.cached = true;
                Ok(Some(report))
            }
            None => Ok(None),
        }
    }

    /// The narrative of `sheet` (the run `backtest_id`): cached if already generated with the
    /// same prompt and model, otherwise generated, validated and recorded.
    pub async fn report(
        &self,
        sheet: &FactSheet,
        backtest_id: &str,
    ) -> Result<Report, ReportError> {
        let prompt = self
            .prompts
            .latest(PROMPT_NAME)
            .ok_or_else(|| PromptError::Unknown(PROMPT_NAME.into()))?;
        let model = self.provider.model().to_string();
        let key = cache_key(backtest_id, &prompt.reference, &model);
        if let Some(doc) = self.meta.get(NARRATIVES, &key).await? {
            let mut report = from_doc(doc)?;
            report.cached = true;
            return Ok(report);
        }
        let vars = BTreeMap::from([
            ("strategy".to_string(), sheet.strategy.clone()),
            ("facts".to_string(), facts_block(sheet)?),
        ]);
        let user = prompt.render(&vars)?;
        let (markdown, validation, attempts, fallback) = self.generate(sheet, user).await;
        let report = Report {
            backtest_id: backtest_id.to_string(),
            markdown,
            facts: sheet.clone(),
            validation,
            attempts,
            fallback,
            cached: false,
            prompt: prompt.reference.clone(),
            model,
            provider: self.provider.name().to_string(),
            inputs_sha256: {
                use sha2::{Digest, Sha256};
                let facts = serde_json::to_vec(sheet)?;
                hex::encode(Sha256::digest(&facts))
            },
        };
        self.record(&key, &report).await?;
        Ok(report)
    }

    /// The model loop: returns (markdown, its validation, attempts, whether it fell back).
    async fn generate(
        &self,
        sheet: &FactSheet,
        user: String,
    ) -> (String, ValidationReport, Vec<AttemptRecord>, bool) {
        let config = ValidatorConfig::default();
        let mut messages = vec![Message::system(SYSTEM), Message::user(user)];
        let mut attempts = Vec::new();
        for n in 1..=self.max_attempts {
            let mut req = ChatRequest::new(messages.clone());
            req.temperature = Some(0.0);
            req.seed = Some(0);
            let text = match self.provider.complete(&req).await {
                Ok(r) => r.content.filter(|c| !c.trim().is_empty()),
                Err(e) => {
                    attempts.push(attempt(n, Outcome::Error, Vec::new(), Some(e.to_string())));
                    continue;
                }
            };
            let Some(text) = text else {
                let error = Some("the model returned no text".to_string());
                attempts.push(attempt(n, Outcome::Error, Vec::new(), error));
                continue;
            };
            let report = validate_with(&text, sheet, &config);
            if report.ok {
                attempts.push(attempt(n, Outcome::Accepted, Vec::new(), None));
                return (text, report, attempts, false);
            }
            let violations: Vec<String> = report
                .violations
                .iter()
                .map(|v| format!("{:?}: {}", v.kind, v.detail))
                .collect();
            messages.push(Message::assistant(text));
            messages.push(Message::user(correction(&violations)));
            attempts.push(attempt(n, Outcome::Rejected, violations, None));
        }
        let markdown = format!(
            "{}\n\n{}",
            fallback_note(attempts.len()),
            render_template(sheet)
        );
        // The note quotes the attempt count, which is not a fact of the run.
        let config = ValidatorConfig {
            allowed_numbers: vec![attempts.len() as f64],
            ..config
        };
        let validation = validate_with(&markdown, sheet, &config);
        (markdown, validation, attempts, true)
    }

    /// Stores the narrative and registers the prompt version, provider, model and parameters.
    async fn record(&self, key: &str, report: &Report) -> Result<(), ReportError> {
        let now = chrono::Utc::now().to_rfc3339();
        let mut doc = serde_json::to_value(report)?;
        if let Value::Object(o) = &mut doc {
            // Fact ids and date names contain dots, which document keys may not: store as text.
            o.insert(
                "facts".into(),
                Value::String(serde_json::to_string(&report.facts)?),
            );
            o.remove("cached");
            o.insert("created_at".into(), Value::String(now.clone()));
        }
        self.meta.upsert(NARRATIVES, key, doc).await?;
        let p = &report.prompt;
        let id = format!("{p}|{}|{}", report.provider, report.model);
        let entry = json!({
            "name": p.name,
            "version": p.version,
            "sha256": p.sha256,
            "provider": report.provider,
            "model": report.model,
            "params": {"temperature": 0.0, "seed": 0, "max_attempts": self.max_attempts},
            "last_used_at": now,
        });
        self.meta.upsert(PROMPT_VERSIONS, &id, entry).await?;
        Ok(())
    }
}

fn attempt(
    n: usize,
    outcome: Outcome,
    violations: Vec<String>,
    error: Option<String>,
) -> AttemptRecord {
    AttemptRecord {
        n,
        outcome,
        violations,
        error,
    }
}

/// The re-prompt after a rejected answer: each violation on its own line, so the model can fix
/// exactly those and nothing else.
fn correction(violations: &[String]) -> String {
    let list: Vec<String> = violations.iter().map(|v| format!("- {v}")).collect();
    format!(
        "Your narrative failed validation:\n{}\n\nWrite the corrected narrative in full, with \
         the same sections, using only the facts given.",
        list.join("\n")
    )
}

/// A stored narrative back as a [`Report`] (the fact sheet is stored as JSON text).
fn from_doc(mut doc: Value) -> Result<Report, ReportError> {
    if let Some(Value::String(facts)) = doc.get("facts") {
        let facts: Value = serde_json::from_str(facts)?;
        doc["facts"] = facts;
    }
    Ok(serde_json::from_value(doc)?)
}
