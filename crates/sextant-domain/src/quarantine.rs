//! What the quality checks hold back, in the words every result uses to report it.

use crate::{Resolution, Symbol};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

/// Where a quarantined bar stands. Only `Approved` bars are merged into the bar store; `Pending`
/// and `Rejected` bars stay out of every read and are reported as excluded.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::AsRefStr,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum QuarantineStatus {
    /// Held by the checks, awaiting a reviewer.
    Pending,
    /// A reviewer accepted it: the bar was merged.
    Approved,
    /// A reviewer refused it: it stays out, and re-ingesting the same values does not bring it
    /// back.
    Rejected,
}

/// A bar that a range does not contain because the quality checks hold it (pending review) or a
/// reviewer rejected it: what every result over the range must report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldBar {
    /// The bar's symbol.
    pub symbol: Symbol,
    /// The bar's resolution.
    pub resolution: Resolution,
    /// The bar's key (UTC).
    pub ts: NaiveDateTime,
    /// `Pending` (awaiting review) or `Rejected`.
    pub status: QuarantineStatus,
    /// The checks that held it, comma-separated.
    pub reasons: String,
    /// The quarantine row (`sextant quality show ID`).
    pub quarantine_id: i64,
}
