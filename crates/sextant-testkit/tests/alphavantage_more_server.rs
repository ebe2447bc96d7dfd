//! The fake Alpha Vantage's FX, crypto, reference and economic functions, byte for byte.

use serde_json::Value;
use sextant_testkit::alphavantage::{
    invalid_call, unknown_function, AlphaVantageServer, CryptoLayout, Fault, DEMO_KEY,
    PREMIUM_ENDPOINT,
};

/// (status, content type, body).
async fn get(server: &AlphaVantageServer, query: &str) -> (u16, String, String) {
    let url = format!("{}?{query}&apikey=k", server.base_url());
    let resp = reqwest::get(&url).await.expect("request");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ct, resp.text().await.expect("body"))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).expect("json body")
}

/// The keys of `obj`'s members as they appear in the raw text (serde's map sorts them).
fn keys_in_order(body: &str, keys: &[&str]) -> bool {
    let pos: Vec<Option<usize>> = keys
        .iter()
        .map(|k| body.find(&format!("\"{k}\"")))
        .collect();
    pos.iter().all(Option::is_some) && pos.windows(2).all(|w| w[0] < w[1])
}

#[tokio::test]
async fn fx_bodies_have_the_documented_shapes() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (status, ct, body) = get(&server, "function=FX_DAILY&from_symbol=EUR&to_symbol=USD").await;
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    assert!(body.starts_with(
        "{\n    \"Meta Data\": {\n        \"1. Information\": \"Forex Daily Prices (open, high, low, close)\",\n        \"2. From Symbol\": \"EUR\",\n        \"3. To Symbol\": \"USD\",\n        \"4. Output Size\": \"Compact\",\n        \"5. Last Refreshed\": \"2024-10-31\",\n        \"6. Time Zone\": \"UTC\"\n    },\n    \"Time Series FX (Daily)\": {\n        \"2024-10-31\": {\n            \"1. open\": \""
    ), "{}", &body[..400]);
    assert!(body.ends_with("\n    }\n}"));
    let v = json(&body);
    let series = v["Time Series FX (Daily)"].as_object().expect("series");
    assert_eq!(series.len(), 100);
    assert!(series
        .values()
        .all(|r| r.as_object().map(|o| o.len()) == Some(4)));
    assert!(!body.contains("volume"));
    let (_, ct, csv) = get(
        &server,
        "function=FX_DAILY&from_symbol=EUR&to_symbol=USD&datatype=csv",
    )
    .await;
    assert_eq!(ct, "application/x-download");
    assert!(csv.starts_with("timestamp,open,high,low,close\n2024-10-31,"));
    assert!(csv.ends_with('\n') && !csv.contains('\r'));
    let (_, _, weekly) = get(&server, "function=FX_WEEKLY&from_symbol=GBP&to_symbol=USD").await;
    assert!(keys_in_order(
        &weekly,
        &[
            "1. Information",
            "2. From Symbol",
            "3. To Symbol",
            "4. Last Refreshed",
            "5. Time Zone",
            "Time Series FX (Weekly)"
        ]
    ));
    assert_eq!(
        json(&weekly)["Meta Data"]["1. Information"],
        "Forex Weekly Prices (open, high, low, close)"
    );
    let (_, _, monthly) = get(&server, "function=FX_MONTHLY&from_symbol=USD&to_symbol=JPY").await;
    let v = json(&monthly);
    assert_eq!(
        v["Meta Data"]["1. Information"],
        "Forex Monthly Prices (open, high, low, close)"
    );
    assert!(v["Time Series FX (Monthly)"]["2024-09-30"]["4. close"].is_string());
    let q = "function=FX_INTRADAY&from_symbol=EUR&to_symbol=USD&interval=5min&outputsize=full";
    let (_, _, intraday) = get(&server, q).await;
    assert!(keys_in_order(
        &intraday,
        &[
            "1. Information",
            "2. From Symbol",
            "3. To Symbol",
            "4. Last Refreshed",
            "5. Interval",
            "6. Output Size",
            "7. Time Zone",
            "Time Series FX (5min)"
        ]
    ));
    let v = json(&intraday);
    assert_eq!(
        v["Meta Data"]["1. Information"],
        "FX Intraday (5min) Time Series"
    );
    assert_eq!(v["Meta Data"]["6. Output Size"], "Full size");
    assert_eq!(
        v["Time Series FX (5min)"].as_object().map(|o| o.len()),
        Some(5 * 288)
    );
    assert!(v["Time Series FX (5min)"]["2024-10-27 22:00:00"].is_object());

    let legacy = AlphaVantageServer::builder()
        .legacy_fx(true)
        .start()
        .await
        .expect("legacy");
    let v = json(&get(&legacy, q).await.2);
    assert_eq!(v["Meta Data"]["7. Time Zone"], "GMT+8");
    // 22:00 UTC is 06:00 the next day in GMT+8.
    assert!(v["Time Series FX (5min)"]["2024-10-28 06:00:00"].is_object());
    let (_, _, body) = get(&server, "function=FX_DAILY&from_symbol=EUR&to_symbol=CHF").await;
    assert_eq!(body, invalid_call("FX_DAILY"));
    let (_, _, body) = get(
        &server,
        "function=FX_INTRADAY&from_symbol=EUR&to_symbol=USD&interval=2min",
    )
    .await;
    assert_eq!(body, invalid_call("FX_INTRADAY"));
}

#[tokio::test]
async fn crypto_bodies_in_both_layouts() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (_, _, body) = get(
        &server,
        "function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=EUR",
    )
    .await;
    assert!(keys_in_order(
        &body,
        &[
            "1. Information",
            "2. Digital Currency Code",
            "3. Digital Currency Name",
            "4. Market Code",
            "5. Market Name",
            "6. Last Refreshed",
            "7. Time Zone",
            "Time Series (Digital Currency Daily)"
        ]
    ));
    let v = json(&body);
    assert_eq!(v["Meta Data"]["5. Market Name"], "Euro");
    assert_eq!(v["Meta Data"]["6. Last Refreshed"], "2024-10-31 00:00:00");
    let row = v["Time Series (Digital Currency Daily)"]["2024-10-31"]
        .as_object()
        .expect("row");
    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["1. open", "2. high", "3. low", "4. close", "5. volume"]
    );
    assert!(row["1. open"]
        .as_str()
        .is_some_and(|s| s.split('.').nth(1).map(str::len) == Some(8)));
    let (_, _, csv) = get(
        &server,
        "function=DIGITAL_CURRENCY_WEEKLY&symbol=ETH&market=USD&datatype=csv",
    )
    .await;
    assert!(csv.starts_with("timestamp,open,high,low,close,volume\n2024-10-31,"));
    server.set_crypto_layout(CryptoLayout::Old);
    let v = json(
        &get(
            &server,
            "function=DIGITAL_CURRENCY_MONTHLY&symbol=BTC&market=CNY",
        )
        .await
        .2,
    );
    let row = v["Time Series (Digital Currency Monthly)"]["2024-09-30"]
        .as_object()
        .expect("row");
    assert_eq!(row.len(), 10);
    assert_eq!(row["5. volume"], row["6. market cap (USD)"]);
    let cny: f64 = row["4a. close (CNY)"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("cny");
    let usd: f64 = row["4b. close (USD)"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("usd");
    assert!((cny / usd - 7.2).abs() < 1e-6);
    let (_, _, csv) = get(
        &server,
        "function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=CNY&datatype=csv",
    )
    .await;
    assert!(csv.starts_with("timestamp,open (CNY),open (USD),high (CNY),high (USD),low (CNY),low (USD),close (CNY),close (USD),volume,market cap (USD)\n"));
    // Intraday has one layout: the volume an unquoted integer.
    let (_, _, body) = get(
        &server,
        "function=CRYPTO_INTRADAY&symbol=ETH&market=USD&interval=5min",
    )
    .await;
    assert!(keys_in_order(
        &body,
        &[
            "6. Last Refreshed",
            "7. Interval",
            "8. Output Size",
            "9. Time Zone",
            "Time Series Crypto (5min)"
        ]
    ));
    let v = json(&body);
    let series = v["Time Series Crypto (5min)"].as_object().expect("series");
    assert_eq!(series.len(), 100);
    assert!(series
        .values()
        .all(|r| r["5. volume"].is_u64() && r["1. open"].is_string()));
    for q in [
        "function=DIGITAL_CURRENCY_DAILY&symbol=DOGE&market=USD",
        "function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=JPY",
        "function=DIGITAL_CURRENCY_DAILY&symbol=BTC",
    ] {
        assert_eq!(
            get(&server, q).await.2,
            invalid_call("DIGITAL_CURRENCY_DAILY"),
            "{q}"
        );
    }
}

#[tokio::test]
async fn reference_bodies_and_their_formats() {
    let server = AlphaVantageServer::start().await.expect("server");
    // JSON only, even when CSV is asked for.
    let (_, ct, body) = get(
        &server,
        "function=CURRENCY_EXCHANGE_RATE&from_currency=USD&to_currency=JPY&datatype=csv",
    )
    .await;
    assert_eq!(ct, "application/json");
    assert!(body.starts_with("{\n    \"Realtime Currency Exchange Rate\": {\n        \"1. From_Currency Code\": \"USD\",\n        \"2. From_Currency Name\": \"United States Dollar\",\n        \"3. To_Currency Code\": \"JPY\",\n        \"4. To_Currency Name\": \"Japanese Yen\",\n        \"5. Exchange Rate\": \""));
    assert!(keys_in_order(
        &body,
        &[
            "6. Last Refreshed",
            "7. Time Zone",
            "8. Bid Price",
            "9. Ask Price"
        ]
    ));
    assert!(body.ends_with("\"\n    }\n}"));
    let (_, _, body) = get(
        &server,
        "function=CURRENCY_EXCHANGE_RATE&from_currency=ABC&to_currency=DEF",
    )
    .await;
    assert_eq!(body, invalid_call("CURRENCY_EXCHANGE_RATE"));

    let (_, _, body) = get(&server, "function=DIVIDENDS&symbol=IBM").await;
    assert!(body.starts_with("{\n    \"symbol\": \"IBM\",\n    \"data\": [\n        {\n            \"ex_dividend_date\": \"2026-05-08\",\n            \"declaration_date\": \"2026-04-22\",\n            \"record_date\": \"2026-05-08\",\n            \"payment_date\": \"2026-06-10\",\n            \"amount\": \"1.69\"\n        },"));
    let (_, _, csv) = get(&server, "function=DIVIDENDS&symbol=IBM&datatype=csv").await;
    assert!(csv.starts_with(
        "ex_dividend_date,declaration_date,record_date,payment_date,amount\n2026-05-08,"
    ));
    assert!(
        csv.contains("\n2020-11-09,None,None,None,1.63\n")
            && csv.ends_with("\n1999-02-08,None,None,None,0.22\n")
    );
    let (_, _, body) = get(&server, "function=DIVIDENDS&symbol=NOSUCH").await;
    assert_eq!(body, "{\n    \"symbol\": \"NOSUCH\",\n    \"data\": []\n}");
    let (_, _, csv) = get(&server, "function=SPLITS&symbol=MSFT&datatype=csv").await;
    assert!(csv.starts_with("effective_date,split_factor\n2003-02-18,2.0000\n"));
    assert!(csv.contains("\n1991-06-27,1.5000\n"));

    let (_, _, body) = get(&server, "function=SYMBOL_SEARCH&keywords=zzz").await;
    assert_eq!(body, "{\n    \"bestMatches\": []\n}");
    let (_, _, csv) = get(
        &server,
        "function=SYMBOL_SEARCH&keywords=tesco&datatype=csv",
    )
    .await;
    assert!(csv.starts_with("symbol,name,type,region,marketOpen,marketClose,timezone,currency,matchScore\nTSCO.LON,Tesco PLC,Equity,United Kingdom,08:00,16:30,UTC+01,GBX,"));

    // CSV only, even when JSON is asked for.
    let (_, ct, csv) = get(&server, "function=LISTING_STATUS&datatype=json").await;
    assert_eq!(ct, "application/x-download");
    assert!(csv.starts_with("symbol,name,exchange,assetType,ipoDate,delistingDate,status\n-P-HIZ,Presurance Holdings Inc,NASDAQ,Stock,2023-08-30,null,Active\n"));
    assert!(csv.contains("\nAMEH,,NASDAQ,Stock,2024-02-26,null,Active\n"));
    let (_, _, csv) = get(&server, "function=LISTING_STATUS&state=delisted").await;
    assert!(
        csv.contains("\nVECT,VectivBio Holding AG,NASDAQ,Stock,2021-04-20,2023-07-07,Delisted\n")
    );
    assert_eq!(
        get(&server, "function=LISTING_STATUS&date=2009-06-01")
            .await
            .2,
        invalid_call("LISTING_STATUS")
    );

    let (_, ct, body) = get(&server, "function=MARKET_STATUS&datatype=csv").await;
    assert_eq!(ct, "application/json");
    assert!(body.starts_with("{\n    \"endpoint\": \"Global Market Open & Close Status\",\n    \"markets\": [\n        {\n            \"market_type\": \"Equity\",\n            \"region\": \"United States\","));
    assert_eq!(json(&body)["markets"].as_array().map(Vec::len), Some(16));
    assert!(body.ends_with("}\n    ]\n}"));
}

#[tokio::test]
async fn economic_bodies() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (_, _, body) = get(
        &server,
        "function=TREASURY_YIELD&interval=daily&maturity=10year",
    )
    .await;
    assert!(body.starts_with("{\n    \"name\": \"10-Year Treasury Constant Maturity Rate\",\n    \"interval\": \"daily\",\n    \"unit\": \"percent\",\n    \"data\": [\n        {\n            \"date\": \"2013-03-01\",\n            \"value\": \""));
    assert!(body.contains("\"date\": \"2012-12-25\",\n            \"value\": \".\""));
    // Documented defaults: monthly, 10-year.
    let v = json(&get(&server, "function=TREASURY_YIELD").await.2);
    assert_eq!(
        (v["interval"].as_str(), v["data"][0]["date"].as_str()),
        (Some("monthly"), Some("2013-02-01"))
    );
    let (_, _, csv) = get(&server, "function=CPI&interval=semiannual&datatype=csv").await;
    assert!(csv.starts_with("timestamp,value\n2012-07-01,"));
    let v = json(
        &get(&server, "function=FEDERAL_FUNDS_RATE&interval=weekly")
            .await
            .2,
    );
    assert_eq!(v["name"], "Effective Federal Funds Rate");
    assert_eq!(v["data"][0]["date"], "2013-03-01");
    for q in [
        "function=CPI&interval=daily",
        "function=TREASURY_YIELD&maturity=1year",
    ] {
        assert_eq!(
            get(&server, q).await.2,
            invalid_call(q.split(['=', '&']).nth(1).unwrap_or(""))
        );
    }
}

#[tokio::test]
async fn keys_faults_and_entitlements_apply_to_every_function() {
    let server = AlphaVantageServer::builder()
        .free_tier()
        .start()
        .await
        .expect("server");
    assert_eq!(
        get(&server, "function=NOPE").await.2,
        unknown_function("NOPE")
    );
    for q in [
        "function=FX_INTRADAY&from_symbol=EUR&to_symbol=USD&interval=5min",
        "function=CRYPTO_INTRADAY&symbol=BTC&market=USD&interval=5min",
    ] {
        assert_eq!(get(&server, q).await.2, PREMIUM_ENDPOINT, "{q}");
    }
    let demo = |q: &str| format!("{}?{q}&apikey=demo", server.base_url());
    let text = |u: String| async move {
        reqwest::get(&u)
            .await
            .expect("get")
            .text()
            .await
            .expect("body")
    };
    assert_eq!(
        text(demo("function=FX_DAILY&from_symbol=USD&to_symbol=JPY")).await,
        DEMO_KEY
    );
    assert!(
        text(demo("function=FX_DAILY&from_symbol=EUR&to_symbol=USD"))
            .await
            .contains("Time Series FX")
    );
    assert!(text(demo("function=LISTING_STATUS"))
        .await
        .starts_with("symbol,"));
    assert_eq!(text(demo("function=SPLITS&symbol=AAPL")).await, DEMO_KEY);

    server.push_fault(Fault::InvalidCall);
    assert_eq!(
        get(&server, "function=MARKET_STATUS").await.2,
        invalid_call("MARKET_STATUS")
    );
    server.push_fault(Fault::malformed(1, "amount", "abc"));
    let (_, _, csv) = get(&server, "function=DIVIDENDS&symbol=IBM&datatype=csv").await;
    assert!(csv.starts_with("ex_dividend_date,declaration_date,record_date,payment_date,amount\n2026-05-08,2026-04-22,2026-05-08,2026-06-10,1.69\n2025-11-10,2025-10-22,2025-11-10,2025-12-10,abc\n"));
    server.push_fault(Fault::malformed(0, "5. volume", "x"));
    let (_, _, body) = get(
        &server,
        "function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=USD",
    )
    .await;
    assert!(body.contains("\"5. volume\": \"x\""));
    server.push_fault(Fault::malformed(0, "5. Exchange Rate", "-"));
    let (_, _, body) = get(
        &server,
        "function=CURRENCY_EXCHANGE_RATE&from_currency=USD&to_currency=JPY",
    )
    .await;
    assert!(body.contains("\"5. Exchange Rate\": \"-\""));
    let outcomes: Vec<_> = server.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            "invalid_call",
            "premium",
            "premium",
            "demo_key",
            "data",
            "data",
            "demo_key",
            "invalid_call",
            "malformed_value",
            "malformed_value",
            "malformed_value"
        ]
    );
}
