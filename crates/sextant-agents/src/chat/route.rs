//! The offline path: a message routed to one tool by embeddings, arguments read with patterns,
//! the result formatted without a model.

use super::{Agent, Caller, ChatAnswer, ChatError, ChatEvent, ChatProvenance, ToolDef};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::sync::LazyLock;
use tokio::sync::mpsc;

/// The least cosine between a message and a tool's examples to call the tool.
pub const MIN_TOOL_SCORE: f32 = 0.45;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("chat pattern {p}: {e}"))
}

static CONFIRM: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*(?:yes,?\s*)?confirm\s+([0-9a-f]{32})\s*$"));
static TICKER: LazyLock<Regex> = LazyLock::new(|| re(r"\b([A-Z]{1,5}(?:[.-][A-Z]{1,4})?)\b"));
static TICKER_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:for|of|refresh|reload|symbol|ticker|on)\s+([a-z]{1,5}(?:[.-][a-z]{1,4})?)\b")
});
static JOB: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bjob\s*(?:id)?\s*#?\s*([A-Za-z0-9][A-Za-z0-9_-]{0,63})\b"));
static QUARANTINE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(?:quarantine|quarantined bar|bar|item|id)\s*(?:id)?\s*#?\s*(\d{1,18})\b")
});
static LIMIT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:last|recent|top|latest)\s+(\d{1,2})\b"));
static MODEL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\bmodel\s+([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\b"));

/// Upper-case words that are not tickers.
const NOT_TICKERS: &[&str] = &[
    "I", "A", "AV", "ML", "OK", "API", "ETF", "CPU", "UTC", "SSE", "HTTP", "AND", "OR", "THE",
    "IS", "IT", "MY", "ANY", "ALL", "HMM", "PSI", "DB", "ID", "JOB",
];
const NOT_TICKER_WORDS: &[&str] = &[
    "the", "my", "all", "any", "it", "this", "that", "last", "a", "an", "data", "me", "us",
];

fn symbol(message: &str) -> Option<String> {
    TICKER
        .captures_iter(message)
        .map(|c| c[1].to_string())
        .find(|t| !NOT_TICKERS.contains(&t.as_str()))
        .or_else(|| {
            TICKER_AFTER
                .captures_iter(message)
                .map(|c| c[1].to_lowercase())
                .find(|w| !NOT_TICKER_WORDS.contains(&w.as_str()))
                .map(|w| w.to_uppercase())
        })
}

/// The arguments `def` needs, read from `message`; `Err` names a required one that is missing.
pub fn arguments(def: &ToolDef, message: &str) -> Result<Value, String> {
    let props = def
        .parameters
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let required: Vec<String> = def
        .parameters
        .get("required")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    for name in props.keys() {
        let v = match name.as_str() {
            "symbol" => symbol(message).map(Value::String),
            "job_id" => JOB
                .captures(message)
                .map(|c| Value::String(c[1].to_string())),
            "id" => QUARANTINE
                .captures(message)
                .map(|c| Value::String(c[1].to_string())),
            "limit" => LIMIT
                .captures(message)
                .and_then(|c| c[1].parse::<u64>().ok())
                .map(|n| json!(n)),
            "model" => MODEL
                .captures(message)
                .map(|c| Value::String(c[1].to_string())),
            _ => None,
        };
        match v {
            Some(v) => {
                out.insert(name.clone(), v);
            }
            None if required.contains(name) => return Err(name.clone()),
            None => {}
        }
    }
    Ok(Value::Object(out))
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 160 {
        format!("{}…", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

/// A tool result as short text: top-level fields one per line, lists cut to five entries.
pub fn format_result(v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::Array(a) => {
                    let mut s = format!("{k}: {} item(s)", a.len());
                    for x in a.iter().take(5) {
                        s.push_str(&format!("\n  - {}", compact(x)));
                    }
                    if a.len() > 5 {
                        s.push_str(&format!("\n  - … {} more", a.len() - 5));
                    }
                    s
                }
                Value::String(x) => format!("{k}: {x}"),
                other => format!("{k}: {}", compact(other)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Array(a) => format_result(&json!({"items": a})),
        Value::String(s) => s.clone(),
        other => compact(other),
    }
}

/// Where the offline router sends a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// No tool is close enough.
    Nothing,
    /// The closest tool is above the caller's role.
    AboveRole(String, f32),
    /// A tool the caller may use, with the arguments read from the message (or the name of a
    /// required one that is missing).
    Tool(String, f32, Result<Value, String>),
}

impl Agent {
    /// Routes `message` for `caller` without running anything (what the offline path does
    /// before it dispatches; the routing evaluation calls it directly).
    ///
    /// # Errors
    ///
    /// [`ChatError::Embed`] when the message cannot be embedded.
    pub async fn route(&self, caller: &Caller, message: &str) -> Result<Route, ChatError> {
        let offered = self.tools_for(caller);
        let q = self.embedder.embed(&[message.to_string()]).await?;
        let ranked = q.first().map(|v| self.rank_tools(v)).unwrap_or_default();
        let allowed = |n: &str| offered.iter().find(|t| t.name == n);
        let best_allowed = ranked.iter().find(|(n, _)| allowed(n).is_some());
        if let Some((name, score)) = ranked.first() {
            let beats = best_allowed.is_none_or(|(_, s)| score - s > 0.05);
            if *score >= MIN_TOOL_SCORE && allowed(name).is_none() && beats {
                return Ok(Route::AboveRole(name.clone(), *score));
            }
        }
        Ok(match best_allowed.filter(|(_, s)| *s >= MIN_TOOL_SCORE) {
            Some((name, score)) => {
                let args =
                    allowed(name).map_or_else(|| Err(String::new()), |d| arguments(d, message));
                Route::Tool(name.clone(), *score, args)
            }
            None => Route::Nothing,
        })
    }

    pub(super) fn provenance(&self, caller: &Caller, mode: &'static str) -> ChatProvenance {
        ChatProvenance {
            mode,
            model: None,
            prompt: None,
            embedding_model: self.embedder.model().to_string(),
            tools_offered: self
                .tools_for(caller)
                .iter()
                .map(|t| t.name.to_string())
                .collect(),
            routed: None,
            policy: Vec::new(),
            inputs_sha256: String::new(),
        }
    }

    pub(super) async fn chat_offline(
        &self,
        caller: &Caller,
        message: &str,
        conversation: &str,
        events: Option<&mpsc::Sender<ChatEvent>>,
    ) -> Result<ChatAnswer, ChatError> {
        if let Some(c) = CONFIRM.captures(message) {
            return self.confirm(caller, &c[1]).await;
        }
        let offered = self.tools_for(caller);
        let mut prov = self.provenance(caller, "offline");
        let route = self.route(caller, message).await?;
        let mut answer = ChatAnswer {
            conversation: conversation.to_string(),
            reply: String::new(),
            calls: Vec::new(),
            pending: None,
            provenance: prov.clone(),
        };
        let (name, args) = match route {
            // The best match is a tool above the caller's role: refuse it (audited), say why.
            Route::AboveRole(name, score) => {
                prov.routed = Some((name.clone(), score));
                let (rec, _) = self
                    .dispatch(caller, conversation, &offered, &name, json!({}), events)
                    .await?;
                answer.reply = format!(
                    "That needs a role above {}: {name} is not available to you.",
                    caller.role
                );
                answer.calls.push(rec);
                answer.provenance = prov;
                return Ok(answer);
            }
            Route::Nothing => {
                let names: Vec<&str> = offered.iter().map(|t| t.name).collect();
                answer.reply = format!(
                    "I did not find a tool for that. I can help with: {}. Try e.g. \"is the cache healthy?\" or \"why did last night's refresh fail?\"",
                    names.join(", ")
                );
                return Ok(answer);
            }
            Route::Tool(name, score, args) => {
                prov.routed = Some((name.clone(), score));
                answer.provenance = prov;
                match args {
                    Ok(a) => (name, a),
                    Err(missing) => {
                        let example = offered
                            .iter()
                            .find(|t| t.name == name)
                            .and_then(|d| d.examples.first().copied())
                            .unwrap_or("");
                        answer.reply =
                            format!("{name} needs a {missing}: which one? (e.g. \"{example}\")");
                        return Ok(answer);
                    }
                }
            }
        };
        let name = name.as_str();
        let (rec, pending) = self
            .dispatch(caller, conversation, &offered, name, args, events)
            .await?;
        answer.reply = match (&rec.outcome[..], &pending, &rec.result) {
            ("pending_confirmation", Some(p), _) => format!(
                "{} changes state, so it needs your confirmation: {} {}. Confirm within {} minutes with token {} (POST /api/v1/chat/confirm, or reply \"confirm {}\").",
                p.tool,
                p.tool,
                p.arguments,
                p.expires_in_secs / 60,
                p.token,
                p.token
            ),
            ("ok", _, Some(v)) => format!("{name}:\n{}", format_result(v)),
            (_, _, Some(v)) => format!("{name} failed: {}", format_result(v)),
            _ => format!("{name}: no result"),
        };
        answer.calls.push(rec);
        answer.pending = pending;
        Ok(answer)
    }
}
