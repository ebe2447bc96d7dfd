//! The alphalens golden's panels, shared by the parity and truncation tests.
#![allow(dead_code)]

use serde_json::Value;
use sextant_xsection::Panel;

/// The golden file.
pub fn golden() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/alphalens.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("golden")).expect("json")
}

/// Another golden file of `tests/golden/` (e.g. `alphalens_pse.json`).
pub fn golden_file(name: &str) -> Value {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
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
