//! True numbers by default: backtests trade total-return prices unless asked for raw ones, every
//! run says which bars of its range it did not see, and a report refuses to describe a run
//! whose bars have changed since.

use serde_json::json;
use sextant_core::backtest::{BacktestError, BacktestRequest};
use sextant_domain::{PriceBasis, Resolution, Source, Symbol};

use crate::common;
use common::services;

fn buy_and_hold(symbol: &str, prices: Option<&str>) -> BacktestRequest {
    let mut v = json!({"strategy": "buy_and_hold", "symbols": [symbol]});
    if let Some(p) = prices {
        v["prices"] = json!(p);
    }
    serde_json::from_value(v).expect("request")
}

/// Buy and hold over the bundled range earns the file's own Adj Close ratio (entered at the
/// second bar's adjusted open, as next-open fills do), not the raw ratio that shows each 2:1
/// split as a −50 % day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buy_and_hold_earns_the_adjusted_close_ratio_by_default() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    for sym in ["AAPL", "MSFT"] {
        let symbol = Symbol::new(sym).expect("symbol");
        let raw = s
            .cache
            .bars(&symbol, Resolution::Daily, None, None)
            .expect("bars");
        let adj = |i: usize| raw[i].adj_close.expect("adj close");
        let adj_open1 = raw[1].open * adj(1) / raw[1].close;
        let last = raw.len() - 1;
        let want = adj(last) / adj_open1;
        let run = s
            .backtests
            .run(&buy_and_hold(sym, None))
            .await
            .expect("run");
        assert_eq!(run.manifest.prices, PriceBasis::TotalReturn);
        assert_eq!(run.manifest.request.prices, PriceBasis::TotalReturn);
        let got = 1.0 + run.metrics.total_return;
        // Whole shares leave at most one share's price in cash.
        let tol = adj_open1 / run.initial_cash;
        assert!(
            (got / want - 1.0).abs() < tol,
            "{sym}: total return {got} vs adjusted ratio {want}"
        );
        // And the close-to-close Adj Close ratio, to the entry-timing difference (one day).
        let close_ratio = adj(last) / adj(0);
        assert!(
            (got / close_ratio - 1.0).abs() < 0.05,
            "{sym}: {got} vs {close_ratio}"
        );
        assert!(run.manifest.excluded.is_empty());
    }
    // Raw prices reproduce the figures the simulator gave before adjustment existed (two −50 %
    // days for AAPL's splits), which are what backtesting.py reports on the raw file.
    let raw = s
        .backtests
        .run(&buy_and_hold("AAPL", Some("raw")))
        .await
        .expect("raw run");
    assert!(
        (raw.metrics.total_return - 2.3671).abs() < 5e-5,
        "{}",
        raw.metrics.total_return
    );
    let msft_raw = s
        .backtests
        .run(&buy_and_hold("MSFT", Some("raw")))
        .await
        .expect("raw run");
    assert!((msft_raw.metrics.total_return + 0.6897).abs() < 5e-5);
    // Split-adjusted: splits neutral, MSFT's dividends (the 2004 special one included) not
    // reinvested, so it earns less than total return and far more than raw.
    let split = s
        .backtests
        .run(&buy_and_hold("MSFT", Some("split_adjusted")))
        .await
        .expect("split run");
    let tr = s
        .backtests
        .run(&buy_and_hold("MSFT", None))
        .await
        .expect("tr run");
    assert!(msft_raw.metrics.total_return < split.metrics.total_return);
    assert!(split.metrics.total_return < tr.metrics.total_return);
    assert_ne!(split.id, tr.id);
}

/// A bar the quality checks hold is not silently missing: the run's manifest lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_lists_the_held_bars_of_its_range() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let msft = Symbol::new("MSFT").expect("symbol");
    let zzz = Symbol::new("ZZZ").expect("symbol");
    let mut bars = s
        .cache
        .bars(&msft, Resolution::Daily, None, None)
        .expect("bars");
    for b in &mut bars {
        b.symbol = zzz.clone();
    }
    // A high below the low: impossible, held under every policy.
    let bad_ts = bars[100].ts;
    let b = &mut bars[100];
    std::mem::swap(&mut b.high, &mut b.low);
    s.cache
        .ingest_bars(&bars, Source::File, "test")
        .expect("ingest");
    let run = s
        .backtests
        .run(&buy_and_hold("ZZZ", None))
        .await
        .expect("run");
    assert_eq!(
        run.manifest.excluded.len(),
        1,
        "{:?}",
        run.manifest.excluded
    );
    let held = &run.manifest.excluded[0];
    assert_eq!((held.symbol.as_str(), held.ts), ("ZZZ", bad_ts));
    assert_eq!(held.status, sextant_domain::QuarantineStatus::Pending);
    // Stored manifests keep the plain word.
    assert_eq!(serde_json::to_value(held.status).expect("json"), "pending");
    assert!(held.reasons.contains("price_bounds"), "{}", held.reasons);
    assert_eq!(run.bars, bars.len() - 1);
    // Outside the range nothing is listed.
    let mut later = buy_and_hold("ZZZ", None);
    later.from = Some(bad_ts.date().succ_opt().expect("next"));
    let run = s.backtests.run(&later).await.expect("run");
    assert!(run.manifest.excluded.is_empty());
}

/// A report names a run; when the run's bars have changed since, it refuses (409 over HTTP)
/// instead of describing a different run under the old id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_refuses_a_run_whose_data_changed() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let req: BacktestRequest = serde_json::from_value(json!({
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 20},
        "symbols": ["IBM"], "from": "2005-01-01", "to": "2006-12-31"
    }))
    .expect("request");
    let run = s.backtests.run(&req).await.expect("run");
    let stored = s
        .backtests
        .stored_with_benchmark(s.cache.as_ref(), &run.id)
        .await
        .expect("stored")
        .expect("some");
    assert_eq!(stored.trades.len(), run.trade_count);
    // A vendor revision of one bar inside the range.
    let ibm = Symbol::new("IBM").expect("symbol");
    let mut bar = s
        .cache
        .bars(&ibm, Resolution::Daily, req.from, req.to)
        .expect("bars")[200]
        .clone();
    bar.close += 0.01;
    bar.high = bar.high.max(bar.close);
    s.cache
        .ingest_bars(&[bar], Source::File, "revision")
        .expect("revise");
    match s
        .backtests
        .stored_with_benchmark(s.cache.as_ref(), &run.id)
        .await
    {
        Err(BacktestError::DataChanged { id, .. }) => assert_eq!(id, run.id),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a report on changed data was allowed"),
    }
    assert!(s
        .backtests
        .stored_with_benchmark(s.cache.as_ref(), "bt_nosuchrun")
        .await
        .expect("lookup")
        .is_none());
}

fn with_sim(
    mut req: BacktestRequest,
    prices: PriceBasis,
    actions: bool,
    to: &str,
) -> BacktestRequest {
    req.prices = prices;
    req.sim.shares = sextant_backtest::simulator::ShareRounding::Fractional;
    if actions {
        req.sim.corporate_actions = sextant_backtest::simulator::CorporateActions::Apply;
    }
    req.to = Some(common::d(to));
    req
}

/// Raw prices with corporate actions applied (splits to positions, dividends as cash, what a
/// broker does): buy and hold over AAPL's two 2:1 splits and no dividend earns exactly what the
/// adjusted prices say; over MSFT's split and dividends it earns more than split-adjusted prices
/// (the dividends are cash) and less than total return (they are not reinvested).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_prices_with_corporate_actions_agree_with_adjusted_buy_and_hold() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let run = |r: BacktestRequest| {
        let s = &s;
        async move { s.backtests.run(&r).await.expect("run").metrics.total_return }
    };
    // AAPL paid its first dividend in August 2012.
    let aapl = buy_and_hold("AAPL", None);
    let raw_ca = run(with_sim(aapl.clone(), PriceBasis::Raw, true, "2012-06-29")).await;
    let tr = run(with_sim(
        aapl.clone(),
        PriceBasis::TotalReturn,
        false,
        "2012-06-29",
    ))
    .await;
    let raw = run(with_sim(aapl, PriceBasis::Raw, false, "2012-06-29")).await;
    assert!(
        ((1.0 + raw_ca) / (1.0 + tr) - 1.0).abs() < 1e-9,
        "{raw_ca} vs {tr}"
    );
    assert!(raw < raw_ca / 2.0, "raw {raw} shows the splits as losses");

    let msft = buy_and_hold("MSFT", None);
    let raw_ca = run(with_sim(msft.clone(), PriceBasis::Raw, true, "2013-03-01")).await;
    let split = run(with_sim(
        msft.clone(),
        PriceBasis::SplitAdjusted,
        false,
        "2013-03-01",
    ))
    .await;
    let tr = run(with_sim(
        msft.clone(),
        PriceBasis::TotalReturn,
        false,
        "2013-03-01",
    ))
    .await;
    assert!(split < raw_ca && raw_ca < tr, "{split} < {raw_ca} < {tr}");
    // Adjusted prices already contain the actions: applying them again is refused.
    let mut twice = with_sim(msft, PriceBasis::TotalReturn, true, "2013-03-01");
    twice.prices = PriceBasis::TotalReturn;
    assert!(matches!(
        s.backtests.run(&twice).await,
        Err(BacktestError::Run(
            sextant_core::backtest::RunError::Invalid(_)
        ))
    ));
}
