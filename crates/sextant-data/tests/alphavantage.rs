//! The Alpha Vantage provider against the loopback Alpha Vantage (real prices, exact bodies).

use chrono::NaiveDate;
use sextant_data::providers::alphavantage::{
    AlphaVantage, AlphaVantageConfig, AlphaVantageError, DataType,
};
use sextant_data::providers::{FetchRequest, Fetched, OutputSize, Provider};
use sextant_data::DataError;
use sextant_domain::{Bar, Resolution, Source, Symbol};
use sextant_testkit::alphavantage::{AlphaVantageServer, Fault};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "TESTKEY-7f3a9c21e5";

/// Generous limits and fast retries; tests tighten what they exercise.
fn config(server: &AlphaVantageServer) -> AlphaVantageConfig {
    let mut c = AlphaVantageConfig::new(KEY);
    c.base_url = server.base_url();
    c.requests_per_minute = 1000;
    c.rate_window = Duration::from_secs(1);
    c.requests_per_day = None;
    c.min_interval = Duration::ZERO;
    c.max_retries = 2;
    c.retry_backoff = Duration::from_millis(10);
    c.max_backoff = Duration::from_millis(40);
    c.timeout = Duration::from_secs(10);
    c
}

fn provider(c: AlphaVantageConfig) -> AlphaVantage {
    AlphaVantage::new(c).expect("provider")
}

fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("symbol")
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

fn daily(symbol: &str, output_size: OutputSize, adjusted: bool) -> FetchRequest {
    FetchRequest {
        output_size,
        adjusted,
        ..FetchRequest::daily(sym(symbol))
    }
}

fn intraday(symbol: &str, resolution: Resolution, month: &str) -> FetchRequest {
    FetchRequest {
        resolution,
        month: Some(month.to_string()),
        extended_hours: false,
        ..FetchRequest::daily(sym(symbol))
    }
}

/// Bars without `ingested_at`, which differs between two fetches by design.
fn comparable(f: &Fetched) -> Vec<Bar> {
    f.bars
        .iter()
        .map(|b| Bar {
            ingested_at: chrono::DateTime::UNIX_EPOCH,
            ..b.clone()
        })
        .collect()
}

async fn fetch_err(p: &AlphaVantage, req: &FetchRequest) -> AlphaVantageError {
    match p.fetch_bars(req).await {
        Ok(f) => panic!("expected an error, got {} bars", f.bars.len()),
        Err(e) => {
            let text = format!("{e} {e:?}");
            assert!(
                !text.contains(KEY),
                "the API key leaked into an error: {text}"
            );
            e
        }
    }
}

#[tokio::test]
async fn each_documented_error_body_becomes_its_typed_error() {
    let server = AlphaVantageServer::start().await.expect("server");
    let p = provider(config(&server));
    let req = daily("MSFT", OutputSize::Compact, false);
    // (fault, requests the server should see: rate limits are retried, the rest are not)
    type Check = fn(&AlphaVantageError) -> bool;
    let cases: [(Fault, usize, Check); 6] = [
        (Fault::RateLimitNote, 3, |e| {
            matches!(e, AlphaVantageError::RateLimited { .. })
        }),
        (Fault::RateLimitDaily, 3, |e| {
            matches!(e, AlphaVantageError::RateLimited { .. })
        }),
        (
            Fault::Premium,
            1,
            |e| matches!(e, AlphaVantageError::PremiumEndpoint { function, .. } if function == "TIME_SERIES_DAILY"),
        ),
        (Fault::DemoKey, 1, |e| {
            matches!(e, AlphaVantageError::DemoKey { .. })
        }),
        (
            Fault::InvalidCall,
            1,
            |e| matches!(e, AlphaVantageError::InvalidCall { message } if message.ends_with("for TIME_SERIES_DAILY.")),
        ),
        (Fault::MissingKey, 1, |e| {
            matches!(e, AlphaVantageError::MissingKey { .. })
        }),
    ];
    for (fault, requests, check) in cases {
        for datatype in [DataType::Json, DataType::Csv] {
            server.clear_requests();
            server.set_sticky_fault(Some(fault.clone()));
            let mut c = config(&server);
            c.datatype = datatype;
            let e = fetch_err(&provider(c), &req).await;
            assert!(check(&e), "{fault:?} ({datatype:?}) gave {e:?}");
            assert_eq!(server.request_count(), requests, "{fault:?} ({datatype:?})");
        }
    }
    server.set_sticky_fault(None);
    server.clear_requests();
    assert!(p.fetch_bars(&req).await.is_ok());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn real_error_paths_of_the_server_are_not_retried() {
    let server = AlphaVantageServer::builder()
        .premium_function("TIME_SERIES_DAILY_ADJUSTED")
        .start()
        .await
        .expect("server");
    let p = provider(config(&server));

    let e = fetch_err(&p, &daily("NOSUCHSYM", OutputSize::Compact, false)).await;
    assert!(matches!(e, AlphaVantageError::InvalidCall { .. }), "{e:?}");
    assert_eq!(server.request_count(), 1);

    let e = fetch_err(&p, &daily("AAPL", OutputSize::Compact, true)).await;
    assert!(
        matches!(e, AlphaVantageError::PremiumEndpoint { .. }),
        "{e:?}"
    );
    assert_eq!(server.request_count(), 2);

    let mut demo = config(&server);
    demo.api_key = "demo".into();
    let demo = provider(demo);
    let e = fetch_err(&demo, &daily("MSFT", OutputSize::Compact, false)).await;
    assert!(matches!(e, AlphaVantageError::DemoKey { .. }), "{e:?}");
    assert_eq!(server.request_count(), 3);
    assert!(demo
        .fetch_bars(&daily("IBM", OutputSize::Compact, false))
        .await
        .is_ok());

    // No key: refused before any request or limiter slot is spent.
    let mut none = config(&server);
    none.api_key = String::new();
    let none = provider(none);
    assert!(!none.has_key());
    let e = fetch_err(&none, &daily("IBM", OutputSize::Compact, false)).await;
    assert!(matches!(e, AlphaVantageError::MissingKey { .. }));
    assert_eq!(server.request_count(), 4);
    assert_eq!(none.quota().used_today, 0);

    // Through the Provider trait the error stays typed.
    let err = Provider::fetch(&p, &daily("NOSUCHSYM", OutputSize::Compact, false))
        .await
        .expect_err("invalid");
    assert!(matches!(
        err,
        DataError::AlphaVantage(ref e) if matches!(**e, AlphaVantageError::InvalidCall { .. })
    ));
}

#[tokio::test]
async fn rate_limit_is_retried_then_succeeds() {
    let server = AlphaVantageServer::start().await.expect("server");
    server.push_fault(Fault::RateLimitNote);
    server.push_fault(Fault::RateLimitDaily);
    let p = provider(config(&server));
    let fetched = p
        .fetch_bars(&daily("MSFT", OutputSize::Compact, false))
        .await
        .expect("third attempt succeeds");
    assert_eq!(fetched.bars.len(), 100);
    let outcomes: Vec<_> = server.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, ["rate_limit_note", "rate_limit_daily", "data"]);

    // Server errors are retried too; a truncated body is not (it is not a limit).
    server.clear_requests();
    server.push_fault(Fault::HttpStatus { status: 500 });
    assert!(p
        .fetch_bars(&daily("MSFT", OutputSize::Compact, false))
        .await
        .is_ok());
    assert_eq!(server.request_count(), 2);
    server.clear_requests();
    server.push_fault(Fault::Truncated);
    let e = fetch_err(&p, &daily("MSFT", OutputSize::Compact, false)).await;
    assert!(
        matches!(e, AlphaVantageError::UnexpectedBody { .. }),
        "{e:?}"
    );
    assert_eq!(server.request_count(), 1);
    server.clear_requests();
    server.set_sticky_fault(Some(Fault::HttpStatus { status: 503 }));
    let e = fetch_err(&p, &daily("MSFT", OutputSize::Compact, false)).await;
    assert!(
        matches!(e, AlphaVantageError::Http { status: 503, .. }),
        "{e:?}"
    );
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn limiter_never_lets_the_server_see_more_than_the_rate() {
    let window = Duration::from_millis(400);
    // The server enforces the same limit, so any overshoot would surface as a rate-limit error
    // (retries are off to make it visible).
    let server = AlphaVantageServer::builder()
        .rate_limit(3, window)
        .latency(Duration::from_millis(15))
        .start()
        .await
        .expect("server");
    let mut c = config(&server);
    c.requests_per_minute = 3;
    c.rate_window = window;
    c.max_retries = 0;
    let p = Arc::new(provider(c));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let p = p.clone();
            let symbol = ["MSFT", "IBM", "AAPL", "GOOG", "FB"][i % 5];
            tokio::spawn(async move {
                p.fetch_bars(&daily(symbol, OutputSize::Compact, false))
                    .await
            })
        })
        .collect();
    for t in tasks {
        let r = t.await.expect("join");
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(server.request_count(), 10);
    assert!(server.max_requests_in_window(window) <= 3);
    assert!(server.requests().iter().all(|r| r.outcome == "data"));
    assert_eq!(p.quota().window_limit, 3);
}

#[tokio::test]
async fn min_interval_spaces_arrivals_at_the_server() {
    let server = AlphaVantageServer::start().await.expect("server");
    let gap = Duration::from_millis(120);
    let mut c = config(&server);
    c.min_interval = gap;
    let p = Arc::new(provider(c));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            tokio::spawn(async move {
                p.fetch_bars(&daily("IBM", OutputSize::Compact, false))
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.expect("join").is_ok());
    }
    let mut times = server.request_times();
    times.sort();
    assert_eq!(times.len(), 4);
    for w in times.windows(2) {
        assert!(
            w[1].duration_since(w[0]) >= gap,
            "{:?}",
            w[1].duration_since(w[0])
        );
    }
}

#[tokio::test]
async fn daily_quota_fails_fast_and_is_reported() {
    let server = AlphaVantageServer::start().await.expect("server");
    let mut c = config(&server);
    c.requests_per_day = Some(2);
    let p = provider(c);
    let q = p.quota();
    assert_eq!(
        (q.used_today, q.remaining_today, q.daily_limit),
        (0, Some(2), Some(2))
    );
    for _ in 0..2 {
        assert!(p
            .fetch_bars(&daily("IBM", OutputSize::Compact, false))
            .await
            .is_ok());
    }
    let e = fetch_err(&p, &daily("IBM", OutputSize::Compact, false)).await;
    assert!(
        matches!(
            e,
            AlphaVantageError::DailyQuotaExhausted {
                used: 2,
                limit: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        server.request_count(),
        2,
        "no request once the budget is spent"
    );
    let q = p.quota();
    assert_eq!((q.used_today, q.remaining_today), (2, Some(0)));
}

#[tokio::test]
async fn malformed_value_rejects_the_whole_response() {
    let server = AlphaVantageServer::start().await.expect("server");
    let rows = server.dataset().daily("MSFT").expect("msft").to_vec();
    // Row 3 counts from the newest.
    let bad_day = rows[rows.len() - 4].date.to_string();
    for (datatype, field) in [(DataType::Json, "4. close"), (DataType::Csv, "close")] {
        server.push_fault(Fault::malformed(3, field, "12.3x"));
        let mut c = config(&server);
        c.datatype = datatype;
        let e = fetch_err(&provider(c), &daily("MSFT", OutputSize::Compact, false)).await;
        match e {
            AlphaVantageError::Malformed {
                symbol,
                field,
                ts,
                value,
                ..
            } => {
                assert_eq!(
                    (symbol.as_str(), field.as_str(), ts.as_str(), value.as_str()),
                    ("MSFT", "close", bad_day.as_str(), "12.3x")
                );
            }
            other => panic!("{datatype:?}: {other:?}"),
        }
    }
    server.push_fault(Fault::malformed(0, "1. open", ""));
    let e = fetch_err(
        &provider(config(&server)),
        &daily("MSFT", OutputSize::Compact, false),
    )
    .await;
    assert!(
        matches!(e, AlphaVantageError::Malformed { ref ts, .. } if ts == "2013-03-01"),
        "{e:?}"
    );
    // Malformed data is not retried: the server saw exactly one request per fetch.
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn json_and_csv_give_identical_bars() {
    let server = AlphaVantageServer::start().await.expect("server");
    let mut csv = config(&server);
    csv.datatype = DataType::Csv;
    let (json, csv) = (provider(config(&server)), provider(csv));
    let requests = [
        daily("AAPL", OutputSize::Full, true),
        daily("MSFT", OutputSize::Compact, false),
        FetchRequest {
            resolution: Resolution::Weekly,
            adjusted: true,
            ..FetchRequest::daily(sym("IBM"))
        },
        FetchRequest {
            resolution: Resolution::Monthly,
            ..FetchRequest::daily(sym("GOOG"))
        },
        intraday("IBM", Resolution::Min15, "2012-11"),
    ];
    for req in requests {
        let a = json.fetch_bars(&req).await.expect("json");
        let b = csv.fetch_bars(&req).await.expect("csv");
        assert!(!a.bars.is_empty());
        assert_eq!(comparable(&a), comparable(&b), "{}", a.request);
        assert!(a.request.ends_with("datatype=json") && b.request.ends_with("datatype=csv"));
    }
}

#[tokio::test]
async fn compact_is_the_latest_100_points_oldest_first() {
    let server = AlphaVantageServer::start().await.expect("server");
    let p = provider(config(&server));
    let fetched = p
        .fetch_bars(&daily("IBM", OutputSize::Compact, false))
        .await
        .expect("bars");
    let bars = &fetched.bars;
    assert_eq!(bars.len(), 100);
    assert!(bars.windows(2).all(|w| w[0].ts < w[1].ts), "oldest first");
    let rows = server.dataset().daily("IBM").expect("ibm");
    let expected: Vec<_> = rows[rows.len() - 100..].iter().map(|r| r.date).collect();
    let got: Vec<_> = bars.iter().map(|b| b.ts.date()).collect();
    assert_eq!(got, expected);
    assert_eq!(
        fetched.request,
        "alphavantage TIME_SERIES_DAILY symbol=IBM outputsize=compact datatype=json"
    );
    let b = &bars[99];
    assert_eq!(
        (b.source, b.resolution, b.tz.as_str()),
        (Source::AlphaVantage, Resolution::Daily, "America/New_York")
    );
    assert_eq!(b.ts.to_string(), "2013-03-01 00:00:00");
}

#[tokio::test]
async fn intraday_wall_clock_converts_to_utc_across_dst_changes() {
    let server = AlphaVantageServer::start().await.expect("server");
    let p = provider(config(&server));
    let find = |f: &Fetched, utc: &str| f.bars.iter().any(|b| b.ts.to_string() == utc);

    // Spring forward on Sunday 2012-03-11: 09:30 is 14:30 UTC on Friday, 13:30 UTC on Monday.
    let mut req = intraday("MSFT", Resolution::Min5, "2012-03");
    req.output_size = OutputSize::Full;
    let march = p.fetch_bars(&req).await.expect("march");
    assert_eq!(
        march.bars.len(),
        22 * 78,
        "22 sessions of 78 five-minute bars"
    );
    assert!(find(&march, "2012-03-09 14:30:00") && find(&march, "2012-03-12 13:30:00"));
    // Monday's last regular bar starts 15:55 EDT = 19:55 UTC; nothing at 20:55 UTC any more.
    assert!(find(&march, "2012-03-12 19:55:00") && !find(&march, "2012-03-12 20:55:00"));
    assert!(march
        .bars
        .iter()
        .all(|b| b.tz == "America/New_York" && b.resolution == Resolution::Min5));
    assert!(march.bars.windows(2).all(|w| w[0].ts < w[1].ts));
    // The last regular bar of the Friday starts 15:55 EST = 20:55 UTC.
    assert!(find(&march, "2012-03-09 20:55:00"));
    assert!(
        march.request.contains("month=2012-03") && march.request.contains("extended_hours=false")
    );

    // Fall back on Sunday 2012-11-04: 09:30 is 13:30 UTC on Friday, 14:30 UTC on Monday.
    let mut req = intraday("MSFT", Resolution::Min60, "2012-11");
    req.output_size = OutputSize::Full;
    let nov = p.fetch_bars(&req).await.expect("november");
    assert!(find(&nov, "2012-11-02 13:00:00") && find(&nov, "2012-11-05 14:00:00"));

    // A range filter applies to exchange-local dates.
    let mut req = intraday("MSFT", Resolution::Min5, "2012-03");
    req.from = Some(date("2012-03-12"));
    req.to = Some(date("2012-03-12"));
    req.output_size = OutputSize::Full;
    let one_day = p.fetch_bars(&req).await.expect("one day");
    assert_eq!(one_day.bars.len(), 78);
}

#[tokio::test]
async fn real_prices_match_the_bundled_file() {
    let server = AlphaVantageServer::start().await.expect("server");
    let p = provider(config(&server));
    let mut req = daily("msft", OutputSize::Full, false);
    req.from = Some(date("2008-10-10"));
    req.to = Some(date("2008-10-10"));
    let fetched = p.fetch_bars(&req).await.expect("msft");
    assert_eq!(fetched.bars.len(), 1);
    let bar = &fetched.bars[0];
    let file = server
        .dataset()
        .day("MSFT", date("2008-10-10"))
        .expect("file row");
    assert_eq!(bar.close, 21.5);
    assert_eq!(
        (bar.open, bar.high, bar.low, bar.close, bar.volume),
        (
            file.open,
            file.high,
            file.low,
            file.close,
            file.volume as f64
        )
    );
    assert_eq!(bar.symbol.as_str(), "MSFT");

    // Adjusted: the AAPL 2:1 split on 2005-02-28.
    let mut req = daily("AAPL", OutputSize::Full, true);
    req.from = Some(date("2005-02-25"));
    req.to = Some(date("2005-03-01"));
    let aapl = p.fetch_bars(&req).await.expect("aapl");
    let splits: Vec<_> = aapl.bars.iter().map(|b| b.split_coefficient).collect();
    assert_eq!(splits, [1.0, 2.0, 1.0]);
    let file = server
        .dataset()
        .day("AAPL", date("2005-02-28"))
        .expect("row");
    let adj = aapl.bars[1].adj_close.expect("adjusted close");
    assert!(
        (adj - file.adj_close).abs() < 5e-5,
        "{adj} vs {}",
        file.adj_close
    );
    assert_eq!(aapl.bars[1].close, 44.86);
}

#[tokio::test]
async fn api_key_is_sent_but_never_exposed() {
    let server = AlphaVantageServer::start().await.expect("server");
    let p = provider(config(&server));
    let fetched = p
        .fetch_bars(&daily("IBM", OutputSize::Compact, false))
        .await
        .expect("bars");
    assert!(!fetched.request.contains(KEY));
    assert!(!format!("{p:?}").contains(KEY));
    let sent = server.requests();
    assert_eq!(sent[0].params.get("apikey").map(String::as_str), Some(KEY));

    // A timeout names neither the key nor the URL.
    server.push_fault(Fault::slow(Duration::from_secs(3)));
    let mut c = config(&server);
    c.timeout = Duration::from_millis(200);
    c.max_retries = 0;
    let e = fetch_err(&provider(c), &daily("IBM", OutputSize::Compact, false)).await;
    assert!(
        matches!(e, AlphaVantageError::Transport { timeout: true, .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains("apikey"));
}
