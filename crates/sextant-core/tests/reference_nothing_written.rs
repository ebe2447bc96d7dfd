//! Every new Alpha Vantage endpoint that writes: a malformed value in the answer is a typed
//! error and leaves the cache exactly as it was (no bars, no instrument record, the previous
//! copy of the dividends, splits, economic series and directory kept), against the loopback
//! server.

use chrono::NaiveDate;
use sextant_domain::{AssetClass, Instrument, Resolution, SeriesKey, Symbol};
use sextant_testkit::alphavantage::{AlphaVantageServer, Fault};

fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("symbol")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_answer_writes_nothing_on_any_new_endpoint() {
    let server = AlphaVantageServer::start().await.expect("server");
    let s = sextant_test_support::services_with(|config| {
        config.load_sample = false;
        config.alphavantage.api_key = Some("TESTKEY".into());
        config.alphavantage.base_url = server.base_url();
        config.alphavantage.requests_per_minute = 1000;
        config.alphavantage.requests_per_day = 1000;
    })
    .await;
    let av = s.alphavantage().expect("provider");
    let today = NaiveDate::from_ymd_opt(2026, 5, 18).expect("date");

    // FX and crypto bars: no bars and no instrument record after a refused answer.
    for (symbol, class) in [("EURUSD", AssetClass::Fx), ("BTCUSD", AssetClass::Crypto)] {
        let inst = Instrument::new(sym(symbol), class);
        server.push_fault(Fault::malformed(2, "4. close", "1.2x"));
        let err = s
            .market_data
            .refresh_instrument(av.as_ref(), &inst, Resolution::Daily, false, today)
            .await
            .expect_err("malformed");
        assert!(err.to_string().contains("close"), "{symbol}: {err}");
        assert!(
            s.cache.is_empty().expect("empty"),
            "{symbol}: no partial write"
        );
        assert!(s.cache.instruments().expect("instruments").is_empty());
    }
    let eurusd = Instrument::new(sym("EURUSD"), AssetClass::Fx);
    let ok = s
        .market_data
        .refresh_instrument(av.as_ref(), &eurusd, Resolution::Daily, false, today)
        .await
        .expect("fx");
    assert!(ok.summary.expect("summary").inserted > 0);
    assert_eq!(
        s.cache.instrument(&sym("EURUSD")).expect("record").session,
        sextant_domain::SessionModel::Fx24x5
    );

    // Dividends and splits: a refused DIVIDENDS answer keeps both stored lists as they were.
    let aapl = sym("AAPL");
    let first = s
        .reference
        .refresh_actions(av.as_ref(), &aapl)
        .await
        .expect("actions");
    assert_eq!(first.splits, 5, "AAPL's five splits");
    server.push_fault(Fault::malformed(0, "amount", "0.2x"));
    let err = s
        .reference
        .refresh_actions(av.as_ref(), &aapl)
        .await
        .expect_err("malformed dividend");
    assert!(err.to_string().contains("amount"), "{err}");
    assert_eq!(s.cache.dividends(&aapl).expect("d").len(), first.dividends);
    assert_eq!(s.cache.splits(&aapl).expect("s").len(), first.splits);

    // An economic series: a bad date keeps the stored copy.
    let key = SeriesKey::risk_free_default();
    let stored = s
        .reference
        .refresh_macro(av.as_ref(), &key)
        .await
        .expect("macro");
    assert!(stored.observations > 100);
    server.push_fault(Fault::malformed(0, "date", "2024-13-45"));
    let err = s
        .reference
        .refresh_macro(av.as_ref(), &key)
        .await
        .expect_err("malformed date");
    assert!(err.to_string().contains("date"), "{err}");
    assert_eq!(
        s.cache.economic(&key).expect("obs").len(),
        stored.observations
    );

    // The symbol directory: a bad IPO date keeps the stored directory.
    let n = s
        .reference
        .refresh_listings(av.as_ref(), false)
        .await
        .expect("listings");
    assert!(n > 0);
    let before = s.reference.search("a", 1000).expect("search").len();
    server.push_fault(Fault::malformed(0, "ipoDate", "not-a-date"));
    s.reference
        .refresh_listings(av.as_ref(), false)
        .await
        .expect_err("malformed listing");
    assert_eq!(s.reference.search("a", 1000).expect("search").len(), before);
}
