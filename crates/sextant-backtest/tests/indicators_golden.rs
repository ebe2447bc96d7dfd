//! Compares every indicator with TA-Lib's output on real bars (golden files written by
//! `scripts/golden/make_indicator_golden.py`; see `scripts/golden/README.md`).
//!
//! Tolerance: `|ours - talib| <= 1e-9 * max(|ours|, |talib|)`, or `<= ABS_FLOOR` for values near
//! zero (a MACD histogram or momentum crossing zero has no meaningful relative error), and the
//! NaN (warm-up) positions must be identical.

use std::collections::BTreeMap;

use serde_json::Value;
use sextant_backtest::indicators::{
    adx, atr, bollinger, donchian, ema, macd, mom, obv, roc, rsi, sma, stoch, true_range, wma,
    zscore, StdKind,
};

const REL_TOL: f64 = 1e-9;
/// Absolute floor for values near zero, in the indicator's own units.
const ABS_FLOOR: f64 = 1e-12;

struct Golden {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
    cases: Vec<Value>,
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

fn load(symbol: &str) -> Golden {
    let path = crate::common::golden_path(&format!("indicators_{symbol}.json"));
    let text = std::fs::read_to_string(&path).expect("golden file is readable");
    let doc: Value = serde_json::from_str(&text).expect("golden file is JSON");
    let input = &doc["input"];
    Golden {
        high: floats(&input["high"]),
        low: floats(&input["low"]),
        close: floats(&input["close"]),
        volume: floats(&input["volume"]),
        cases: doc["cases"].as_array().cloned().unwrap_or_default(),
    }
}

fn param(case: &Value, name: &str) -> usize {
    case["params"][name].as_u64().expect("integer parameter") as usize
}

fn paramf(case: &Value, name: &str) -> f64 {
    case["params"][name].as_f64().expect("float parameter")
}

/// Our outputs for one case, by TA-Lib output name.
fn compute(g: &Golden, case: &Value) -> BTreeMap<&'static str, Vec<f64>> {
    let (h, l, c, v) = (&g.high[..], &g.low[..], &g.close[..], &g.volume[..]);
    let name = case["indicator"].as_str().expect("indicator name");
    let mut out = BTreeMap::new();
    match name {
        "sma" => {
            out.insert("real", sma(c, param(case, "n")));
        }
        "ema" => {
            out.insert("real", ema(c, param(case, "n")));
        }
        "wma" => {
            out.insert("real", wma(c, param(case, "n")));
        }
        "rsi" => {
            out.insert("real", rsi(c, param(case, "n")));
        }
        "macd" => {
            let m = macd(
                c,
                param(case, "fast"),
                param(case, "slow"),
                param(case, "signal"),
            );
            out.insert("macd", m.macd);
            out.insert("signal", m.signal);
            out.insert("hist", m.hist);
        }
        "bbands" => {
            let b = bollinger(
                c,
                param(case, "n"),
                paramf(case, "nbdev_up"),
                paramf(case, "nbdev_dn"),
            );
            out.insert("upper", b.upper);
            out.insert("middle", b.middle);
            out.insert("lower", b.lower);
        }
        "trange" => {
            out.insert("real", true_range(h, l, c).expect("equal lengths"));
        }
        "atr" => {
            out.insert(
                "real",
                atr(h, l, c, param(case, "n")).expect("equal lengths"),
            );
        }
        "stoch" => {
            let s = stoch(
                h,
                l,
                c,
                param(case, "fastk"),
                param(case, "slowk"),
                param(case, "slowd"),
            )
            .expect("equal lengths");
            out.insert("slowk", s.slowk);
            out.insert("slowd", s.slowd);
        }
        "adx" => {
            let a = adx(h, l, c, param(case, "n")).expect("equal lengths");
            out.insert("adx", a.adx);
            out.insert("plus_di", a.plus_di);
            out.insert("minus_di", a.minus_di);
        }
        "obv" => {
            out.insert("real", obv(c, v).expect("equal lengths"));
        }
        "roc" => {
            out.insert("real", roc(c, param(case, "n")));
        }
        "mom" => {
            out.insert("real", mom(c, param(case, "n")));
        }
        "donchian" => {
            let d = donchian(h, l, param(case, "n")).expect("equal lengths");
            out.insert("upper", d.upper);
            out.insert("middle", d.middle);
            out.insert("lower", d.lower);
        }
        "zscore" => {
            let kind = match param(case, "ddof") {
                0 => StdKind::Population,
                _ => StdKind::Sample,
            };
            out.insert("real", zscore(c, param(case, "n"), kind));
        }
        other => panic!("golden file has an indicator this test does not know: {other}"),
    }
    out
}

/// Relative error (0 for two zeros).
fn rel_error(ours: f64, theirs: f64) -> f64 {
    let diff = (ours - theirs).abs();
    if diff == 0.0 {
        0.0
    } else {
        diff / ours.abs().max(theirs.abs())
    }
}

/// Within tolerance: relative, or absolute near zero.
fn within_tolerance(ours: f64, theirs: f64) -> bool {
    (ours - theirs).abs() <= ABS_FLOOR || rel_error(ours, theirs) <= REL_TOL
}

fn check(symbol: &str) {
    let g = load(symbol);
    assert!(!g.cases.is_empty(), "{symbol}: no cases");
    // Per indicator: (max relative error, max absolute error), floor not applied.
    let mut worst: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &g.cases {
        let name = case["indicator"].as_str().unwrap_or("?");
        let ours = compute(&g, case);
        let outputs = case["outputs"].as_object().expect("outputs object");
        assert_eq!(ours.len(), outputs.len(), "{symbol} {name}: output count");
        for (output, expected) in outputs {
            let expected = floats(expected);
            let got = ours
                .get(output.as_str())
                .unwrap_or_else(|| panic!("{symbol} {name}: no output {output}"));
            assert_eq!(
                got.len(),
                expected.len(),
                "{symbol} {name}.{output}: length"
            );
            for (i, (&a, &b)) in got.iter().zip(&expected).enumerate() {
                if a.is_nan() != b.is_nan() {
                    failures.push(format!(
                        "{symbol} {name} {} .{output}[{i}]: NaN mismatch ours={a} talib={b}",
                        case["params"]
                    ));
                    continue;
                }
                if a.is_nan() {
                    continue;
                }
                let e = rel_error(a, b);
                let w = worst.entry(name.to_string()).or_insert((0.0, 0.0));
                *w = (w.0.max(e), w.1.max((a - b).abs()));
                if !within_tolerance(a, b) {
                    failures.push(format!(
                        "{symbol} {name} {} .{output}[{i}]: ours={a} talib={b} rel={e:e}",
                        case["params"]
                    ));
                }
            }
        }
    }
    for (name, (rel, abs)) in &worst {
        println!("{symbol}: {name:<9} max rel err {rel:.3e}  max abs err {abs:.3e}");
    }
    assert!(
        failures.is_empty(),
        "{} mismatches, first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn msft_2000_2002_matches_talib() {
    check("msft");
}

#[test]
fn aapl_2011_2013_matches_talib() {
    check("aapl");
}
