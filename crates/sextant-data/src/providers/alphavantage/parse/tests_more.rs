//! FX and crypto bar parsing, on the reference's verbatim samples.

use super::*;
use crate::providers::alphavantage::DataType;
use crate::providers::{FetchRequest, OutputSize};
use sextant_domain::{AssetClass, Resolution, Symbol};

fn call(symbol: &str, asset: AssetClass, resolution: Resolution, datatype: DataType) -> ApiCall {
    let req = FetchRequest {
        resolution,
        asset,
        output_size: OutputSize::Compact,
        ..FetchRequest::daily(Symbol::new(symbol).expect("symbol"))
    };
    ApiCall::from_request(&req, datatype).expect("call")
}

fn parse(body: &str, c: &ApiCall) -> Result<Vec<Bar>, AlphaVantageError> {
    parse_body(body, c, Utc::now()).map(|v| v.into_iter().map(|p| p.bar).collect())
}

const FX_DAILY: &str = r#"{
    "Meta Data": {
        "1. Information": "Forex Daily Prices (open, high, low, close)",
        "2. From Symbol": "EUR",
        "3. To Symbol": "USD",
        "4. Output Size": "Compact",
        "5. Last Refreshed": "2026-01-23",
        "6. Time Zone": "UTC"
    },
    "Time Series FX (Daily)": {
        "2026-01-23": {
            "1. open": "1.17520",
            "2. high": "1.18330",
            "3. low": "1.17270",
            "4. close": "1.18260"
        },
        "2026-01-22": {
            "1. open": "1.16820",
            "2. high": "1.17560",
            "3. low": "1.16680",
            "4. close": "1.17540"
        }
    }
}"#;

const FX_INTRADAY: &str = r#"{
    "Meta Data": {"1. Information": "FX Intraday (5min) Time Series", "2. From Symbol": "EUR", "3. To Symbol": "USD", "4. Last Refreshed": "2018-08-31 08:45:00", "5. Interval": "5min", "6. Output Size": "Compact", "7. Time Zone": "GMT+8"},
    "Time Series FX (5min)": {
        "2018-08-31 08:45:00": {"1. open": "1.1656", "2. high": "1.1660", "3. low": "1.1650", "4. close": "1.1655"},
        "2018-08-31 08:40:00": {"1. open": "1.1650", "2. high": "1.1658", "3. low": "1.1649", "4. close": "1.1656"}
    }
}"#;

#[test]
fn fx_daily_json_has_no_volume_and_is_utc() {
    let c = call("EURUSD", AssetClass::Fx, Resolution::Daily, DataType::Json);
    let bars = parse(FX_DAILY, &c).expect("bars");
    assert_eq!(bars.len(), 2);
    let b = &bars[1];
    assert_eq!(b.ts.to_string(), "2026-01-23 00:00:00");
    assert_eq!(
        (b.open, b.high, b.low, b.close),
        (1.1752, 1.1833, 1.1727, 1.1826)
    );
    assert_eq!(
        (
            b.symbol.as_str(),
            b.tz.as_str(),
            b.volume,
            b.adj_close,
            b.dividend,
            b.split_coefficient
        ),
        ("EURUSD", "UTC", 0.0, None, 0.0, 1.0)
    );
    assert_eq!(b.source, Source::AlphaVantage);
    // The pair is checked.
    let other = FX_DAILY.replace("\"3. To Symbol\": \"USD\"", "\"3. To Symbol\": \"JPY\"");
    assert!(matches!(
        parse(&other, &c),
        Err(AlphaVantageError::SymbolMismatch { requested, returned }) if requested == "EUR/USD" && returned == "JPY"
    ));
    // FX answers always name their zone: none is not guessed.
    let no_zone = FX_DAILY.replace(",\n        \"6. Time Zone\": \"UTC\"", "");
    assert!(matches!(
        parse(&no_zone, &c),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    let bad = FX_DAILY.replace("\"1.16680\"", "\"1.1668O\"");
    assert!(matches!(
        parse(&bad, &c),
        Err(AlphaVantageError::Malformed { symbol, field, ts, value, .. })
            if symbol == "EURUSD" && field == "low" && ts == "2026-01-22" && value == "1.1668O"
    ));
    let missing = FX_DAILY.replace(",\n            \"4. close\": \"1.17540\"", "");
    assert!(matches!(
        parse(&missing, &c),
        Err(AlphaVantageError::Malformed { field, reason, .. }) if field == "close" && reason == "missing"
    ));
}

#[test]
fn gmt_plus_8_intraday_keys_convert_to_utc() {
    let c = call("EURUSD", AssetClass::Fx, Resolution::Min5, DataType::Json);
    let bars = parse(FX_INTRADAY, &c).expect("bars");
    let ts: Vec<String> = bars.iter().map(|b| b.ts.to_string()).collect();
    assert_eq!(ts, ["2018-08-31 00:40:00", "2018-08-31 00:45:00"]);
    assert!(bars
        .iter()
        .all(|b| b.tz == "UTC" && b.resolution == Resolution::Min5));
    let utc = FX_INTRADAY.replace("GMT+8", "UTC");
    let bars = parse(&utc, &c).expect("utc");
    assert_eq!(bars[0].ts.to_string(), "2018-08-31 08:40:00");
}

#[test]
fn fx_csv_crlf_lf_and_bom() {
    let c = call("EURUSD", AssetClass::Fx, Resolution::Daily, DataType::Csv);
    let lf = "timestamp,open,high,low,close\n2026-05-15,1.16700,1.16730,1.16160,1.16250\n2026-05-14,1.17100,1.17210,1.16650,1.16680\n";
    let a = parse(lf, &c).expect("lf");
    let b = parse(&format!("\u{feff}{}", lf.replace('\n', "\r\n")), &c).expect("crlf + bom");
    let strip = |v: Vec<Bar>| {
        v.into_iter()
            .map(|b| (b.ts, b.open, b.high, b.low, b.close, b.volume, b.tz))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(a.clone()), strip(b));
    assert_eq!(a[1].close, 1.1625);
    let ic = call("EURUSD", AssetClass::Fx, Resolution::Min5, DataType::Csv);
    let intraday =
        "timestamp,open,high,low,close\r\n2026-05-15 21:05:00,1.16250,1.16250,1.16250,1.16250\r\n";
    assert_eq!(
        parse(intraday, &ic).expect("intraday")[0].ts.to_string(),
        "2026-05-15 21:05:00"
    );
    let note = r#"{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute and 500 calls per day."}"#;
    assert!(matches!(
        parse(note, &c),
        Err(AlphaVantageError::RateLimited { .. })
    ));
}

const CRYPTO_OLD: &str = r#"{
    "Meta Data": {"1. Information": "Weekly Prices and Volumes for Digital Currency", "2. Digital Currency Code": "BTC", "3. Digital Currency Name": "Bitcoin", "4. Market Code": "CNY", "5. Market Name": "Chinese Yuan", "6. Last Refreshed": "2017-11-08 (end of day)", "7. Time Zone": "UTC"},
    "Time Series (Digital Currency Weekly)": {
        "2017-11-08": {"1a. open (CNY)": "50004.89000000", "1b. open (USD)": "7548.64854665", "2a. high (CNY)": "50612.14484690", "2b. high (USD)": "7637.29060246", "3a. low (CNY)": "47481.89173070", "3b. low (USD)": "7152.82632803", "4a. close (CNY)": "50610.55297110", "4b. close (USD)": "7636.33185031", "5. volume": "15.19131880", "6. market cap (USD)": "109444.65603900"}
    }
}"#;

const CRYPTO_NEW: &str = r#"{
    "Meta Data": {"1. Information": "Daily Prices and Volumes for Digital Currency", "2. Digital Currency Code": "SOL", "3. Digital Currency Name": "Solana", "4. Market Code": "USD", "5. Market Name": "United States Dollar", "6. Last Refreshed": "2024-10-31 00:00:00", "7. Time Zone": "UTC"},
    "Time Series (Digital Currency Daily)": {
        "2024-10-31": {"1. open": "174.82000000", "2. high": "175.43000000", "3. low": "174.82000000", "4. close": "175.22000000", "5. volume": "7661.89401551"},
        "2024-10-30": {"1. open": "179.35000000", "2. high": "181.20000000", "3. low": "173.11000000", "4. close": "174.85000000", "5. volume": "678648.76800693"}
    }
}"#;

#[test]
fn crypto_both_layouts() {
    let mut req = FetchRequest {
        resolution: Resolution::Weekly,
        asset: AssetClass::Crypto,
        market: Some("CNY".into()),
        ..FetchRequest::daily(Symbol::new("BTC").expect("symbol"))
    };
    let c = ApiCall::from_request(&req, DataType::Json).expect("call");
    let old = parse(CRYPTO_OLD, &c).expect("old layout");
    let b = &old[0];
    // The market currency's (`a`) columns, not the USD ones.
    assert_eq!(
        (b.open, b.high, b.low, b.close),
        (50004.89, 50612.1448469, 47481.8917307, 50610.5529711)
    );
    assert_eq!(
        (b.volume, b.symbol.as_str(), b.tz.as_str()),
        (15.1913188, "BTCCNY", "UTC")
    );
    // A row missing its market-currency column is malformed, not read from the USD one.
    let no_a = CRYPTO_OLD.replace("\"4a. close (CNY)\": \"50610.55297110\", ", "");
    assert!(matches!(
        parse(&no_a, &c),
        Err(AlphaVantageError::Malformed { field, reason, .. }) if field == "close" && reason == "missing"
    ));
    req.market = Some("USD".into());
    let usd = ApiCall::from_request(&req, DataType::Json).expect("usd");
    assert!(matches!(
        parse(CRYPTO_OLD, &usd),
        Err(AlphaVantageError::SymbolMismatch { .. })
    ));

    let c = call(
        "SOLUSD",
        AssetClass::Crypto,
        Resolution::Daily,
        DataType::Json,
    );
    let new = parse(CRYPTO_NEW, &c).expect("new layout");
    assert_eq!(new.len(), 2);
    assert_eq!((new[1].close, new[1].volume), (175.22, 7661.89401551));
    assert_eq!(new[0].ts.to_string(), "2024-10-30 00:00:00");
    // Mixed layouts in one answer are refused.
    let mixed = CRYPTO_NEW.replace(
        "\"1. open\": \"179.35000000\"",
        "\"1a. open (USD)\": \"179.35000000\"",
    );
    assert!(matches!(
        parse(&mixed, &c),
        Err(AlphaVantageError::Malformed { field, .. }) if field == "row"
    ));
    let negative = CRYPTO_NEW.replace("\"7661.89401551\"", "\"-1\"");
    assert!(matches!(
        parse(&negative, &c),
        Err(AlphaVantageError::Malformed { field, ts, .. }) if field == "volume" && ts == "2024-10-31"
    ));
    let csv = call(
        "SOLUSD",
        AssetClass::Crypto,
        Resolution::Daily,
        DataType::Csv,
    );
    let body = "timestamp,open,high,low,close,volume\n2026-05-17,67260.37000000,67339.19000000,67250.26000000,67310.48000000,0.49400276\n";
    let bars = parse(body, &csv).expect("csv");
    assert_eq!((bars[0].open, bars[0].volume), (67260.37, 0.49400276));
}

#[test]
fn crypto_intraday_volume_is_an_integer() {
    let c = call(
        "BTCUSD",
        AssetClass::Crypto,
        Resolution::Min15,
        DataType::Json,
    );
    let body = r#"{
        "Meta Data": {"1. Information": "Crypto Intraday (15min) Time Series", "2. Digital Currency Code": "BTC", "3. Digital Currency Name": "Bitcoin", "4. Market Code": "USD", "5. Market Name": "United States Dollar", "6. Last Refreshed": "2024-10-31 21:45:00", "7. Interval": "15min", "8. Output Size": "Compact", "9. Time Zone": "UTC"},
        "Time Series Crypto (15min)": {
            "2024-10-31 21:45:00": {"1. open": "70224.66000", "2. high": "70434.69000", "3. low": "70220.27000", "4. close": "70350.10000", "5. volume": 89}
        }
    }"#;
    let bars = parse(body, &c).expect("bars");
    assert_eq!(
        (bars[0].volume, bars[0].ts.to_string()),
        (89.0, "2024-10-31 21:45:00".to_string())
    );
    // Only the volume may be unquoted.
    let bad = body.replace("\"1. open\": \"70224.66000\"", "\"1. open\": 70224.66");
    assert!(matches!(
        parse(&bad, &c),
        Err(AlphaVantageError::Malformed { field, .. }) if field == "open"
    ));
    let wrong = body.replace("\"7. Interval\": \"15min\"", "\"7. Interval\": \"5min\"");
    assert!(matches!(
        parse(&wrong, &c),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    // Elsewhere an unquoted volume is refused, as before.
    let daily = call(
        "SOLUSD",
        AssetClass::Crypto,
        Resolution::Daily,
        DataType::Json,
    );
    let unquoted = CRYPTO_NEW.replace("\"7661.89401551\"", "7661.89401551");
    assert!(matches!(
        parse(&unquoted, &daily),
        Err(AlphaVantageError::Malformed { field, .. }) if field == "volume"
    ));
}
