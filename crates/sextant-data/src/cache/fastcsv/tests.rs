//! The fast CSV reader's pieces, and parity: every file the tests know is stored the same
//! (rows, values to the bit, flags, quarantine, coverage) through it and through `read_csv`.

use super::parse::*;
use super::*;

#[test]
fn numbers_are_read_as_duckdb_reads_them_or_refused() {
    assert_eq!(parse_number(b"100.1234"), Some(100.1234));
    assert_eq!(parse_number(b"-2.5e-3"), Some(-0.0025));
    assert_eq!(parse_number(b"4000"), Some(4000.0));
    assert!(parse_number(b"").is_some_and(f64::is_nan));
    for bad in [
        &b"1."[..],
        b".5",
        b"+1",
        b"1e",
        b"nan",
        b"inf",
        b" 1",
        b"1,5",
        b"-0",
        b"-0.0",
        b"0x10",
    ] {
        assert_eq!(parse_number(bad), None, "{:?}", std::str::from_utf8(bad));
    }
}

#[test]
fn times_are_strict_iso() {
    let mut memo = ([0; 10], 0);
    assert_eq!(parse_time(b"1970-01-02", &mut memo), Some(DAY));
    assert_eq!(
        parse_time(b"1970-01-02 00:01:05", &mut memo),
        Some(DAY + 65)
    );
    assert_eq!(
        parse_time(b"1970-01-02T00:01:05", &mut memo),
        Some(DAY + 65)
    );
    assert_eq!(parse_time(b"1969-12-31", &mut memo), Some(-DAY));
    for bad in [
        &b"2020-02-30"[..],
        b"2020-1-02",
        b"2020-01-02 24:00:00",
        b"2020-01-02 09:30",
        b"02/01/2020",
    ] {
        assert_eq!(
            parse_time(bad, &mut memo),
            None,
            "{:?}",
            std::str::from_utf8(bad)
        );
    }
}

#[test]
fn typed_looking_symbols_are_left_to_duckdb() {
    assert_eq!(symbol_text(b" aapl "), Some("AAPL".into()));
    assert_eq!(symbol_text(b"BRK.B"), Some("BRK.B".into()));
    for bad in [&b"1234"[..], b"true", b"T", b"1e5", b"\xc3\xa9"] {
        assert_eq!(symbol_text(bad), None);
    }
}

#[test]
fn chunks_hold_whole_lines() {
    let body = b"a,1\nbb,2\nccc,3\nd,4";
    for n in 1..8 {
        let b = chunk_bounds(body, n);
        assert_eq!(b.first().map(|x| x.0), Some(0));
        assert_eq!(b.last().map(|x| x.1), Some(body.len()));
        for w in b.windows(2) {
            assert_eq!(w[0].1, w[1].0);
            assert_eq!(body[w[0].1 - 1], b'\n');
        }
    }
}

#[test]
fn resolution_is_inferred_as_the_sql_path_does() {
    use sextant_domain::Resolution;
    assert_eq!(
        infer_resolution(&[0, DAY, 3 * DAY]),
        Some(Resolution::Daily)
    );
    assert_eq!(
        infer_resolution(&[600, 900, DAY + 60]),
        Some(Resolution::Min5)
    );
    assert_eq!(infer_resolution(&[600, 660]), Some(Resolution::Min1));
    assert_eq!(infer_resolution(&[600, DAY + 600]), None);
}

// ---- parity with read_csv ----

use crate::cache::{Cache, CsvReader, IngestSummary};
use sextant_domain::Symbol;

/// Every stored table that an ingest writes, as debug text of each row (doubles print to the
/// bit), without the columns that differ by batch (ids, `*_at` times).
fn dump(cache: &Cache) -> Vec<String> {
    let conn = cache.conn();
    let mut out = Vec::new();
    for table in [
        "bars",
        "quarantine",
        "quality_flags",
        "quality_gaps",
        "coverage",
        "instruments",
    ] {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT column_name FROM information_schema.columns WHERE table_name = '{table}' \
                 AND column_name NOT IN ('batch_id', 'id') AND column_name NOT LIKE '%\\_at' ESCAPE '\\' \
                 ORDER BY ordinal_position"
            ))
            .expect("columns");
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("columns")
            .collect::<std::result::Result<_, _>>()
            .expect("columns");
        let list = cols
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn
            .prepare(&format!("SELECT {list} FROM {table} ORDER BY ALL"))
            .expect("select");
        let rows = stmt
            .query_map([], |r| {
                (0..cols.len())
                    .map(|i| r.get::<_, duckdb::types::Value>(i))
                    .collect::<std::result::Result<Vec<_>, _>>()
            })
            .expect("rows")
            .collect::<std::result::Result<Vec<_>, _>>()
            .expect("rows");
        out.push(format!("{table}: {} rows", rows.len()));
        out.extend(rows.iter().map(|r| format!("{table} {r:?}")));
    }
    out
}

fn comparable(s: &IngestSummary) -> String {
    format!(
        "{} {} {} {} {} {:?} {:?}",
        s.rows_in, s.inserted, s.updated, s.unchanged, s.quarantined, s.series, s.quality
    )
}

/// Ingests `path` both ways into fresh caches and asserts the same outcome; returns whether the
/// fast reader took the file.
fn parity(path: &Path, opts: &FileOptions) -> bool {
    let fast_takes = read_fast(path, opts).expect("fast reader").is_some();
    let run = |reader| {
        let cache = Cache::open_in_memory().expect("open");
        let opts = FileOptions {
            reader,
            ..opts.clone()
        };
        let first = cache.ingest_file(path, &opts).map(|s| comparable(&s));
        // A second ingest of the same file: every row unchanged, through the overlap path.
        let second = cache.ingest_file(path, &opts).map(|s| comparable(&s));
        (
            first.map_err(|e| e.to_string()),
            second.map_err(|e| e.to_string()),
            dump(&cache),
        )
    };
    let (fast, duck) = (run(CsvReader::Auto), run(CsvReader::DuckDb));
    assert_eq!(fast.0, duck.0, "{}: first ingest", path.display());
    assert_eq!(fast.1, duck.1, "{}: second ingest", path.display());
    assert_eq!(
        fast.2.len(),
        duck.2.len(),
        "{}: stored rows",
        path.display()
    );
    for (a, b) in fast.2.iter().zip(&duck.2) {
        assert_eq!(a, b, "{}", path.display());
    }
    fast_takes
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// `Ticker,Datetime,...` rows every `step` minutes from `from` to `to` (local wall clock) on
/// each day, values a deterministic walk with four decimals.
/// `n` consecutive calendar days from `first` (year, month, day), as `YYYY-MM-DD`.
fn calendar_days(first: (i32, u32, u32), n: u64) -> Vec<String> {
    let start = chrono::NaiveDate::from_ymd_opt(first.0, first.1, first.2).expect("date");
    (0..n)
        .map(|i| (start + chrono::Days::new(i)).to_string())
        .collect()
}

fn intraday(
    symbols: &[&str],
    days: &[&str],
    from: (u32, u32),
    to: (u32, u32),
    step: u32,
) -> String {
    let mut s = String::from("Ticker,Datetime,Open,High,Low,Close,Volume\n");
    let mut k = 0u64;
    for sym in symbols {
        for d in days {
            let mut m = from.0 * 60 + from.1;
            while m <= to.0 * 60 + to.1 {
                k += 1;
                let base = 100.0 + ((k * 7919) % 2001) as f64 / 1000.0;
                let spread = ((k * 104_729) % 500) as f64 / 10_000.0;
                s.push_str(&format!(
                    "{sym},{d} {:02}:{:02}:00,{:.4},{:.4},{:.4},{:.4},{}\n",
                    m / 60,
                    m % 60,
                    base,
                    base + spread,
                    base - spread,
                    base + spread / 3.0,
                    1000 + (k * 31) % 5000
                ));
                m += step;
            }
        }
    }
    s
}

#[test]
fn the_bundled_sample_is_stored_the_same_both_ways() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join(crate::providers::sample::FILE_NAME);
    std::fs::write(&p, crate::providers::sample::BYTES).expect("write");
    assert!(
        parity(&p, &FileOptions::default()),
        "the fast reader reads the sample"
    );
}

#[test]
fn intraday_across_both_dst_changes_is_stored_the_same_both_ways() {
    let dir = tempfile::tempdir().expect("tmp");
    let days = ["2021-03-12", "2021-03-15", "2021-11-05", "2021-11-08"];
    let p = write(
        dir.path(),
        "min.csv",
        &intraday(&["AA", "BB.X"], &days, (9, 30), (16, 0), 1),
    );
    assert!(parity(&p, &FileOptions::default()));
    // Round-the-clock rows written in UTC: every hour exists.
    let days = [
        "2021-03-13",
        "2021-03-14",
        "2021-03-15",
        "2021-11-06",
        "2021-11-07",
    ];
    let p = write(
        dir.path(),
        "utc.csv",
        &intraday(&["BTCUSD"], &days, (0, 0), (23, 45), 15),
    );
    let utc = FileOptions {
        timestamps_utc: true,
        ..FileOptions::default()
    };
    assert!(parity(&p, &utc));
    // The same rows as local New York time: the repeated hour of 2021-11-07 takes its earlier
    // instant, the skipped hour of 2021-03-14 does not exist, and both paths reject the file.
    assert!(!parity(&p, &FileOptions::default()));
    let days = ["2021-11-06", "2021-11-07", "2021-11-08"];
    let p = write(
        dir.path(),
        "local.csv",
        &intraday(&["BTCUSD"], &days, (0, 0), (23, 45), 15),
    );
    assert!(parity(&p, &FileOptions::default()));
    // Forced resolutions: a coarser one than the spacing, and daily over intraday rows.
    for r in [
        sextant_domain::Resolution::Min60,
        sextant_domain::Resolution::Daily,
    ] {
        let forced = FileOptions {
            resolution: Some(r),
            ..FileOptions::default()
        };
        parity(&p, &forced);
    }
}

#[test]
fn daily_layouts_are_stored_the_same_both_ways() {
    let dir = tempfile::tempdir().expect("tmp");
    let spy = FileOptions {
        symbol: Some(Symbol::new("SPY").expect("sym")),
        ..FileOptions::default()
    };
    // Yahoo's layout, CRLF and a byte-order mark, an empty Adj Close (NULL).
    let p = write(
        dir.path(),
        "spy.csv",
        "\u{feff}Date,Open,High,Low,Close,Adj Close,Volume\r\n2020-01-02,323.54,324.89,322.53,324.87,308.11,59151200\r\n2020-01-03,321.16,323.64,321.10,322.41,,77709700\r\n",
    );
    assert!(parity(&p, &spy));
    // Alpha Vantage's CSV: newest first, `timestamp`.
    let p = write(
        dir.path(),
        "ibm.csv",
        "timestamp,open,high,low,close,volume\n2024-05-06,166.5000,168.6700,166.3800,168.6100,4222266\n2024-05-03,165.0000,166.6100,164.9200,165.7100,3400405\n",
    );
    assert!(parity(&p, &spy));
    // Long layout with dividends and splits, symbols in mixed case with spaces, interleaved,
    // a -50 % split day and an exact duplicate row (collapsed with a notice).
    let p = write(
        dir.path(),
        "long.csv",
        "Ticker,Date,Open,High,Low,Close,Adj Close,Volume,Dividends,Stock Splits\n\
         aapl ,2020-08-27,500.0,510.0,495.0,500.04,124.0,1000,0.0,1.0\n\
         MSFT,2020-08-27,220.0,222.0,218.0,221.5,215.0,2000,0.0,1.0\n\
         AAPL,2020-08-28,505.0,510.0,495.0,499.23,124.8,1000,0.205,1.0\n\
         MSFT,2020-08-28,221.0,224.0,219.0,223.0,216.5,2000,0.0,1.0\n\
         AAPL,2020-08-31,127.58,131.0,126.0,129.04,128.2,3000,0.0,4.0\n\
         MSFT,2020-08-31,223.0,226.0,221.0,225.5,219.0,2000,0.0,1.0\n\
         MSFT,2020-08-31,223.0,226.0,221.0,225.5,219.0,2000,0.0,1.0\n",
    );
    assert!(parity(&p, &FileOptions::default()));
    // Two rows with one key and different values: both paths reject the batch.
    let p = write(
        dir.path(),
        "conflict.csv",
        "Ticker,Date,Open,High,Low,Close,Volume\nAAA,2020-01-02,1,2,0.5,1.5,10\nAAA,2020-01-02,1,2,0.5,1.6,10\n",
    );
    assert!(parity(&p, &FileOptions::default()));
}

#[test]
fn files_outside_the_fast_layout_fall_back_with_the_same_outcome() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases = [
        (
            "quoted.csv",
            "Ticker,Date,Open,High,Low,Close,Volume\n\"AAA\",2020-01-02,1,2,0.5,1.5,10\n",
        ),
        (
            "word.csv",
            "Ticker,Date,Open,High,Low,Close,Volume\nAAA,2020-01-02,1,2,0.5,n/a,10\n",
        ),
        (
            "nan.csv",
            "Ticker,Date,Open,High,Low,Close,Volume\nAAA,2020-01-02,1,2,0.5,NaN,10\n",
        ),
        (
            "semi.csv",
            "Ticker;Date;Open;High;Low;Close;Volume\nAAA;2020-01-02;1;2;0.5;1.5;10\n",
        ),
        (
            "slash.csv",
            "Ticker,Date,Open,High,Low,Close,Volume\nAAA,01/02/2020,1,2,0.5,1.5,10\n",
        ),
        (
            "short.csv",
            "Ticker,Date,Open,High,Low,Close,Volume\nAAA,2020-01-02,1,2,0.5,1.5\n",
        ),
        (
            "numeric.csv",
            "Ticker,Date,Open,High,Low,Close,Volume\n1234,2020-01-02,1,2,0.5,1.5,10\n",
        ),
        (
            "nodate.csv",
            "Ticker,When,Open,High,Low,Close,Volume\nAAA,2020-01-02,1,2,0.5,1.5,10\n",
        ),
        ("header.csv", "Ticker,Date,Open,High,Low,Close,Volume\n"),
    ];
    for (name, text) in cases {
        let p = write(dir.path(), name, text);
        assert!(
            !parity(&p, &FileOptions::default()),
            "{name} is not the fast layout"
        );
    }
    // Cells the fast reader reads but the checks refuse: the same error both ways.
    let p = write(
        dir.path(),
        "neg.csv",
        "Ticker,Date,Open,High,Low,Close,Volume,Stock Splits\nAAA,2020-01-02,1,2,0.5,1.5,10,0\nAAA,2020-01-03,1,2,0.5,,10,1\n",
    );
    assert!(parity(&p, &FileOptions::default()));
}

#[test]
fn a_file_of_many_ranges_is_stored_the_same_both_ways() {
    let dir = tempfile::tempdir().expect("tmp");
    // 3 symbols × 180 days × 391 minutes: more rows than the resolution is inferred from, so
    // ranges are held, then released, then streamed; an exact duplicate far into the file.
    let days = calendar_days((2021, 1, 4), 180);
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    let mut text = intraday(&["AA", "BB", "CC"], &days, (9, 30), (16, 0), 1);
    assert!(text.len() > 40 * CHUNK_BYTES && text.lines().count() > INFER_ROWS);
    let p = write(dir.path(), "big.csv", &text);
    assert!(parity(&p, &FileOptions::default()));
    let dup = text.lines().nth(150_000).expect("row").to_string();
    text.push_str(&dup);
    text.push('\n');
    let p = write(dir.path(), "dup.csv", &text);
    assert!(parity(&p, &FileOptions::default()));
    // A cell it does not read in the last range: the rows already appended are dropped and
    // read_csv decides (here: the same error both ways).
    text.push_str("CC,2021-07-02 09:30:00,1,2,0.5,x,10\n");
    let p = write(dir.path(), "bad.csv", &text);
    assert!(!parity(&p, &FileOptions::default()));
}

#[test]
fn statements_that_modify_the_stage_see_the_same_rows_both_ways() {
    let dir = tempfile::tempdir().expect("tmp");
    // A weekend in the rows: the checks hold those bars (an equity calendar).
    let days = ["2021-03-05", "2021-03-06", "2021-03-08", "2021-03-09"];
    let p = write(
        dir.path(),
        "eq.csv",
        &intraday(&["AA", "BB", "CC"], &days, (9, 30), (16, 0), 5),
    );
    // FX: the sessions of a 24×5 market are assigned in the write transaction (an UPDATE of the
    // stage).
    let fx = FileOptions {
        asset: Some(sextant_domain::AssetClass::Fx),
        ..FileOptions::default()
    };
    assert!(parity(&p, &fx));
    // A rejected bar sent again is dropped from the stage (a DELETE of the stage).
    let run = |reader| {
        let cache = Cache::open_in_memory().expect("open");
        let opts = FileOptions {
            reader,
            ..FileOptions::default()
        };
        let first = cache.ingest_file(&p, &opts).expect("first");
        assert!(first.quarantined > 0, "the weekend bars are held");
        let (held, _) = cache
            .quarantined(&crate::cache::QuarantineQuery {
                status: Some("pending".into()),
                limit: 1_000,
                ..Default::default()
            })
            .expect("held");
        let mut held: Vec<_> = held.into_iter().map(|h| (h.symbol, h.ts, h.id)).collect();
        held.sort();
        for (_, _, id) in held.iter().step_by(2) {
            cache
                .review(*id, crate::cache::Decision::Reject, "test", None)
                .expect("reject");
        }
        let again = cache.ingest_file(&p, &opts).expect("again");
        assert!(again.quarantined > 0);
        (comparable(&again), dump(&cache))
    };
    assert_eq!(run(CsvReader::Auto), run(CsvReader::DuckDb));
}

#[test]
fn the_exact_fast_path_gives_the_full_parsers_bits() {
    // xorshift64: any spread of digits will do.
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut below = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut cells = vec![
        "0.1".to_string(),
        "0.3".into(),
        "123456789012345".into(),
        "1234567890123456".into(),
        "9007199254740993".into(),
        "0.0000000000000000000001".into(),
        "99999999999999.9".into(),
        "1.7976931348623157".into(),
        "-0.5".into(),
        "5e-324".into(),
    ];
    for _ in 0..200_000 {
        let digits = 1 + below(18);
        let point = below(digits + 1);
        let mut s = String::new();
        if below(4) == 0 {
            s.push('-');
        }
        for k in 0..digits {
            if k == point && k > 0 {
                s.push('.');
            }
            s.push(char::from(b'0' + below(10) as u8));
        }
        cells.push(s);
    }
    for c in &cells {
        let full: Option<f64> = c
            .parse::<f64>()
            .ok()
            .filter(|v| *v != 0.0 || v.is_sign_positive());
        let got = parse_number(c.as_bytes());
        assert_eq!(got.map(f64::to_bits), full.map(f64::to_bits), "{c}");
    }
}

#[test]
fn held_rows_are_numbered_in_key_order_and_a_leftover_view_does_not_block_the_next_ingest() {
    let dir = tempfile::tempdir().expect("tmp");
    // Saturdays and Sundays between trading days: every weekend bar is held.
    let days = calendar_days((2021, 1, 1), 28);
    let days: Vec<&str> = days.iter().map(String::as_str).collect();
    let p = write(
        dir.path(),
        "weekends.csv",
        &intraday(&["DD", "AA", "CC", "BB"], &days, (9, 30), (16, 0), 1),
    );
    let cache = Cache::open_in_memory().expect("open");
    // A view over parked rows left on the connection (as a panic mid-ingest would leave it).
    {
        let conn = cache.conn();
        let rows = crate::cache::staged::StagedRows::default();
        let stage = crate::cache::staged::create_view(
            &conn,
            rows,
            sextant_domain::Resolution::Daily,
            "UTC",
            sextant_domain::Source::File,
        )
        .expect("view");
        drop(stage);
    }
    let s = cache
        .ingest_file(&p, &FileOptions::default())
        .expect("ingest");
    assert!(s.quarantined > 10_000, "{}", s.quarantined);
    let conn = cache.conn();
    let mut stmt = conn
        .prepare("SELECT id, symbol, resolution, ts FROM quarantine ORDER BY id")
        .expect("ids");
    let held: Vec<(i64, String, String, chrono::NaiveDateTime)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .expect("ids")
        .collect::<std::result::Result<_, _>>()
        .expect("ids");
    assert_eq!(held.len() as u64, s.quarantined);
    for w in held.windows(2) {
        assert_eq!(w[1].0, w[0].0 + 1, "consecutive ids");
        assert!(
            (&w[0].1, &w[0].2, w[0].3) < (&w[1].1, &w[1].2, w[1].3),
            "ids follow (symbol, resolution, ts): {:?} then {:?}",
            w[0],
            w[1]
        );
    }
}
