//! Every documented error body, rate limit and malformed value, for every new function.

use super::*;
use sextant_testkit::alphavantage::{AlphaVantageServer, Fault};

type Check = fn(&AlphaVantageError, &str) -> bool;

/// (fault, requests the server should see: rate limits are retried twice, the rest are not,
/// the check).
fn fault_cases() -> Vec<(Fault, usize, Check)> {
    vec![
        (Fault::RateLimitNote, 3, |e, _| {
            matches!(e, AlphaVantageError::RateLimited { .. })
        }),
        (Fault::RateLimitDaily, 3, |e, _| {
            matches!(e, AlphaVantageError::RateLimited { .. })
        }),
        (
            Fault::Premium,
            1,
            |e, f| matches!(e, AlphaVantageError::PremiumEndpoint { function, .. } if function == f),
        ),
        (Fault::DemoKey, 1, |e, _| {
            matches!(e, AlphaVantageError::DemoKey { .. })
        }),
        (
            Fault::InvalidCall,
            1,
            |e, f| matches!(e, AlphaVantageError::InvalidCall { message } if message.ends_with(&format!("for {f}."))),
        ),
        (Fault::MissingKey, 1, |e, _| {
            matches!(e, AlphaVantageError::MissingKey { .. })
        }),
        // The current daily-quota wording (reference §8), under `Information`.
        (
            Fault::json_body(
                r#"{"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."}"#,
            ),
            3,
            |e, _| matches!(e, AlphaVantageError::RateLimited { .. }),
        ),
    ]
}

#[tokio::test]
async fn every_error_body_becomes_its_typed_error_for_every_function() {
    let server = AlphaVantageServer::start().await.expect("server");
    for op in every_op() {
        let function = op.function();
        for datatype in op.datatypes() {
            for (fault, requests, check) in fault_cases() {
                server.clear_requests();
                server.set_sticky_fault(Some(fault.clone()));
                let e = op.run_err(&provider(&server, datatype)).await;
                assert!(check(&e, function), "{op:?} {datatype:?} {fault:?}: {e:?}");
                assert_eq!(
                    server.request_count(),
                    requests,
                    "{op:?} {datatype:?} {fault:?}"
                );
                assert!(server
                    .requests()
                    .iter()
                    .all(|r| r.function() == Some(function)));
            }
        }
    }
    server.set_sticky_fault(None);
    for op in every_op() {
        let (n, _) = op
            .run(&provider(&server, DataType::Json))
            .await
            .unwrap_or_else(|e| panic!("{op:?}: {e}"));
        assert!(n > 0, "{op:?}");
    }
}

#[tokio::test]
async fn per_minute_note_is_retried_then_succeeds() {
    let server = AlphaVantageServer::start().await.expect("server");
    for op in every_op() {
        for datatype in op.datatypes() {
            server.clear_requests();
            server.push_fault(Fault::RateLimitNote);
            server.push_fault(Fault::RateLimitDaily);
            let (n, request) = op
                .run(&provider(&server, datatype))
                .await
                .unwrap_or_else(|e| panic!("{op:?} {datatype:?}: {e}"));
            assert!(n > 0);
            assert!(
                !request.contains(KEY) && !request.contains("apikey"),
                "{request}"
            );
            let outcomes: Vec<_> = server.requests().iter().map(|r| r.outcome).collect();
            assert_eq!(
                outcomes,
                ["rate_limit_note", "rate_limit_daily", "data"],
                "{op:?}"
            );
            // The key was sent, every time.
            assert!(server
                .requests()
                .iter()
                .all(|r| r.params.get("apikey").map(String::as_str) == Some(KEY)));
        }
    }
}

#[tokio::test]
async fn the_servers_own_refusals_are_typed_and_not_retried() {
    let server = AlphaVantageServer::builder()
        .free_tier()
        .start()
        .await
        .expect("server");
    let p = provider(&server, DataType::Json);
    for (symbol, asset, function) in [
        ("EURUSD", AssetClass::Fx, "FX_INTRADAY"),
        ("BTCUSD", AssetClass::Crypto, "CRYPTO_INTRADAY"),
    ] {
        server.clear_requests();
        let op = Op::Bars(bars_req(symbol, asset, Resolution::Min5));
        let e = op.run_err(&p).await;
        assert!(
            matches!(&e, AlphaVantageError::PremiumEndpoint { function: f, .. } if f == function),
            "{e:?}"
        );
        assert_eq!(server.request_count(), 1);
    }
    // Unknown pairs, coins, markets and codes: the invalid-call body naming the function.
    let unknown = [
        (
            Op::Bars(bars_req("EURCHF", AssetClass::Fx, Resolution::Daily)),
            "FX_DAILY",
        ),
        (
            Op::Bars(bars_req("DOGEUSD", AssetClass::Crypto, Resolution::Daily)),
            "DIGITAL_CURRENCY_DAILY",
        ),
        (
            Op::Bars(bars_req("BTCJPY", AssetClass::Crypto, Resolution::Weekly)),
            "DIGITAL_CURRENCY_WEEKLY",
        ),
        (Op::Rate("ABC", "DEF"), "CURRENCY_EXCHANGE_RATE"),
    ];
    for (op, function) in unknown {
        server.clear_requests();
        let e = op.run_err(&p).await;
        assert!(
            matches!(&e, AlphaVantageError::InvalidCall { message } if message.ends_with(&format!("for {function}."))),
            "{op:?}: {e:?}"
        );
        assert_eq!(server.request_count(), 1);
    }
    // The demo key: the documentation's examples only.
    let mut c = config(&server, DataType::Json);
    c.api_key = "demo".into();
    let demo = AlphaVantage::new(c).expect("demo");
    assert!(
        Op::Bars(bars_req("EURUSD", AssetClass::Fx, Resolution::Daily))
            .run(&demo)
            .await
            .is_ok()
    );
    assert!(Op::Rate("USD", "JPY").run(&demo).await.is_ok());
    assert!(Op::Dividends("IBM").run(&demo).await.is_ok());
    assert!(Op::Status.run(&demo).await.is_ok());
    for op in [
        Op::Bars(bars_req("USDJPY", AssetClass::Fx, Resolution::Daily)),
        Op::Rate("EUR", "USD"),
        Op::Dividends("MSFT"),
        Op::Search("micro"),
        Op::Bars(bars_req("BTCUSD", AssetClass::Crypto, Resolution::Daily)),
    ] {
        let e = op.run_err(&demo).await;
        assert!(
            matches!(e, AlphaVantageError::DemoKey { .. }),
            "{op:?}: {e:?}"
        );
    }
    // No key: refused before any request.
    let mut c = config(&server, DataType::Json);
    c.api_key = String::new();
    let none = AlphaVantage::new(c).expect("none");
    server.clear_requests();
    for op in every_op() {
        assert!(matches!(
            op.run_err(&none).await,
            AlphaVantageError::MissingKey { .. }
        ));
    }
    assert_eq!(server.request_count(), 0);
    // Requests the vendor could not answer are refused before sending.
    let e = Op::Listing(Some(date("2009-12-31")), false)
        .run_err(&p)
        .await;
    assert!(
        matches!(e, AlphaVantageError::InvalidRequest { .. }),
        "{e:?}"
    );
    let e = Op::Bars(bars_req("EUR", AssetClass::Fx, Resolution::Daily))
        .run_err(&p)
        .await;
    assert!(
        matches!(e, AlphaVantageError::InvalidRequest { .. }),
        "{e:?}"
    );
    assert_eq!(server.request_count(), 0);
}

/// A corruption: the call, the row (from the first), the JSON field, the CSV column, the field
/// named in the error (JSON, CSV) and the row named in the error.
struct Corrupt {
    op: Op,
    row: usize,
    json: &'static str,
    csv: &'static str,
    field: (&'static str, &'static str),
    label: String,
}

fn malformed_cases() -> Vec<Corrupt> {
    use sextant_testkit::alphavantage::{
        crypto_daily, dividend_rows, fx_daily, listing_rows, symbol_matches, Dataset,
        EXCHANGE_RATE_REFRESHED,
    };
    let fx = fx_daily("EUR", "USD").expect("fx");
    let btc = crypto_daily("BTC", "USD").expect("btc");
    let ds = Dataset::bundled().expect("dataset");
    let ibm = dividend_rows(&ds, "IBM");
    let matches = symbol_matches("inc");
    let listings = listing_rows(None, false);
    // Row 2 counts from the first row, the newest in dated answers.
    let third = |n: usize| n - 3;
    let key = SeriesKey::new(Indicator::TreasuryYield, "monthly", Some("10year")).expect("key");
    let c = |op, row, json, csv, field, label| Corrupt {
        op,
        row,
        json,
        csv,
        field,
        label,
    };
    vec![
        c(
            Op::Bars(bars_req("EURUSD", AssetClass::Fx, Resolution::Daily)),
            2,
            "2. high",
            "high",
            ("high", "high"),
            fx[third(fx.len())].date.to_string(),
        ),
        c(
            Op::Bars(bars_req("BTCUSD", AssetClass::Crypto, Resolution::Daily)),
            2,
            "5. volume",
            "volume",
            ("volume", "volume"),
            btc[third(btc.len())].date.to_string(),
        ),
        c(
            Op::Dividends("IBM"),
            2,
            "amount",
            "amount",
            ("amount", "amount"),
            ibm[third(ibm.len())].ex_date.to_string(),
        ),
        c(
            Op::Splits("AAPL"),
            2,
            "split_factor",
            "split_factor",
            ("split_factor", "split_factor"),
            "2005-02-28".into(),
        ),
        c(
            Op::Search("inc"),
            2,
            "9. matchScore",
            "matchScore",
            ("matchScore", "matchScore"),
            matches[2].0[0].to_string(),
        ),
        c(
            Op::Listing(None, false),
            2,
            "ipoDate",
            "ipoDate",
            ("ipoDate", "ipoDate"),
            listings[2][0].clone(),
        ),
        c(
            Op::Status,
            2,
            "local_open",
            "local_open",
            ("local_open", "local_open"),
            "Equity/United Kingdom".into(),
        ),
        c(
            Op::Rate("USD", "JPY"),
            0,
            "5. Exchange Rate",
            "5. Exchange Rate",
            ("Exchange Rate", "Exchange Rate"),
            EXCHANGE_RATE_REFRESHED.into(),
        ),
        c(
            Op::Economic(key),
            2,
            "date",
            "timestamp",
            ("date", "timestamp"),
            "12.3x".into(),
        ),
    ]
}

#[tokio::test]
async fn one_malformed_value_rejects_the_whole_answer() {
    let server = AlphaVantageServer::start().await.expect("server");
    assert!(malformed_cases().iter().all(|c| !c.label.is_empty()));
    for case in malformed_cases() {
        for datatype in case.op.datatypes() {
            server.clear_requests();
            let csv = datatype == DataType::Csv || matches!(case.op, Op::Listing(..));
            let (name, field) = if csv {
                (case.csv, case.field.1)
            } else {
                (case.json, case.field.0)
            };
            server.push_fault(Fault::malformed(case.row, name, "12.3x"));
            let e = case.op.run_err(&provider(&server, datatype)).await;
            match &e {
                AlphaVantageError::Malformed {
                    field: f,
                    ts,
                    value,
                    ..
                } => {
                    assert_eq!(
                        (f.as_str(), ts.as_str(), value.as_str()),
                        (field, case.label.as_str(), "12.3x"),
                        "{:?} {datatype:?}",
                        case.op
                    );
                }
                other => panic!("{:?} {datatype:?}: {other:?}", case.op),
            }
            // Not retried: malformed data would be malformed again.
            assert_eq!(server.request_count(), 1);
        }
    }
}

#[tokio::test]
async fn truncated_and_unexpected_bodies_are_not_data() {
    let server = AlphaVantageServer::start().await.expect("server");
    for op in every_op() {
        for datatype in op.datatypes() {
            server.clear_requests();
            server.push_fault(Fault::Truncated);
            let e = op.run_err(&provider(&server, datatype)).await;
            // A truncated CSV may still parse up to a cut row: then the row is malformed.
            assert!(
                matches!(
                    e,
                    AlphaVantageError::UnexpectedBody { .. } | AlphaVantageError::Malformed { .. }
                ),
                "{op:?} {datatype:?}: {e:?}"
            );
            server.push_fault(Fault::json_body(
                "{\"Information\": \"Scheduled maintenance.\"}",
            ));
            let e = op.run_err(&provider(&server, datatype)).await;
            assert!(
                matches!(e, AlphaVantageError::UnexpectedBody { .. }),
                "{op:?}: {e:?}"
            );
        }
    }
}
