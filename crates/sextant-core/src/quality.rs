//! `QualityService`: the quarantine review queue and the anomaly flags, over the cache (which
//! holds the rows and the authoritative flags) and the metadata store (which holds a copy of
//! every flag for metadata consumers, and the audit trail of reviews).

use crate::common::blocking;
use chrono::{NaiveDate, Utc};
use serde_json::json;
use sextant_data::cache::{
    Decision, QualityTotals, QuarantineQuery, QuarantinedBar, ReviewOutcome, SymbolDayQuality,
};
use sextant_data::{Cache, DataError};
use sextant_meta::{MetaError, MetaStore};
use sextant_quality::{Flag, Gap};
use std::sync::Arc;

/// Metadata collection of anomaly flags, one document per (symbol, resolution, ts, check).
pub const FLAGS: &str = "anomaly_flags";
/// Metadata collection of quarantine reviews (the audit trail).
pub const REVIEWS: &str = "quarantine_reviews";
/// Metadata collection holding sync watermarks.
const SYNC: &str = "quality_sync";
/// Most flags copied to the metadata store in one sync.
const SYNC_LIMIT: usize = 100_000;

/// Why a quality operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// The cache failed, or refused the request: [`DataError::NotInQuarantine`] for an unknown
    /// id, [`DataError::AlreadyReviewed`] for a second review of one bar.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The metadata store failed (writing the audit record or the flag copies).
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// The data-quality review service: lists held bars and flags, records reviews, and keeps the
/// metadata store's copy of the flags current. Every cache call runs off the async executor.
pub struct QualityService {
    cache: Arc<Cache>,
    meta: Arc<dyn MetaStore>,
}

/// The deterministic document id of a flag (no dots: the metadata store forbids them in keys).
pub fn flag_id(f: &Flag) -> String {
    format!(
        "{}|{}|{}|{}",
        f.symbol,
        f.resolution,
        f.ts.format("%Y%m%dT%H%M%S"),
        f.check.as_str()
    )
}

impl QualityService {
    /// The service over the shared cache and metadata store.
    pub fn new(cache: Arc<Cache>, meta: Arc<dyn MetaStore>) -> Self {
        QualityService { cache, meta }
    }

    /// Held bars, newest first.
    pub async fn quarantined(
        &self,
        q: QuarantineQuery,
    ) -> Result<(Vec<QuarantinedBar>, u64), QualityError> {
        let cache = self.cache.clone();
        Ok(blocking(move || cache.quarantined(&q)).await?)
    }

    /// One held bar, whatever its review status.
    ///
    /// # Errors
    /// [`DataError::NotInQuarantine`] (as [`QualityError::Data`]) when no held bar has this id.
    pub async fn get(&self, id: i64) -> Result<QuarantinedBar, QualityError> {
        let cache = self.cache.clone();
        blocking(move || cache.quarantined_bar(id))
            .await?
            .ok_or(QualityError::Data(DataError::NotInQuarantine { id }))
    }

    /// Approves or rejects a held bar and writes the audit record.
    pub async fn review(
        &self,
        id: i64,
        decision: Decision,
        reviewer: &str,
        note: Option<String>,
    ) -> Result<ReviewOutcome, QualityError> {
        let cache = self.cache.clone();
        let who = reviewer.to_string();
        let n = note.clone();
        let out = blocking(move || cache.review(id, decision, &who, n.as_deref())).await?;
        let doc = json!({
            "quarantine_id": id,
            "symbol": out.bar.symbol,
            "resolution": out.bar.resolution,
            "ts": out.bar.ts.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "decision": out.bar.status,
            "reviewer": reviewer,
            "note": note,
            "reasons": out.bar.reasons,
            "reviewed_at": Utc::now().to_rfc3339(),
        });
        self.meta.insert(REVIEWS, doc).await?;
        Ok(out)
    }

    /// Recorded anomaly flags for `symbol` (or every symbol), newest bar first; at most `limit`.
    pub async fn flags(
        &self,
        symbol: Option<String>,
        limit: usize,
    ) -> Result<Vec<Flag>, QualityError> {
        let cache = self.cache.clone();
        Ok(blocking(move || cache.quality_flags(symbol.as_deref(), limit)).await?)
    }

    /// Reported gaps in the bars of `symbol` (or every symbol), ordered by symbol, resolution
    /// and first missing bar; at most `limit`.
    pub async fn gaps(
        &self,
        symbol: Option<String>,
        limit: usize,
    ) -> Result<Vec<Gap>, QualityError> {
        let cache = self.cache.clone();
        let mut gaps = blocking(move || cache.quality_gaps(symbol.as_deref())).await?;
        gaps.truncate(limit);
        Ok(gaps)
    }

    /// Flag counts and worst severity per symbol and day for `from..=to` (inclusive), for one
    /// symbol or all.
    pub async fn by_day(
        &self,
        symbol: Option<String>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SymbolDayQuality>, QualityError> {
        let cache = self.cache.clone();
        Ok(blocking(move || cache.quality_by_day(symbol.as_deref(), from, to)).await?)
    }

    /// Review-queue and flag totals over the whole cache (the dashboard's figures).
    pub async fn totals(&self) -> Result<QualityTotals, QualityError> {
        let cache = self.cache.clone();
        Ok(blocking(move || cache.quality_totals()).await?)
    }

    /// Copies the flags recorded since the last copy into the metadata store (idempotent
    /// upserts keyed by [`flag_id`]; a watermark document remembers how far it got); returns
    /// how many were written. Called after every ingest.
    pub async fn sync_flags(&self) -> Result<usize, QualityError> {
        let mark = self.meta.get(SYNC, "flags").await?;
        let since = mark
            .as_ref()
            .and_then(|d| d.get("through"))
            .and_then(|v| v.as_str())
            .and_then(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok());
        let cache = self.cache.clone();
        let (flags, newest) =
            blocking(move || cache.quality_flags_since(since, SYNC_LIMIT)).await?;
        for f in &flags {
            let doc = json!({
                "symbol": f.symbol,
                "resolution": f.resolution,
                "ts": f.ts.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "check": f.check.as_str(),
                "severity": f.severity.as_str(),
                "score": if f.score.is_finite() { f.score } else { 0.0 },
                "detail": f.detail,
            });
            self.meta.upsert(FLAGS, &flag_id(f), doc).await?;
        }
        // Advance the watermark only when the read was not cut by the limit (records sharing the
        // last time could lie beyond it).
        if let Some(n) = newest.filter(|_| flags.len() < SYNC_LIMIT && !flags.is_empty()) {
            let through = n.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
            self.meta
                .upsert(SYNC, "flags", json!({ "through": through }))
                .await?;
        }
        if !flags.is_empty() {
            tracing::info!(
                written = flags.len(),
                "anomaly flags copied to the metadata store"
            );
        }
        Ok(flags.len())
    }
}
