//! Incremental refresh through the service registry against the loopback Alpha Vantage server:
//! full history first, nothing when up to date, and a malformed answer writes nothing.

use chrono::NaiveDate;
use sextant_core::market_data::RefreshPlan;
use sextant_domain::{Resolution, Symbol};
use sextant_testkit::alphavantage::{AlphaVantageServer, Fault};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_full_then_up_to_date_and_malformed_writes_nothing() {
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
    let ibm = Symbol::new("IBM").expect("sym");
    let msft = Symbol::new("MSFT").expect("sym");
    let monday = NaiveDate::from_ymd_opt(2013, 3, 4).expect("date");

    // A malformed value in one row: the whole answer is rejected, nothing is written.
    server.push_fault(Fault::MalformedValue {
        row: 3,
        field: "4. close".into(),
        value: "12.3x".into(),
    });
    let err = s
        .market_data
        .refresh(av.as_ref(), &msft, Resolution::Daily, false, monday)
        .await
        .expect_err("malformed");
    assert!(err.to_string().contains("close"), "{err}");
    assert!(s.cache.is_empty().expect("empty"), "no partial write");

    let first = s
        .market_data
        .refresh(av.as_ref(), &ibm, Resolution::Daily, false, monday)
        .await
        .expect("full");
    assert_eq!(first.plan, "full");
    let summary = first.summary.expect("summary");
    assert_eq!(summary.inserted, 3270);
    let last = server.requests().last().cloned().expect("request");
    assert_eq!(
        last.params.get("outputsize").map(String::as_str),
        Some("full")
    );
    assert!(
        !summary.request.contains("TESTKEY"),
        "the key never reaches provenance"
    );

    let n = server.request_count();
    assert_eq!(
        s.market_data
            .plan_refresh("alphavantage", &ibm, Resolution::Daily, monday)
            .expect("plan"),
        RefreshPlan::UpToDate
    );
    let again = s
        .market_data
        .refresh(av.as_ref(), &ibm, Resolution::Daily, false, monday)
        .await
        .expect("up to date");
    assert_eq!(again.plan, "up-to-date");
    assert_eq!(
        server.request_count(),
        n,
        "no request when the cache is up to date"
    );

    // Two weeks later the gap fits in the compact window.
    let later = NaiveDate::from_ymd_opt(2013, 3, 18).expect("date");
    assert_eq!(
        s.market_data
            .plan_refresh("alphavantage", &ibm, Resolution::Daily, later)
            .expect("plan"),
        RefreshPlan::Compact
    );
    let compact = s
        .market_data
        .refresh(av.as_ref(), &ibm, Resolution::Daily, false, later)
        .await
        .expect("compact");
    assert_eq!(compact.plan, "compact");
    let c = compact.summary.expect("summary");
    assert_eq!(
        (c.rows_in, c.inserted, c.updated),
        (100, 0, 0),
        "the same vendor data changes nothing"
    );
    let cov = s.cache.coverage(Some(&ibm)).expect("coverage");
    assert_eq!(cov[0].ranges.len(), 1);
    assert_eq!(cov[0].ranges[0].sources, vec!["alphavantage".to_string()]);
}
