//! alphalens-reloaded 0.5.1 parity on a real universe: 248 Philippine Stock Exchange stocks,
//! 2016–2018 (`scripts/realdata/fetch-universe`), with names listing, halting and delisting
//! mid-period, so cross-sections of every size, ties and gaps. The golden
//! (`tests/golden/alphalens_pse.json`, written by `scripts/golden/make_alphalens_golden.py
//! ~/.cache/sextant/realdata/fastquant_pse.csv --price-column Close --from 2016-01-01
//! --to 2018-12-31 --positive-only --no-panels`) holds alphalens' outputs only; this test
//! rebuilds the panels from the CSV exactly as the script does and compares the clean cells,
//! rank IC per date and horizon, mean demeaned return by quantile, quantile turnover and
//! factor rank autocorrelation, to 1e-9 relative (1e-12 absolute), like `alphalens_parity.rs`.
//!
//! The CSV is fetched by `scripts/test` (which sets `SEXTANT_REQUIRE_REALDATA=1`, so a missing
//! file fails here instead of skipping).

use crate::common;

use common::{assert_alphalens, golden_file};
use serde_json::Value;
use sextant_xsection::Panel;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The momentum lookback of the script's factor, in rows.
const LOOKBACK: usize = 20;

fn csv_path() -> Option<PathBuf> {
    let dir = std::env::var_os("SEXTANT_REALDATA")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/sextant/realdata"))
        })?;
    let f = dir.join("fastquant_pse.csv");
    if f.is_file() {
        Some(f)
    } else if std::env::var("SEXTANT_REQUIRE_REALDATA").as_deref() == Ok("1") {
        panic!(
            "{} missing: run scripts/realdata/fetch-universe",
            f.display()
        );
    } else {
        eprintln!("SKIPPED: universe not fetched (scripts/realdata/fetch-universe)");
        None
    }
}

/// Days since 1970-01-01, the date key of the golden.
fn day(date: &str) -> i64 {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
}

/// The script's panels: rows with `from <= Date <= to` whose Open/High/Low/Close are all
/// finite and > 0 (empty is NaN); prices wide by date × asset over the union of the kept dates
/// (NaN where an asset has no row), assets sorted; the factor `p[t] / p[t - 20] - 1` on that
/// timeline (pandas' `pct_change(20, fill_method=None)`). Returns `(factor, prices, rows)`.
fn panels(path: &Path, price_column: &str, from: &str, to: &str) -> (Panel, Panel, usize) {
    let mut rd = csv::Reader::from_path(path).expect("csv");
    let head = rd.headers().expect("header").clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (ticker, date, price) = (col("Ticker"), col("Date"), col(price_column));
    let ohlc = ["Open", "High", "Low", "Close"].map(col);
    let parse = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
    let mut by: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    let mut rows = 0;
    for rec in rd.records() {
        let rec = rec.expect("row");
        let d = &rec[date];
        if d < from || d > to {
            continue;
        }
        if ohlc.iter().any(|&i| {
            let p = parse(&rec[i]);
            !(p.is_finite() && p > 0.0)
        }) {
            continue;
        }
        rows += 1;
        let name = &rec[ticker];
        let before = by
            .entry(name.to_string())
            .or_default()
            .insert(day(d), parse(&rec[price]));
        assert!(before.is_none(), "duplicate row {name} {d}");
    }
    let dates: Vec<i64> = by
        .values()
        .flat_map(|m| m.keys().copied())
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .collect();
    let assets: Vec<String> = by.keys().cloned().collect();
    let (t_n, a_n) = (dates.len(), assets.len());
    let row_of: BTreeMap<i64, usize> = dates.iter().enumerate().map(|(t, d)| (*d, t)).collect();
    let mut p = vec![f64::NAN; t_n * a_n];
    for (j, m) in by.values().enumerate() {
        for (d, v) in m {
            p[row_of[d] * a_n + j] = *v;
        }
    }
    let lag = LOOKBACK * a_n;
    let mut f = vec![f64::NAN; t_n * a_n];
    for (v, (now, then)) in f.iter_mut().skip(lag).zip(p.iter().skip(lag).zip(&p)) {
        *v = now / then - 1.0;
    }
    let factor = Panel::new(dates.clone(), assets.clone(), f).expect("factor");
    let prices = Panel::new(dates, assets, p).expect("prices");
    (factor, prices, rows)
}

#[test]
fn signal_evaluation_equals_alphalens_on_a_real_universe() {
    let Some(path) = csv_path() else { return };
    let g = golden_file("alphalens_pse.json");
    let meta = &g["meta"];
    assert_eq!(
        meta["positive_only"].as_bool(),
        Some(true),
        "the golden drops non-positive rows"
    );
    let (factor, prices, rows) = panels(
        &path,
        meta["price_column"].as_str().expect("price column"),
        meta["from"].as_str().expect("from"),
        meta["to"].as_str().expect("to"),
    );
    assert_eq!(
        rows as u64,
        meta["rows"].as_u64().expect("rows"),
        "CSV rows kept"
    );
    let want_dates: Vec<i64> = g["dates"]
        .as_array()
        .expect("dates")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    let want_assets: Vec<&str> = g["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(prices.dates, want_dates, "dates");
    assert_eq!(prices.assets, want_assets, "assets");

    assert_alphalens(&g, &factor, &prices);
}
