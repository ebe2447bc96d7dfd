//! The reference parsers on the reference document's verbatim samples.

use super::*;
use crate::providers::alphavantage::DataType;
use sextant_domain::Indicator;

fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("symbol")
}

fn d(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

const RATE: &str = r#"{
    "Realtime Currency Exchange Rate": {
        "1. From_Currency Code": "USD",
        "2. From_Currency Name": "United States Dollar",
        "3. To_Currency Code": "JPY",
        "4. To_Currency Name": "Japanese Yen",
        "5. Exchange Rate": "158.73166867",
        "6. Last Refreshed": "2026-05-17 17:12:44",
        "7. Time Zone": "UTC",
        "8. Bid Price": "158.72838292",
        "9. Ask Price": "158.73495442"
    }
}"#;

fn malformed_field(r: Result<impl std::fmt::Debug, AlphaVantageError>) -> (String, String, String) {
    match r {
        Err(AlphaVantageError::Malformed {
            field, ts, value, ..
        }) => (field, ts, value),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn exchange_rate_with_and_without_bid_ask() {
    let call = ApiCall::exchange_rate("USD", "JPY").expect("call");
    let r = parse::exchange_rate(RATE, &call, "USD", "JPY").expect("rate");
    assert_eq!(
        (
            r.from.as_str(),
            r.from_name.as_str(),
            r.to.as_str(),
            r.to_name.as_str()
        ),
        ("USD", "United States Dollar", "JPY", "Japanese Yen")
    );
    assert_eq!(r.rate, 158.73166867);
    assert_eq!((r.bid, r.ask), (Some(158.72838292), Some(158.73495442)));
    assert_eq!(r.last_refreshed.to_string(), "2026-05-17 17:12:44");
    let old = RATE
        .replace(",\n        \"8. Bid Price\": \"158.72838292\"", "")
        .replace(",\n        \"9. Ask Price\": \"158.73495442\"", "");
    let r = parse::exchange_rate(&old, &call, "USD", "JPY").expect("old");
    assert_eq!((r.bid, r.ask), (None, None));
    let gmt8 = RATE.replace("\"UTC\"", "\"GMT+8\"");
    let r = parse::exchange_rate(&gmt8, &call, "USD", "JPY").expect("gmt+8");
    assert_eq!(r.last_refreshed.to_string(), "2026-05-17 09:12:44");
    let bad = RATE.replace("\"158.73166867\"", "\"N/A\"");
    assert_eq!(
        malformed_field(parse::exchange_rate(&bad, &call, "USD", "JPY")),
        (
            "Exchange Rate".into(),
            "2026-05-17 17:12:44".into(),
            "N/A".into()
        )
    );
    let bad_bid = RATE.replace("\"158.72838292\"", "\"-1\"");
    assert_eq!(
        malformed_field(parse::exchange_rate(&bad_bid, &call, "USD", "JPY")).0,
        "Bid Price"
    );
    let bad_time = RATE.replace("2026-05-17 17:12:44", "17:12:44");
    assert_eq!(
        malformed_field(parse::exchange_rate(&bad_time, &call, "USD", "JPY")).0,
        "Last Refreshed"
    );
    assert!(matches!(
        parse::exchange_rate(RATE, &call, "USD", "EUR"),
        Err(AlphaVantageError::SymbolMismatch { requested, returned }) if requested == "USD/EUR" && returned == "JPY"
    ));
    let invalid = r#"{"Error Message": "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for CURRENCY_EXCHANGE_RATE."}"#;
    assert!(matches!(
        parse::exchange_rate(invalid, &call, "USD", "JPY"),
        Err(AlphaVantageError::InvalidCall { message }) if message.ends_with("for CURRENCY_EXCHANGE_RATE.")
    ));
    assert!(matches!(
        parse::exchange_rate("USD,JPY\n", &call, "USD", "JPY"),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
}

const DIVIDENDS_JSON: &str = r#"{
    "symbol": "IBM",
    "data": [
        {"ex_dividend_date": "2025-11-10", "declaration_date": "2025-10-22", "record_date": "2025-11-10", "payment_date": "2025-12-10", "amount": "1.68"},
        {"ex_dividend_date": "2020-11-09", "declaration_date": "None", "record_date": "None", "payment_date": "None", "amount": "1.63"}
    ]
}"#;

#[test]
fn dividends_json_and_csv_oldest_first() {
    let ibm = sym("IBM");
    let call = ApiCall::dividends(&ibm, DataType::Json);
    let v = events::dividends(DIVIDENDS_JSON, &call, &ibm).expect("json");
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].ex_date, d("2020-11-09"));
    assert_eq!(
        (v[0].declaration_date, v[0].payment_date, v[0].amount),
        (None, None, 1.63)
    );
    assert_eq!(
        (
            v[1].declaration_date,
            v[1].record_date,
            v[1].payment_date,
            v[1].amount
        ),
        (
            Some(d("2025-10-22")),
            Some(d("2025-11-10")),
            Some(d("2025-12-10")),
            1.68
        )
    );
    let csv_call = ApiCall::dividends(&ibm, DataType::Csv);
    let csv = "ex_dividend_date,declaration_date,record_date,payment_date,amount\r\n2026-05-08,2026-04-22,2026-05-08,2026-06-10,1.69\r\n2020-11-09,None,None,None,1.63\r\n1999-02-08,None,None,None,0.22\r\n";
    let v = events::dividends(csv, &csv_call, &ibm).expect("csv");
    let dates: Vec<_> = v.iter().map(|e| e.ex_date.to_string()).collect();
    assert_eq!(dates, ["1999-02-08", "2020-11-09", "2026-05-08"]);
    assert_eq!(v[2].record_date, Some(d("2026-05-08")));
    for (bad, field) in [
        ("1.63", "-0.5"),
        ("1.63", "NaN"),
        ("1.63", ""),
        ("2020-11-09,None", "2020-11-09,none"),
        ("2020-11-09,None", "2020-11-09,N/A"),
    ] {
        let body = csv.replacen(bad, field, 1);
        let (f, ts, _) = malformed_field(events::dividends(&body, &csv_call, &ibm));
        assert!(f == "amount" || f == "declaration_date", "{field}: {f}");
        assert_eq!(ts, "2020-11-09");
    }
    let no_ex = csv.replace("2020-11-09,None", "None,None");
    assert_eq!(
        malformed_field(events::dividends(&no_ex, &csv_call, &ibm)).0,
        "ex_dividend_date"
    );
    let other = DIVIDENDS_JSON.replace("\"symbol\": \"IBM\"", "\"symbol\": \"MSFT\"");
    assert!(matches!(
        events::dividends(&other, &call, &ibm),
        Err(AlphaVantageError::SymbolMismatch { .. })
    ));
    let empty =
        events::dividends("{\"symbol\": \"IBM\", \"data\": []}", &call, &ibm).expect("empty");
    assert!(empty.is_empty());
    assert!(matches!(
        events::dividends("{}", &call, &ibm),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
}

#[test]
fn splits_json_and_csv() {
    let ibm = sym("IBM");
    let json = r#"{"symbol": "IBM", "data": [{"effective_date": "2021-11-04", "split_factor": "1.0460"}, {"effective_date": "1999-05-27", "split_factor": "2.0000"}]}"#;
    let v = events::splits(json, &ApiCall::splits(&ibm, DataType::Json), &ibm).expect("json");
    assert_eq!(
        v,
        [
            SplitEvent {
                effective_date: d("1999-05-27"),
                factor: 2.0
            },
            SplitEvent {
                effective_date: d("2021-11-04"),
                factor: 1.046
            }
        ]
    );
    let call = ApiCall::splits(&ibm, DataType::Csv);
    let csv = "effective_date,split_factor\n2021-11-04,1.0460\n1999-05-27,2.0000\n";
    assert_eq!(events::splits(csv, &call, &ibm).expect("csv"), v);
    for bad in ["0.0000", "-2", "2:1", "inf"] {
        let body = csv.replace("2.0000", bad);
        let (f, ts, value) = malformed_field(events::splits(&body, &call, &ibm));
        assert_eq!(
            (f.as_str(), ts.as_str(), value.as_str()),
            ("split_factor", "1999-05-27", bad)
        );
    }
    let twice = csv.replace("1999-05-27", "2021-11-04");
    assert_eq!(
        malformed_field(events::splits(&twice, &call, &ibm)).0,
        "effective_date"
    );
    let short = csv.replace(",2.0000", "");
    assert_eq!(
        malformed_field(events::splits(&short, &call, &ibm)).0,
        "row"
    );
}

#[test]
fn symbol_search_json_and_csv() {
    let json = r#"{"bestMatches": [{"1. symbol": "BA", "2. name": "The Boeing Company", "3. type": "Equity", "4. region": "United States", "5. marketOpen": "09:30", "6. marketClose": "16:00", "7. timezone": "UTC-04", "8. currency": "USD", "9. matchScore": "1.0000"}]}"#;
    let call = ApiCall::symbol_search("BA", DataType::Json).expect("call");
    let v = parse::symbol_search(json, &call).expect("json");
    assert_eq!(v.len(), 1);
    let m = &v[0];
    assert_eq!(
        (
            m.symbol.as_str(),
            m.name.as_str(),
            m.kind.as_str(),
            m.region.as_str()
        ),
        ("BA", "The Boeing Company", "Equity", "United States")
    );
    assert_eq!(
        (m.market_open.to_string(), m.market_close.to_string()),
        ("09:30:00".into(), "16:00:00".into())
    );
    assert_eq!(
        (m.timezone.as_str(), m.currency.as_str(), m.match_score),
        ("UTC-04", "USD", 1.0)
    );
    let call = ApiCall::symbol_search("tesco", DataType::Csv).expect("call");
    let csv = "symbol,name,type,region,marketOpen,marketClose,timezone,currency,matchScore\nTSCO.LON,Tesco PLC,Equity,United Kingdom,08:00,16:30,UTC+01,GBX,0.7273\nTCO2.FRK,TESCO PLC ADR/1 LS-05,Equity,Frankfurt,08:00,20:00,UTC+02,EUR,0.5455\n";
    let v = parse::symbol_search(csv, &call).expect("csv");
    assert_eq!(
        v.iter().map(|m| m.symbol.as_str()).collect::<Vec<_>>(),
        ["TSCO.LON", "TCO2.FRK"]
    );
    assert_eq!(v[1].match_score, 0.5455);
    let bad = csv.replace("0.5455", "1.5");
    assert_eq!(
        malformed_field(parse::symbol_search(&bad, &call)),
        ("matchScore".into(), "TCO2.FRK".into(), "1.5".into())
    );
    let bad_time = csv.replace("08:00,20:00", "8am,20:00");
    assert_eq!(
        malformed_field(parse::symbol_search(&bad_time, &call)).0,
        "marketOpen"
    );
    assert!(parse::symbol_search("{\"bestMatches\": []}", &call)
        .expect("none")
        .is_empty());
}

#[test]
fn listing_status_csv_only() {
    let call = ApiCall::listing_status(None, false).expect("call");
    let csv = "symbol,name,exchange,assetType,ipoDate,delistingDate,status\r\n-P-HIZ,Presurance Holdings Inc,NASDAQ,Stock,2023-08-30,null,Active\r\nAMEH,,NASDAQ,Stock,2024-02-26,null,Active\r\nVECT,\"VectivBio Holding, AG\",NASDAQ,Stock,2021-04-20,2023-07-07,Delisted\r\n";
    let v = parse::listing_status(csv, &call).expect("listing");
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].symbol, "-P-HIZ");
    assert_eq!(
        (v[1].name.as_str(), v[1].ipo_date, v[1].delisting_date),
        ("", Some(d("2024-02-26")), None)
    );
    assert_eq!(v[2].name, "VectivBio Holding, AG");
    assert_eq!(
        (v[2].delisting_date, v[2].status.as_str()),
        (Some(d("2023-07-07")), "Delisted")
    );
    let bad = csv.replace("2024-02-26", "26/02/2024");
    assert_eq!(
        malformed_field(parse::listing_status(&bad, &call)),
        ("ipoDate".into(), "AMEH".into(), "26/02/2024".into())
    );
    let demo = r#"{"Information": "The **demo** API key is for demo purposes only. Please claim your free API key at (https://www.alphavantage.co/support/#api-key) to explore our full API offerings. It takes fewer than 20 seconds."}"#;
    assert!(matches!(
        parse::listing_status(demo, &call),
        Err(AlphaVantageError::DemoKey { .. })
    ));
    assert!(matches!(
        parse::listing_status("{}", &call),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    assert!(matches!(
        parse::listing_status("ticker,name\nA,B\n", &call),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
}

#[test]
fn market_status_entries() {
    let json = r#"{
        "endpoint": "Global Market Open & Close Status",
        "markets": [
            {"market_type": "Equity", "region": "United States", "primary_exchanges": "NASDAQ, NYSE, AMEX, BATS", "local_open": "09:30", "local_close": "16:15", "current_status": "closed", "notes": ""},
            {"market_type": "Cryptocurrency", "region": "Global", "primary_exchanges": "Global", "local_open": "00:00", "local_close": "23:59", "current_status": "open", "notes": "The cryptocurrency market is open 24 hours a day"}
        ]
    }"#;
    let call = ApiCall::market_status();
    let v = parse::market_status(json, &call).expect("status");
    assert_eq!(v.len(), 2);
    assert!(!v[0].is_open() && v[1].is_open());
    assert_eq!(v[0].local_close.to_string(), "16:15:00");
    assert_eq!(
        v[1].notes,
        "The cryptocurrency market is open 24 hours a day"
    );
    let bad = json.replace("\"16:15\"", "\"4:15pm\"");
    assert_eq!(
        malformed_field(parse::market_status(&bad, &call)),
        (
            "local_close".into(),
            "Equity/United States".into(),
            "4:15pm".into()
        )
    );
}

#[test]
fn economic_json_csv_and_missing_values() {
    let key = SeriesKey::new(Indicator::Cpi, "monthly", None).expect("key");
    let call = ApiCall::economic(&key, DataType::Json).expect("call");
    let json = r#"{
        "name": "Consumer Price Index for all Urban Consumers",
        "interval": "monthly",
        "unit": "index 1982-1984=100",
        "data": [
            {"date": "2023-11-01", "value": "307.051"},
            {"date": "2023-10-01", "value": "."},
            {"date": "2023-09-01", "value": "307.789"}
        ]
    }"#;
    let s = events::economic(json, &call, &key).expect("json");
    assert_eq!(
        (s.name.as_str(), s.unit.as_str()),
        (
            "Consumer Price Index for all Urban Consumers",
            "index 1982-1984=100"
        )
    );
    let values: Vec<_> = s
        .observations
        .iter()
        .map(|o| (o.date.to_string(), o.value))
        .collect();
    assert_eq!(
        values,
        [
            ("2023-09-01".to_string(), Some(307.789)),
            ("2023-10-01".to_string(), None),
            ("2023-11-01".to_string(), Some(307.051))
        ]
    );
    let bad_date = json.replace("2023-09-01", "Sep 2023");
    assert_eq!(
        malformed_field(events::economic(&bad_date, &call, &key)),
        ("date".into(), "Sep 2023".into(), "Sep 2023".into())
    );
    let wrong_interval = json.replace("\"interval\": \"monthly\"", "\"interval\": \"daily\"");
    assert!(matches!(
        events::economic(&wrong_interval, &call, &key),
        Err(AlphaVantageError::UnexpectedBody { .. })
    ));
    let csv_call = ApiCall::economic(&key, DataType::Csv).expect("csv");
    let csv = "timestamp,value\n2023-11-01,307.051\n2023-10-01,.\n2023-09-01,307.789\n";
    let c = events::economic(csv, &csv_call, &key).expect("csv");
    assert_eq!(c, s, "CSV takes the vendor's name and unit for the series");
    let ten = SeriesKey::new(Indicator::TreasuryYield, "daily", Some("10year")).expect("key");
    let (name, unit) = events::vendor_series_text(&ten);
    assert_eq!(
        (name.as_str(), unit.as_str()),
        ("10-Year Treasury Constant Maturity Rate", "percent")
    );
    let dup = csv.replace("2023-10-01", "2023-11-01");
    assert_eq!(
        malformed_field(events::economic(&dup, &csv_call, &key)).0,
        "timestamp"
    );
    let quota = r#"{"Information": "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits."}"#;
    assert!(matches!(
        events::economic(quota, &csv_call, &key),
        Err(AlphaVantageError::RateLimited { .. })
    ));
}
