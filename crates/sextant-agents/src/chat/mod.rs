//! The ChatOps agent: questions about the cache, data freshness, Alpha Vantage, jobs, the
//! quality queue, regimes and model drift, answered by calling tools under RBAC.
//!
//! - Tools are filtered by the caller's role before anything sees them: the model is offered
//!   only those tools, the offline router ranks only those, and a call to any other tool (a
//!   model fooled by injected text, say) is refused and audited.
//! - Tools that change state never run from a message: the agent answers with a pending
//!   confirmation (a token bound to the caller, the tool and its arguments, valid ten minutes);
//!   only [`Agent::confirm`] by the same caller runs it.
//! - Every call, refused, pending or run, is audited: caller, tool, arguments, outcome and a
//!   sha256 of the result.
//! - Tool results go back to the model as data in a JSON envelope, never as instructions; the
//!   final text passes the narrative policy filter; the answer records the prompt version,
//!   the model, the tools offered and called, and the router's match.
//! - Offline (the default) the message is routed to a tool by the embeddings of each tool's
//!   example questions, and the result is formatted without any model.

mod confirm;
mod gate;
mod llm;
mod route;
pub mod tools;

pub use confirm::{Pending, CONFIRM_TTL_SECS};
pub use gate::{digest, ToolGate};
pub use route::{format_result, Route, MIN_TOOL_SCORE};
pub use tools::{tools_for, AuditRecord, AuditSink, Caller, ToolDef, ToolError, ToolHost};

use crate::embed::{cosine, EmbedError, Embedder};
use serde::Serialize;
use serde_json::Value;
use sextant_genai::{LlmProvider, Prompt, PromptRef};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Longest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4_000;

/// One tool call as the answer reports it.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    /// The tool.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// `ok`, `error`, `denied` or `pending_confirmation`.
    pub outcome: String,
    /// The result (or the error text), for `ok` and `error`.
    pub result: Option<Value>,
}

/// How the answer was produced.
#[derive(Debug, Clone, Serialize)]
pub struct ChatProvenance {
    /// `offline` or `llm`.
    pub mode: &'static str,
    /// The chat model, in LLM mode.
    pub model: Option<String>,
    /// The prompt template, in LLM mode.
    pub prompt: Option<PromptRef>,
    /// The embedding model the router used.
    pub embedding_model: String,
    /// The tools the caller's role allows (all the model or router could pick from).
    pub tools_offered: Vec<String>,
    /// The router's pick and its cosine score (offline mode).
    pub routed: Option<(String, f32)>,
    /// Policy-filter findings that withheld the model's text, if any.
    pub policy: Vec<String>,
    /// Lineage: sha256 of the inputs the answer rests on (the user's message and every tool
    /// call's name, arguments and result), see [`crate::inputs_sha256`].
    pub inputs_sha256: String,
}

/// The lineage hash of a chat answer: the message and the calls made.
fn chat_inputs(message: &str, calls: &[CallRecord]) -> String {
    let calls = serde_json::to_vec(
        &calls
            .iter()
            .map(|c| (&c.tool, &c.arguments, &c.outcome, &c.result))
            .collect::<Vec<_>>(),
    )
    .unwrap_or_else(|e| e.to_string().into_bytes());
    crate::inputs_sha256(&[message.as_bytes(), &calls])
}

/// The agent's answer.
#[derive(Debug, Clone, Serialize)]
pub struct ChatAnswer {
    /// Groups the audit records of one exchange.
    pub conversation: String,
    /// What the agent says.
    pub reply: String,
    /// The tool calls made, refused or proposed.
    pub calls: Vec<CallRecord>,
    /// A write tool waiting for the caller's confirmation.
    pub pending: Option<Pending>,
    /// How the answer was produced.
    pub provenance: ChatProvenance,
}

/// Streamed while an answer is produced (the SSE route forwards these).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A tool call was decided (before it runs).
    ToolCall {
        /// The tool.
        tool: String,
        /// Its arguments.
        arguments: Value,
    },
    /// A tool call finished (or was refused, or awaits confirmation).
    ToolResult {
        /// The tool.
        tool: String,
        /// Its outcome.
        outcome: String,
    },
    /// A piece of the reply text.
    Delta {
        /// The text.
        text: String,
    },
    /// The whole answer, last.
    Done {
        /// The answer.
        answer: Box<ChatAnswer>,
    },
    /// The answer failed (the embedding model is missing, an audit write failed).
    Error {
        /// What went wrong.
        message: String,
    },
}

/// Why the agent could not answer at all.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Empty or oversized message, or an unknown or foreign confirmation token.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The embedding model failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// An audit record could not be stored, so the call was not made.
    #[error("audit failed: {0}")]
    Audit(String),
}

/// The agent.
pub struct Agent {
    gate: Arc<ToolGate>,
    embedder: Arc<dyn Embedder>,
    /// `(tool name, vector)` for each tool's description and examples.
    tool_vectors: Vec<(String, Vec<f32>)>,
    llm: Option<(Arc<dyn LlmProvider>, Prompt)>,
}

impl Agent {
    /// Embeds every tool's description and examples for the offline router.
    ///
    /// # Errors
    ///
    /// The embedder's error.
    pub async fn new(
        gate: Arc<ToolGate>,
        embedder: Arc<dyn Embedder>,
        llm: Option<(Arc<dyn LlmProvider>, Prompt)>,
    ) -> Result<Self, EmbedError> {
        let mut names = Vec::new();
        let mut texts = Vec::new();
        for t in gate.host().tools() {
            names.push(t.name.to_string());
            texts.push(t.description.to_string());
            for e in t.examples {
                names.push(t.name.to_string());
                texts.push((*e).to_string());
            }
        }
        let vecs = embedder.embed(&texts).await?;
        Ok(Agent {
            gate,
            embedder,
            tool_vectors: names.into_iter().zip(vecs).collect(),
            llm,
        })
    }

    /// The tools `caller` may use.
    pub fn tools_for(&self, caller: &Caller) -> Vec<ToolDef> {
        self.gate.offered(caller)
    }

    /// Tools ranked against a message vector, best first, each with its best score.
    fn rank_tools(&self, query: &[f32]) -> Vec<(String, f32)> {
        let mut best: Vec<(String, f32)> = Vec::new();
        for (name, v) in &self.tool_vectors {
            let s = cosine(query, v);
            match best.iter_mut().find(|(n, _)| n == name) {
                Some(e) if s > e.1 => e.1 = s,
                Some(_) => {}
                None => best.push((name.clone(), s)),
            }
        }
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        best
    }

    /// Answers one message from `caller`; `events`, when given, receives tool events and the
    /// reply as it is produced, then the whole answer.
    ///
    /// # Errors
    ///
    /// [`ChatError`] for an empty or oversized message, an embedding failure or an audit
    /// write that failed.
    pub async fn chat(
        &self,
        caller: &Caller,
        message: &str,
        events: Option<mpsc::Sender<ChatEvent>>,
    ) -> Result<ChatAnswer, ChatError> {
        let message = message.trim();
        if message.is_empty() {
            return Err(ChatError::InvalidRequest("message is empty".into()));
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(ChatError::InvalidRequest(format!(
                "message is {} bytes (at most {MAX_MESSAGE_BYTES})",
                message.len()
            )));
        }
        let conversation = uuid::Uuid::new_v4().to_string();
        let mut answer = match &self.llm {
            Some((llm, prompt)) => {
                self.chat_llm(
                    llm.as_ref(),
                    prompt,
                    caller,
                    message,
                    &conversation,
                    events.as_ref(),
                )
                .await?
            }
            None => {
                self.chat_offline(caller, message, &conversation, events.as_ref())
                    .await?
            }
        };
        answer.provenance.inputs_sha256 = chat_inputs(message, &answer.calls);
        emit_reply(events.as_ref(), &answer).await;
        Ok(answer)
    }

    /// Runs the write tool waiting under `token` (see [`ToolGate::confirm`]).
    ///
    /// # Errors
    ///
    /// [`ChatError::InvalidRequest`] for an unknown, expired or foreign token.
    pub async fn confirm(&self, caller: &Caller, token: &str) -> Result<ChatAnswer, ChatError> {
        let (conversation, rec) = self.gate.confirm(caller, token).await?;
        let reply = match (&rec.outcome[..], &rec.result) {
            ("confirmed", Some(v)) => format!("Done: {}.\n{}", rec.tool, route::format_result(v)),
            (_, Some(v)) => format!("{} was not run: {}", rec.tool, route::format_result(v)),
            _ => format!("{}: no result", rec.tool),
        };
        let mut provenance = self.provenance(caller, "confirmation");
        provenance.routed = None;
        provenance.inputs_sha256 = chat_inputs(token, std::slice::from_ref(&rec));
        Ok(ChatAnswer {
            conversation,
            reply,
            calls: vec![rec],
            pending: None,
            provenance,
        })
    }

    async fn dispatch(
        &self,
        caller: &Caller,
        conversation: &str,
        offered: &[ToolDef],
        tool: &str,
        args: Value,
        events: Option<&mpsc::Sender<ChatEvent>>,
    ) -> Result<(CallRecord, Option<Pending>), ChatError> {
        send(
            events,
            ChatEvent::ToolCall {
                tool: tool.to_string(),
                arguments: args.clone(),
            },
        )
        .await;
        let out = self
            .gate
            .dispatch(caller, conversation, offered, tool, args)
            .await?;
        send(
            events,
            ChatEvent::ToolResult {
                tool: tool.to_string(),
                outcome: out.0.outcome.clone(),
            },
        )
        .await;
        Ok(out)
    }
}

async fn send(events: Option<&mpsc::Sender<ChatEvent>>, e: ChatEvent) {
    if let Some(tx) = events {
        // A closed stream (the client went away) does not stop the work or its audit.
        let _ = tx.send(e).await;
    }
}

/// Streams the reply in line-sized pieces, then the answer.
async fn emit_reply(events: Option<&mpsc::Sender<ChatEvent>>, answer: &ChatAnswer) {
    if events.is_none() {
        return;
    }
    for line in answer.reply.split_inclusive('\n') {
        send(
            events,
            ChatEvent::Delta {
                text: line.to_string(),
            },
        )
        .await;
    }
    send(
        events,
        ChatEvent::Done {
            answer: Box::new(answer.clone()),
        },
    )
    .await;
}
