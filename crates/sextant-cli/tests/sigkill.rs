//! Crash safety: a `sextant ingest file` process killed with SIGKILL in the middle of an ingest
//! leaves the cache consistent: the batch is all there or not there at all, the earlier data is
//! untouched, and the next ingest succeeds.

use sextant_data::Cache;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const ROWS: u64 = 1_000_000;

fn sextant(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sextant"));
    c.arg("--data-dir")
        .arg(data_dir)
        .env("SEXTANT_LOAD_SAMPLE", "false");
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c
}

/// Runs a sextant command to completion and fails the test with its stderr when it fails.
fn run_ok(cmd: &mut Command) {
    let out = cmd.stderr(Stdio::piped()).output().expect("run");
    assert!(
        out.status.success(),
        "sextant failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn generate(path: &Path) {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    // Regular sessions (09:30-16:00 New York, weekdays) of 20 symbols' 1-minute bars.
    conn.execute_batch(&format!(
        "COPY (
           WITH days AS (SELECT d::DATE AS d FROM range(DATE '2010-01-04', DATE '2030-01-01', INTERVAL 1 DAY) t(d)
                         WHERE dayofweek(d) BETWEEN 1 AND 5),
                syms AS (SELECT 'KILL' || i::VARCHAR AS s FROM range(20) t(i)),
                mins AS (SELECT m FROM range(390) t(m))
           SELECT s AS Ticker, strftime(d + INTERVAL 570 MINUTE + to_minutes(m), '%Y-%m-%d %H:%M:%S') AS Datetime,
                  100.0 AS Open, 101.0 AS High, 99.0 AS Low, 100.5 AS Close, 1000 AS Volume
           FROM syms, days, mins ORDER BY s, d, m LIMIT {ROWS}) TO '{}' (HEADER)",
        path.display()
    ))
    .expect("generate");
}

/// (rows of the killed batch's symbols, sample rows, batches recorded, bars from those batches).
/// The batch's rows count whether merged into `bars` or held in quarantine (the generated
/// file has holiday sessions and flat repeated bars, which the quality checks hold): both are
/// written by the same transaction, so both must be all or nothing.
fn state(data_dir: &Path) -> (i64, i64, i64, i64) {
    let cache =
        Cache::open(&data_dir.join("market.duckdb")).expect("the cache opens after a SIGKILL");
    drop(cache);
    let conn = duckdb::Connection::open(data_dir.join("market.duckdb")).expect("open");
    conn.query_row(
        "SELECT (SELECT count(*) FROM bars WHERE symbol LIKE 'KILL%')
                  + (SELECT count(*) FROM quarantine WHERE symbol LIKE 'KILL%'),
                (SELECT count(*) FROM bars WHERE source = 'sample'),
                (SELECT count(*) FROM ingest_batches WHERE source = 'file'),
                (SELECT coalesce(sum(rows_in - unchanged), 0) FROM ingest_batches WHERE source = 'file')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .expect("query")
}

#[test]
fn sigkill_mid_ingest_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let file = dir.path().join("big.csv");
    generate(&file);

    run_ok(sextant(&data).args(["ingest", "sample"]));
    let (_, sample_rows, _, _) = state(&data);
    assert_eq!(sample_rows, 12_154);

    // Measure one full ingest in a scratch directory to spread the kill points over it.
    let scratch = dir.path().join("scratch");
    let t = Instant::now();
    run_ok(sextant(&scratch).args(["ingest", "file"]).arg(&file));
    let full = t.elapsed();

    let mut killed_while_running = 0;
    for k in 1..=6u32 {
        let at = full.mul_f64(f64::from(k) / 7.0);
        let mut child = sextant(&data)
            .args(["ingest", "file"])
            .arg(&file)
            .spawn()
            .expect("spawn");
        std::thread::sleep(at);
        if child.try_wait().expect("wait").is_none() {
            killed_while_running += 1;
            child.kill().expect("SIGKILL");
        }
        let _ = child.wait();
        let (killed, sample, batches, inserted) = state(&data);
        assert_eq!(
            sample, sample_rows,
            "kill at {at:?}: earlier data untouched"
        );
        assert!(
            killed == 0 || killed == ROWS as i64,
            "kill at {at:?}: partial batch of {killed} rows"
        );
        assert_eq!(
            killed, inserted,
            "kill at {at:?}: batch records agree with the bars"
        );
        assert!(batches <= 1);
        if killed == ROWS as i64 {
            break;
        }
    }
    assert!(
        killed_while_running > 0,
        "no kill landed while the ingest was running (full ingest took {full:?})"
    );

    // The next ingest runs normally and ends with the whole batch, once.
    run_ok(sextant(&data).args(["ingest", "file"]).arg(&file));
    let (killed, sample, _, _) = state(&data);
    assert_eq!((killed, sample), (ROWS as i64, sample_rows));
}
