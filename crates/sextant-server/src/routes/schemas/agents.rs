//! The ChatOps agent, its tools and audit trail, and the generative strategy builder.

use super::items_schema;
use chrono::{DateTime, Utc};
use utoipa::ToSchema;

/// The agent's answer to one message.
#[derive(ToSchema)]
#[schema(as = ChatAnswer)]
pub struct ChatAnswerDoc {
    /// Groups the audit records of this exchange.
    pub conversation: String,
    /// What the agent says.
    pub reply: String,
    /// The tool calls made, refused or proposed: tool, arguments, outcome and result.
    #[schema(value_type = Vec<Object>)]
    pub calls: (),
    /// A write tool waiting for confirmation: its `token` for `POST /api/v1/chat/confirm`.
    #[schema(value_type = Option<Object>)]
    pub pending: (),
    /// How the answer was produced (offline or a model, the prompt, the attempts).
    #[schema(value_type = Object)]
    pub provenance: (),
}

/// A tool the caller's role allows.
#[derive(ToSchema)]
#[schema(as = ChatTool)]
pub struct ChatToolDoc {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its arguments.
    #[schema(value_type = Object)]
    pub parameters: (),
    /// The lowest role that may call it.
    pub min_role: String,
    /// True for tools that change state (they need a confirmation).
    pub writes: bool,
    /// Questions it answers.
    pub examples: Vec<String>,
}

items_schema!(
    /// The tools the caller's role allows.
    ChatToolList,
    ChatToolDoc
);

/// One tool call of the agent, as audited.
#[derive(ToSchema)]
#[schema(as = AgentAuditRecord)]
pub struct AgentAuditRecordDoc {
    /// When.
    pub at: DateTime<Utc>,
    /// The conversation it belongs to.
    pub conversation: String,
    /// Who asked: key or user id, role, channel (`http`, `slack`, `mcp`, `cli`).
    #[schema(value_type = Object)]
    pub caller: (),
    /// The tool.
    pub tool: String,
    /// Its arguments as called.
    #[schema(value_type = Object)]
    pub arguments: (),
    /// `ok`, `error`, `denied`, `pending_confirmation`, `confirmed` or `expired`.
    pub outcome: String,
    /// Hex sha256 of the result (or of the error text).
    pub result_digest: String,
}

items_schema!(
    /// The agent's audit trail, newest first.
    AgentAuditList,
    AgentAuditRecordDoc
);

/// The generative builder's answer: a validated strategy config with an explanation of each
/// choice and the catalog entries used, a clarifying question, or a rejection; with the stored
/// build's id, the saved definition and the preview backtest when asked for.
#[derive(ToSchema)]
#[schema(as = BuilderAnswer)]
pub struct BuilderAnswerDoc {
    /// `built`, `clarify` or `rejected`.
    pub status: String,
    /// The structured request, when built.
    #[schema(value_type = Option<Object>)]
    pub spec: (),
    /// The validated strategy config (`strategy`, `params`, `sim`), when built.
    #[schema(value_type = Option<Object>)]
    pub config: (),
    /// Why a question is asked: `ambiguous` or `unsupported`.
    pub reason: Option<String>,
    /// The clarifying question, or the rejection's errors.
    pub question: Option<String>,
    /// One line per choice made.
    pub explanation: Vec<String>,
    /// Catalog entries retrieved for the request, best first.
    #[schema(value_type = Vec<Object>)]
    pub retrieved: (),
    /// Catalog entries the decision rests on.
    pub used: Vec<String>,
    /// How the answer was produced.
    #[schema(value_type = Object)]
    pub provenance: (),
    /// The stored build's id (built answers only).
    pub build_id: Option<String>,
    /// The saved user strategy (id and version), when `save` was asked.
    #[schema(value_type = Option<Object>)]
    pub saved: (),
    /// The preview backtest (`run_id`, metrics), when asked.
    #[schema(value_type = Option<Object>)]
    pub preview: (),
}
