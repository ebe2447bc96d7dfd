//! Cache behaviour on the bundled real data: sample load, idempotent re-ingest, coverage,
//! resampling against an independent SQL computation, Parquet round trip, adjustments.

use chrono::NaiveDate;
use sextant_data::cache::{FileOptions, Slice};
use sextant_data::{Cache, DataError};
use sextant_domain::{Resolution, Symbol};
use std::path::PathBuf;

fn sample_path() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test"),
    )
    .join("../../data/sample/us-equities-daily-2000-2013.csv.gz")
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("symbol")
}

#[test]
fn sample_loads_real_prices() {
    let cache = Cache::open_in_memory().expect("open");
    assert!(cache.is_empty().expect("empty"));
    let s = cache.ingest_sample().expect("sample");
    assert_eq!(s.rows_in, 3 * 3270 + 2148 + 196);
    assert_eq!(s.inserted, s.rows_in);
    let bars = cache
        .bars(
            &sym("MSFT"),
            Resolution::Daily,
            Some(d("2008-10-10")),
            Some(d("2008-10-10")),
        )
        .expect("bars");
    assert_eq!(bars.len(), 1);
    // MSFT on 2008-10-10 (the crash week), from the source file.
    assert_eq!(bars[0].close, 21.5);
    let syms: Vec<String> = cache
        .symbols()
        .expect("symbols")
        .into_iter()
        .map(|s| s.symbol)
        .collect();
    assert_eq!(syms, vec!["AAPL", "FB", "GOOG", "IBM", "MSFT"]);
}

#[test]
fn ingesting_twice_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let cache = Cache::open(&dir.path().join("c.duckdb")).expect("open");
    let opts = FileOptions::default();
    let first = cache.ingest_file(&sample_path(), &opts).expect("first");
    let before = cache
        .bars(&sym("AAPL"), Resolution::Daily, None, None)
        .expect("bars");
    let second = cache.ingest_file(&sample_path(), &opts).expect("second");
    assert_eq!(second.inserted, 0);
    assert_eq!(second.updated, 0);
    assert_eq!(second.unchanged, first.rows_in);
    let after = cache
        .bars(&sym("AAPL"), Resolution::Daily, None, None)
        .expect("bars");
    assert_eq!(
        before, after,
        "byte-identical query results, ingested_at included"
    );
    let cov = cache.coverage(Some(&sym("GOOG"))).expect("coverage");
    assert_eq!(cov.len(), 1);
    assert_eq!(cov[0].rows, 2148);
    assert_eq!(cov[0].ranges.len(), 1);
    assert_eq!(cov[0].ranges[0].first_ts.date(), d("2004-08-19"));
    assert_eq!(cov[0].ranges[0].last_ts.date(), d("2013-03-01"));
}

#[test]
fn missing_file_is_a_typed_error() {
    let cache = Cache::open_in_memory().expect("open");
    let err = cache.ingest_file(
        std::path::Path::new("/nonexistent.csv"),
        &FileOptions::default(),
    );
    assert!(matches!(err, Err(DataError::File { .. })));
}

#[test]
fn parquet_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    let out = dir.path().join("msft.parquet");
    let slice = Slice {
        symbols: vec![sym("MSFT")],
        resolution: Some(Resolution::Daily),
        from: Some(d("2008-01-01")),
        to: Some(d("2008-12-31")),
    };
    let n = cache.export_parquet(&slice, &out).expect("export");
    assert_eq!(n, 253);
    let other = Cache::open_in_memory().expect("open");
    let s = other.import_parquet(&out).expect("import");
    assert_eq!(s.inserted, 253);
    assert_eq!(
        other.snapshot_hash(&slice).expect("h"),
        cache.snapshot_hash(&slice).expect("h")
    );

    // A provenance the cache does not know is refused at the import (before, it was stored
    // and then read back as `file`).
    // So is a resolution it does not know (the stored column is an ENUM of the known ones).
    for (field, replace) in [
        ("source", "'polygon' AS source"),
        ("resolution", "'2min' AS resolution"),
    ] {
        let forged = dir.path().join(format!("forged-{field}.parquet"));
        duckdb::Connection::open_in_memory()
            .expect("duckdb")
            .execute_batch(&format!(
                "COPY (SELECT * REPLACE ({replace}) FROM read_parquet('{}')) TO '{}' \
                 (FORMAT parquet)",
                out.display(),
                forged.display()
            ))
            .expect("forge");
        let third = Cache::open_in_memory().expect("open");
        match third.import_parquet(&forged) {
            Err(DataError::InvalidBar { message, .. }) => {
                assert!(message.contains(field), "{message}")
            }
            other => panic!("an unknown {field} was imported: {other:?}"),
        }
        assert!(
            third.is_empty().expect("empty"),
            "nothing of the batch written"
        );
    }
}

#[test]
fn worker_snapshot_reloads_the_same_tables() {
    let dir = tempfile::tempdir().expect("tmp");
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    let symbols = [sym("MSFT"), sym("GOOG")];
    let files = cache
        .export_snapshot(&symbols, Resolution::Daily, dir.path())
        .expect("export");
    assert_eq!(files.len(), sextant_data::cache::SNAPSHOT_TABLES.len());
    let bars = files.iter().find(|f| f.table == "bars").expect("bars file");
    assert_eq!(bars.rows, 3270 + 2148, "MSFT and GOOG only");
    // Equal data gives equal files: a second export is byte-identical.
    let again = tempfile::tempdir().expect("tmp");
    let files2 = cache
        .export_snapshot(&symbols, Resolution::Daily, again.path())
        .expect("export");
    for (a, b) in files.iter().zip(&files2) {
        let (x, y) = (
            std::fs::read(&a.path).expect("read"),
            std::fs::read(&b.path).expect("read"),
        );
        assert!(x == y, "{} differs between two exports", a.table);
    }
    let other = Cache::open_in_memory().expect("open");
    let list: Vec<(String, PathBuf)> = files
        .iter()
        .map(|f| (f.table.clone(), f.path.clone()))
        .collect();
    let rows = other.import_snapshot(&list).expect("import");
    assert_eq!(rows, files.iter().map(|f| f.rows).sum::<u64>());
    for s in &symbols {
        let slice = Slice {
            symbols: vec![s.clone()],
            resolution: Some(Resolution::Daily),
            from: None,
            to: None,
        };
        assert_eq!(
            other.snapshot_hash(&slice).expect("h"),
            cache.snapshot_hash(&slice).expect("h")
        );
    }
    let aapl = Slice {
        symbols: vec![sym("AAPL")],
        resolution: Some(Resolution::Daily),
        from: None,
        to: None,
    };
    assert_eq!(
        other.snapshot_hash(&aapl).expect("h"),
        Cache::open_in_memory()
            .expect("open")
            .snapshot_hash(&aapl)
            .expect("h"),
        "symbols outside the snapshot are not in it"
    );
    let bad = vec![("schema_info".to_string(), bars.path.clone())];
    assert!(matches!(
        other.import_snapshot(&bad),
        Err(DataError::Invalid(_))
    ));
}

#[test]
fn concurrent_writers_never_duplicate_a_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let cache = std::sync::Arc::new(Cache::open(&dir.path().join("c.duckdb")).expect("open"));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let c = cache.try_clone().expect("clone");
            std::thread::spawn(move || {
                c.ingest_file(&sample_path(), &FileOptions::default())
                    .map(|s| s.inserted)
            })
        })
        .collect();
    let inserted: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("join").expect("ingest"))
        .sum();
    assert_eq!(inserted, 12_154, "exactly one writer inserted the rows");
    assert_eq!(cache.check_keys().expect("keys"), 0);
}

/// A cache file of schema 1 (VARCHAR `resolution` and `source`) is converted on open: same bars,
/// same snapshot hash, ENUM columns, version 2; a file newer than this build is refused.
#[test]
fn schema_1_file_is_converted_on_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("v1.duckdb");
    let all = Slice {
        symbols: Vec::new(),
        resolution: None,
        from: None,
        to: None,
    };
    let (before, hash) = {
        let cache = Cache::open(&path).expect("open");
        cache.ingest_sample().expect("sample");
        let bars = cache
            .bars(&sym("AAPL"), Resolution::Daily, None, None)
            .expect("bars");
        let hash = cache.snapshot_hash(&all).expect("hash");
        // Turn the file back into what a schema-1 build wrote.
        cache
            .conn()
            .execute_batch(
                "ALTER TABLE bars ALTER resolution SET DATA TYPE VARCHAR; \
                 ALTER TABLE bars ALTER source SET DATA TYPE VARCHAR; \
                 UPDATE schema_info SET version = 1;",
            )
            .expect("downgrade");
        (bars, hash)
    };
    let cache = Cache::open(&path).expect("reopen");
    let types: Vec<(String, String)> = {
        let conn = cache.conn();
        let mut stmt = conn
            .prepare(
                "SELECT column_name, data_type FROM information_schema.columns \
                 WHERE table_name = 'bars' AND column_name IN ('resolution', 'source') ORDER BY 1",
            )
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    };
    assert_eq!(types.len(), 2);
    for (col, ty) in &types {
        assert!(ty.starts_with("ENUM"), "{col}: {ty}");
    }
    let version: i32 = cache
        .conn()
        .query_row("SELECT max(version) FROM schema_info", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, 2);
    let after = cache
        .bars(&sym("AAPL"), Resolution::Daily, None, None)
        .expect("bars");
    assert_eq!(after, before);
    assert_eq!(cache.snapshot_hash(&all).expect("hash"), hash);
    // A later ingest of the same file still finds every bar unchanged.
    let again = cache.ingest_sample().expect("sample again");
    assert_eq!(again.unchanged, again.rows_in);

    cache
        .conn()
        .execute_batch("UPDATE schema_info SET version = 3")
        .expect("bump");
    drop(cache);
    match Cache::open(&path) {
        Err(DataError::Invalid(m)) => assert!(m.contains("schema 3"), "{m}"),
        other => panic!("expected a schema error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_failed_write_leaves_insertion_order_preserved() {
    let cache = Cache::open_in_memory().expect("open");
    let preserve = |cache: &Cache| -> bool {
        cache
            .conn()
            .query_row(
                "SELECT current_setting('preserve_insertion_order')",
                [],
                |r| r.get(0),
            )
            .expect("setting")
    };
    assert!(preserve(&cache));
    // A write that relaxes the setting for a statement and then fails inside its transaction
    // (where no SET can run any more) as the feature store's parallel insert may.
    let out: Result<(), DataError> = cache.write(|conn| {
        conn.execute_batch("SET SESSION preserve_insertion_order = false")?;
        conn.execute_batch("SELECT * FROM no_such_table")?;
        Ok(())
    });
    assert!(out.is_err());
    assert!(preserve(&cache), "reset after the rollback");
}
