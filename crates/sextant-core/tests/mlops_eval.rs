//! The evaluation harness on the bundled real data: a strategy replayed over named crises beside
//! its baselines, checked against what the prices did (buy & hold's return over the 2008-09
//! window is the total-return close ratio), windows the data does not cover listed as skipped,
//! a model-driven strategy explained (SHAP summary, counterfactuals that really flip the
//! signal), and every evaluation stored and tracked with its HTML report as an artifact.

use serde_json::json;
use sextant_core::mlops::EvalRequest;
use sextant_domain::{PriceBasis, Resolution};

use crate::common;
use common::{d, services};

fn request(backtest: serde_json::Value, windows: serde_json::Value) -> EvalRequest {
    serde_json::from_value(json!({
        "backtest": backtest, "windows": windows, "simulations": 500, "resamples": 500, "seed": 9
    }))
    .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strategy_is_replayed_over_crises_beside_its_baselines() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let req = request(
        json!({"strategy": "sma_cross", "params": {"fast": 10, "slow": 40}, "symbols": ["MSFT"]}),
        json!(["gfc", "dotcom", "covid", {"name": "q4_2008", "from": "2008-10-01", "to": "2008-12-31"}]),
    );
    let r = s.mlops.evaluate(&req, "alice").await.expect("evaluate");
    let names: Vec<&str> = r.windows.iter().map(|w| w.window.name.as_str()).collect();
    assert_eq!(names, vec!["gfc", "dotcom", "covid", "q4_2008"]);

    // The sample ends in 2013: COVID is listed as skipped, with why.
    let covid = &r.windows[2];
    assert!(covid
        .skipped
        .as_deref()
        .is_some_and(|w| w.contains("not the whole window")));
    assert!(covid.arms.is_empty());

    let gfc = &r.windows[0];
    assert!(gfc.skipped.is_none());
    let arms: Vec<&str> = gfc.arms.iter().map(|a| a.arm.as_str()).collect();
    assert_eq!(arms, vec!["strategy", "buy_and_hold", "untuned"]);
    // Truth, not only consistency: buy & hold over the window earned what MSFT's total-return
    // closes did, from the first fill to the last close (within the fill's commission and the
    // first bar, which buy & hold spends entering).
    let bars = s
        .cache
        .bars_on(
            &sextant_test_support::sym("MSFT"),
            Resolution::Daily,
            Some(d("2008-09-01")),
            Some(d("2009-03-31")),
            PriceBasis::TotalReturn,
        )
        .expect("bars");
    let bh = &gfc.arms[1];
    let entry = bars[1].open;
    let truth = bars.last().expect("bars").close / entry - 1.0;
    let bh_return = bh.total_return.expect("return");
    assert!(
        (bh_return - truth).abs() < 0.01,
        "buy & hold {bh_return} vs prices {truth}"
    );
    assert!(
        bh_return < -0.25,
        "MSFT fell through the crisis: {bh_return}"
    );
    assert!(
        bh.max_drawdown.expect("drawdown") > 0.35,
        "{:?}",
        bh.max_drawdown
    );
    for a in &gfc.arms {
        assert!(a.error.is_none(), "{a:?}");
        assert_eq!(a.equity.len(), gfc.bars);
        assert!((a.equity[0].1 - 1.0).abs() < 1e-12);
        let psr = a.psr.as_ref().expect("psr");
        assert!((0.0..=1.0).contains(&psr.psr_zero));
        if a.arm != "buy_and_hold" {
            let b = a.vs_buy_and_hold.as_ref().expect("bootstrap");
            assert!(b.sharpe_diff_ci[0] <= b.sharpe_diff && b.sharpe_diff <= b.sharpe_diff_ci[1]);
            assert!(psr.psr_benchmark.is_some());
        }
    }
    match (&gfc.random_entries, &gfc.random_entries_note) {
        (Some(t), _) => {
            assert_eq!(t.simulations, 500);
            assert!(t.p_value > 0.0 && t.p_value <= 1.0);
            assert!(t.p05 <= t.median && t.median <= t.p95);
        }
        (None, note) => assert!(note.is_some(), "a missing baseline says why"),
    }

    // Stored, tracked, with the HTML report as an artifact.
    let stored = s.mlops.eval(&r.id, Some("alice")).await.expect("stored");
    assert_eq!(stored, r);
    assert!(s.mlops.eval(&r.id, Some("bob")).await.is_err());
    let run = s
        .tracker
        .get(r.tracked_run.as_deref().expect("tracked"))
        .await
        .expect("run");
    assert!(run.artifacts.iter().any(|a| a.path == "report.html"));
    assert!(run.metrics.iter().any(|m| m.key == "gfc_strategy_sharpe"));
    let html = sextant_mlops::eval::render_html(&r);
    assert!(html.contains("gfc (2008-09-01 to 2009-03-31)"));
    assert!(html.contains("Skipped:"));

    // Same data, request and seed: the same figures.
    let again = s.mlops.evaluate(&req, "alice").await.expect("evaluate");
    assert_eq!(again.windows, r.windows);

    // Bad requests are refused with a reason.
    for bad in [
        json!({"backtest": {"strategy": "sma_cross", "symbols": ["MSFT", "IBM"]}}),
        json!({"backtest": {"strategy": "sma_cross", "symbols": ["MSFT"]}, "windows": ["nope"]}),
        json!({"backtest": {"strategy": "sma_cross", "symbols": ["MSFT"]}, "simulations": 5}),
        json!({"backtest": {"strategy": "sma_cross", "symbols": ["MSFT"]},
            "windows": [{"name": "x", "from": "2009-01-01", "to": "2008-01-01"}]}),
    ] {
        let req: EvalRequest = serde_json::from_value(bad.clone()).expect("parses");
        assert!(s.mlops.evaluate(&req, "alice").await.is_err(), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_driven_strategy_is_explained_with_counterfactuals_that_flip() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let train = serde_json::from_value(json!({
        "name": "up", "symbols": ["MSFT"], "train_from": "2001-01-01", "train_to": "2007-12-31",
        "validation": {"kind": "none"}, "params": {"n_trees": 20}, "seed": 5
    }))
    .expect("train");
    let rec = s.signals.train(train).await.expect("train");
    let req = request(
        json!({"strategy": "ml_signal", "params": {"model": rec.id, "lower": 0.48, "upper": 0.52},
            "symbols": ["MSFT"]}),
        json!(["gfc"]),
    );
    let r = s.mlops.evaluate(&req, "alice").await.expect("evaluate");
    let w = &r.windows[0];
    // The untuned arm trades the same model at the schema's thresholds (it keeps `model`).
    let untuned = w
        .arms
        .iter()
        .find(|a| a.arm == "untuned")
        .expect("an untuned arm");
    assert_eq!(untuned.error, None, "{untuned:?}");
    assert!(untuned.label.contains(&rec.id), "{}", untuned.label);
    let e = w.explanation.as_ref().expect("explanation");
    assert_eq!(e.model_id, rec.id);
    assert_eq!(e.threshold, 0.52);
    assert_eq!(
        e.rows, w.bars,
        "every window row is explained (fewer than 2000)"
    );
    assert_eq!(e.shap.len(), rec.features.len());
    assert!(e.shap.windows(2).all(|p| p[0].mean_abs >= p[1].mean_abs));
    assert_eq!(e.counterfactuals.len() + e.unflippable, 50);
    assert!(!e.counterfactuals.is_empty());
    // Each counterfactual really flips the model's signal.
    let model = s.signals.model(&rec).expect("model");
    let panel = sextant_features::FeatureStore::feature_panel(
        s.cache.as_ref(),
        &rec.view,
        Some(&rec.view_version),
        &rec.request.symbols,
        d("2008-09-01").and_hms_opt(0, 0, 0),
        d("2009-03-31").and_hms_opt(23, 59, 59),
    )
    .expect("panel");
    for c in &e.counterfactuals {
        let i = panel
            .ts
            .iter()
            .position(|t| t.date() == c.day)
            .expect("row");
        let mut row = panel.row(i);
        assert_eq!(model.predict_proba(&row), c.probability);
        let j = rec
            .features
            .iter()
            .position(|f| *f == c.feature)
            .expect("feature");
        row[j] = c.flipped_value;
        let q = model.predict_proba(&row);
        assert_eq!(q, c.flipped_probability);
        assert_ne!(c.probability >= 0.52, q >= 0.52, "{c:?}");
    }
    let run = s
        .tracker
        .get(r.tracked_run.as_deref().expect("tracked"))
        .await
        .expect("run");
    let paths: Vec<&str> = run.artifacts.iter().map(|a| a.path.as_str()).collect();
    assert!(paths.contains(&"shap_summary.json") && paths.contains(&"counterfactuals.json"));

    // Without `upper`, the explanation uses the threshold the strategy traded at: its schema's
    // default (0.55), not a constant of the harness.
    let req = request(
        json!({"strategy": "ml_signal", "params": {"model": rec.id}, "symbols": ["MSFT"]}),
        json!(["gfc"]),
    );
    let r = s.mlops.evaluate(&req, "alice").await.expect("evaluate");
    let e = r.windows[0].explanation.as_ref().expect("explanation");
    assert_eq!(e.threshold, 0.55);
}
