//! Checks on the staging table that need nothing stored: validation (the whole batch is refused
//! on the first unusable row) and de-duplication. They run before the write transaction (see
//! [`super::Cache::write_staged`]).

use crate::{DataError, Result};
use duckdb::{Connection, OptionalExt};
use sextant_domain::Resolution;
use sextant_quality::{Check, Flag};

/// The part of [`super::ingest::merge_stage`] that touches only the staging table: validation (the whole batch
/// is refused on the first unusable row) and de-duplication (returning a notice per collapsed
/// duplicate). It may run before the write transaction (see [`Cache::write_staged`]).
/// `keys_distinct`: the stager knows no two rows share a key (the fast CSV reader checks it
/// in its pass), so the de-duplication pass is skipped.
pub(crate) fn prepare_stage(conn: &Connection, keys_distinct: bool) -> Result<Vec<Flag>> {
    prepare_screened(conn, false, keys_distinct)
}

/// [`prepare_stage`] for a stager that has already screened every row against the rules of the
/// validation (`screened`: the fast reader's parked rows passed [`super::staged::ParkedStage::
/// passes_validation`]); the SQL pass, which words the error, then runs only when they did not.
pub(crate) fn prepare_screened(
    conn: &Connection,
    screened: bool,
    keys_distinct: bool,
) -> Result<Vec<Flag>> {
    let t = std::time::Instant::now();
    if !screened {
        validate_stage(conn)?;
        tracing::debug!(ms = t.elapsed().as_millis() as u64, "stage validated");
    }
    if keys_distinct {
        return Ok(Vec::new());
    }
    let duplicates = dedupe_stage(conn)?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "stage deduplicated");
    Ok(duplicates)
}

/// Rejects the whole batch on the first unusable row by (symbol, ts), naming symbol, timestamp
/// and field (the stage may be scanned on several threads: the row named must not depend on it).
/// (`ParkedStage::passes_validation` screens parked rows by the same rules.)
fn validate_stage(conn: &Connection) -> Result<()> {
    let bad_symbol: Option<String> = conn
        .query_row(
            "SELECT coalesce(symbol, '<missing>') FROM (SELECT DISTINCT symbol FROM stage_bars) \
             WHERE symbol IS NULL OR NOT regexp_full_match(symbol, '[A-Z0-9.\\-^_/]{1,32}') \
             ORDER BY symbol NULLS FIRST LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(s) = bad_symbol {
        return Err(DataError::Symbol(sextant_domain::InvalidSymbol(s)));
    }
    let known_sources = super::query::SOURCES
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // An unknown provenance (a hand-made Parquet import) would make every later read fail.
    let source_check = format!("source IS NULL OR source NOT IN ({known_sources})");
    // Likewise an unknown resolution (the stored column is an ENUM of the known ones).
    let known_resolutions = Resolution::ALL
        .iter()
        .map(|r| format!("'{}'", r.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let resolution_check = format!("resolution IS NULL OR resolution NOT IN ({known_resolutions})");
    let checks = [
        ("source", source_check.as_str()),
        ("resolution", resolution_check.as_str()),
        ("timestamp", "ts IS NULL OR session IS NULL"),
        ("open", "open IS NULL OR NOT isfinite(open)"),
        ("high", "high IS NULL OR NOT isfinite(high)"),
        ("low", "low IS NULL OR NOT isfinite(low)"),
        ("close", "close IS NULL OR NOT isfinite(close)"),
        ("volume", "volume IS NULL OR NOT isfinite(volume)"),
        ("adj_close", "adj_close IS NOT NULL AND NOT isfinite(adj_close)"),
        ("dividend", "dividend IS NULL OR NOT isfinite(dividend)"),
        ("split_coefficient", "split_coefficient IS NULL OR NOT isfinite(split_coefficient) OR split_coefficient <= 0"),
    ];
    let where_any = checks
        .iter()
        .map(|(_, c)| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let case = checks
        .iter()
        .map(|(f, c)| format!("WHEN {c} THEN '{f}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let row: Option<(String, Option<String>, String)> = conn
        .query_row(
            &format!(
                "SELECT symbol, CAST(ts AS VARCHAR), CASE {case} END FROM stage_bars WHERE {where_any} \
                 ORDER BY symbol, ts NULLS FIRST LIMIT 1"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((symbol, ts, field)) = row {
        return Err(DataError::InvalidBar {
            symbol,
            ts: ts.unwrap_or_else(|| "<unparseable timestamp>".into()),
            message: format!("missing or malformed {field}; nothing of this batch was written"),
        });
    }
    Ok(())
}

/// Collapses exact duplicate rows, returning a notice for each; rejects the batch when two rows
/// share a key but differ.
fn dedupe_stage(conn: &Connection) -> Result<Vec<Flag>> {
    // A cheap screen on one 64-bit hash per key; only a hit (a duplicate, or a rare collision)
    // pays for the exact check below.
    let maybe_dup: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM stage_bars GROUP BY hash(symbol, resolution, ts) HAVING count(*) > 1)",
        [],
        |r| r.get(0),
    )?;
    if !maybe_dup {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT symbol, resolution, ts, count(*) FROM stage_bars GROUP BY symbol, resolution, ts \
         HAVING count(*) > 1 ORDER BY 1, 2, 3",
    )?;
    let dups = stmt
        .query_map([], |r| {
            let copies: i64 = r.get(3)?;
            Ok(Flag {
                symbol: r.get(0)?,
                resolution: super::resolution_at(r, 1)?,
                ts: r.get(2)?,
                check: Check::DuplicateRow,
                severity: sextant_quality::Severity::Notice,
                score: copies as f64,
                detail: format!("{copies} copies of this bar in one batch; kept one"),
            })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if dups.is_empty() {
        return Ok(dups);
    }
    conn.execute_batch(
        "CREATE OR REPLACE TEMP TABLE stage_distinct AS SELECT DISTINCT * FROM stage_bars",
    )?;
    let conflict: Option<(String, String, String)> = conn
        .query_row(
            "SELECT symbol, resolution, CAST(ts AS VARCHAR) FROM stage_distinct \
             GROUP BY symbol, resolution, ts HAVING count(*) > 1 ORDER BY 1, 2, 3 LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    if let Some((symbol, resolution, ts)) = conflict {
        return Err(DataError::ConflictingDuplicate {
            symbol,
            resolution,
            ts,
        });
    }
    super::staged::ensure_table(conn)?;
    conn.execute_batch("DELETE FROM stage_bars; INSERT INTO stage_bars SELECT * FROM stage_distinct; DROP TABLE stage_distinct;")?;
    Ok(dups)
}
