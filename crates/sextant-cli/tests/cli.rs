//! The `sextant` binary as a new user runs it: a fresh data directory, no configuration.

use sextant_testkit::alphavantage::AlphaVantageServer;
use std::path::Path;
use std::process::{Command, Output};

fn sextant(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sextant"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("ALPHAVANTAGE_API_KEY")
        .output()
        .expect("run sextant")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn first_run_shows_the_2008_crash_from_the_bundled_sample() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = ok(&sextant(
        dir.path(),
        &[
            "data",
            "show",
            "MSFT",
            "--from",
            "2008-09-01",
            "--to",
            "2008-10-31",
        ],
    ));
    assert!(out.contains("2008-10-10"), "{out}");
    assert!(
        out.contains("21.50"),
        "MSFT closed at 21.50 on 2008-10-10: {out}"
    );
    assert!(out.contains("44 bars of MSFT"), "{out}");
    let ls = ok(&sextant(dir.path(), &["data", "ls"]));
    for s in ["AAPL", "FB", "GOOG", "IBM", "MSFT"] {
        assert!(ls.contains(s), "{ls}");
    }
    let weekly = ok(&sextant(
        dir.path(),
        &[
            "data",
            "show",
            "AAPL",
            "--resolution",
            "weekly",
            "--from",
            "2005-02-21",
            "--to",
            "2005-03-04",
            "--format",
            "csv",
        ],
    ));
    assert_eq!(weekly.lines().count(), 3, "{weekly}");
}

#[test]
fn unknown_symbol_and_bad_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = sextant(dir.path(), &["data", "show", "NOPE"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NOPE") && err.contains("MSFT"),
        "names the symbol and what exists: {err}"
    );
    let out = sextant(
        dir.path(),
        &["data", "show", "MSFT", "--resolution", "2min"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("2min"));
}

#[test]
fn second_process_gets_a_lock_error_not_a_corrupt_file() {
    let dir = tempfile::tempdir().expect("tmp");
    ok(&sextant(dir.path(), &["data", "ls"]));
    let holder =
        sextant_data::Cache::open(&dir.path().join("market.duckdb")).expect("hold the cache");
    let out = sextant(dir.path(), &["data", "ls"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("locked by another process"), "{err}");
    drop(holder);
    ok(&sextant(dir.path(), &["data", "ls"]));
}

#[test]
fn ingest_from_alphavantage_loopback_and_export() {
    let rt = tokio::runtime::Runtime::new().expect("rt");
    let server = rt.block_on(AlphaVantageServer::start()).expect("server");
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_sextant"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["ingest", "alphavantage", "IBM", "NOSUCHSYM"])
        .env("ALPHAVANTAGE_API_KEY", "SECRETKEY")
        .env("SEXTANT_ALPHAVANTAGE_BASE_URL", server.base_url())
        .env("SEXTANT_LOAD_SAMPLE", "false")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "one symbol failed, so the command reports failure"
    );
    assert!(
        stdout.contains("IBM") && stdout.contains("full"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Invalid API call") || stdout.contains("invalid"),
        "{stdout}"
    );
    assert!(stderr.contains("1 of 2 symbols failed"), "{stderr}");
    assert!(!stdout.contains("SECRETKEY") && !stderr.contains("SECRETKEY"));

    let cov = ok(&sextant(dir.path(), &["data", "coverage", "IBM"]));
    assert!(
        cov.contains("alphavantage") && cov.contains("2000-03-01") && cov.contains("2013-03-01"),
        "{cov}"
    );
    let file = dir.path().join("ibm.parquet");
    let exp = ok(&sextant(
        dir.path(),
        &[
            "data",
            "export",
            "--symbol",
            "IBM",
            "--out",
            file.to_str().expect("path"),
        ],
    ));
    assert!(exp.contains("wrote 3270 rows"), "{exp}");
    let cfg = ok(&sextant(dir.path(), &["config"]));
    assert!(!cfg.contains("SECRETKEY"));
}

#[test]
fn backtest_from_csv_and_cache() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = ok(&sextant(
        dir.path(),
        &[
            "backtest",
            "--strategy",
            "sma_cross",
            "--param",
            "fast=10",
            "--param",
            "slow=20",
            "--symbol",
            "MSFT",
            "--commission",
            "0.002",
            "--prices",
            "raw",
        ],
    ));
    // backtesting.py 0.6.6 on the same data and rules ends at 13,028.18 (golden test).
    assert!(out.contains("13028.18"), "{out}");
    let csv = dir.path().join("msft.csv");
    ok(&sextant(
        dir.path(),
        &["data", "show", "MSFT", "--format", "csv"],
    ));
    let text = ok(&sextant(
        dir.path(),
        &["data", "show", "MSFT", "--format", "csv"],
    ));
    std::fs::write(&csv, text.replace("ts,", "Date,")).expect("write csv");
    let from_csv = ok(&sextant(
        dir.path(),
        &[
            "backtest",
            "--strategy",
            "sma_cross",
            "--param",
            "fast=10",
            "--param",
            "slow=20",
            "--symbol",
            "MSFT",
            "--commission",
            "0.002",
            "--csv",
            csv.to_str().expect("path"),
        ],
    ));
    assert!(from_csv.contains("13028.18"), "{from_csv}");
    let sweep = ok(&sextant(
        dir.path(),
        &[
            "sweep", "--symbol", "MSFT", "--fast", "5..20", "--slow", "10..60", "--top", "3",
        ],
    ));
    assert!(sweep.contains("bar-evaluations"), "{sweep}");
}

/// `backtest --csv` runs the configured checks on the file, says what it held, and with the
/// checks switched off uses every bar (the setting used to be ignored on this path).
#[test]
fn csv_backtest_honours_the_quality_configuration_and_says_what_it_held() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = ok(&sextant(
        dir.path(),
        &[
            "data",
            "show",
            "IBM",
            "--format",
            "csv",
            "--to",
            "2004-12-31",
        ],
    ));
    // One impossible bar (high below low) on the 100th row.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[0] = lines[0].replace("ts,", "Date,");
    let cols: Vec<&str> = lines[100].split(',').collect();
    let (day, high, low) = (
        cols[0].to_string(),
        cols[2].to_string(),
        cols[3].to_string(),
    );
    let swapped = format!(
        "{},{},{},{},{},{}",
        cols[0], cols[1], low, high, cols[4], cols[5]
    );
    lines[100] = swapped;
    let csv = dir.path().join("ibm.csv");
    std::fs::write(&csv, lines.join("\n")).expect("write");
    let args = [
        "backtest",
        "--strategy",
        "buy_and_hold",
        "--symbol",
        "IBM",
        "--csv",
        csv.to_str().expect("path"),
    ];
    let held = ok(&sextant(dir.path(), &args));
    assert!(held.contains("excluded: 1 bar(s)"), "{held}");
    assert!(held.contains(&format!("IBM {day} pending")), "{held}");
    let off = Command::new(env!("CARGO_BIN_EXE_sextant"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .env("SEXTANT_QUALITY_ENABLED", "false")
        .output()
        .expect("run sextant");
    let off = ok(&off);
    assert!(off.contains("excluded: none"), "{off}");
}

/// `sextant regime fit` then `history --format csv` labels the bundled universe walk-forward:
/// the October 2008 days are `high_vol`, with one probability column per regime; `show` gives
/// the label as of a date and `alerts` the recorded changes.
#[test]
fn regime_fit_history_show_and_alerts() {
    let dir = tempfile::tempdir().expect("tmp");
    let fit = ok(&sextant(
        dir.path(),
        &[
            "regime", "fit", "big3", "--symbol", "AAPL", "--symbol", "IBM", "--symbol", "MSFT",
        ],
    ));
    assert!(
        fit.contains("high_vol") && fit.contains("11 fits (11 new)"),
        "{fit}"
    );
    let csv = |to: &str| {
        ok(&sextant(
            dir.path(),
            &[
                "regime",
                "history",
                "big3",
                "--from",
                "2008-10-06",
                "--to",
                to,
                "--format",
                "csv",
            ],
        ))
    };
    let text = csv("2008-10-10");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("ts,label,p_bull,p_bear,p_high_vol"),
        "{text}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows.iter().all(|r| r.split(',').nth(1) == Some("high_vol")),
        "{text}"
    );
    let longer = csv("2008-12-31");
    assert!(longer.starts_with(&text), "{longer}");
    let show = ok(&sextant(
        dir.path(),
        &["regime", "show", "big3", "--at", "2008-10-19"],
    ));
    assert!(show.starts_with("big3 on 2008-10-17: high_vol"), "{show}");
    let alerts = ok(&sextant(
        dir.path(),
        &["regime", "alerts", "big3", "--limit", "3"],
    ));
    assert!(alerts.contains("backfill"), "{alerts}");
}
