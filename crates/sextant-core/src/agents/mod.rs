//! The core's half of the ChatOps agent: the tools it may call and where its audit trail goes.
//!
//! `sextant-agents` routes a message to a tool, filters tools by role, asks for confirmation
//! of writes and audits every call; it knows no service. This module supplies the two things
//! that need the services:
//!
//! - [`CoreTools`]: a [`sextant_agents::chat::ToolHost`] whose tools call the same service
//!   methods as the HTTP routes that do the same thing, with the same least role (GET =
//!   viewer, POST = analyst, quarantine review = admin). It is built from the [`crate::Services`]
//!   and the process's [`crate::jobs::JobManager`] (which the HTTP layer owns, not the
//!   registry).
//! - [`MetaAudit`]: a [`sextant_agents::chat::AuditSink`] that stores each audited call as a
//!   document in the metadata collection [`AGENT_AUDIT`], and reads them back newest first.

pub mod audit;
pub mod service;
pub mod tools;

pub use audit::{MetaAudit, AGENT_AUDIT};
pub use service::{AgentsError, AgentsService, BuildOutcome, Preview, STRATEGY_BUILDS};
pub use tools::CoreTools;
