//! [`MetaAudit`]: the agent's audit trail in the metadata store.
//!
//! Each [`AuditRecord`] becomes one document of [`AGENT_AUDIT`] with a generated id
//! (`aud_` and 32 hex digits). The arguments are stored as JSON text (`arguments_json`), not as
//! a nested object: they come from a model or a user, and keys that start with `$` or contain
//! `.` (or nesting past the store's depth limit) would make the store refuse the document, and
//! a refused audit write fails the call it audits. A fixed-width `recorded_at` timestamp,
//! written by the store side, orders the trail (the record's own `at` is kept as given).

use crate::common::fixed_ts;
use crate::CoreError;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_agents::chat::{AuditRecord, AuditSink, Caller};
use sextant_meta::{MetaError, MetaStore, Query};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Metadata collection of audited agent tool calls.
pub const AGENT_AUDIT: &str = "agent_audit";
/// Most bytes of a call's arguments kept (64 KiB, as for job parameters); longer ones are cut
/// and marked `arguments_truncated`.
pub const MAX_ARGUMENTS_BYTES: usize = 64 * 1024;
/// Most records [`MetaAudit::recent`] returns at once.
pub const MAX_RECENT: usize = 1000;

/// An [`AuditSink`] over the metadata store: one document per audited call in [`AGENT_AUDIT`].
/// Build one per process from `Services::meta` and share it.
pub struct MetaAudit {
    meta: Arc<dyn MetaStore>,
    /// Set once the `recorded_at` index exists.
    index: OnceCell<()>,
}

/// A stored record as read back (the store's `_id` and `recorded_at` are not part of it).
#[derive(Deserialize)]
struct Stored {
    at: String,
    conversation: String,
    caller: Caller,
    tool: String,
    arguments_json: String,
    outcome: String,
    result_digest: String,
}

impl MetaAudit {
    /// A trail in `meta`'s [`AGENT_AUDIT`] collection (created on the first write).
    pub fn new(meta: Arc<dyn MetaStore>) -> Self {
        MetaAudit {
            meta,
            index: OnceCell::new(),
        }
    }

    async fn ensure_index(&self) -> Result<(), MetaError> {
        self.index
            .get_or_try_init(|| async {
                self.meta
                    .ensure_index(AGENT_AUDIT, "recorded_at", false)
                    .await
            })
            .await?;
        Ok(())
    }

    /// Stores `rec` and returns the new document's id.
    ///
    /// # Errors
    /// [`MetaError`] when the store refuses or fails the write.
    pub async fn insert(&self, rec: &AuditRecord) -> Result<String, MetaError> {
        // The index only speeds up `recent`: a failure to create it does not lose the record.
        if let Err(e) = self.ensure_index().await {
            tracing::warn!(error = %e, "agent audit: recorded_at index not created");
        }
        self.meta.insert(AGENT_AUDIT, to_doc(rec)).await
    }

    /// The latest `limit` records (1 to [`MAX_RECENT`]; other values are clamped), newest
    /// first by the time they were stored.
    ///
    /// # Errors
    /// [`CoreError::Meta`] when the store fails, or when a stored record does not read back
    /// (as a backend error naming the document).
    pub async fn recent(&self, limit: usize) -> Result<Vec<AuditRecord>, CoreError> {
        let limit = limit.clamp(1, MAX_RECENT);
        self.ensure_index().await?;
        let query = Query::new().sort_desc("recorded_at").limit(limit as u64);
        let docs = self.meta.find(AGENT_AUDIT, &query).await?;
        docs.into_iter().map(from_doc).collect()
    }
}

#[async_trait::async_trait]
impl AuditSink for MetaAudit {
    async fn record(&self, rec: AuditRecord) -> Result<(), String> {
        match self.insert(&rec).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(
                    tool = %rec.tool, caller = %rec.caller.id, error = %e,
                    "agent audit record not stored"
                );
                Err(format!("audit record not stored: {e}"))
            }
        }
    }
}

/// The document of `rec` (see the module docs for its shape).
fn to_doc(rec: &AuditRecord) -> Value {
    let mut arguments = rec.arguments.to_string();
    let truncated = arguments.len() > MAX_ARGUMENTS_BYTES;
    if truncated {
        let mut end = MAX_ARGUMENTS_BYTES;
        while !arguments.is_char_boundary(end) {
            end -= 1;
        }
        arguments.truncate(end);
    }
    json!({
        "_id": format!("aud_{}", uuid::Uuid::new_v4().simple()),
        "recorded_at": fixed_ts::format(&Utc::now()),
        "at": rec.at,
        "conversation": rec.conversation,
        "caller": {
            "id": rec.caller.id,
            "role": rec.caller.role,
            "channel": rec.caller.channel,
        },
        "tool": rec.tool,
        "arguments_json": arguments,
        "arguments_truncated": truncated,
        "outcome": rec.outcome,
        "result_digest": rec.result_digest,
    })
}

/// A stored document as an [`AuditRecord`]; arguments that no longer parse (cut when stored)
/// come back as the stored text.
fn from_doc(doc: Value) -> Result<AuditRecord, CoreError> {
    let id = doc
        .get("_id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let s: Stored = serde_json::from_value(doc).map_err(|e| {
        CoreError::Meta(MetaError::Backend(format!(
            "{AGENT_AUDIT} document {id} is unreadable: {e}"
        )))
    })?;
    let arguments = serde_json::from_str::<Value>(&s.arguments_json)
        .unwrap_or_else(|_| Value::String(s.arguments_json.clone()));
    Ok(AuditRecord {
        at: s.at,
        conversation: s.conversation,
        caller: s.caller,
        tool: s.tool,
        arguments,
        outcome: s.outcome,
        result_digest: s.result_digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_domain::Role;

    fn record(arguments: Value) -> AuditRecord {
        AuditRecord {
            at: "2024-05-01T12:00:00Z".into(),
            conversation: "c1".into(),
            caller: Caller {
                id: "k1".into(),
                role: Role::Analyst,
                channel: "slack".into(),
            },
            tool: "refresh_symbol".into(),
            arguments,
            outcome: "ok".into(),
            result_digest: "ab".into(),
        }
    }

    #[test]
    fn document_round_trips_and_hides_operator_keys() {
        let args = json!({ "$where": 1, "a.b": [1, 2] });
        let doc = to_doc(&record(args.clone()));
        let keys: Vec<&String> = doc
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert!(keys.iter().all(|k| !k.starts_with('$') && !k.contains('.')));
        let back = from_doc(doc).expect("reads back");
        assert_eq!(back.arguments, args);
        assert_eq!(back.caller.role, Role::Analyst);
        assert_eq!(back.tool, "refresh_symbol");
    }

    #[test]
    fn long_arguments_are_cut_on_a_char_boundary() {
        let args = Value::String("é".repeat(MAX_ARGUMENTS_BYTES));
        let doc = to_doc(&record(args));
        assert_eq!(doc["arguments_truncated"], json!(true));
        let text = doc["arguments_json"].as_str().unwrap_or_default();
        assert!(text.len() <= MAX_ARGUMENTS_BYTES);
    }
}
