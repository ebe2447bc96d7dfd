//! Pending write-tool calls, each under a random token bound to the caller who was asked.
//!
//! Kept in memory: a restart drops pending confirmations (the user is asked again), which is
//! the safe direction for a write.

use super::{Caller, ChatError};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a proposal can be confirmed. Default: ten minutes.
pub const CONFIRM_TTL_SECS: u64 = 600;
/// Most proposals kept at once (the oldest are dropped first).
const MAX_PENDING: usize = 10_000;

/// A write-tool call waiting for confirmation.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    /// Pass this to `POST /api/v1/chat/confirm` (or `confirm <token>` in Slack).
    pub token: String,
    /// The tool that will run.
    pub tool: String,
    /// Its arguments.
    pub arguments: Value,
    /// Seconds left to confirm.
    pub expires_in_secs: u64,
    /// The conversation that proposed it.
    pub conversation: String,
    #[serde(skip)]
    caller_id: String,
    #[serde(skip)]
    created: Option<Instant>,
}

#[derive(Default)]
pub(super) struct PendingStore {
    inner: Mutex<HashMap<String, Pending>>,
}

impl PendingStore {
    pub(super) fn propose(
        &self,
        caller: &Caller,
        conversation: &str,
        tool: &str,
        arguments: Value,
    ) -> Pending {
        let p = Pending {
            token: uuid::Uuid::new_v4().simple().to_string(),
            tool: tool.to_string(),
            arguments,
            expires_in_secs: CONFIRM_TTL_SECS,
            conversation: conversation.to_string(),
            caller_id: caller.id.clone(),
            created: Some(Instant::now()),
        };
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let ttl = Duration::from_secs(CONFIRM_TTL_SECS);
        map.retain(|_, v| v.created.is_some_and(|c| c.elapsed() < ttl));
        if map.len() >= MAX_PENDING {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, v)| v.created)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(p.token.clone(), p.clone());
        p
    }

    /// Removes and returns the proposal, if `caller` made it and it has not expired.
    pub(super) fn take(&self, caller: &Caller, token: &str) -> Result<Pending, ChatError> {
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let unknown = || ChatError::InvalidRequest("unknown or expired confirmation token".into());
        let p = map.get(token).ok_or_else(unknown)?;
        if p.caller_id != caller.id {
            // Someone else's token: refuse without consuming it or saying whose it is.
            return Err(unknown());
        }
        let p = map.remove(token).ok_or_else(unknown)?;
        if p.created
            .is_none_or(|c| c.elapsed() >= Duration::from_secs(CONFIRM_TTL_SECS))
        {
            return Err(unknown());
        }
        Ok(p)
    }
}
