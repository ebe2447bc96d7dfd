//! The cache's tables. Kept in one place so that the schema version and the DDL move together.

/// Bumped when the DDL changes incompatibly; stored in `schema_info`. Version 2 made
/// `bars.resolution` and `bars.source` ENUMs ([`migrate_v1`] converts a version-1 file on open).
pub const SCHEMA_VERSION: i32 = 2;

/// The ENUM of `bars.resolution`: every [`sextant_domain::Resolution`] name, sorted, so that the
/// ENUM's order (its index) is the names' order and every `ORDER BY resolution` is unchanged.
pub const RESOLUTION_ENUM: &str =
    "ENUM('15min', '1min', '30min', '5min', '60min', 'daily', 'monthly', 'weekly')";

/// The ENUM of `bars.source`: every provenance a stored bar may carry, sorted (see
/// [`RESOLUTION_ENUM`]).
pub const SOURCE_ENUM: &str = "ENUM('alphavantage', 'file', 'resampled', 'sample')";

/// Converts a version-1 cache: the two columns become ENUMs (values outside them cannot be in
/// a version-1 file either: the ingest refused them), and the version is recorded.
pub fn migrate_v1() -> String {
    format!(
        "ALTER TABLE bars ALTER resolution SET DATA TYPE {RESOLUTION_ENUM}; \
         ALTER TABLE bars ALTER source SET DATA TYPE {SOURCE_ENUM}; \
         UPDATE schema_info SET version = 2;"
    )
}

/// Columns a bar has in `bars`, `bar_revisions` and the staging table, in this order.
pub const BAR_VALUE_COLUMNS: &str =
    "symbol, resolution, ts, tz, session, open, high, low, close, volume, \
     adj_close, dividend, split_coefficient, source";

pub const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL);

-- One row per bar. `ts` is UTC: the interval start for intraday bars, the session date at 00:00
-- for daily and coarser bars. `session` is the exchange-local trading date, kept so that session
-- boundaries never need a time-zone library at query time.
--
-- (symbol, resolution, ts) is the primary key. It is enforced by the merge (every write goes
-- through `merge_stage`: exact duplicates collapse, conflicting ones reject the batch, existing
-- keys are updated, never inserted again) under a process-wide write lock, with DuckDB's file lock
-- excluding other processes; `Cache::check_keys` verifies it. It is not declared as a DuckDB
-- PRIMARY KEY because maintaining that ART index makes bulk ingest ~4x slower (1M 1-minute bars:
-- 1.1 s with the index, 0.28 s without, measured here) and range scans do not use it anyway.
--
-- `resolution` and `source` are ENUMs (RESOLUTION_ENUM and SOURCE_ENUM in schema.rs, sorted so
-- that ordering by them is ordering by name): DuckDB analyses a VARCHAR column for compression on
-- every write even when it is one constant, and the two cost ~0.4 s of a ~1.1 s write of 1M
-- 1-minute bars (measured here).
CREATE TABLE IF NOT EXISTS bars (
    symbol VARCHAR NOT NULL,
    resolution ENUM('15min', '1min', '30min', '5min', '60min', 'daily', 'monthly', 'weekly') NOT NULL,
    ts TIMESTAMP NOT NULL,
    tz VARCHAR NOT NULL,
    session DATE NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL,
    adj_close DOUBLE,
    dividend DOUBLE NOT NULL,
    split_coefficient DOUBLE NOT NULL,
    source ENUM('alphavantage', 'file', 'resampled', 'sample') NOT NULL,
    batch_id VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL
);

-- The previous version of every bar an ingest changed: provenance is never overwritten.
CREATE TABLE IF NOT EXISTS bar_revisions (
    symbol VARCHAR NOT NULL,
    resolution VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    tz VARCHAR NOT NULL,
    session DATE NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL,
    adj_close DOUBLE,
    dividend DOUBLE NOT NULL,
    split_coefficient DOUBLE NOT NULL,
    source VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    replaced_at TIMESTAMP NOT NULL,
    replaced_by VARCHAR NOT NULL
);

-- One row per ingest batch (one transaction).
CREATE TABLE IF NOT EXISTS ingest_batches (
    batch_id VARCHAR PRIMARY KEY,
    source VARCHAR NOT NULL,
    request VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL,
    rows_in BIGINT NOT NULL,
    inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    unchanged BIGINT NOT NULL
);

-- Backtest equity curves (one row per run and bar).
CREATE TABLE IF NOT EXISTS equity_curves (
    run_id VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    equity DOUBLE NOT NULL,
    cash DOUBLE NOT NULL
);

-- Regime labels (one row per regime model and session; see `regimes`).
CREATE TABLE IF NOT EXISTS regime_labels (
    model VARCHAR NOT NULL,
    day DATE NOT NULL,
    label VARCHAR NOT NULL,
    probabilities VARCHAR NOT NULL,
    fitted_to DATE NOT NULL
);

-- Forecasts of value distributions (see `forecasts`): one row per forecast with what produced
-- it, and its quantiles per horizon day.
CREATE TABLE IF NOT EXISTS forecasts (
    id VARCHAR NOT NULL,
    target_kind VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    horizon INTEGER NOT NULL,
    paths INTEGER NOT NULL,
    seed UBIGINT NOT NULL,
    start_value DOUBLE NOT NULL,
    snapshot VARCHAR NOT NULL,
    spec VARCHAR NOT NULL,
    fit VARCHAR NOT NULL,
    risk VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS forecast_quantiles (
    id VARCHAR NOT NULL,
    day INTEGER NOT NULL,
    quantile DOUBLE NOT NULL,
    value DOUBLE NOT NULL
);

-- Which ranges each batch covered, per symbol and resolution: what the incremental refresh reads.
CREATE TABLE IF NOT EXISTS coverage (
    symbol VARCHAR NOT NULL,
    resolution VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    first_ts TIMESTAMP NOT NULL,
    last_ts TIMESTAMP NOT NULL,
    rows BIGINT NOT NULL,
    batch_id VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);

-- Rows the quality checks isolated (see `quality`): the bar as received, its provenance, why it
-- was held, and the review that released or dropped it. Never read by features or backtests.
CREATE SEQUENCE IF NOT EXISTS quarantine_seq START 1;
CREATE TABLE IF NOT EXISTS quarantine (
    id BIGINT NOT NULL,
    symbol VARCHAR NOT NULL,
    resolution VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    tz VARCHAR NOT NULL,
    session DATE NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume DOUBLE NOT NULL,
    adj_close DOUBLE,
    dividend DOUBLE NOT NULL,
    split_coefficient DOUBLE NOT NULL,
    source VARCHAR NOT NULL,
    batch_id VARCHAR NOT NULL,
    request VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    reasons VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    status VARCHAR NOT NULL,
    reviewed_by VARCHAR,
    reviewed_at TIMESTAMP,
    review_note VARCHAR
);

-- Every finding of the checks, including notices that did not isolate their row.
CREATE TABLE IF NOT EXISTS quality_flags (
    symbol VARCHAR NOT NULL,
    resolution VARCHAR NOT NULL,
    ts TIMESTAMP NOT NULL,
    check_name VARCHAR NOT NULL,
    severity VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    detail VARCHAR NOT NULL,
    quarantined BOOLEAN NOT NULL,
    batch_id VARCHAR NOT NULL,
    flagged_at TIMESTAMP NOT NULL
);

-- Materialised feature views: one row per (name, version), its table and the data it came from.
CREATE TABLE IF NOT EXISTS feature_views (
    name VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    resolution VARCHAR NOT NULL,
    definition VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    symbols BIGINT NOT NULL,
    data_snapshot VARCHAR NOT NULL,
    materialized_at TIMESTAMP NOT NULL
);

-- What each symbol is and when it trades (see `sextant_domain::Instrument`). A symbol with no
-- row is a US equity on the NYSE calendar.
CREATE TABLE IF NOT EXISTS instruments (
    symbol VARCHAR NOT NULL,
    asset_class VARCHAR NOT NULL,
    session VARCHAR NOT NULL,
    base VARCHAR,
    quote VARCHAR,
    updated_at TIMESTAMP NOT NULL
);

-- Dividends and splits as a vendor reports them (Alpha Vantage DIVIDENDS / SPLITS). `kind` is
-- `dividend` (value: cash per share, `day`: ex-date) or `split` (value: new/old shares, `day`:
-- effective date). Read over the raw bars of a series that carries no corporate actions of its
-- own, so raw prices plus these give split-adjusted and total-return series.
CREATE TABLE IF NOT EXISTS corporate_actions (
    symbol VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    day DATE NOT NULL,
    declaration_date DATE,
    record_date DATE,
    payment_date DATE,
    value DOUBLE NOT NULL,
    request VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL
);
-- One row per symbol whose actions were fetched, even when it has none (then its prices are
-- known to need no adjustment).
CREATE TABLE IF NOT EXISTS corporate_action_fetches (
    symbol VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    request VARCHAR NOT NULL,
    events BIGINT NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);

-- Economic series (Treasury yields, the funds rate, CPI): one row per series, its observations
-- with the first date each may be used (`available_from`, the release lag applied).
CREATE TABLE IF NOT EXISTS economic_series (
    series VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    request VARCHAR NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS economic_observations (
    series VARCHAR NOT NULL,
    day DATE NOT NULL,
    value DOUBLE,
    available_from DATE NOT NULL
);

-- The vendor's symbol directory (Alpha Vantage LISTING_STATUS), replaced per state on refresh.
CREATE TABLE IF NOT EXISTS symbol_directory (
    symbol VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    exchange VARCHAR NOT NULL,
    asset_type VARCHAR NOT NULL,
    ipo_date DATE,
    delisting_date DATE,
    status VARCHAR NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);

-- Bars the exchange calendar expects and no ingest delivered.
CREATE TABLE IF NOT EXISTS quality_gaps (
    symbol VARCHAR NOT NULL,
    resolution VARCHAR NOT NULL,
    first_missing TIMESTAMP NOT NULL,
    last_missing TIMESTAMP NOT NULL,
    missing BIGINT NOT NULL,
    batch_id VARCHAR NOT NULL,
    found_at TIMESTAMP NOT NULL
);
"#;

/// The per-connection staging table every ingest path fills before the merge.
pub const STAGE_DDL: &str = r#"
CREATE OR REPLACE TEMP TABLE stage_bars (
    symbol VARCHAR,
    resolution VARCHAR,
    ts TIMESTAMP,
    tz VARCHAR,
    session DATE,
    open DOUBLE,
    high DOUBLE,
    low DOUBLE,
    close DOUBLE,
    volume DOUBLE,
    adj_close DOUBLE,
    dividend DOUBLE,
    split_coefficient DOUBLE,
    source VARCHAR
);
"#;

/// Drops the staging tables of an ingest (temp tables: they hold the whole batch in memory).
pub const DROP_STAGE: &str = "DROP TABLE IF EXISTS raw_file; DROP TABLE IF EXISTS stage_distinct; \
    DROP TABLE IF EXISTS stage_rows; DROP TABLE IF EXISTS stage_bars;";

/// The checks' findings for the batch being merged.
pub const STAGE_FLAGS_DDL: &str = r#"
CREATE OR REPLACE TEMP TABLE stage_flags (
    symbol VARCHAR,
    resolution VARCHAR,
    ts TIMESTAMP,
    check_name VARCHAR,
    severity VARCHAR,
    score DOUBLE,
    detail VARCHAR
);
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn enum_of(names: impl Iterator<Item = &'static str>) -> String {
        let mut v: Vec<&str> = names.collect();
        v.sort_unstable();
        let quoted: Vec<String> = v.iter().map(|n| format!("'{n}'")).collect();
        format!("ENUM({})", quoted.join(", "))
    }

    #[test]
    fn enums_hold_every_name_sorted_and_the_ddl_uses_them() {
        let res = enum_of(sextant_domain::Resolution::ALL.iter().map(|r| r.as_str()));
        assert_eq!(RESOLUTION_ENUM, res);
        let src = enum_of(super::super::query::SOURCES.iter().map(|s| s.as_str()));
        assert_eq!(SOURCE_ENUM, src);
        assert!(DDL.contains(&format!("resolution {RESOLUTION_ENUM} NOT NULL")));
        assert!(DDL.contains(&format!("source {SOURCE_ENUM} NOT NULL")));
    }
}
