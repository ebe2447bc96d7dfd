use super::*;
use crate::providers::alphavantage::errors::AlphaVantageError;
use crate::providers::{FetchRequest, OutputSize};
use sextant_domain::{AssetClass, Indicator, SeriesKey};

fn req(resolution: Resolution, adjusted: bool) -> FetchRequest {
    FetchRequest {
        resolution,
        adjusted,
        ..FetchRequest::daily(Symbol::new("msft").expect("symbol"))
    }
}

fn asset(symbol: &str, asset: AssetClass, resolution: Resolution) -> FetchRequest {
    FetchRequest {
        resolution,
        asset,
        output_size: OutputSize::Compact,
        ..FetchRequest::daily(Symbol::new(symbol).expect("symbol"))
    }
}

fn is_invalid_request(r: Result<ApiCall, AlphaVantageError>) -> bool {
    matches!(r, Err(AlphaVantageError::InvalidRequest { .. }))
}

#[test]
fn maps_resolution_and_adjusted_to_functions() {
    let cases = [
        (
            Resolution::Daily,
            false,
            "TIME_SERIES_DAILY",
            "Time Series (Daily)",
        ),
        (
            Resolution::Daily,
            true,
            "TIME_SERIES_DAILY_ADJUSTED",
            "Time Series (Daily)",
        ),
        (
            Resolution::Weekly,
            false,
            "TIME_SERIES_WEEKLY",
            "Weekly Time Series",
        ),
        (
            Resolution::Weekly,
            true,
            "TIME_SERIES_WEEKLY_ADJUSTED",
            "Weekly Adjusted Time Series",
        ),
        (
            Resolution::Monthly,
            false,
            "TIME_SERIES_MONTHLY",
            "Monthly Time Series",
        ),
        (
            Resolution::Monthly,
            true,
            "TIME_SERIES_MONTHLY_ADJUSTED",
            "Monthly Adjusted Time Series",
        ),
        (
            Resolution::Min15,
            false,
            "TIME_SERIES_INTRADAY",
            "Time Series (15min)",
        ),
    ];
    for (res, adj, function, key) in cases {
        let call = ApiCall::from_request(&req(res, adj), DataType::Json).expect("call");
        assert_eq!(
            (call.function, call.series_key().as_deref()),
            (function, Some(key))
        );
        assert_eq!(call.symbol().map(Symbol::as_str), Some("MSFT"));
        assert_eq!(call.resolution(), Some(res));
    }
}

#[test]
fn intraday_parameters_and_provenance() {
    let mut r = req(Resolution::Min5, true);
    r.month = Some("2012-03".into());
    r.extended_hours = false;
    r.output_size = OutputSize::Compact;
    let call = ApiCall::from_request(&r, DataType::Csv).expect("call");
    assert_eq!(
        call.describe(),
        "alphavantage TIME_SERIES_INTRADAY symbol=MSFT interval=5min outputsize=compact month=2012-03 adjusted=true extended_hours=false datatype=csv"
    );
    assert_eq!(
        call.query()[0],
        ("function", "TIME_SERIES_INTRADAY".to_string())
    );
    assert_eq!(call.query()[1], ("symbol", "MSFT".to_string()));
    r.month = Some("2012-13".into());
    assert!(ApiCall::from_request(&r, DataType::Json).is_err());
    let mut d = req(Resolution::Daily, false);
    d.month = Some("2012-03".into());
    assert!(is_invalid_request(ApiCall::from_request(
        &d,
        DataType::Json
    )));
    let weekly =
        ApiCall::from_request(&req(Resolution::Weekly, false), DataType::Json).expect("call");
    assert!(weekly.params.iter().all(|(k, _)| *k != "outputsize"));
}

#[test]
fn fx_maps_to_fx_functions_and_ignores_adjusted() {
    let cases = [
        (Resolution::Daily, "FX_DAILY", "Time Series FX (Daily)", "alphavantage FX_DAILY from_symbol=EUR to_symbol=USD outputsize=compact datatype=json"),
        (Resolution::Weekly, "FX_WEEKLY", "Time Series FX (Weekly)", "alphavantage FX_WEEKLY from_symbol=EUR to_symbol=USD datatype=json"),
        (Resolution::Monthly, "FX_MONTHLY", "Time Series FX (Monthly)", "alphavantage FX_MONTHLY from_symbol=EUR to_symbol=USD datatype=json"),
        (Resolution::Min5, "FX_INTRADAY", "Time Series FX (5min)", "alphavantage FX_INTRADAY from_symbol=EUR to_symbol=USD interval=5min outputsize=compact datatype=json"),
    ];
    for (res, function, key, describe) in cases {
        let mut r = asset("EURUSD", AssetClass::Fx, res);
        r.adjusted = true;
        let call = ApiCall::from_request(&r, DataType::Json).expect("fx");
        assert_eq!(call.function, function);
        assert_eq!(call.series_key().as_deref(), Some(key));
        assert_eq!(call.describe(), describe);
        assert_eq!(call.subject, "EURUSD");
        assert!(call
            .query()
            .iter()
            .all(|(k, _)| *k != "symbol" && *k != "adjusted"));
    }
    let slash = ApiCall::from_request(
        &asset("gbp/jpy", AssetClass::Fx, Resolution::Daily),
        DataType::Csv,
    )
    .expect("slash");
    assert_eq!(
        slash.describe(),
        "alphavantage FX_DAILY from_symbol=GBP to_symbol=JPY outputsize=compact datatype=csv"
    );
    assert_eq!(slash.symbol().map(Symbol::as_str), Some("GBP/JPY"));
    for bad in ["EUR", "EURUSDX", "EU1USD", "IBM"] {
        assert!(
            is_invalid_request(ApiCall::from_request(
                &asset(bad, AssetClass::Fx, Resolution::Daily),
                DataType::Json
            )),
            "{bad}"
        );
    }
    let mut m = asset("EURUSD", AssetClass::Fx, Resolution::Min5);
    m.month = Some("2024-01".into());
    assert!(is_invalid_request(ApiCall::from_request(
        &m,
        DataType::Json
    )));
    let mut market = asset("EURUSD", AssetClass::Fx, Resolution::Daily);
    market.market = Some("USD".into());
    assert!(is_invalid_request(ApiCall::from_request(
        &market,
        DataType::Json
    )));
}

#[test]
fn crypto_maps_symbol_and_market() {
    let cases = [
        (Resolution::Daily, "DIGITAL_CURRENCY_DAILY", "Time Series (Digital Currency Daily)", "alphavantage DIGITAL_CURRENCY_DAILY symbol=BTC market=USD datatype=json"),
        (Resolution::Weekly, "DIGITAL_CURRENCY_WEEKLY", "Time Series (Digital Currency Weekly)", "alphavantage DIGITAL_CURRENCY_WEEKLY symbol=BTC market=USD datatype=json"),
        (Resolution::Monthly, "DIGITAL_CURRENCY_MONTHLY", "Time Series (Digital Currency Monthly)", "alphavantage DIGITAL_CURRENCY_MONTHLY symbol=BTC market=USD datatype=json"),
        (Resolution::Min15, "CRYPTO_INTRADAY", "Time Series Crypto (15min)", "alphavantage CRYPTO_INTRADAY symbol=BTC market=USD interval=15min outputsize=compact datatype=json"),
    ];
    for (res, function, key, describe) in cases {
        let call = ApiCall::from_request(&asset("BTCUSD", AssetClass::Crypto, res), DataType::Json)
            .expect("crypto");
        assert_eq!(
            (
                call.function,
                call.series_key().as_deref(),
                call.describe().as_str()
            ),
            (function, Some(key), describe)
        );
        assert_eq!(call.symbol().map(Symbol::as_str), Some("BTCUSD"));
    }
    // A coin with a market: stored as base + market.
    let mut r = asset("ETH", AssetClass::Crypto, Resolution::Daily);
    r.market = Some("cny".into());
    let call = ApiCall::from_request(&r, DataType::Csv).expect("eth");
    assert_eq!(
        call.describe(),
        "alphavantage DIGITAL_CURRENCY_DAILY symbol=ETH market=CNY datatype=csv"
    );
    assert_eq!(
        (call.subject.as_str(), call.symbol().map(Symbol::as_str)),
        ("ETHCNY", Some("ETHCNY"))
    );
    // The pair and a matching market agree.
    let mut r = asset("BTC/EUR", AssetClass::Crypto, Resolution::Daily);
    r.market = Some("EUR".into());
    assert!(ApiCall::from_request(&r, DataType::Json)
        .expect("pair")
        .describe()
        .contains("symbol=BTC market=EUR"));
    r.market = Some("USD".into());
    assert!(is_invalid_request(ApiCall::from_request(
        &r,
        DataType::Json
    )));
    assert!(is_invalid_request(ApiCall::from_request(
        &asset("BTC", AssetClass::Crypto, Resolution::Daily),
        DataType::Json
    )));
    let mut bad_market = asset("BTC", AssetClass::Crypto, Resolution::Daily);
    bad_market.market = Some("US".into());
    assert!(is_invalid_request(ApiCall::from_request(
        &bad_market,
        DataType::Json
    )));
}

#[test]
fn reference_calls_and_their_provenance() {
    let rate = ApiCall::exchange_rate("usd", "JPY").expect("rate");
    assert_eq!(
        rate.describe(),
        "alphavantage CURRENCY_EXCHANGE_RATE from_currency=USD to_currency=JPY"
    );
    assert_eq!(
        (rate.datatype, rate.subject.as_str()),
        (DataType::Json, "USDJPY")
    );
    assert!(rate.series_key().is_none() && rate.symbol().is_none());
    assert!(is_invalid_request(ApiCall::exchange_rate("", "JPY")));
    assert!(is_invalid_request(ApiCall::exchange_rate("US D", "JPY")));

    let ibm = Symbol::new("ibm").expect("symbol");
    assert_eq!(
        ApiCall::dividends(&ibm, DataType::Csv).describe(),
        "alphavantage DIVIDENDS symbol=IBM datatype=csv"
    );
    assert_eq!(
        ApiCall::splits(&ibm, DataType::Json).describe(),
        "alphavantage SPLITS symbol=IBM datatype=json"
    );
    assert_eq!(
        ApiCall::symbol_search(" tesco ", DataType::Json)
            .expect("search")
            .describe(),
        "alphavantage SYMBOL_SEARCH keywords=tesco datatype=json"
    );
    assert!(is_invalid_request(ApiCall::symbol_search(
        "  ",
        DataType::Json
    )));

    let d = chrono::NaiveDate::from_ymd_opt(2013, 8, 3).expect("date");
    let listing = ApiCall::listing_status(Some(d), true).expect("listing");
    assert_eq!(
        listing.describe(),
        "alphavantage LISTING_STATUS date=2013-08-03 state=delisted"
    );
    assert_eq!(listing.datatype, DataType::Csv);
    assert_eq!(
        ApiCall::listing_status(None, false)
            .expect("active")
            .describe(),
        "alphavantage LISTING_STATUS state=active"
    );
    let early = chrono::NaiveDate::from_ymd_opt(2009, 12, 31).expect("date");
    assert!(is_invalid_request(ApiCall::listing_status(
        Some(early),
        false
    )));

    let status = ApiCall::market_status();
    assert_eq!(
        (status.describe().as_str(), status.datatype),
        ("alphavantage MARKET_STATUS", DataType::Json)
    );

    let ty = SeriesKey::new(Indicator::TreasuryYield, "daily", Some("10year")).expect("key");
    let call = ApiCall::economic(&ty, DataType::Csv).expect("treasury");
    assert_eq!(
        call.describe(),
        "alphavantage TREASURY_YIELD interval=daily maturity=10year datatype=csv"
    );
    assert_eq!(call.subject, "treasury_yield_10year_daily");
    let ff = SeriesKey::new(Indicator::FederalFundsRate, "monthly", None).expect("key");
    assert_eq!(
        ApiCall::economic(&ff, DataType::Json)
            .expect("ff")
            .describe(),
        "alphavantage FEDERAL_FUNDS_RATE interval=monthly datatype=json"
    );
    let cpi = SeriesKey::new(Indicator::Cpi, "semiannual", None).expect("key");
    assert_eq!(
        ApiCall::economic(&cpi, DataType::Json)
            .expect("cpi")
            .query(),
        [
            ("function", "CPI".to_string()),
            ("interval", "semiannual".to_string()),
            ("datatype", "json".to_string())
        ]
    );
    // Public fields can be set to something the vendor does not serve: checked again.
    let bad = SeriesKey {
        indicator: Indicator::Cpi,
        interval: "daily".into(),
        maturity: None,
    };
    assert!(is_invalid_request(ApiCall::economic(&bad, DataType::Json)));
}

#[test]
fn no_call_carries_a_key_parameter() {
    let calls = [
        ApiCall::from_request(&req(Resolution::Daily, true), DataType::Json).expect("a"),
        ApiCall::from_request(
            &asset("EURUSD", AssetClass::Fx, Resolution::Min1),
            DataType::Csv,
        )
        .expect("b"),
        ApiCall::from_request(
            &asset("BTCUSD", AssetClass::Crypto, Resolution::Min1),
            DataType::Json,
        )
        .expect("c"),
        ApiCall::exchange_rate("BTC", "EUR").expect("d"),
        ApiCall::market_status(),
        ApiCall::listing_status(None, false).expect("e"),
    ];
    for c in calls {
        assert!(c.query().iter().all(|(k, _)| *k != "apikey"), "{c:?}");
        assert!(!c.describe().contains("apikey"), "{}", c.describe());
    }
}
