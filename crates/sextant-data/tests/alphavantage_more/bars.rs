//! FX and crypto bars: values as the server sent them, both formats, both crypto layouts.

use super::*;
use sextant_data::providers::Fetched;
use sextant_domain::{Bar, Source};
use sextant_testkit::alphavantage::{
    crypto_daily, crypto_intraday, fx_daily, fx_intraday, AlphaVantageServer, CryptoLayout, DayBar,
    LineEnd, CRYPTO_INTRADAY_DAYS, FX_INTRADAY_SESSIONS,
};

/// (ts, open, high, low, close, volume) of fetched bars.
fn values(f: &Fetched) -> Vec<(String, f64, f64, f64, f64, f64)> {
    f.bars
        .iter()
        .map(|b| (b.ts.to_string(), b.open, b.high, b.low, b.close, b.volume))
        .collect()
}

/// The same of daily server bars, keyed at 00:00; FX has no volume.
fn expected(days: &[DayBar], with_volume: bool) -> Vec<(String, f64, f64, f64, f64, f64)> {
    days.iter()
        .map(|d| {
            (
                format!("{} 00:00:00", d.date),
                d.open,
                d.high,
                d.low,
                d.close,
                if with_volume { d.volume } else { 0.0 },
            )
        })
        .collect()
}

fn assert_currency_bars(bars: &[Bar], symbol: &str, resolution: Resolution) {
    for b in bars {
        assert_eq!(
            (b.symbol.as_str(), b.resolution, b.tz.as_str(), b.source),
            (symbol, resolution, "UTC", Source::AlphaVantage)
        );
        assert_eq!(
            (b.adj_close, b.dividend, b.split_coefficient),
            (None, 0.0, 1.0)
        );
    }
    assert!(bars.windows(2).all(|w| w[0].ts < w[1].ts), "oldest first");
}

#[tokio::test]
async fn fx_daily_in_json_and_csv_is_what_the_server_sent() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (json, csv) = (
        provider(&server, DataType::Json),
        provider(&server, DataType::Csv),
    );
    for (symbol, from, to) in [("EURUSD", "EUR", "USD"), ("USD/JPY", "USD", "JPY")] {
        let mut req = bars_req(symbol, AssetClass::Fx, Resolution::Daily);
        // `adjusted` means nothing for currencies: ignored, not refused.
        req.adjusted = true;
        let a = json.fetch_bars(&req).await.expect("json");
        let b = csv.fetch_bars(&req).await.expect("csv");
        let days = fx_daily(from, to).expect("pair");
        assert_eq!(values(&a), expected(&days, false), "{symbol}");
        assert_eq!(values(&a), values(&b));
        assert_currency_bars(&a.bars, &sym(symbol).to_string(), Resolution::Daily);
        assert_eq!(
            a.request,
            format!("alphavantage FX_DAILY from_symbol={from} to_symbol={to} outputsize=full datatype=json")
        );
        assert!(b.request.ends_with("datatype=csv"));
    }
    // Compact: the latest 100 sessions; a range filter by UTC date.
    let mut req = bars_req("EURUSD", AssetClass::Fx, Resolution::Daily);
    req.output_size = OutputSize::Compact;
    let days = fx_daily("EUR", "USD").expect("pair");
    let compact = json.fetch_bars(&req).await.expect("compact");
    assert_eq!(values(&compact), expected(&days[days.len() - 100..], false));
    req.from = Some(date("2024-10-28"));
    req.to = Some(date("2024-10-29"));
    let two = json.fetch_bars(&req).await.expect("range");
    assert_eq!(two.bars.len(), 2);
    let sent = server.requests();
    let last = sent.last().expect("request");
    assert_eq!(
        (
            last.params.get("from_symbol").map(String::as_str),
            last.params.get("symbol")
        ),
        (Some("EUR"), None)
    );
}

#[tokio::test]
async fn fx_weekly_monthly_and_intraday() {
    let server = AlphaVantageServer::builder()
        .csv_line_end(LineEnd::CrLf)
        .start()
        .await
        .expect("server");
    let (json, csv) = (
        provider(&server, DataType::Json),
        provider(&server, DataType::Csv),
    );
    let days = fx_daily("GBP", "USD").expect("pair");
    for (res, n) in [(Resolution::Weekly, 148), (Resolution::Monthly, 34)] {
        let req = bars_req("GBPUSD", AssetClass::Fx, res);
        let a = json.fetch_bars(&req).await.expect("json");
        let b = csv.fetch_bars(&req).await.expect("csv (CRLF)");
        assert_eq!(values(&a), values(&b));
        assert_eq!(a.bars.len(), n, "{res}");
        assert_currency_bars(&a.bars, "GBPUSD", res);
        // Keyed by the period's last trading day; the latest is partial (Thursday 2024-10-31).
        let last = a.bars.last().expect("last");
        assert_eq!(last.ts.to_string(), "2024-10-31 00:00:00");
        assert_eq!(last.close, days[days.len() - 1].close);
        assert_eq!(a.bars[0].open, days[0].open);
    }
    let mut req = bars_req("EURUSD", AssetClass::Fx, Resolution::Min5);
    let a = json.fetch_bars(&req).await.expect("intraday");
    let b = csv.fetch_bars(&req).await.expect("intraday csv");
    assert_eq!(values(&a), values(&b));
    let sent = fx_intraday("EUR", "USD", 5).expect("pair");
    assert_eq!(sent.len(), FX_INTRADAY_SESSIONS * 288);
    let expected: Vec<_> = sent
        .iter()
        .map(|m| (m.start.to_string(), m.open, m.high, m.low, m.close, 0.0))
        .collect();
    assert_eq!(values(&a), expected);
    assert_currency_bars(&a.bars, "EURUSD", Resolution::Min5);
    // A Monday session starts on Sunday 22:00 UTC.
    assert!(a
        .bars
        .iter()
        .any(|b| b.ts.to_string() == "2024-10-27 22:00:00"));
    req.output_size = OutputSize::Compact;
    assert_eq!(
        json.fetch_bars(&req).await.expect("compact").bars.len(),
        100
    );
}

#[tokio::test]
async fn legacy_gmt_plus_8_answers_land_on_the_same_utc_instants() {
    let legacy = AlphaVantageServer::builder()
        .legacy_fx(true)
        .start()
        .await
        .expect("legacy");
    let current = AlphaVantageServer::start().await.expect("current");
    let req = bars_req("USDJPY", AssetClass::Fx, Resolution::Min60);
    let a = provider(&legacy, DataType::Json)
        .fetch_bars(&req)
        .await
        .expect("legacy");
    let b = provider(&current, DataType::Json)
        .fetch_bars(&req)
        .await
        .expect("current");
    assert_eq!(values(&a), values(&b));
    assert_eq!(a.bars.len(), FX_INTRADAY_SESSIONS * 24);
    let first = fx_intraday("USD", "JPY", 60).expect("pair")[0].start;
    assert_eq!(a.bars[0].ts, first);
}

#[tokio::test]
async fn crypto_new_layout_json_and_csv() {
    let server = AlphaVantageServer::start().await.expect("server");
    let (json, csv) = (
        provider(&server, DataType::Json),
        provider(&server, DataType::Csv),
    );
    let req = bars_req("BTCUSD", AssetClass::Crypto, Resolution::Daily);
    let a = json.fetch_bars(&req).await.expect("json");
    let b = csv.fetch_bars(&req).await.expect("csv");
    let days = crypto_daily("BTC", "USD").expect("btc");
    assert_eq!(days.len(), 366);
    assert_eq!(values(&a), expected(&days, true));
    assert_eq!(values(&a), values(&b));
    assert_currency_bars(&a.bars, "BTCUSD", Resolution::Daily);
    assert!(a.bars.iter().all(|b| b.volume > 0.0));
    assert_eq!(
        a.request,
        "alphavantage DIGITAL_CURRENCY_DAILY symbol=BTC market=USD datatype=json"
    );
    // The coin with a market: stored under coin + market.
    let mut eth = bars_req("ETH", AssetClass::Crypto, Resolution::Weekly);
    eth.market = Some("EUR".into());
    let w = json.fetch_bars(&eth).await.expect("weekly");
    assert_currency_bars(&w.bars, "ETHEUR", Resolution::Weekly);
    // Weeks end on Sundays, the latest partial.
    assert!(w.bars[..w.bars.len() - 1]
        .iter()
        .all(|b| b.ts.format("%a").to_string() == "Sun"));
    assert_eq!(
        w.bars.last().map(|b| b.ts.to_string()),
        Some("2024-10-31 00:00:00".into())
    );
    let m = json
        .fetch_bars(&bars_req("SOLCNY", AssetClass::Crypto, Resolution::Monthly))
        .await
        .expect("monthly");
    assert_eq!(m.bars.len(), 12);
    let cny = crypto_daily("SOL", "CNY").expect("sol");
    assert_eq!(m.bars[0].open, cny[0].open);
    assert_eq!(m.bars[0].ts.to_string(), "2023-11-30 00:00:00");
}

#[tokio::test]
async fn crypto_old_layout_takes_the_market_currency_columns() {
    let old = AlphaVantageServer::builder()
        .crypto_layout(CryptoLayout::Old)
        .start()
        .await
        .expect("old");
    let new = AlphaVantageServer::start().await.expect("new");
    for (symbol, coin, market) in [("BTCCNY", "BTC", "CNY"), ("ETHUSD", "ETH", "USD")] {
        for res in [Resolution::Daily, Resolution::Weekly, Resolution::Monthly] {
            let req = bars_req(symbol, AssetClass::Crypto, res);
            let a = provider(&old, DataType::Json)
                .fetch_bars(&req)
                .await
                .expect("old json");
            let b = provider(&new, DataType::Json)
                .fetch_bars(&req)
                .await
                .expect("new json");
            let c = provider(&old, DataType::Csv)
                .fetch_bars(&req)
                .await
                .expect("old csv");
            assert_eq!(values(&a), values(&b), "{symbol} {res}");
            assert_eq!(values(&a), values(&c), "{symbol} {res}");
            assert_currency_bars(&a.bars, symbol, res);
        }
        let daily = crypto_daily(coin, market).expect("coin");
        let req = bars_req(symbol, AssetClass::Crypto, Resolution::Daily);
        let a = provider(&old, DataType::Json)
            .fetch_bars(&req)
            .await
            .expect("old");
        assert_eq!(values(&a), expected(&daily, true));
    }
    // The old body really is the ten-key one, with the USD columns beside the CNY ones.
    let url = format!(
        "{}?function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=CNY&apikey=k",
        old.base_url()
    );
    let body = reqwest::get(&url)
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(body.contains("\"1a. open (CNY)\"") && body.contains("\"1b. open (USD)\""));
    assert!(body.contains("\"6. market cap (USD)\""));
}

#[tokio::test]
async fn crypto_intraday_with_integer_volumes() {
    let server = AlphaVantageServer::start().await.expect("server");
    let req = bars_req("ETHUSD", AssetClass::Crypto, Resolution::Min15);
    let a = provider(&server, DataType::Json)
        .fetch_bars(&req)
        .await
        .expect("json");
    let b = provider(&server, DataType::Csv)
        .fetch_bars(&req)
        .await
        .expect("csv");
    assert_eq!(values(&a), values(&b));
    let sent = crypto_intraday("ETH", "USD", 15).expect("eth");
    assert_eq!(sent.len(), CRYPTO_INTRADAY_DAYS * 96);
    let expected: Vec<_> = sent
        .iter()
        .map(|m| {
            (
                m.start.to_string(),
                m.open,
                m.high,
                m.low,
                m.close,
                m.volume as f64,
            )
        })
        .collect();
    assert_eq!(values(&a), expected);
    assert_currency_bars(&a.bars, "ETHUSD", Resolution::Min15);
    assert!(a.bars.iter().all(|b| b.volume.fract() == 0.0));
    let url = format!(
        "{}?function=CRYPTO_INTRADAY&symbol=ETH&market=USD&interval=15min&apikey=k",
        server.base_url()
    );
    let body = reqwest::get(&url)
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert!(body.contains("\"5. volume\": ") && !body.contains("\"5. volume\": \""));
}
