//! The typed answers of Alpha Vantage's reference functions.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

/// A parsed answer with its provenance: the key-free description of the call
/// (`alphavantage DIVIDENDS symbol=IBM datatype=json`), kept with whatever is stored from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer<T> {
    /// The parsed value.
    pub value: T,
    /// The call that produced it, without the API key.
    pub request: String,
}

/// `CURRENCY_EXCHANGE_RATE`: one realtime rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExchangeRate {
    /// The currency converted from (`USD`), as the vendor echoes it.
    pub from: String,
    /// Its name (`United States Dollar`).
    pub from_name: String,
    /// The currency converted to (`JPY`).
    pub to: String,
    /// Its name (`Japanese Yen`).
    pub to_name: String,
    /// Units of `to` per unit of `from`; finite and positive.
    pub rate: f64,
    /// When the vendor last refreshed the rate, converted to UTC from the answer's `Time Zone`.
    pub last_refreshed: NaiveDateTime,
    /// The bid price; `None` when the answer has none (answers before about 2020 carry only
    /// fields 1–7).
    pub bid: Option<f64>,
    /// The ask price; `None` when the answer has none (as for `bid`).
    pub ask: Option<f64>,
}

/// `SYMBOL_SEARCH`: one match, best first as the vendor ranks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolMatch {
    /// The vendor's symbol (`TSCO.LON`), as written.
    pub symbol: String,
    /// The instrument's name (`Tesco PLC`).
    pub name: String,
    /// The vendor's `type` (`Equity`, `ETF`, `Mutual Fund`).
    pub kind: String,
    /// Where it trades (`United States`, `United Kingdom`).
    pub region: String,
    /// The venue's opening time, local.
    pub market_open: NaiveTime,
    /// The venue's closing time, local.
    pub market_close: NaiveTime,
    /// The venue's offset as the vendor writes it (`UTC-04`, `UTC+01`).
    pub timezone: String,
    /// The trading currency (`USD`, `GBX`).
    pub currency: String,
    /// How well the keywords match, 0 to 1.
    pub match_score: f64,
}

/// `LISTING_STATUS`: one listed (or delisted) security.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    /// The ticker (`AAPL`), as written.
    pub symbol: String,
    /// The name; empty when the vendor has none (it happens: `AMEH,,NASDAQ,…`).
    pub name: String,
    /// The exchange (`NASDAQ`, `NYSE`, `NYSE ARCA`, …).
    pub exchange: String,
    /// `Stock` or `ETF`.
    pub asset_type: String,
    /// First trading day; `None` when the vendor writes `null`.
    pub ipo_date: Option<NaiveDate>,
    /// Delisting day; `None` (`null`) for active listings.
    pub delisting_date: Option<NaiveDate>,
    /// `Active` or `Delisted`.
    pub status: String,
}

/// `MARKET_STATUS`: one market's session and whether it is open now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketStatus {
    /// `Equity`, `Forex` or `Cryptocurrency`.
    pub market_type: String,
    /// `United States`, `Japan`, `Global`, …
    pub region: String,
    /// The venues, comma separated as the vendor writes them (`NASDAQ, NYSE, AMEX, BATS`).
    pub primary_exchanges: String,
    /// Local opening time.
    pub local_open: NaiveTime,
    /// Local closing time.
    pub local_close: NaiveTime,
    /// The vendor's status word at the time of the call (`open`, `closed`).
    pub current_status: String,
    /// Free text such as a noon break; empty when there is none.
    pub notes: String,
}

impl MarketStatus {
    /// Whether the vendor said `open` (case-insensitive).
    pub fn is_open(&self) -> bool {
        self.current_status.eq_ignore_ascii_case("open")
    }
}
