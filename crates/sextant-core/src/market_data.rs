//! `MarketDataService`: the one entry point for reading and refreshing market data.
//!
//! It owns the refresh policy: what to ask a provider for, given what the cache already covers
//! (nothing → full history; a short gap → the provider's compact window; up to date → nothing).

use chrono::{Datelike, NaiveDate, Weekday};
use sextant_data::cache::{CoverageReport, FileOptions, IngestSummary, ReadPool, SymbolInfo};
use sextant_data::providers::{FetchRequest, OutputSize, Provider};
use sextant_data::{Cache, DataError};
use sextant_domain::HeldBar;
use sextant_domain::{Bar, Instrument, PriceBasis, Resolution, Source, Symbol};
use sextant_features::{FeatureStore, FeatureView, MaterializedView};
use std::path::Path;
use std::sync::Arc;

/// What a refresh will ask the provider for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPlan {
    /// The cache already holds the last completed session.
    UpToDate,
    /// The gap fits in the provider's compact window (100 bars).
    Compact,
    /// Nothing cached from this provider yet, or the gap is too long.
    Full,
}

/// What one refresh did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefreshOutcome {
    /// The symbol refreshed.
    pub symbol: String,
    /// What was asked for: `up-to-date` (nothing fetched), `compact` or `full`.
    pub plan: String,
    /// What the ingest wrote; none when the cache was already up to date.
    pub summary: Option<IngestSummary>,
}

/// Reads and refreshes market data over the DuckDB cache. Reads go to a connection of the
/// read pool (they do not queue behind ingests or each other); writes to the main connection.
pub struct MarketDataService {
    cache: Arc<Cache>,
    reads: Arc<ReadPool>,
}

/// A panel of `view` over whole session days `[from, to]` read on `cache`.
fn panel_on(
    cache: &Cache,
    view: &str,
    version: Option<&str>,
    symbols: &[Symbol],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<sextant_features::FeaturePanel, DataError> {
    cache.feature_panel(
        view,
        version,
        symbols,
        from.and_then(|d| d.and_hms_opt(0, 0, 0)),
        to.and_then(|d| d.and_hms_opt(23, 59, 59)),
    )
}

/// Bars in a provider's compact answer (Alpha Vantage: latest 100 points).
const COMPACT_BARS: i64 = 100;

impl MarketDataService {
    /// The service over the pool's store, shared with the other services.
    pub fn new(reads: Arc<ReadPool>) -> Self {
        MarketDataService {
            cache: reads.main().clone(),
            reads,
        }
    }

    /// The underlying cache, for reads this service does not wrap.
    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    /// Loads the bundled sample into an empty cache; `None` when the cache already has data.
    pub fn ensure_sample(&self) -> Result<Option<IngestSummary>, DataError> {
        if self.cache.is_empty()? {
            tracing::info!("empty cache: loading the bundled sample data");
            return self.cache.ingest_sample().map(Some);
        }
        Ok(None)
    }

    /// Unadjusted bars of `symbol` at `resolution` with sessions in `[from, to]` (inclusive;
    /// open-ended where `None`), oldest first. A coarser resolution with no stored bars is derived
    /// from finer stored bars. Blocks on DuckDB: call it from `spawn_blocking` in async code.
    pub fn bars(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<Bar>, DataError> {
        self.reads.get().bars(symbol, resolution, from, to)
    }

    /// Bars in a chosen price basis (see `sextant_domain::prices`).
    pub fn bars_on(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        basis: PriceBasis,
    ) -> Result<Vec<Bar>, DataError> {
        self.reads
            .get()
            .bars_on(symbol, resolution, from, to, basis)
    }

    /// Bars the quality checks keep out of a range (held for review or rejected).
    pub fn held_bars(
        &self,
        symbols: &[Symbol],
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<HeldBar>, DataError> {
        self.reads.get().held_bars(symbols, resolution, from, to)
    }

    /// Feature-engineered panels: one row per (symbol, bar) of a materialised feature view
    /// (`version: None` = its newest materialisation), every value computed from bars up to
    /// that bar (see `sextant_features`).
    pub fn feature_panel(
        &self,
        view: &str,
        version: Option<&str>,
        symbols: &[Symbol],
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<sextant_features::FeaturePanel, DataError> {
        panel_on(&self.reads.get(), view, version, symbols, from, to)
    }

    /// [`Self::feature_panel`] with the bars of the range the quality checks hold (no feature
    /// row exists for them), so the answer says what it leaves out.
    pub fn feature_panel_with_excluded(
        &self,
        view: &str,
        version: Option<&str>,
        symbols: &[Symbol],
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<(sextant_features::FeaturePanel, Vec<HeldBar>), DataError> {
        let cache = self.reads.get();
        let panel = panel_on(&cache, view, version, symbols, from, to)?;
        let excluded = match cache.materialized_view(view, Some(&panel.version))? {
            Some(mv) => cache.held_bars(symbols, mv.resolution, from, to)?,
            None => Vec::new(),
        };
        Ok((panel, excluded))
    }

    /// Every materialised feature-view version, newest first within each view.
    pub fn materialized_views(&self) -> Result<Vec<MaterializedView>, DataError> {
        self.reads.get().materialized_views()
    }

    /// Computes `view` over the current bars and stores it as that version (one write
    /// transaction; replaces an earlier materialisation of the same version).
    pub fn materialize_view(&self, view: &FeatureView) -> Result<MaterializedView, DataError> {
        self.cache.materialize_view(view)
    }

    /// Bars as Arrow record batches (the columns of the `bars` table), for the Arrow IPC
    /// answer of the bars route.
    pub fn bars_arrow(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<duckdb::arrow::record_batch::RecordBatch>, DataError> {
        self.reads.get().bars_arrow(symbol, resolution, from, to)
    }

    /// The store's write generation: changes whenever committed data changes (response caches
    /// key on it).
    pub fn generation(&self) -> u64 {
        self.cache.generation()
    }

    /// The store's file and its size in bytes (`None` for an in-memory store).
    pub fn file(&self) -> Option<(std::path::PathBuf, Option<u64>)> {
        self.cache
            .path()
            .map(|p| (p.to_path_buf(), std::fs::metadata(p).ok().map(|m| m.len())))
    }

    /// Liveness of the store (one trivial query on the main connection).
    pub fn ping(&self) -> Result<(), DataError> {
        self.cache.ping()
    }

    /// Every symbol in the cache with its resolutions, range and row count.
    pub fn symbols(&self) -> Result<Vec<SymbolInfo>, DataError> {
        self.reads.get().symbols()
    }

    /// What the cache covers per (symbol, resolution), for one symbol or all: contiguous ranges
    /// with their sources and last refresh times.
    pub fn coverage(&self, symbol: Option<&Symbol>) -> Result<Vec<CoverageReport>, DataError> {
        self.reads.get().coverage(symbol)
    }

    /// Reads a CSV (optionally gzipped) or Parquet file of bars into the cache in one
    /// transaction, through the quality checks when they are enabled. A missing file is
    /// [`DataError::File`].
    pub fn ingest_file(&self, path: &Path, opts: &FileOptions) -> Result<IngestSummary, DataError> {
        self.cache.ingest_file(path, opts)
    }

    /// Decides what to fetch for (symbol, resolution) from `provider`, as of `today`.
    pub fn plan_refresh(
        &self,
        provider: &str,
        symbol: &Symbol,
        resolution: Resolution,
        today: NaiveDate,
    ) -> Result<RefreshPlan, DataError> {
        let coverage = self.cache.coverage(Some(symbol))?;
        let last = coverage
            .iter()
            .filter(|c| c.resolution == resolution)
            .flat_map(|c| c.ranges.iter())
            .filter(|r| r.sources.iter().any(|s| s == provider))
            .map(|r| r.last_ts.date())
            .max();
        Ok(plan(last, resolution, today))
    }

    /// Plans, fetches and writes one (symbol, resolution) in one transaction, as the instrument
    /// the cache knows it to be (a US equity when it has no record).
    pub async fn refresh(
        &self,
        provider: &dyn Provider,
        symbol: &Symbol,
        resolution: Resolution,
        adjusted: bool,
        today: NaiveDate,
    ) -> Result<RefreshOutcome, DataError> {
        let instrument = self.cache.instrument(symbol)?;
        self.refresh_instrument(provider, &instrument, resolution, adjusted, today)
            .await
    }

    /// [`Self::refresh`] for a given instrument (FX, crypto, …), recorded with its bars in the
    /// same transaction so that its session model judges them.
    pub async fn refresh_instrument(
        &self,
        provider: &dyn Provider,
        instrument: &Instrument,
        resolution: Resolution,
        adjusted: bool,
        today: NaiveDate,
    ) -> Result<RefreshOutcome, DataError> {
        let symbol = &instrument.symbol;
        let plan = self.plan_refresh(provider.name(), symbol, resolution, today)?;
        let output_size = match plan {
            RefreshPlan::UpToDate => {
                return Ok(RefreshOutcome {
                    symbol: symbol.to_string(),
                    plan: "up-to-date".into(),
                    summary: None,
                })
            }
            RefreshPlan::Compact => OutputSize::Compact,
            RefreshPlan::Full => OutputSize::Full,
        };
        let req = FetchRequest {
            resolution,
            output_size,
            // Intraday "adjusted" answers carry adjusted OHLC, which would break the cache's
            // unadjusted-prices contract: intraday is always fetched raw.
            adjusted: adjusted && !resolution.is_intraday(),
            asset: instrument.asset_class,
            market: None,
            ..FetchRequest::daily(symbol.clone())
        };
        let fetched = provider.fetch(&req).await?;
        let cache = self.cache.clone();
        let source = if provider.name() == "alphavantage" {
            Source::AlphaVantage
        } else {
            Source::File
        };
        let instrument = instrument.clone();
        let summary = tokio::task::spawn_blocking(move || {
            cache.ingest_bars_as(&fetched.bars, source, &fetched.request, Some(&instrument))
        })
        .await
        .map_err(|e| DataError::Invalid(format!("ingest task failed: {e}")))??;
        Ok(RefreshOutcome {
            symbol: symbol.to_string(),
            plan: format!("{plan:?}").to_lowercase(),
            summary: Some(summary),
        })
    }
}

/// The refresh policy, pure so it is tested without a provider.
pub fn plan(
    last_cached: Option<NaiveDate>,
    resolution: Resolution,
    today: NaiveDate,
) -> RefreshPlan {
    let Some(last) = last_cached else {
        return RefreshPlan::Full;
    };
    let target = last_completed_session(today);
    let fresh = match resolution {
        Resolution::Weekly => last + chrono::Duration::days(7) > target,
        Resolution::Monthly => last.year() == target.year() && last.month() == target.month(),
        _ => last >= target,
    };
    if fresh {
        return RefreshPlan::UpToDate;
    }
    let gap_days = (target - last).num_days();
    let gap_bars = match resolution {
        Resolution::Weekly => gap_days / 7,
        Resolution::Monthly => gap_days / 30,
        Resolution::Daily => gap_days * 5 / 7,
        // Intraday: bars per session (regular + extended hours, 16 h).
        r => gap_days * 5 / 7 * 16 * 60 / i64::from(r.minutes().unwrap_or(1)),
    };
    if gap_bars < COMPACT_BARS - 5 {
        RefreshPlan::Compact
    } else {
        RefreshPlan::Full
    }
}

/// The last weekday strictly before `today` (holidays are treated as sessions: at worst one
/// extra compact request).
fn last_completed_session(today: NaiveDate) -> NaiveDate {
    let mut d = today.pred_opt().unwrap_or(today);
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d = d.pred_opt().unwrap_or(d);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn refresh_policy() {
        let mon = d("2024-05-06");
        assert_eq!(plan(None, Resolution::Daily, mon), RefreshPlan::Full);
        assert_eq!(
            plan(Some(d("2024-05-03")), Resolution::Daily, mon),
            RefreshPlan::UpToDate
        );
        assert_eq!(
            plan(Some(d("2024-04-20")), Resolution::Daily, mon),
            RefreshPlan::Compact
        );
        assert_eq!(
            plan(Some(d("2023-01-02")), Resolution::Daily, mon),
            RefreshPlan::Full
        );
        assert_eq!(
            plan(Some(d("2024-04-30")), Resolution::Monthly, mon),
            RefreshPlan::Compact
        );
        assert_eq!(
            plan(Some(d("2024-05-03")), Resolution::Weekly, mon),
            RefreshPlan::UpToDate
        );
    }
}
