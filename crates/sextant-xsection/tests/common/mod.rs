//! The alphalens golden's panels, shared by the parity and truncation tests.
#![allow(dead_code)]

use serde_json::Value;
use sextant_xsection::Panel;

/// The golden file.
pub fn golden() -> Value {
    golden_file("alphalens.json")
}

/// Another golden file of `tests/golden/` (e.g. `alphalens_pse.json`).
pub fn golden_file(name: &str) -> Value {
    let path = format!(
        "{}/tests/golden/{name}",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("golden")).expect("json")
}

/// A golden number (null is NaN).
pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The first `rows` dates of the panel stored under `key` (`factor` or `prices`).
pub fn panel(g: &Value, key: &str, rows: usize) -> Panel {
    let dates: Vec<i64> = g["dates"]
        .as_array()
        .expect("dates")
        .iter()
        .take(rows)
        .filter_map(Value::as_i64)
        .collect();
    let assets: Vec<String> = g["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let values: Vec<f64> = g[key]
        .as_array()
        .expect("rows")
        .iter()
        .take(rows)
        .flat_map(|r| r.as_array().expect("row").iter().map(num))
        .collect();
    Panel::new(dates, assets, values).expect("panel")
}

/// Relative 1e-9 (absolute 1e-12); NaN equals NaN.
pub fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    (a - b).abs() <= 1e-12 || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Asserts that the crate's evaluation of `factor` against `prices` equals alphalens' in the
/// golden `g`: clean cells, rank IC per date and horizon, mean return by quantile, top and
/// bottom quantile turnover, rank autocorrelation.
pub fn assert_alphalens(g: &Value, factor: &Panel, prices: &Panel) {
    use sextant_xsection::{
        clean, mean_return_by_quantile, quantile_turnover, quantize, rank_autocorrelation, rank_ic,
    };
    let data = clean(factor, prices, &[1, 5, 10]).expect("aligned");
    let cells: usize = data.cells.iter().map(Vec::len).sum();
    assert_eq!(
        cells as u64,
        g["clean_cells"].as_u64().expect("count"),
        "clean cells"
    );

    let ic = rank_ic(&data);
    let want_dates: Vec<i64> = g["ic_dates"]
        .as_array()
        .expect("ic dates")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(data.dates, want_dates);
    for (t, (ours, theirs)) in ic.iter().zip(g["ic"].as_array().expect("ic")).enumerate() {
        for (k, (a, b)) in ours.iter().zip(theirs.as_array().expect("row")).enumerate() {
            assert!(
                close(*a, num(b)),
                "IC date {t} horizon {k}: {a} vs {}",
                num(b)
            );
        }
    }

    let q = quantize(&data, 5);
    assert!(q.iter().all(Option::is_some), "alphalens binned every date");
    let mean = mean_return_by_quantile(&data, &q, 5);
    for (i, (ours, theirs)) in mean
        .iter()
        .zip(g["mean_return_by_quantile"].as_array().expect("mean"))
        .enumerate()
    {
        for (k, (a, b)) in ours.iter().zip(theirs.as_array().expect("row")).enumerate() {
            assert!(
                close(*a, num(b)),
                "quantile {} horizon {k}: {a} vs {}",
                i + 1,
                num(b)
            );
        }
    }

    for quantile in [1usize, 5] {
        let ours = quantile_turnover(&data, &q, quantile, 1);
        let theirs = g["turnover"][quantile.to_string()]
            .as_array()
            .expect("turnover");
        assert_eq!(
            ours.len(),
            theirs.len(),
            "turnover dates, quantile {quantile}"
        );
        for ((d, a), t) in ours.iter().zip(theirs) {
            assert_eq!(*d, t[0].as_i64().expect("date"));
            assert!(
                close(*a, num(&t[1])),
                "turnover q{quantile} {d}: {a} vs {}",
                num(&t[1])
            );
        }
    }

    let ours: Vec<(i64, f64)> = rank_autocorrelation(&data, 1)
        .into_iter()
        .filter(|(_, v)| !v.is_nan())
        .collect();
    let theirs = g["rank_autocorrelation"].as_array().expect("autocorr");
    assert_eq!(ours.len(), theirs.len(), "autocorrelation dates");
    for ((d, a), t) in ours.iter().zip(theirs) {
        assert_eq!(*d, t[0].as_i64().expect("date"));
        assert!(
            close(*a, num(&t[1])),
            "autocorrelation {d}: {a} vs {}",
            num(&t[1])
        );
    }
}
