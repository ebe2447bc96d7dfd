//! The gate every tool call passes, from the chat agent and from MCP clients alike: tools
//! filtered by role, write tools held for confirmation, every call audited.

use super::confirm::{Pending, PendingStore};
use super::{AuditRecord, AuditSink, CallRecord, Caller, ChatError, ToolDef, ToolHost};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Role filter, confirmations and audit around a [`ToolHost`].
pub struct ToolGate {
    host: Arc<dyn ToolHost>,
    audit: Arc<dyn AuditSink>,
    pending: PendingStore,
}

/// Hex sha256 of a JSON value's text.
pub fn digest(v: &Value) -> String {
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

impl ToolGate {
    /// A gate around `host`, auditing into `audit`.
    pub fn new(host: Arc<dyn ToolHost>, audit: Arc<dyn AuditSink>) -> Self {
        ToolGate {
            host,
            audit,
            pending: PendingStore::default(),
        }
    }

    /// The host behind the gate.
    pub fn host(&self) -> &dyn ToolHost {
        self.host.as_ref()
    }

    /// The tools `caller`'s role allows.
    pub fn offered(&self, caller: &Caller) -> Vec<ToolDef> {
        super::tools_for(self.host.as_ref(), caller.role)
    }

    async fn audit(
        &self,
        conversation: &str,
        caller: &Caller,
        tool: &str,
        args: &Value,
        outcome: &str,
        result: &Value,
    ) -> Result<(), ChatError> {
        self.audit
            .record(AuditRecord {
                at: chrono::Utc::now().to_rfc3339(),
                conversation: conversation.to_string(),
                caller: caller.clone(),
                tool: tool.to_string(),
                arguments: args.clone(),
                outcome: outcome.to_string(),
                result_digest: digest(result),
            })
            .await
            .map_err(ChatError::Audit)
    }

    /// Runs a read tool, proposes a write tool (a pending confirmation), or refuses a tool
    /// not in `offered`; audits the outcome either way.
    ///
    /// # Errors
    ///
    /// [`ChatError::Audit`] when the audit record cannot be stored.
    pub async fn dispatch(
        &self,
        caller: &Caller,
        conversation: &str,
        offered: &[ToolDef],
        tool: &str,
        args: Value,
    ) -> Result<(CallRecord, Option<Pending>), ChatError> {
        let (outcome, result, pending) = match offered.iter().find(|t| t.name == tool) {
            None => {
                let msg = format!("{tool} is not available to the {} role", caller.role);
                ("denied", Value::String(msg), None)
            }
            Some(def) if def.writes => {
                let p = self
                    .pending
                    .propose(caller, conversation, tool, args.clone());
                ("pending_confirmation", json!({"token": p.token}), Some(p))
            }
            Some(_) => match self.host.call(caller, tool, &args).await {
                Ok(v) => ("ok", v, None),
                Err(e) => ("error", Value::String(e.to_string()), None),
            },
        };
        self.audit(conversation, caller, tool, &args, outcome, &result)
            .await?;
        let shown = (outcome != "pending_confirmation").then_some(result);
        Ok((
            CallRecord {
                tool: tool.to_string(),
                arguments: args,
                outcome: outcome.to_string(),
                result: shown,
            },
            pending,
        ))
    }

    /// Runs the write tool waiting under `token`, if `caller` is the one it was proposed to
    /// and still has the role; returns the conversation and the call.
    ///
    /// # Errors
    ///
    /// [`ChatError::InvalidRequest`] for an unknown, expired or foreign token;
    /// [`ChatError::Audit`] when the audit record cannot be stored.
    pub async fn confirm(
        &self,
        caller: &Caller,
        token: &str,
    ) -> Result<(String, CallRecord), ChatError> {
        let p = self.pending.take(caller, token)?;
        let allowed = self
            .host
            .tools()
            .iter()
            .any(|d| d.name == p.tool && d.min_role <= caller.role);
        let (outcome, result) = if !allowed {
            (
                "denied",
                Value::String(format!(
                    "{} is not available to the {} role",
                    p.tool, caller.role
                )),
            )
        } else {
            match self.host.call(caller, &p.tool, &p.arguments).await {
                Ok(v) => ("confirmed", v),
                Err(e) => ("error", Value::String(e.to_string())),
            }
        };
        self.audit(
            &p.conversation,
            caller,
            &p.tool,
            &p.arguments,
            outcome,
            &result,
        )
        .await?;
        Ok((
            p.conversation.clone(),
            CallRecord {
                tool: p.tool.clone(),
                arguments: p.arguments.clone(),
                outcome: outcome.to_string(),
                result: Some(result),
            },
        ))
    }
}
