//! The fake Alpha Vantage speaks the documented wire format.

use serde_json::Value;
use sextant_testkit::alphavantage::{
    invalid_call, AlphaVantageServer, Fault, NumberStyle, DEMO_KEY, INFORMATION_RATE_LIMIT,
    NOTE_RATE_LIMIT, PREMIUM_ENDPOINT,
};
use std::time::Duration;

async fn get(server: &AlphaVantageServer, query: &str) -> (u16, String) {
    let url = format!("{}?{query}", server.base_url());
    let resp = reqwest::get(&url).await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).expect("json body")
}

#[tokio::test]
async fn daily_compact_is_latest_100_newest_first() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (status, body) = get(&server, "function=TIME_SERIES_DAILY&symbol=msft&apikey=k").await;
    assert_eq!(status, 200);
    let v = json(&body);
    assert_eq!(v["Meta Data"]["2. Symbol"], "MSFT");
    assert_eq!(v["Meta Data"]["4. Output Size"], "Compact");
    assert_eq!(v["Meta Data"]["5. Time Zone"], "US/Eastern");
    assert_eq!(v["Meta Data"]["3. Last Refreshed"], "2013-03-01");
    assert_eq!(
        v["Time Series (Daily)"].as_object().map(|o| o.len()),
        Some(100)
    );
    // Newest first in the raw text.
    let first = body.find("\"2013-03-01\"").expect("newest");
    let second = body.find("\"2013-02-28\"").expect("next");
    assert!(first < second);

    let (_, full) = get(
        &server,
        "function=TIME_SERIES_DAILY&symbol=MSFT&apikey=k&outputsize=full",
    )
    .await;
    let v = json(&full);
    assert_eq!(v["Meta Data"]["4. Output Size"], "Full size");
    let day = &v["Time Series (Daily)"]["2008-10-10"];
    assert_eq!(day["4. close"], "21.5000");
    assert_eq!(day["5. volume"], "228467500");
}

#[tokio::test]
async fn adjusted_daily_reports_splits_and_csv_columns() {
    let server = AlphaVantageServer::start().await.expect("server");
    let q = "function=TIME_SERIES_DAILY_ADJUSTED&symbol=AAPL&apikey=k&outputsize=full";
    let v = json(&get(&server, q).await.1);
    let series = &v["Time Series (Daily)"];
    assert_eq!(series["2005-02-28"]["8. split coefficient"], "2.0000");
    assert_eq!(series["2005-02-25"]["8. split coefficient"], "1.0000");
    assert_eq!(series["2000-06-21"]["8. split coefficient"], "2.0000");
    assert_eq!(series["2005-02-28"]["6. volume"], "11635900");

    let (_, csv) = get(&server, &format!("{q}&datatype=csv")).await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "timestamp,open,high,low,close,adjusted_close,volume,dividend_amount,split_coefficient"
        )
    );
    assert!(lines.next().is_some_and(|l| l.starts_with("2013-03-01,")));
    assert!(csv.contains("\r\n2005-02-28,44.6800,45.1400,43.9600,44.8600,"));
}

#[tokio::test]
async fn weekly_monthly_and_intraday_shapes() {
    let server = AlphaVantageServer::builder()
        .numbers(NumberStyle::Short)
        .start()
        .await
        .expect("server");
    let v = json(
        &get(&server, "function=TIME_SERIES_WEEKLY&symbol=IBM&apikey=k")
            .await
            .1,
    );
    assert_eq!(v["Meta Data"]["4. Time Zone"], "US/Eastern");
    assert!(v["Weekly Time Series"]["2013-03-01"]["4. close"].is_string());
    let v = json(
        &get(
            &server,
            "function=TIME_SERIES_MONTHLY_ADJUSTED&symbol=IBM&apikey=k",
        )
        .await
        .1,
    );
    assert!(v["Monthly Adjusted Time Series"]["2008-10-31"]["7. dividend amount"].is_string());

    let q = "function=TIME_SERIES_INTRADAY&symbol=IBM&apikey=k&interval=5min&month=2012-03&outputsize=full&extended_hours=false";
    let v = json(&get(&server, q).await.1);
    let meta = &v["Meta Data"];
    assert_eq!(meta["4. Interval"], "5min");
    assert_eq!(meta["5. Output Size"], "Full size");
    assert_eq!(meta["6. Time Zone"], "US/Eastern");
    let series = v["Time Series (5min)"].as_object().expect("series");
    // 22 sessions in March 2012, 78 five-minute bars each.
    assert_eq!(series.len(), 22 * 78);
    assert!(series.contains_key("2012-03-09 09:30:00"));
    assert!(series.contains_key("2012-03-12 15:55:00"));
    // Short number style: no padding to four decimals.
    let v = json(
        &get(
            &server,
            "function=TIME_SERIES_DAILY&symbol=MSFT&apikey=k&outputsize=full",
        )
        .await
        .1,
    );
    assert_eq!(v["Time Series (Daily)"]["2008-10-10"]["4. close"], "21.5");
}

#[tokio::test]
async fn error_bodies_for_bad_calls() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (status, body) = get(&server, "function=TIME_SERIES_DAILY&symbol=NOPE&apikey=k").await;
    assert_eq!((status, body), (200, invalid_call("TIME_SERIES_DAILY")));
    let (_, body) = get(
        &server,
        "function=TIME_SERIES_DAILY&symbol=MSFT&apikey=demo",
    )
    .await;
    assert_eq!(body, DEMO_KEY);
    let (_, body) = get(&server, "function=TIME_SERIES_DAILY&symbol=IBM&apikey=demo").await;
    assert!(body.contains("\"Time Series (Daily)\""));
    let (_, body) = get(&server, "function=TIME_SERIES_INTRADAY&symbol=IBM&apikey=k").await;
    assert_eq!(body, invalid_call("TIME_SERIES_INTRADAY"));
    let outcomes: Vec<_> = server.requests().iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        ["invalid_call", "demo_key", "data", "invalid_call"]
    );
}

#[tokio::test]
async fn scripted_faults_rate_limits_and_control_endpoints() {
    let server = AlphaVantageServer::builder()
        .premium_function("TIME_SERIES_DAILY_ADJUSTED")
        .rate_limit(2, Duration::from_secs(3600))
        .start()
        .await
        .expect("server");
    let q = "function=TIME_SERIES_DAILY&symbol=IBM&apikey=k";
    server.push_fault(Fault::RateLimitDaily);
    server.push_fault(Fault::malformed(0, "1. open", "12.3x"));
    assert_eq!(get(&server, q).await.1, INFORMATION_RATE_LIMIT);
    let (_, body) = get(&server, q).await;
    assert!(body.contains("\"1. open\": \"12.3x\""));
    // Two requests in the window: the third is rate limited.
    assert_eq!(get(&server, q).await.1, NOTE_RATE_LIMIT);
    server.set_rate_limit(None);
    let (_, body) = get(
        &server,
        "function=TIME_SERIES_DAILY_ADJUSTED&symbol=IBM&apikey=k",
    )
    .await;
    assert_eq!(body, PREMIUM_ENDPOINT);

    server.push_fault(Fault::Truncated);
    let (_, body) = get(&server, q).await;
    assert!(serde_json::from_str::<Value>(&body).is_err());
    server.push_fault(Fault::HttpStatus { status: 500 });
    assert_eq!(get(&server, q).await.0, 500);

    // Out-of-process scripting.
    let client = reqwest::Client::new();
    let control = format!("http://{}/_control", server.addr());
    let resp = client
        .post(format!("{control}/fault"))
        .json(&Fault::Premium)
        .send()
        .await
        .expect("control");
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(get(&server, q).await.1, PREMIUM_ENDPOINT);
    let log: Value = client
        .get(format!("{control}/requests"))
        .send()
        .await
        .expect("requests")
        .json()
        .await
        .expect("json");
    let outcomes: Vec<_> = log
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        outcomes,
        [
            "rate_limit_daily",
            "malformed_value",
            "rate_limited",
            "premium",
            "truncated",
            "http_status",
            "premium"
        ]
    );
    assert_eq!(server.request_count(), 7);
}
