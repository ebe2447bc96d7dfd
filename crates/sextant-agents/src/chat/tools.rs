//! The tools a chat agent may call: a definition per tool (JSON-schema arguments, the least
//! role allowed to call it, whether it changes state) and a [`ToolHost`] that runs them. The
//! host lives where the services are (`sextant-core`); this crate only routes, filters by role,
//! confirms and audits.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sextant_domain::Role;

/// A tool as offered to a model, an MCP client or the offline router.
#[derive(Debug, Clone, Serialize)]
pub struct ToolDef {
    /// The function name (`get_cache_status`).
    pub name: &'static str,
    /// What it does and returns, for a model to decide when to call it.
    pub description: &'static str,
    /// JSON schema of the arguments object.
    pub parameters: Value,
    /// The least role that may call it: the role of the equivalent HTTP endpoint.
    pub min_role: Role,
    /// True when it changes state; such calls need the user's explicit confirmation.
    pub writes: bool,
    /// How users ask for it (embedded for the offline router).
    pub examples: &'static [&'static str],
}

/// Who is talking to the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The API key id, Slack user id or MCP client's key id; it owns confirmations.
    pub id: String,
    /// The role the caller acts with.
    pub role: Role,
    /// `http`, `slack`, `mcp` or `cli`, for the audit trail.
    pub channel: String,
}

/// Why a tool call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not match the tool's schema (missing symbol, bad id).
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The thing named does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller's role may not call this tool.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The service behind the tool failed.
    #[error("tool failed: {0}")]
    Failed(String),
}

/// Runs tools against the services.
#[async_trait::async_trait]
pub trait ToolHost: Send + Sync {
    /// Every tool this host can run.
    fn tools(&self) -> Vec<ToolDef>;
    /// Runs `name` with `args` for `caller`. The agent has already checked the role and, for
    /// write tools, the confirmation; hosts check the role again (defence in depth).
    ///
    /// # Errors
    ///
    /// [`ToolError`].
    async fn call(&self, caller: &Caller, name: &str, args: &Value) -> Result<Value, ToolError>;
}

/// The tools `role` may call, in the host's order.
pub fn tools_for(host: &dyn ToolHost, role: Role) -> Vec<ToolDef> {
    host.tools()
        .into_iter()
        .filter(|t| t.min_role <= role)
        .collect()
}

/// One audited tool call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// The conversation the call belongs to.
    pub conversation: String,
    /// Who asked.
    pub caller: Caller,
    /// The tool.
    pub tool: String,
    /// Its arguments as called.
    pub arguments: Value,
    /// `ok`, `error`, `denied`, `pending_confirmation`, `confirmed`, `expired`.
    pub outcome: String,
    /// Hex sha256 of the result JSON (or of the error text).
    pub result_digest: String,
}

/// Where audit records go (the metadata store in the service; memory in tests).
#[async_trait::async_trait]
pub trait AuditSink: Send + Sync {
    /// Stores one record. An audit write that fails must fail the call that made it.
    ///
    /// # Errors
    ///
    /// A message saying why the record could not be stored.
    async fn record(&self, rec: AuditRecord) -> Result<(), String>;
}
