//! Benchmark-relative metrics against empyrical-reloaded 0.7.1 (alpha, beta, excess Sharpe)
//! and numpy (tracking error, excess return) on every sample symbol against the equal-weight
//! average and against another symbol, plus edge pairs (golden file written by
//! `scripts/golden/make_relative_golden.py`). Tolerance: relative 1e-9, absolute floor 1e-12;
//! NaN must match NaN.

use serde_json::Value;
use sextant_backtest::metrics::{
    alpha, beta, excess_return, excess_sharpe, information_ratio, tracking_error,
};

fn num(v: &Value) -> f64 {
    match v {
        Value::Null => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => other.as_f64().expect("number"),
    }
}

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-12 || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn relative_metrics_equal_empyrical() {
    let path = crate::common::golden_path("metrics_relative.json");
    let g: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden")).expect("json");
    let cases = g["cases"].as_array().expect("cases");
    assert!(cases.len() >= 15);
    let mut checked = 0;
    for c in cases {
        let name = c["name"].as_str().unwrap_or("?");
        let r: Vec<f64> = c["returns"]
            .as_array()
            .expect("returns")
            .iter()
            .map(num)
            .collect();
        let b: Vec<f64> = c["benchmark"]
            .as_array()
            .expect("benchmark")
            .iter()
            .map(num)
            .collect();
        let figures = [
            ("beta", beta(&r, &b)),
            ("alpha", alpha(&r, &b, 0.0, 252.0)),
            ("alpha_rf", alpha(&r, &b, 0.0001, 252.0)),
            ("excess_sharpe", excess_sharpe(&r, &b)),
            ("tracking_error", tracking_error(&r, &b, 252.0)),
            ("excess_return", excess_return(&r, &b)),
        ];
        for (key, ours) in figures {
            let theirs = num(&c[key]);
            assert!(
                close(ours, theirs),
                "{name} {key}: ours {ours}, reference {theirs}"
            );
            checked += 1;
        }
        let ir = information_ratio(&r, &b, 252.0);
        assert!(
            close(ir, num(&c["excess_sharpe"]) * 252f64.sqrt()),
            "{name} information ratio"
        );
    }
    assert!(checked >= 90);
}
