//! Who may do what: the role an API key (or a Slack user, or an MCP client) acts with.

use serde::{Deserialize, Serialize};

/// What a caller may do. Roles are ordered `viewer < analyst < admin`, and each role may do
/// everything the lower ones may. Written in lowercase.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumIter,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    /// Reads only (GET, HEAD and OPTIONS requests).
    Viewer,
    /// Reads and writes: creating and changing resources, running backtests, submitting jobs.
    Analyst,
    /// Everything, including API keys, `/metrics`, quarantine review and every owner's objects.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "analyst" => Ok(Role::Analyst),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}: viewer, analyst or admin")),
        }
    }
}
