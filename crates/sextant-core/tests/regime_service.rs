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
            100.0 * r.mean_return.unwrap_or(f64::NAN),
            100.0 * r.volatility.unwrap_or(f64::NAN)
        );
    }
    // Names come from each fit's own statistics; how often a refit renamed a matched state:
    let renamed: usize = state.segments.iter().map(|g| g.renamed).sum();
    eprintln!(
        "{renamed} state renames over {} refits ({} states each)",
        state.segments.len() - 1,
        state.columns.len()
    );
    assert!(
        renamed * 4 <= (state.segments.len() - 1) * 3,
        "names mostly stable across refits: {renamed} renames"
    );
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
    assert!(crash.iter().all(|r| r.fitted_to <= r.day));

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
    // Without bull parameters there is no unconditioned twin: an error, not a comparison
    // against the inner strategy's defaults.
    let mut no_bull = req.clone();
    no_bull.params = json!({"model": "big3", "strategy": "sma_cross",
                            "sideways": {"fast": 10, "slow": 30}});
    let err = evaluate(&s.backtests, &s.regimes, &s.cache, &no_bull)
        .await
        .expect_err("no bull parameters");
    assert!(err.to_string().contains("params.bull"), "{err}");
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

    // The narrative's fact sheet carries the regime context, and the text passes validation.
    let report = s
        .reports
        .report(&run.id)
        .await
        .expect("report")
        .expect("a report");
    assert_eq!(report.facts.extra["regime"]["model"], json!("big3"));
    assert!(
        report.markdown.contains("## Market regimes"),
        "{}",
        report.markdown
    );
    assert!(
        report.markdown.contains("- high_vol: "),
        "{}",
        report.markdown
    );
    assert!(
        report.validation.ok && !report.fallback,
        "{:?}",
        report.validation
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_bars_that_confirm_a_change_alert_once_and_reach_the_webhook() {
    use sextant_domain::{Resolution, Source};
    let s = sextant_test_support::services_with(|c| c.load_sample = false).await;
    let sample = sextant_data::Cache::open_in_memory().expect("cache");
    sample.ingest_sample().expect("sample");
    let universe = [sym("AAPL"), sym("IBM"), sym("MSFT")];
    let cut = d("2008-06-30");
    let mut later = Vec::new();
    for u in &universe {
        let bars = sample.bars(u, Resolution::Daily, None, None).expect("bars");
        let (before, after): (Vec<_>, Vec<_>) = bars.into_iter().partition(|b| b.ts.date() <= cut);
        s.cache
            .ingest_bars(&before, Source::Sample, "test")
            .expect("ingest");
        later.push(after);
    }
    let (url, mut posts) = sextant_testkit::webhook::start().await.expect("webhook");
    let spec = RegimeSpec {
        name: "big3".into(),
        symbols: universe.to_vec(),
        features: sextant_core::regimes::features::default_features(),
        walk: WalkConfig::default(),
        confirm_bars: 3,
        webhook: Some(url),
    };
    let (first, backfill) = s.regimes.fit(spec).await.expect("fit");
    assert_eq!(first.last_day, cut);
    assert!(backfill.iter().all(|a| a.backfill && a.webhook.is_none()));

    // First the rest of 2008: no refit is due (the next is in April 2009), so the refresh only
    // appends labels, and they equal a model fitted cold on the same bars.
    let mid = d("2008-12-31");
    for after in &later {
        let part: Vec<_> = after
            .iter()
            .filter(|b| b.ts.date() <= mid)
            .cloned()
            .collect();
        s.cache
            .ingest_bars(&part, Source::Sample, "test")
            .expect("ingest to the end of 2008");
    }
    let out = s.regimes.refresh_touching(&[sym("IBM")]).await;
    let (mid_state, mid_alerts) = out.into_iter().next().expect("one").1.expect("refresh");
    assert_eq!(
        mid_state.fitted_last_update, 0,
        "no refit due before April 2009"
    );
    let cold_spec = RegimeSpec {
        name: "cold".into(),
        webhook: None,
        ..mid_state.spec.clone()
    };
    s.regimes.fit(cold_spec).await.expect("cold fit");
    let (_, appended) = s
        .regimes
        .history("big3", None, None)
        .await
        .expect("history");
    let (_, cold) = s
        .regimes
        .history("cold", None, None)
        .await
        .expect("history");
    assert_eq!(
        appended, cold,
        "appended labels equal a cold fit's, bit for bit"
    );

    for after in &later {
        let rest: Vec<_> = after
            .iter()
            .filter(|b| b.ts.date() > mid)
            .cloned()
            .collect();
        s.cache
            .ingest_bars(&rest, Source::Sample, "test")
            .expect("ingest the rest");
    }
    let out = s.regimes.refresh_touching(&[sym("IBM")]).await;
    assert_eq!(out.len(), 2, "both models hold IBM");
    let (state, late_alerts) = out
        .into_iter()
        .next()
        .expect("big3 first")
        .1
        .expect("refresh");
    assert!(state.fitted_last_update > 0 && state.fitted_last_update < state.segments.len());
    let alerts: Vec<_> = mid_alerts.into_iter().chain(late_alerts).collect();
    assert!(
        !alerts.is_empty(),
        "the 2008 crash confirms a change after the cut"
    );
    for a in &alerts {
        assert!(!a.backfill && a.day > cut, "{a:?}");
        assert_eq!(a.webhook.as_deref(), Some("sent: 200"), "{a:?}");
    }
    let mut received = Vec::new();
    while received.len() < alerts.len() {
        let v = tokio::time::timeout(std::time::Duration::from_secs(5), posts.recv())
            .await
            .expect("a post within 5 s")
            .expect("a body");
        received.push(v);
    }
    assert_eq!(received[0]["id"], serde_json::json!(alerts[0].id));
    assert!(
        received.iter().any(|v| v["to"] == "high_vol"),
        "{received:?}"
    );
    // Each change alerts once: a second refresh finds nothing new.
    let (_, again) = s.regimes.refresh("big3").await.expect("refresh");
    assert!(again.is_empty());
    let stored = s.regimes.alerts(Some("big3"), 1000).await.expect("alerts");
    assert_eq!(stored.len(), backfill.len() + alerts.len());
}
