//! Compares every metric with empyrical-reloaded and quantstats on real and degenerate return
//! series (golden files written by `scripts/golden/make_metric_golden.py`; see
//! `scripts/golden/README.md`).
//!
//! Tolerance: `|ours - theirs| <= 1e-9 * max(|ours|, |theirs|)`, or `<= 1e-12` absolute (a
//! volatility of a constant series is 0 for us and a 1e-17 rounding residue for numpy); NaN and
//! infinities must match exactly, except for the documented deviations in [`deviation`].

use std::collections::BTreeMap;

use serde_json::Value;
use sextant_backtest::metrics::*;

const REL_TOL: f64 = 1e-9;
const ABS_FLOOR: f64 = 1e-12;

fn load(file: &str) -> Value {
    let path = crate::common::golden_path(file);
    let text = std::fs::read_to_string(&path).expect("golden file is readable");
    serde_json::from_str(&text).expect("golden file is JSON")
}

/// A golden float: null is NaN, "inf"/"-inf" are infinities.
fn num(v: &Value) -> f64 {
    match v {
        Value::Null => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        other => other.as_f64().expect("number, null or inf"),
    }
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(num).collect())
        .unwrap_or_default()
}

fn rel_error(a: f64, b: f64) -> f64 {
    if a == b || (a.is_nan() && b.is_nan()) {
        0.0
    } else if !a.is_finite() || !b.is_finite() {
        f64::INFINITY
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

fn matches(a: f64, b: f64) -> bool {
    rel_error(a, b) <= REL_TOL || (a.is_finite() && b.is_finite() && (a - b).abs() <= ABS_FLOOR)
}

/// Where we knowingly differ from the library: the value we return instead, and why.
fn deviation(case: &str, library: &str, metric: &str) -> Option<(f64, &'static str)> {
    match (case, library, metric) {
        ("empty", "quantstats", "total_return") => Some((
            f64::NAN,
            "quantstats' comp() of nothing is 0; a return of no periods is undefined",
        )),
        ("constant_positive", "quantstats", "sharpe") => Some((
            f64::INFINITY,
            "quantstats divides by a ~1e-18 std residue; zero dispersion is +inf (empyrical)",
        )),
        ("all_zero", "quantstats", "value_at_risk") => Some((
            0.0,
            "scipy's norm.ppf is NaN for a zero scale; the limit of the quantile is the mean",
        )),
        _ => None,
    }
}

/// Our value of `metric` for `returns` under `convention`.
fn ours(metric: &str, r: &[f64], ppy: f64, rf: f64, convention: Convention) -> Option<f64> {
    Some(match metric {
        "total_return" => total_return(r),
        "cagr" => cagr(r, ppy, convention),
        "annual_volatility" => annual_volatility(r, ppy),
        "sharpe" => sharpe_ratio(r, rf, ppy),
        "sortino" => sortino_ratio(r, rf, ppy, convention),
        "downside_risk" => downside_risk(r, rf, ppy),
        "calmar" => calmar_ratio(r, ppy, convention),
        "max_drawdown" => max_drawdown(r),
        "max_drawdown_duration" => max_drawdown_duration(r) as f64,
        "value_at_risk" => value_at_risk(r, 0.05, convention),
        "conditional_value_at_risk" => conditional_value_at_risk(r, 0.05, convention),
        "skew" => skew(r, convention),
        "kurtosis" => kurtosis(r, convention),
        "exposure_from_returns" => exposure_from_returns(r),
        _ => return None,
    })
}

#[test]
fn returns_metrics_match_empyrical_and_quantstats() {
    let doc = load("metrics_returns.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "golden file has {} cases", cases.len());
    let mut worst: BTreeMap<String, f64> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let r = nums(&case["returns"]);
        let ppy = num(&case["periods_per_year"]);
        let rf = num(&case["risk_free_per_period"]);
        for (library, convention) in [
            ("empyrical", Convention::Empyrical),
            ("quantstats", Convention::QuantStats),
        ] {
            let values = case[library].as_object().expect("library values");
            for (metric, expected) in values {
                let got = ours(metric, &r, ppy, rf, convention)
                    .unwrap_or_else(|| panic!("no implementation for {library}.{metric}"));
                let raised = !case["errors"][library][metric].is_null();
                let theirs = num(expected);
                let (want, note) = match deviation(name, library, metric) {
                    Some((value, why)) => (value, why),
                    // The library raises: we return NaN instead.
                    None if raised => (f64::NAN, "raised"),
                    None => (theirs, ""),
                };
                compared += 1;
                if note.is_empty() {
                    let w = worst.entry(format!("{library}.{metric}")).or_insert(0.0);
                    *w = w.max(rel_error(got, want));
                }
                if !matches(got, want) {
                    failures.push(format!(
                        "{name} (P={ppy}, rf={rf}) {library}.{metric}: ours={got} expected={want} (library {theirs}) {note}"
                    ));
                }
            }
        }
    }
    for (metric, e) in &worst {
        println!("{metric:<45} max rel err {e:.3e}");
    }
    println!("{compared} values compared");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn normal_quantile_matches_scipy_ndtri() {
    let doc = load("metrics_returns.json");
    for pair in doc["normal_ppf"].as_array().expect("table") {
        let p = num(&pair[0]);
        let expected = num(&pair[1]);
        let got = normal_ppf(p);
        assert!(
            rel_error(got, expected) <= 1e-14 || (got - expected).abs() <= 1e-15,
            "ppf({p}) = {got}, scipy {expected}"
        );
    }
    assert!(normal_ppf(0.0) == f64::NEG_INFINITY && normal_ppf(1.0) == f64::INFINITY);
    assert!(normal_ppf(-0.1).is_nan() && normal_ppf(f64::NAN).is_nan());
}

#[test]
fn trade_metrics_match_quantstats_and_numpy() {
    let doc = load("metrics_trades.json");
    let trades: Vec<TradeStats> = doc["trades"]
        .as_array()
        .expect("trades")
        .iter()
        .map(|t| {
            TradeStats::new(
                num(&t["pnl"]),
                num(&t["return_pct"]),
                t["bars_held"].as_u64().expect("bars") as usize,
            )
        })
        .collect();
    let expected = &doc["expected"];
    let default = trade_summary(&trades, Convention::Empyrical);
    let d = &expected["default"];
    assert_eq!(
        default.trade_count as u64,
        d["trade_count"].as_u64().expect("count")
    );
    for (field, got) in [
        ("win_rate", default.win_rate),
        ("profit_factor", default.profit_factor),
        ("expectancy", default.expectancy),
        ("avg_trade", default.avg_trade),
        ("best_trade", default.best_trade),
        ("worst_trade", default.worst_trade),
        ("avg_bars_held", default.avg_bars_held),
    ] {
        let want = num(&d[field]);
        assert!(
            matches(got, want),
            "default {field}: ours {got}, numpy {want}"
        );
        println!(
            "trades.{field:<15} max rel err {:.3e}",
            rel_error(got, want)
        );
    }
    let q = trade_summary(&trades, Convention::QuantStats);
    for (field, got) in [("win_rate", q.win_rate), ("profit_factor", q.profit_factor)] {
        let want = num(&expected["quantstats"][field]);
        assert!(
            matches(got, want),
            "quantstats {field}: ours {got}, quantstats {want}"
        );
        println!(
            "quantstats.{field:<15} max rel err {:.3e}",
            rel_error(got, want)
        );
    }
    // The scratch trade makes the two win rates differ.
    assert!(q.win_rate > default.win_rate);

    let positions = nums(&doc["positions"]);
    let want = num(&expected["exposure"]);
    assert!(matches(exposure(&positions), want), "exposure");
    let strategy = nums(&doc["strategy_returns"]);
    let want = num(&expected["exposure_from_returns"]);
    assert!(
        matches(exposure_from_returns(&strategy), want),
        "quantstats exposure"
    );
    let traded = nums(&doc["traded_notional"]);
    let equity = nums(&doc["equity"]);
    let got = turnover(&traded, &equity, num(&doc["periods_per_year"])).expect("equal lengths");
    let want = num(&expected["turnover"]);
    assert!(matches(got, want), "turnover: ours {got}, numpy {want}");
}
