//! The deflated Sharpe ratio and PBO against an independent Python implementation of Bailey &
//! López de Prado's formulas (`scripts/tuning/overfit_reference.py`, numpy + scipy) on fixed
//! inputs stored in the fixture.

use serde_json::Value;
use sextant_tuning::overfit::{deflated_sharpe, pbo};

fn fixture() -> Value {
    let text = include_str!("fixtures/overfit_reference.json");
    serde_json::from_str(text).expect("fixture parses")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: sextant {a} vs reference {b}"
    );
}

#[test]
fn deflated_sharpe_matches_the_reference() {
    let f = fixture();
    for case in f["dsr_cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let d = deflated_sharpe(&floats(&case["returns"]), &floats(&case["trial_srs"]))
            .expect("computes");
        let e = &case["expected"];
        close(d.sharpe, e["sr"].as_f64().unwrap(), 1e-12, name);
        close(d.skew, e["skew"].as_f64().unwrap(), 1e-10, name);
        close(d.kurtosis, e["kurt"].as_f64().unwrap(), 1e-10, name);
        close(
            d.sharpe_variance,
            e["sr_var"].as_f64().unwrap(),
            1e-10,
            name,
        );
        close(d.sharpe_star, e["sr_star"].as_f64().unwrap(), 1e-10, name);
        close(d.psr, e["psr_zero"].as_f64().unwrap(), 1e-10, name);
        close(d.dsr, e["dsr"].as_f64().unwrap(), 1e-10, name);
    }
}

/// `T × N` row-major returns to one column per trial.
fn columns(rows: &Value) -> Vec<Vec<f64>> {
    let rows: Vec<Vec<f64>> = rows.as_array().expect("rows").iter().map(floats).collect();
    let n = rows[0].len();
    (0..n)
        .map(|j| rows.iter().map(|r| r[j]).collect())
        .collect()
}

#[test]
fn pbo_matches_the_reference() {
    let f = fixture();
    let cases = f["pbo_cases"].as_array().expect("cases");
    let noise = columns(&cases[0]["returns"]);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let cols = if case.get("returns_from").is_some() {
            let mut c = noise.clone();
            let rep = &case["replace_column"];
            c[rep["index"].as_u64().unwrap() as usize] = floats(&rep["values"]);
            c
        } else {
            columns(&case["returns"])
        };
        let s = case["S"].as_u64().unwrap() as usize;
        let p = pbo(&cols, s).expect("computes");
        let e = &case["expected"];
        assert_eq!(
            p.periods,
            e["rows_used"].as_u64().unwrap() as usize,
            "{name}"
        );
        assert_eq!(
            p.splits,
            e["combinations"].as_u64().unwrap() as usize,
            "{name}"
        );
        close(p.pbo, e["pbo"].as_f64().unwrap(), 1e-12, name);
        close(p.mean_logit, e["mean_logit"].as_f64().unwrap(), 1e-9, name);
        close(
            p.degradation_slope,
            e["degradation_slope"].as_f64().unwrap(),
            1e-8,
            name,
        );
        close(p.prob_loss, e["prob_loss"].as_f64().unwrap(), 1e-12, name);
    }
    // What the statistic is for: noise overfits about half the time, a planted edge rarely.
    let noise_pbo = cases[0]["expected"]["pbo"].as_f64().unwrap();
    let edge_pbo = cases[1]["expected"]["pbo"].as_f64().unwrap();
    assert!((0.3..=0.7).contains(&noise_pbo) && edge_pbo < 0.1);
}
