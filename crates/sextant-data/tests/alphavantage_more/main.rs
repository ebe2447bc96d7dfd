//! The Alpha Vantage provider's FX, crypto, reference, corporate-action and economic functions
//! against the loopback Alpha Vantage (exact bodies, scripted failures).

mod bars;
mod errors;
mod reference;

use chrono::NaiveDate;
use sextant_data::providers::alphavantage::{
    AlphaVantage, AlphaVantageConfig, AlphaVantageError, DataType,
};
use sextant_data::providers::{FetchRequest, OutputSize};
use sextant_domain::{AssetClass, Indicator, Resolution, SeriesKey, Symbol};
use sextant_testkit::alphavantage::AlphaVantageServer;
use std::time::Duration;

pub const KEY: &str = "TESTKEY-7f3a9c21e5";

/// Generous limits and fast retries (two), in `datatype`.
pub fn config(server: &AlphaVantageServer, datatype: DataType) -> AlphaVantageConfig {
    let mut c = AlphaVantageConfig::new(KEY);
    c.base_url = server.base_url();
    c.datatype = datatype;
    c.requests_per_minute = 1000;
    c.rate_window = Duration::from_secs(1);
    c.requests_per_day = None;
    c.min_interval = Duration::ZERO;
    c.max_retries = 2;
    c.retry_backoff = Duration::from_millis(5);
    c.max_backoff = Duration::from_millis(20);
    c.timeout = Duration::from_secs(10);
    c
}

pub fn provider(server: &AlphaVantageServer, datatype: DataType) -> AlphaVantage {
    AlphaVantage::new(config(server, datatype)).expect("provider")
}

pub fn sym(s: &str) -> Symbol {
    Symbol::new(s).expect("symbol")
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// A bar request for `symbol` of `asset` at `resolution`, whole history.
pub fn bars_req(symbol: &str, asset: AssetClass, resolution: Resolution) -> FetchRequest {
    FetchRequest {
        resolution,
        asset,
        output_size: OutputSize::Full,
        ..FetchRequest::daily(sym(symbol))
    }
}

/// One call of a new function, as the error and fault tests drive them.
#[derive(Debug, Clone)]
pub enum Op {
    Bars(FetchRequest),
    Rate(&'static str, &'static str),
    Dividends(&'static str),
    Splits(&'static str),
    Search(&'static str),
    Listing(Option<NaiveDate>, bool),
    Status,
    Economic(SeriesKey),
}

impl Op {
    /// The vendor function the call goes to.
    pub fn function(&self) -> &'static str {
        match self {
            Op::Bars(r) => {
                sextant_data::providers::alphavantage::ApiCall::from_request(r, DataType::Json)
                    .expect("call")
                    .function
            }
            Op::Rate(..) => "CURRENCY_EXCHANGE_RATE",
            Op::Dividends(_) => "DIVIDENDS",
            Op::Splits(_) => "SPLITS",
            Op::Search(_) => "SYMBOL_SEARCH",
            Op::Listing(..) => "LISTING_STATUS",
            Op::Status => "MARKET_STATUS",
            Op::Economic(k) => k.indicator.function(),
        }
    }

    /// The datatypes worth configuring: both where the vendor serves CSV, else the one it
    /// serves (the provider asks JSON-only and CSV-only functions in their format anyway).
    pub fn datatypes(&self) -> Vec<DataType> {
        match self {
            Op::Rate(..) | Op::Status => vec![DataType::Json],
            Op::Listing(..) => vec![DataType::Csv],
            _ => vec![DataType::Json, DataType::Csv],
        }
    }

    /// Runs the call; returns how many items (bars, events, matches, …) came back and the
    /// provenance string.
    pub async fn run(&self, p: &AlphaVantage) -> Result<(usize, String), AlphaVantageError> {
        Ok(match self {
            Op::Bars(r) => {
                let f = p.fetch_bars(r).await?;
                (f.bars.len(), f.request)
            }
            Op::Rate(f, t) => {
                let a = p.exchange_rate(f, t).await?;
                (1, a.request)
            }
            Op::Dividends(s) => {
                let a = p.dividends(&sym(s)).await?;
                (a.value.len(), a.request)
            }
            Op::Splits(s) => {
                let a = p.splits(&sym(s)).await?;
                (a.value.len(), a.request)
            }
            Op::Search(k) => {
                let a = p.symbol_search(k).await?;
                (a.value.len(), a.request)
            }
            Op::Listing(d, delisted) => {
                let a = p.listing_status(*d, *delisted).await?;
                (a.value.len(), a.request)
            }
            Op::Status => {
                let a = p.market_status().await?;
                (a.value.len(), a.request)
            }
            Op::Economic(k) => {
                let a = p.economic(k).await?;
                (a.value.observations.len(), a.request)
            }
        })
    }

    /// Runs the call expecting an error, which must not contain the API key.
    pub async fn run_err(&self, p: &AlphaVantage) -> AlphaVantageError {
        match self.run(p).await {
            Ok((n, _)) => panic!("{self:?}: expected an error, got {n} items"),
            Err(e) => {
                let text = format!("{e} {e:?}");
                assert!(!text.contains(KEY), "the API key leaked: {text}");
                e
            }
        }
    }
}

/// One call of every new function (every FX and crypto function, every reference call).
pub fn every_op() -> Vec<Op> {
    let key = |i, interval: &str, m: Option<&str>| SeriesKey::new(i, interval, m).expect("key");
    let mut ops: Vec<Op> = [
        (Resolution::Daily, AssetClass::Fx, "EURUSD"),
        (Resolution::Weekly, AssetClass::Fx, "EURUSD"),
        (Resolution::Monthly, AssetClass::Fx, "EURUSD"),
        (Resolution::Min5, AssetClass::Fx, "EURUSD"),
        (Resolution::Daily, AssetClass::Crypto, "BTCUSD"),
        (Resolution::Weekly, AssetClass::Crypto, "BTCUSD"),
        (Resolution::Monthly, AssetClass::Crypto, "BTCUSD"),
        (Resolution::Min15, AssetClass::Crypto, "ETHUSD"),
    ]
    .into_iter()
    .map(|(res, asset, s)| Op::Bars(bars_req(s, asset, res)))
    .collect();
    ops.extend([
        Op::Rate("USD", "JPY"),
        Op::Dividends("IBM"),
        Op::Splits("AAPL"),
        Op::Search("tesco"),
        Op::Listing(None, false),
        Op::Status,
        Op::Economic(key(Indicator::TreasuryYield, "monthly", Some("10year"))),
        Op::Economic(key(Indicator::FederalFundsRate, "monthly", None)),
        Op::Economic(key(Indicator::Cpi, "monthly", None)),
    ]);
    ops
}
