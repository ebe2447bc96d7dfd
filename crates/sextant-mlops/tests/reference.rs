//! Every statistic against the numpy/scipy reference computed by `scripts/mlops/reference.py`
//! (fixture `tests/fixtures/mlops_reference.json`) on fixed, closed-form inputs.

use serde_json::Value;
use sextant_mlops::drift::{ks_2samp, psi};
use sextant_mlops::harness::{bootstrap_difference, psr_report, random_entries, Held};
use sextant_numeric::SplitMix;

const PHI: f64 = 0.6180339887498949;
const S2: f64 = 0.41421356237309515;

fn frac_seq(n: usize, a: f64) -> Vec<f64> {
    (1..=n)
        .map(|i| {
            let x = i as f64 * a;
            x - x.floor()
        })
        .collect()
}

fn fixture() -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/mlops_reference.json",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    ))
    .expect("fixture");
    serde_json::from_str(&text).expect("json")
}

fn close(got: f64, want: &Value, rel: f64, what: &str) {
    let want = want.as_f64().unwrap_or_else(|| panic!("{what}: {want}"));
    let tol = rel * want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e}"
    );
}

fn shifted(x: &[f64], add: f64, mul: f64) -> Vec<f64> {
    x.iter().map(|v| v * mul + add).collect()
}

#[test]
fn psi_and_ks_equal_numpy_and_scipy() {
    let f = fixture();
    let reference = frac_seq(1000, PHI);
    let cur = frac_seq(500, S2);
    let cases = [
        ("unshifted", shifted(&cur, 0.0, 1.0)),
        ("shift_0.05", shifted(&cur, 0.05, 1.0)),
        ("shift_0.10", shifted(&cur, 0.10, 1.0)),
        ("shift_0.25", shifted(&cur, 0.25, 1.0)),
        ("scale_1.5", shifted(&cur, 0.0, 1.5)),
    ];
    for (i, (name, current)) in cases.iter().enumerate() {
        let want = &f["psi"][i];
        assert_eq!(want["case"], *name);
        let got = psi(&reference, current, 10).expect("psi");
        close(got.psi, &want["psi"], 1e-12, name);
        for (g, w) in got
            .current
            .iter()
            .zip(want["cur_props"].as_array().expect("props"))
        {
            close(*g, w, 1e-12, name);
        }
        let ks = &f["ks"][i];
        let k = ks_2samp(&reference, current).expect("ks");
        close(k.d, &ks["d"], 1e-15, name);
        close(k.p, &ks["p"], 1e-10, name);
    }
    for (g, w) in psi(&reference, &cur, 10)
        .expect("psi")
        .edges
        .iter()
        .zip(f["psi_edges"].as_array().expect("edges"))
    {
        close(*g, w, 1e-14, "edge");
    }
}

#[test]
fn exact_ks_equals_scipy_with_ties_and_equal_sizes() {
    let f = fixture();
    let small_a: Vec<f64> = serde_json::from_value(f["small_a"].clone()).expect("a");
    let small_b: Vec<f64> = serde_json::from_value(f["small_b"].clone()).expect("b");
    let reference = frac_seq(1000, PHI);
    let cur = frac_seq(500, S2);
    let cases: [(&str, Vec<f64>, Vec<f64>); 5] = [
        ("small_ties_25_15", small_a, small_b),
        ("ref1000_vs_cur500", reference.clone(), cur.clone()),
        (
            "ref1000_vs_cur500+0.10",
            reference.clone(),
            shifted(&cur, 0.10, 1.0),
        ),
        (
            "equal_500_500+0.05",
            frac_seq(500, PHI),
            shifted(&cur, 0.05, 1.0),
        ),
        (
            "ref1000_vs_cur500+0.25",
            reference,
            shifted(&cur, 0.25, 1.0),
        ),
    ];
    for (i, (name, a, b)) in cases.iter().enumerate() {
        let want = &f["ks_exact_port"][i];
        assert_eq!(want["case"], *name);
        let k = ks_2samp(a, b).expect("ks");
        close(k.d, &want["scipy_d"], 1e-15, name);
        close(k.p, &want["scipy_p"], 1e-10, name);
    }
}

#[test]
fn psr_equals_the_reference() {
    let f = fixture();
    let strat: Vec<f64> = frac_seq(500, PHI)
        .iter()
        .map(|x| 0.01 * (x - 0.5) + 0.0005)
        .collect();
    let bench: Vec<f64> = frac_seq(500, S2)
        .iter()
        .map(|x| 0.012 * (x - 0.5) + 0.0003)
        .collect();
    let want = &f["psr"][0];
    let got = psr_report(&strat, Some(&bench)).expect("psr");
    close(got.sharpe, &want["sr"], 1e-12, "sr");
    close(got.skew, &want["skew"], 1e-9, "skew");
    close(got.kurtosis, &want["kurt"], 1e-12, "kurt");
    close(got.psr_zero, &want["psr_0"], 1e-10, "psr 0");
    close(
        got.benchmark_sharpe.expect("bench"),
        &want["bench_sr"],
        1e-12,
        "bench sr",
    );
    close(
        got.psr_benchmark.expect("psr b"),
        &want["psr_vs_bench"],
        1e-10,
        "psr bench",
    );
    let cubic: Vec<f64> = frac_seq(252, PHI)
        .iter()
        .map(|x| {
            let d = x - 0.45;
            0.05 * (d * d * d) - 0.00045
        })
        .collect();
    let want = &f["psr"][1];
    let got = psr_report(&cubic, None).expect("psr");
    close(got.sharpe, &want["sr"], 1e-12, "cubic sr");
    close(got.skew, &want["skew"], 1e-10, "cubic skew");
    close(got.psr_zero, &want["psr_0"], 1e-10, "cubic psr 0");
    let at = sextant_tuning::overfit::psr(got.sharpe, got.periods, got.skew, got.kurtosis, 0.05);
    close(at, &want["psr_005"], 1e-10, "cubic psr 0.05");
}

fn slot_returns() -> Vec<f64> {
    frac_seq(249, PHI)
        .iter()
        .map(|x| 0.02 * (x - 0.5) + 0.0004)
        .collect()
}

const TRADES: [(usize, usize); 5] = [(10, 25), (40, 47), (90, 130), (150, 160), (200, 230)];

#[test]
fn random_entries_replay_the_reference_draws() {
    let f = fixture();
    let first: Vec<u64> = serde_json::from_value(f["splitmix42_first3"].clone()).expect("u64");
    let mut rng = SplitMix::new(42);
    assert_eq!(first, (0..3).map(|_| rng.next_u64()).collect::<Vec<_>>());
    let held: Vec<Held> = TRADES
        .iter()
        .map(|(e, x)| Held {
            entry: *e,
            exit: *x,
        })
        .collect();
    let got = random_entries(&slot_returns(), &held, 0.001, 1000, 42).expect("baseline");
    let want = &f["random_entry"];
    let blocks: Vec<(usize, usize)> =
        serde_json::from_value(want["first_sim_blocks"].clone()).expect("blocks");
    assert_eq!(got.first_blocks, blocks);
    close(
        got.strategy_total,
        &want["strategy_total"],
        1e-12,
        "strategy",
    );
    for (g, w) in got
        .totals
        .iter()
        .zip(want["first5_totals"].as_array().expect("t"))
    {
        close(*g, w, 1e-12, "first totals");
    }
    close(got.mean, &want["mean"], 1e-12, "mean");
    close(got.median, &want["median"], 1e-12, "median");
    close(got.p05, &want["p05"], 1e-10, "p05");
    close(got.p95, &want["p95"], 1e-12, "p95");
    assert_eq!(
        got.at_least_as_good as u64,
        want["count_ge_strategy"].as_u64().expect("n")
    );
    close(got.p_value, &want["p_value"], 1e-15, "p");
}

#[test]
fn paired_bootstrap_equals_the_reference() {
    let f = fixture();
    let r = slot_returns();
    let mut mask = vec![0.0; r.len()];
    for (e, x) in TRADES {
        mask[e..x].iter_mut().for_each(|m| *m = 1.0);
    }
    let strat: Vec<f64> = r.iter().zip(&mask).map(|(r, m)| r * m).collect();
    let got = bootstrap_difference(&strat, &r, 2000, 7).expect("bootstrap");
    let want = &f["bootstrap"];
    close(got.mean_diff, &want["mean_diff"], 1e-12, "mean diff");
    close(
        got.mean_diff_ci[0],
        &want["mean_diff_ci"][0],
        1e-9,
        "mean lo",
    );
    close(
        got.mean_diff_ci[1],
        &want["mean_diff_ci"][1],
        1e-9,
        "mean hi",
    );
    close(got.sharpe_diff, &want["sharpe_diff"], 1e-12, "sharpe diff");
    close(
        got.sharpe_diff_ci[0],
        &want["sharpe_diff_ci"][0],
        1e-9,
        "sr lo",
    );
    close(
        got.sharpe_diff_ci[1],
        &want["sharpe_diff_ci"][1],
        1e-9,
        "sr hi",
    );
    close(
        got.share_sharpe_not_better,
        &want["share_le_0_sharpe"],
        1e-15,
        "share",
    );
}
