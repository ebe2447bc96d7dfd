//! The data-quality review queue, flags, gaps and counts.

use super::items_schema;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A bar held by the quality checks, with why it was held and what the review decided.
#[derive(ToSchema)]
#[schema(as = QuarantinedBar)]
pub struct QuarantinedBarDoc {
    /// Row id: what approve and reject take.
    pub id: i64,
    /// Symbol of the held bar.
    pub symbol: String,
    /// Its resolution (`daily`, `5min`, …).
    pub resolution: String,
    /// Its time (a daily bar is its session date at 00:00 UTC).
    pub ts: DateTime<Utc>,
    /// Opening price as received.
    pub open: f64,
    /// Highest price as received.
    pub high: f64,
    /// Lowest price as received.
    pub low: f64,
    /// Closing price as received.
    pub close: f64,
    /// Volume as received.
    pub volume: f64,
    /// The vendor's adjusted close, when given.
    pub adj_close: Option<f64>,
    /// Where it came from (`file`, `alphavantage`, …).
    pub source: String,
    /// The ingest batch that delivered it.
    pub batch_id: String,
    /// What was ingested.
    pub request: String,
    /// When it was received.
    pub ingested_at: DateTime<Utc>,
    /// The checks that held it, sorted.
    pub reasons: Vec<String>,
    /// `critical` or `warning`.
    pub severity: String,
    /// The largest statistic among the holding flags.
    pub score: f64,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Who reviewed it; null while pending.
    pub reviewed_by: Option<String>,
    /// When it was reviewed; null while pending.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// The reviewer's note.
    pub review_note: Option<String>,
}

/// A window of held bars, newest first, with the total matching the filters.
#[derive(ToSchema)]
#[schema(as = QuarantinePage)]
pub struct QuarantinePageDoc {
    /// The held bars from `offset`.
    pub items: Vec<QuarantinedBarDoc>,
    /// Held bars matching the filters.
    pub total: u64,
}

/// A review's outcome: the bar as decided and, for an approval, the batch that merged it.
#[derive(ToSchema)]
#[schema(as = ReviewOutcome)]
pub struct ReviewOutcomeDoc {
    /// The reviewed bar.
    pub bar: QuarantinedBarDoc,
    /// The batch that wrote an approved bar into the cache; null for a rejection.
    pub merged_batch: Option<String>,
}

/// One finding about one bar.
#[derive(ToSchema)]
#[schema(as = QualityFlag)]
pub struct QualityFlagDoc {
    /// Symbol of the flagged bar.
    pub symbol: String,
    /// Its resolution.
    pub resolution: String,
    /// Its time.
    pub ts: DateTime<Utc>,
    /// The check that fired.
    pub check: String,
    /// `notice`, `warning` or `critical`.
    pub severity: String,
    /// The check's statistic.
    pub score: f64,
    /// What was found, with the numbers behind it.
    pub detail: String,
}

items_schema!(
    /// Anomaly flags, newest bar first.
    QualityFlagList,
    QualityFlagDoc
);

/// Bars missing against the exchange calendar, as one range.
#[derive(ToSchema)]
#[schema(as = QualityGap)]
pub struct QualityGapDoc {
    /// Symbol of the series.
    pub symbol: String,
    /// Its resolution.
    pub resolution: String,
    /// First missing bar (a whole missing session is its date at 00:00 UTC).
    pub first_missing: DateTime<Utc>,
    /// Last missing bar, inclusive.
    pub last_missing: DateTime<Utc>,
    /// Bars missing in the range.
    pub missing: u64,
}

items_schema!(
    /// Calendar gaps.
    QualityGapList,
    QualityGapDoc
);

/// Flags of one symbol on one day.
#[derive(ToSchema)]
#[schema(as = QualityDay)]
pub struct QualityDayDoc {
    /// The symbol.
    pub symbol: String,
    /// The UTC date of the flagged bars.
    pub session: NaiveDate,
    /// Flags that day, every severity.
    pub flags: u64,
    /// Bars held that day.
    pub quarantined: u64,
    /// The worst severity: `notice`, `warning` or `critical`.
    pub max_severity: String,
    /// Flag count per check.
    pub checks: BTreeMap<String, u64>,
}

items_schema!(
    /// Flag counts per symbol and day.
    QualityDayList,
    QualityDayDoc
);

/// Quarantine and flag totals.
#[derive(ToSchema)]
#[schema(as = QualitySummary)]
pub struct QualitySummaryDoc {
    /// Held bars waiting for review.
    pub pending: u64,
    /// Held bars approved.
    pub approved: u64,
    /// Held bars rejected.
    pub rejected: u64,
    /// Flags per severity (a severity with none is absent).
    pub flags_by_severity: BTreeMap<String, u64>,
    /// Open gap ranges.
    pub gaps: u64,
    /// Bars missing across them.
    pub missing_bars: u64,
}
