//! Shared test helpers: the bundled real daily data.
#![allow(dead_code)]

use sextant_backtest::simulator::BarSeries;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const SAMPLE: &str = "data/sample/us-equities-daily-2000-2013.csv.gz";

/// This crate's directory, read at run time (cargo sets it for test processes): a path
/// compiled in would point at whichever checkout built a reused test binary.
fn crate_dir() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test"),
    )
}

fn repo_root() -> PathBuf {
    crate_dir().join("../..")
}

/// A file of `tests/golden/`.
pub fn golden_path(name: &str) -> PathBuf {
    crate_dir().join("tests/golden").join(name)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parse_date(s: &str) -> i64 {
    let p: Vec<i64> = s
        .split('-')
        .map(|x| x.parse().expect("date part"))
        .collect();
    days_from_civil(p[0], p[1], p[2]) * 86_400
}

/// Every ticker of the sample file as unadjusted OHLCV columns (Adj Close is ignored).
pub fn load_sample() -> BTreeMap<String, BarSeries> {
    let f = std::fs::File::open(repo_root().join(SAMPLE)).expect("sample data");
    let mut rdr = csv::Reader::from_reader(flate2::read::GzDecoder::new(f));
    type Cols = (Vec<i64>, [Vec<f64>; 5]);
    let mut by: BTreeMap<String, Cols> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("csv record");
        let e = by.entry(rec[0].to_string()).or_default();
        e.0.push(parse_date(&rec[1]));
        for (i, col) in e.1.iter_mut().enumerate() {
            col.push(rec[2 + i].parse().expect("number"));
        }
    }
    by.into_iter()
        .map(|(sym, (ts, [o, h, l, c, v]))| {
            let mut idx: Vec<usize> = (0..ts.len()).collect();
            idx.sort_by_key(|&i| ts[i]);
            let pick = |x: &Vec<f64>| idx.iter().map(|&i| x[i]).collect::<Vec<f64>>();
            let ts = idx.iter().map(|&i| ts[i]).collect();
            let s = BarSeries::new(
                sym.clone(),
                ts,
                pick(&o),
                pick(&h),
                pick(&l),
                pick(&c),
                pick(&v),
            )
            .expect("valid bars");
            (sym, s)
        })
        .collect()
}

pub fn sample_symbol(sym: &str) -> BarSeries {
    load_sample().remove(sym).expect("symbol in sample")
}

/// `|a - b| <= tol · max(|a|, |b|, floor)`.
pub fn close_rel(a: f64, b: f64, tol: f64, floor: f64) -> bool {
    (a - b).abs() <= tol * a.abs().max(b.abs()).max(floor)
}
