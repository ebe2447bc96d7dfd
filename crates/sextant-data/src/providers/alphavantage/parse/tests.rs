use super::*;
use crate::providers::alphavantage::DataType;
use crate::providers::{FetchRequest, OutputSize};
use sextant_domain::{Resolution, Symbol};

const DAILY: &str = r#"{
    "Meta Data": {
        "1. Information": "Daily Prices (open, high, low, close) and Volumes",
        "2. Symbol": "IBM",
        "3. Last Refreshed": "2024-05-06",
        "4. Output Size": "Compact",
        "5. Time Zone": "US/Eastern"
    },
    "Time Series (Daily)": {
        "2024-05-06": {
            "1. open": "166.5000",
            "2. high": "168.6700",
            "3. low": "166.3800",
            "4. close": "168.6100",
            "5. volume": "4222266"
        },
        "2024-05-03": {
            "1. open": "165.0",
            "2. high": "166.61",
            "3. low": "164.92",
            "4. close": "165.71",
            "5. volume": "3400405"
        }
    }
}"#;

fn call(resolution: Resolution, adjusted: bool, datatype: DataType) -> ApiCall {
    let req = FetchRequest {
        resolution,
        adjusted,
        output_size: OutputSize::Compact,
        ..FetchRequest::daily(Symbol::new("ibm").expect("symbol"))
    };
    ApiCall::from_request(&req, datatype).expect("call")
}

fn parse(body: &str, c: &ApiCall) -> Result<Vec<Bar>, AlphaVantageError> {
    parse_body(body, c, Utc::now()).map(|v| v.into_iter().map(|p| p.bar).collect())
}

#[test]
fn daily_json_oldest_first_with_defaults() {
    let bars = parse(DAILY, &call(Resolution::Daily, false, DataType::Json)).expect("bars");
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[0].ts.to_string(), "2024-05-03 00:00:00");
    assert_eq!(bars[1].ts.to_string(), "2024-05-06 00:00:00");
    assert_eq!((bars[0].open, bars[1].open), (165.0, 166.5));
    assert_eq!(bars[1].volume, 4_222_266.0);
    let b = &bars[0];
    assert_eq!(
        (
            b.adj_close,
            b.dividend,
            b.split_coefficient,
            b.source,
            b.tz.as_str()
        ),
        (None, 0.0, 1.0, Source::AlphaVantage, "America/New_York")
    );
}

#[test]
fn one_bad_value_rejects_everything_and_names_it() {
    let c = call(Resolution::Daily, false, DataType::Json);
    for (bad, field) in [
        ("\"1. open\": \"\"", "open"),
        ("\"1. open\": \"abc\"", "open"),
        ("\"1. open\": \"NaN\"", "open"),
        ("\"1. open\": \"inf\"", "open"),
        ("\"1. open\": \"-165.0\"", "open"),
        ("\"1. open\": 165.0", "open"),
    ] {
        let body = DAILY.replace("\"1. open\": \"165.0\"", bad);
        match parse(&body, &c) {
            Err(AlphaVantageError::Malformed {
                symbol,
                field: f,
                ts,
                ..
            }) => {
                assert_eq!(
                    (symbol.as_str(), f.as_str(), ts.as_str()),
                    ("IBM", field, "2024-05-03")
                );
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    let body = DAILY.replace("\"5. volume\": \"3400405\"", "\"5. volume\": \"-1\"");
    assert!(matches!(
        parse(&body, &c),
        Err(AlphaVantageError::Malformed { field, .. }) if field == "volume"
    ));
    let body = DAILY.replace("\"5. volume\": \"3400405\"", "\"6. volume\": \"3400405\"");
    // A renumbered but present field is still found by name.
    assert!(parse(&body, &c).is_ok());
    let body = DAILY.replace(",\n            \"5. volume\": \"3400405\"", "");
    assert!(matches!(
        parse(&body, &c),
        Err(AlphaVantageError::Malformed { field, reason, .. }) if field == "volume" && reason == "missing"
    ));
    let body = DAILY.replace("\"2024-05-03\"", "\"2024-5-3\"");
    assert!(matches!(
        parse(&body, &c),
        Err(AlphaVantageError::Malformed { field, .. }) if field == "timestamp"
    ));
}

#[test]
fn meta_data_is_checked() {
    let c = call(Resolution::Daily, false, DataType::Json);
    let body = DAILY.replace("\"2. Symbol\": \"IBM\"", "\"2. Symbol\": \"MSFT\"");
    assert!(matches!(
        parse(&body, &c),
        Err(AlphaVantageError::SymbolMismatch { .. })
    ));
    let body = DAILY.replace("\"2. Symbol\": \"IBM\"", "\"2. Symbol\": \"ibm\"");
    assert!(parse(&body, &c).is_ok(), "case-insensitive");
    let body = DAILY.replace("US/Eastern", "Nowhere/Land");
    assert!(matches!(
        parse(&body, &c),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    let truncated = &DAILY[..DAILY.len() / 2];
    assert!(matches!(
        parse(truncated, &c),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    assert!(matches!(
        parse("<html>busy</html>", &c),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
}

#[test]
fn csv_parses_and_json_error_bodies_are_classified_under_csv() {
    let c = call(Resolution::Daily, true, DataType::Csv);
    let csv =
        "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\r\n\
               2005-02-28,44.68,45.14,43.96,44.86,5.7651,11635900,0.0000,2.0000\r\n\
               2005-02-25,89.62,89.91,88.19,88.99,5.7182,16348400,0.0000,1.0\r\n";
    let bars = parse(csv, &c).expect("csv");
    assert_eq!(bars.len(), 2);
    assert_eq!(bars[1].split_coefficient, 2.0);
    assert_eq!(bars[1].adj_close, Some(5.7651));
    assert_eq!(bars[0].ts.to_string(), "2005-02-25 00:00:00");
    let bad = csv.replace("44.68", "44.6x");
    assert!(matches!(
        parse(&bad, &c),
        Err(AlphaVantageError::Malformed { field, ts, .. }) if field == "open" && ts == "2005-02-28"
    ));
    let short_row = csv.replace(",0.0000,2.0000", ",0.0000");
    assert!(matches!(
        parse(&short_row, &c),
        Err(AlphaVantageError::Malformed { .. })
    ));
    let note = r#"{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."}"#;
    assert!(matches!(
        parse(note, &c),
        Err(AlphaVantageError::RateLimited { .. })
    ));
    assert!(matches!(
        parse("", &c),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    let header_only =
        "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient\r\n";
    assert_eq!(parse(header_only, &c).expect("empty").len(), 0);
}

#[test]
fn intraday_keys_convert_to_utc_and_duplicates_are_rejected() {
    let c = call(Resolution::Min5, false, DataType::Json);
    let body = r#"{
        "Meta Data": {"2. Symbol": "IBM", "4. Interval": "5min", "6. Time Zone": "US/Eastern"},
        "Time Series (5min)": {
            "2012-03-12 09:30:00": {"1. open": "1.0", "2. high": "1.0", "3. low": "1.0", "4. close": "1.0", "5. volume": "0"},
            "2012-03-09 15:55:00": {"1. open": "1.0", "2. high": "1.0", "3. low": "1.0", "4. close": "1.0", "5. volume": "0"}
        }
    }"#;
    let bars = parse(body, &c).expect("bars");
    let ts: Vec<String> = bars.iter().map(|b| b.ts.to_string()).collect();
    assert_eq!(ts, ["2012-03-09 20:55:00", "2012-03-12 13:30:00"]);
    let wrong_interval = body.replace("\"4. Interval\": \"5min\"", "\"4. Interval\": \"1min\"");
    assert!(matches!(
        parse(&wrong_interval, &c),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    let gap = body.replace("2012-03-12 09:30:00", "2012-03-11 02:30:00");
    assert!(matches!(
        parse(&gap, &c),
        Err(AlphaVantageError::Malformed { field, ts, .. }) if field == "timestamp" && ts == "2012-03-11 02:30:00"
    ));
    let c = call(Resolution::Daily, false, DataType::Csv);
    let dup = "timestamp,open,high,low,close,volume\n2024-05-06,1,1,1,1,1\n2024-05-06,1,1,1,1,1\n";
    assert!(matches!(
        parse(dup, &c),
        Err(AlphaVantageError::Malformed { field, .. }) if field == "timestamp"
    ));
}
