//! Cross-sectional research through the services, on the bundled sample: universes with
//! point-in-time membership (and the survivorship notice), portfolio backtests over a
//! universe, and factor evaluation with its figures.

use serde_json::json;
use sextant_core::backtest::BacktestRequest;
use sextant_core::factors::{figure, FactorRequest};
use sextant_core::universes::{UniverseService, CACHE_UNIVERSE};

use crate::common;
use common::{d, services};

fn universe_request(universe: &str, params: serde_json::Value) -> BacktestRequest {
    serde_json::from_value(json!({
        "strategy": "topk_dropout",
        "params": params,
        "universe": universe,
        "from": "2005-01-01",
        "to": "2013-12-31",
        "sim": {"initial_cash": 100000.0, "costs": {"commission_pct": 0.001, "commission_fixed": 0.0, "slippage_bps": 2.0}}
    }))
    .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_universe_backtest_says_what_it_traded_and_its_survivorship_bias() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let req = universe_request(
        CACHE_UNIVERSE,
        json!({"topk": 2, "n_drop": 1, "signal": "momentum", "lookback": 60}),
    );
    let run = s.backtests.run(&req).await.expect("run");
    let m = &run.manifest;
    assert_eq!(
        m.request.symbols.len(),
        5,
        "the cache universe's five names"
    );
    assert_eq!(m.request.universe.as_deref(), Some(CACHE_UNIVERSE));
    let u = &m.inputs["universe"];
    assert_eq!(u["delisted"], 0);
    assert!(
        u["survivorship_notice"]
            .as_str()
            .is_some_and(|n| n.contains("survivorship bias")),
        "no delisted member: the run says so: {u}"
    );
    assert!(
        run.trade_count > 20,
        "weekly rotation trades: {}",
        run.trade_count
    );
    // Same request, same universe: same id, bit for bit.
    let again = s.backtests.run(&req).await.expect("rerun");
    assert_eq!(again.id, run.id);
    assert_eq!(again.final_equity.to_bits(), run.final_equity.to_bits());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_is_point_in_time_and_a_delisted_member_lifts_the_notice() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    // IBM leaves on 2008-12-31; MSFT joins on 2009-01-01.
    let csv = "symbol,from,to\nAAPL,,\nGOOG,,\nIBM,,2008-12-31\nMSFT,2009-01-01,\n";
    let members = UniverseService::parse_csv(csv).expect("csv");
    let saved = s
        .universes
        .save("pit", "test", "file", members)
        .await
        .expect("save");
    assert_eq!(saved.delisted(), 1);
    assert!(saved.survivorship_notice().is_none());
    let req = universe_request("pit", json!({"topk": 2, "n_drop": 1, "rebalance": "daily"}));
    let run = s.backtests.run(&req).await.expect("run");
    assert!(run.manifest.inputs["universe"]["survivorship_notice"].is_null());
    let trades = s.backtests.trades(&run.id).await.expect("trades");
    let entry = |t: &sextant_core::backtest::TradeRecord| {
        t.entry_ts.map(|ts| ts.date_naive()).expect("entry")
    };
    // Decisions on day t fill on t+1: a member is bought only after a day it was a member.
    assert!(
        trades
            .iter()
            .filter(|t| t.symbol == "IBM")
            .all(|t| entry(t) <= d("2009-01-02")),
        "IBM bought after it left the universe"
    );
    assert!(
        trades
            .iter()
            .filter(|t| t.symbol == "MSFT")
            .all(|t| entry(t) > d("2009-01-01")),
        "MSFT bought before it joined"
    );
    assert!(
        trades.iter().any(|t| t.symbol == "MSFT"),
        "MSFT traded once a member"
    );
    // A bad file names its line.
    let err = UniverseService::parse_csv("symbol,from\nAAPL,2009-13-01\n").expect_err("bad date");
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn factor_evaluation_over_the_cache_universe() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let req = FactorRequest {
        universe: CACHE_UNIVERSE.into(),
        signal: json!({"signal": "momentum", "lookback": 20}),
        from: Some(d("2005-01-01")),
        to: Some(d("2012-12-31")),
        periods: vec![1, 5, 10],
        quantiles: 2,
        regime_model: None,
        prices: Default::default(),
    };
    let e = s.factors.evaluate(req.clone()).await.expect("evaluate");
    let r = &e.report;
    assert_eq!(r.ic.len(), 3);
    assert!(r.dates > 1500, "eight years of dates: {}", r.dates);
    assert!(r
        .ic
        .iter()
        .all(|h| h.summary.n > 1000 && h.summary.mean.is_finite()));
    assert!(
        r.dropped > 0,
        "look-back and horizon cells are left out and counted"
    );
    assert!(e.universe["survivorship_notice"].is_string());
    for which in ["ic", "quantiles"] {
        let svg = figure(&e, which).expect("figure");
        assert!(
            svg.starts_with("<svg") && svg.ends_with("</svg>"),
            "{which}"
        );
    }
    // Deterministic: the same request gives the same report.
    let again = s.factors.evaluate(req).await.expect("again");
    assert_eq!(
        serde_json::to_string(&again.report).ok(),
        serde_json::to_string(&e.report).ok()
    );
    // A bad signal is a clear error.
    let bad = FactorRequest {
        universe: CACHE_UNIVERSE.into(),
        signal: json!({"signal": "astrology"}),
        from: None,
        to: None,
        periods: vec![1],
        quantiles: 5,
        regime_model: None,
        prices: Default::default(),
    };
    let err = s.factors.evaluate(bad).await.expect_err("bad signal");
    assert!(err.to_string().contains("signal"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_walk_forward_feeds_a_portfolio_and_is_judged_cross_sectionally() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let req: sextant_core::signals::MlWalkForwardRequest = serde_json::from_value(json!({
        "train": {
            "name": "wf_pool",
            "symbols": ["AAPL", "GOOG", "IBM", "MSFT"],
            "label": {"kind": "next_return", "horizon": 5},
            "seed": 3,
            "params": {"n_trees": 30}
        },
        "test_from": "2010-01-01",
        "test_to": "2013-12-31",
        "windows": 3,
        "portfolio": {"strategy": "topk_dropout", "params": {"topk": 2, "n_drop": 1}}
    }))
    .expect("request");
    let wf = s
        .signals
        .walk_forward(req, &s.backtests)
        .await
        .expect("walk forward");
    // Every window's model saw only labels that ended before the window.
    for w in &wf.windows {
        assert!(w.train_label_end.expect("trained").date() < w.from);
    }
    let bt = &wf.backtest;
    assert_eq!(bt.manifest.request.strategy, "topk_dropout");
    assert_eq!(bt.manifest.request.params["signal"], "series");
    assert!(bt.trade_count > 10, "the stitched scores rotate the book");
    assert!(
        bt.relative.is_some(),
        "judged against the equal-weight universe"
    );
    let f = wf
        .factor
        .expect("four symbols: a cross-sectional evaluation");
    assert_eq!(f.periods, vec![1, 5, 10]);
    assert!(f
        .ic
        .iter()
        .all(|h| h.summary.n > 500 && h.summary.mean.is_finite()));
    // Scores exist only in the test span: nothing before 2010 is evaluated.
    let first = f.ic[0].series.first().expect("dates").0;
    assert!(
        first >= 14_610,
        "first evaluated day {first} is before 2010-01-01"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_without_adjustment_data_are_called_as_traded() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    // A file with no Adj Close column: nothing to adjust with.
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    let mut day = d("2012-01-02");
    let mut px = 20.0;
    for i in 0..60 {
        while matches!(
            chrono::Datelike::weekday(&day),
            chrono::Weekday::Sat | chrono::Weekday::Sun
        ) {
            day = day.succ_opt().expect("date");
        }
        // Bar 30 halves: a 2-for-1 split printed as traded.
        px *= if i == 30 {
            0.5
        } else if i % 7 == 0 {
            0.99
        } else {
            1.004
        };
        csv.push_str(&format!(
            "{day},{px},{},{},{px},1000\n",
            px * 1.01,
            px * 0.99
        ));
        day = day.succ_opt().expect("date");
    }
    let path = dir.path().join("rawx.csv");
    std::fs::write(&path, csv).expect("write");
    let opts = sextant_data::cache::FileOptions {
        symbol: Some(sextant_test_support::sym("RAWX")),
        ..Default::default()
    };
    s.cache.ingest_file(&path, &opts).expect("ingest");
    let mut req = sextant_test_support::request("buy_and_hold", &["RAWX"]);
    req.from = Some(d("2012-01-01"));
    let run = s.backtests.run(&req).await.expect("run");
    assert_eq!(
        run.manifest.inputs["unadjusted_symbols"],
        json!(["RAWX"]),
        "the manifest says the total-return prices are the raw prints"
    );
    let report = s
        .reports
        .report(&run.id)
        .await
        .expect("report")
        .expect("run");
    let text = serde_json::to_string(&report).expect("json");
    assert!(
        text.contains("as traded"),
        "the narrative does not call them adjusted"
    );
    assert!(
        text.contains("split-like"),
        "and it names the split-like move"
    );
    let moves = run.manifest.inputs["split_like_moves"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(moves.len(), 1, "the halving is named: {moves:?}");
    assert_eq!(moves[0]["symbol"], "RAWX");
    // The bundled data carries the vendor's adjusted close: nothing to say.
    let aapl = s
        .backtests
        .run(&sextant_test_support::request("buy_and_hold", &["AAPL"]))
        .await
        .expect("run");
    assert!(aapl.manifest.inputs.get("unadjusted_symbols").is_none());
}
