//! The regime service on the bundled universe (AAPL, IBM, MSFT): a walk-forward HMM whose
//! labels are stored in DuckDB and served, the 2008 crash in high_vol from walk-forward labels
//! alone, a refresh that reuses every fit, backfilled alerts, and a `regime_switch` strategy
//! evaluated out of sample beside the unconditioned strategy and buy & hold.

use serde_json::json;
use sextant_core::regimes::{evaluate, RegimeSpec};
use sextant_regimes::WalkConfig;
use sextant_test_support::{d, request, sym};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_forward_regimes_are_stored_served_and_evaluated() {
    let s = sextant_test_support::services().await;
    let spec = RegimeSpec {
        name: "big3".into(),
        symbols: vec![sym("AAPL"), sym("IBM"), sym("MSFT")],
        features: sextant_core::regimes::features::default_features(),
        walk: WalkConfig::default(),
        confirm_bars: 3,
        webhook: None,
    };
    let (state, alerts) = s.regimes.fit(spec).await.expect("fit");
    eprintln!(
        "labelled {} .. {}; {} fits; {} days unlabelled (first fit), {} left out",
        state.first_day,
        state.last_day,
        state.segments.len(),
        state.days_unlabelled,
        state.days_left_out
    );
    for r in &state.summary {
        eprintln!(
            "{}: {} days ({:.1}%), mean daily return {:+.3}%, annualised vol {:.1}%",
            r.regime,
            r.days,
            100.0 * r.share,
            100.0 * r.mean_return,
            100.0 * r.volatility
        );
    }
    assert_eq!(state.fitted_last_update, state.segments.len());
    assert!(
        alerts.iter().all(|a| a.backfill),
        "a first fit only backfills"
    );
    assert!(!alerts.is_empty(), "regimes changed over a decade");

    // The crash, from walk-forward (out-of-sample) labels.
    let (_, crash) = s
        .regimes
        .history("big3", Some(d("2008-09-01")), Some(d("2009-03-31")))
        .await
        .expect("history");
    let high = crash.iter().filter(|r| r.regime == "high_vol").count();
    eprintln!("2008-09..2009-03: {high} of {} days high_vol", crash.len());
    assert!(high * 2 > crash.len(), "{high}/{}", crash.len());
    assert!(crash
        .iter()
        .all(|r| r.fitted_to < r.day || r.fitted_to == r.day));

    // Served as of a date: the label of the last session on or before it.
    let (_, now) = s
        .regimes
        .at("big3", Some(d("2008-10-19")))
        .await
        .expect("at");
    assert_eq!(now.day, d("2008-10-17"));
    let total: f64 = now.probabilities.values().sum();
    assert!((total - 1.0).abs() < 1e-9, "{now:?}");

    // A refresh with no new bars refits nothing and changes no label.
    let (again, new_alerts) = s.regimes.refresh("big3").await.expect("refresh");
    assert_eq!(again.fitted_last_update, 0);
    assert!(new_alerts.is_empty());
    let (_, all) = s.regimes.history("big3", None, None).await.expect("h");
    assert_eq!(all.first().map(|r| r.day), Some(again.first_day));
    assert_eq!(all.last().map(|r| r.day), Some(again.last_day));

    // regime_switch: SMA 10/30 while bull or sideways, flat in bear and high_vol.
    let mut req = request("regime_switch", &["AAPL"]);
    req.params = json!({"model": "big3", "strategy": "sma_cross",
                        "bull": {"fast": 10, "slow": 30}, "sideways": {"fast": 10, "slow": 30}});
    let e = evaluate(&s.backtests, &s.regimes, &s.cache, &req)
        .await
        .expect("evaluate");
    eprintln!("{}", serde_json::to_string_pretty(&e).expect("json"));
    assert!(e.from >= state.first_day, "out of sample only");
    assert_eq!(e.vs_unconditioned.days, e.vs_buy_and_hold.days);
    assert!(e.vs_unconditioned.p_value > 0.0 && e.vs_unconditioned.p_value <= 1.0);
    let high_vol = e
        .by_regime
        .iter()
        .find(|r| r.regime == "high_vol")
        .expect("a high_vol slice");
    assert!(high_vol.days > 0, "{high_vol:?}");
    let run = s.backtests.run(&req).await.expect("run");
    assert!(
        run.manifest.inputs["regime_model"]["name"] == "big3",
        "{:?}",
        run.manifest.inputs
    );
}
