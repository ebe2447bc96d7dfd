//! Sharpe and Sortino with a per-period risk-free SERIES (`MetricsInput::risk_free`) against
//! empyrical-reloaded 0.7.1, which subtracts an array `risk_free` / `required_return` element by
//! element. Golden file written by `scripts/golden/make_riskfree_golden.py` (see
//! `scripts/golden/README.md`): 504 daily returns of MSFT's adjusted close (2007-01-03 ..
//! 2008-12-31, from the bundled sample) against the real 3-month T-bill yield of statsmodels'
//! macrodata (quarterly; for the return dated t the last yield stamped strictly before t,
//! deannualised over 252 periods), plain and with four NaN returns.
//!
//! Tolerance: `|ours - theirs| <= 1e-12 * max(|ours|, |theirs|)` for Sharpe and Sortino (the
//! arithmetic is the same as bottleneck's, so in practice they are equal); annual return and
//! volatility, which take no risk-free rate, to the 1e-9 of `metrics_golden.rs`.

use serde_json::Value;
use sextant_backtest::metrics::*;

const REL_TOL: f64 = 1e-12;
const REFERENCE_TOL: f64 = 1e-9;

fn load() -> Value {
    let path = crate::common::golden_path("metrics_riskfree.json");
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
    v.as_array().expect("array").iter().map(num).collect()
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

struct Case {
    name: String,
    returns: Vec<f64>,
    risk_free: Vec<f64>,
    risk_free_mean: f64,
    expected: Value,
}

fn cases(doc: &Value) -> Vec<Case> {
    let cases: Vec<Case> = doc["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("name").to_owned(),
            returns: nums(&c["returns"]),
            risk_free: nums(&c["risk_free"]),
            risk_free_mean: num(&c["risk_free_mean"]),
            expected: c["expected"].clone(),
        })
        .collect();
    assert_eq!(cases.len(), 2, "golden file has {} cases", cases.len());
    for case in &cases {
        assert_eq!(case.returns.len(), 504, "{}", case.name);
        assert_eq!(case.risk_free.len(), case.returns.len(), "{}", case.name);
    }
    cases
}

fn compute(
    returns: &[f64],
    risk_free: Option<&[f64]>,
    config: &MetricsConfig,
) -> Result<Metrics, MetricsError> {
    let input = MetricsInput {
        returns,
        risk_free,
        ..Default::default()
    };
    Metrics::compute(&input, config)
}

fn check(failures: &mut Vec<String>, what: &str, got: f64, want: f64, tol: f64) {
    let err = rel_error(got, want);
    println!("{what:<60} ours {got:>22.17} empyrical {want:>22.17} rel err {err:.2e}");
    if err > tol {
        failures.push(format!(
            "{what}: ours {got}, empyrical {want} (rel err {err:.3e})"
        ));
    }
}

#[test]
fn sharpe_and_sortino_with_a_risk_free_series_match_empyrical() {
    let doc = load();
    let config = MetricsConfig::equities_daily();
    let mut failures = Vec::new();
    for case in cases(&doc) {
        let e = &case.expected;
        let series =
            compute(&case.returns, Some(case.risk_free.as_slice()), &config).expect("aligned");
        let scalar = compute(
            &case.returns,
            None,
            &config.with_risk_free(case.risk_free_mean),
        )
        .expect("valid config");
        let zero = compute(&case.returns, None, &config).expect("valid config");
        for (label, m) in [
            ("series", &series),
            ("constant_mean", &scalar),
            ("zero", &zero),
        ] {
            let name = &case.name;
            check(
                &mut failures,
                &format!("{name} {label} sharpe"),
                m.sharpe,
                num(&e[label]["sharpe"]),
                REL_TOL,
            );
            check(
                &mut failures,
                &format!("{name} {label} sortino"),
                m.sortino,
                num(&e[label]["sortino"]),
                REL_TOL,
            );
            // Neither takes a risk-free rate: unchanged, and still empyrical's.
            assert_eq!(m.cagr.to_bits(), zero.cagr.to_bits(), "{name} {label}");
            assert_eq!(
                m.annual_volatility.to_bits(),
                zero.annual_volatility.to_bits(),
                "{name} {label}"
            );
            check(
                &mut failures,
                &format!("{name} {label} annual_return"),
                m.cagr,
                num(&e["annual_return"]),
                REFERENCE_TOL,
            );
            check(
                &mut failures,
                &format!("{name} {label} annual_volatility"),
                m.annual_volatility,
                num(&e["annual_volatility"]),
                REFERENCE_TOL,
            );
        }
        // The series is used, not ignored: the rates (0.12 % .. 4.95 % a year) move both ratios
        // far beyond the tolerance, and its time variation alone moves them too.
        assert!(
            rel_error(series.sharpe, zero.sharpe) > 1e-2,
            "{}: a risk-free series changes Sharpe",
            case.name
        );
        assert!(
            rel_error(series.sharpe, scalar.sharpe) > 1e-6,
            "{}: the series is not its mean",
            case.name
        );
        assert!(rel_error(series.sortino, scalar.sortino) > 1e-6);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_risk_free_series_replaces_the_config_rate() {
    let doc = load();
    for case in cases(&doc) {
        let plain = compute(
            &case.returns,
            Some(case.risk_free.as_slice()),
            &MetricsConfig::equities_daily(),
        )
        .expect("aligned");
        let with_rate = compute(
            &case.returns,
            Some(case.risk_free.as_slice()),
            &MetricsConfig::equities_daily().with_risk_free(0.01),
        )
        .expect("aligned");
        assert_eq!(
            plain.sharpe.to_bits(),
            with_rate.sharpe.to_bits(),
            "{}",
            case.name
        );
        assert_eq!(
            plain.sortino.to_bits(),
            with_rate.sortino.to_bits(),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_constant_series_equals_the_scalar_rate() {
    let doc = load();
    for case in cases(&doc) {
        let n = case.returns.len();
        for rate in [case.risk_free_mean, 0.0, -0.0001, 0.002] {
            let constant = vec![rate; n];
            for convention in [Convention::Empyrical, Convention::QuantStats] {
                let config = MetricsConfig::equities_daily().with_convention(convention);
                let from_series =
                    compute(&case.returns, Some(constant.as_slice()), &config).expect("aligned");
                let from_scalar = compute(&case.returns, None, &config.with_risk_free(rate))
                    .expect("valid config");
                let what = format!("{} rate {rate} {convention:?}", case.name);
                assert_eq!(
                    from_series.sharpe.to_bits(),
                    from_scalar.sharpe.to_bits(),
                    "{what}: sharpe {} vs {}",
                    from_series.sharpe,
                    from_scalar.sharpe
                );
                assert_eq!(
                    from_series.sortino.to_bits(),
                    from_scalar.sortino.to_bits(),
                    "{what}: sortino {} vs {}",
                    from_series.sortino,
                    from_scalar.sortino
                );
                assert_eq!(from_series.cagr.to_bits(), from_scalar.cagr.to_bits());
                assert_eq!(
                    from_series.max_drawdown.to_bits(),
                    from_scalar.max_drawdown.to_bits()
                );
            }
        }
        // empyrical agrees: its constant-mean numbers are those of the scalar.
        let constant = vec![case.risk_free_mean; n];
        let scalar = compute(
            &case.returns,
            Some(constant.as_slice()),
            &MetricsConfig::equities_daily(),
        )
        .expect("aligned");
        let e = &case.expected["constant_mean"];
        assert!(rel_error(scalar.sharpe, num(&e["sharpe"])) <= REL_TOL);
        assert!(rel_error(scalar.sortino, num(&e["sortino"])) <= REL_TOL);
    }
}

#[test]
fn a_risk_free_series_of_another_length_is_rejected() {
    let doc = load();
    let case = cases(&doc).remove(0);
    let n = case.returns.len();
    let longer: Vec<f64> = case
        .risk_free
        .iter()
        .copied()
        .chain([case.risk_free[n - 1]])
        .collect();
    let config = MetricsConfig::equities_daily();
    let empty: &[f64] = &[];
    for rf in [
        &case.risk_free[..n - 1],
        &longer[..],
        empty,
        &case.risk_free[..1],
    ] {
        match compute(&case.returns, Some(rf), &config) {
            Err(MetricsError::LengthMismatch {
                series: "risk_free",
                expected,
                got,
            }) => assert_eq!((expected, got), (n, rf.len())),
            other => panic!(
                "risk_free of {} values for {n} returns: {other:?}",
                rf.len()
            ),
        }
    }
    // Also when the returns are shorter than the series, and both empty is fine.
    assert!(matches!(
        compute(
            &case.returns[..10],
            Some(case.risk_free.as_slice()),
            &config
        ),
        Err(MetricsError::LengthMismatch {
            series: "risk_free",
            ..
        })
    ));
    let nothing = compute(empty, Some(empty), &config).expect("both empty");
    assert!(nothing.sharpe.is_nan() && nothing.sortino.is_nan());
    // empyrical refuses too (numpy cannot broadcast the two shapes).
    for (key, why) in doc["meta"]["other_length"]
        .as_object()
        .expect("other_length")
    {
        assert!(
            why.as_str().expect("text").starts_with("ValueError"),
            "{key}: {why}"
        );
    }
}

#[test]
fn the_documented_rule_rebuilds_the_risk_free_series() {
    // For the return dated t: the last yield stamped strictly before t, per period
    // (1 + y/100)^(1/252) - 1 (the crate's `deannualize`).
    let doc = load();
    let observations: Vec<(String, f64)> = doc["meta"]["risk_free_observations"]
        .as_array()
        .expect("observations")
        .iter()
        .map(|o| {
            let value: f64 = o["value"].as_str().expect("text").parse().expect("yield");
            (o["timestamp"].as_str().expect("date").to_owned(), value)
        })
        .collect();
    assert_eq!(observations.len(), 8, "eight quarters, 2007Q1 .. 2008Q4");
    for c in doc["cases"].as_array().expect("cases") {
        let dates: Vec<&str> = c["dates"]
            .as_array()
            .expect("dates")
            .iter()
            .map(|d| d.as_str().expect("date"))
            .collect();
        let rf = nums(&c["risk_free"]);
        assert_eq!(dates.len(), rf.len());
        for (date, got) in dates.iter().zip(&rf) {
            // ISO dates compare as text.
            let (stamp, y) = observations
                .iter()
                .rev()
                .find(|(stamp, _)| stamp.as_str() < *date)
                .expect("a yield before every return");
            let want = deannualize(y / 100.0, EQUITIES_DAILY);
            assert!(
                rel_error(*got, want) <= 1e-15,
                "{date}: golden {got}, deannualize({y} % from {stamp}) = {want}"
            );
        }
    }
    // A return dated on a quarter's first trading day takes the previous quarter's yield only
    // when that day is the stamp itself: 2007-10-01 is a session and uses 2007-07-01's 4.00 %.
    let c = &doc["cases"][0];
    let i = c["dates"]
        .as_array()
        .expect("dates")
        .iter()
        .position(|d| d == "2007-10-01")
        .expect("2007-10-01 is a session");
    let rate = num(&c["risk_free"][i]);
    assert!(
        rel_error(rate, deannualize(0.04, EQUITIES_DAILY)) <= 1e-15,
        "{rate}"
    );
}
