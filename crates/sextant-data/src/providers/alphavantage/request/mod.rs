//! One fully specified Alpha Vantage call: function, parameters and what the answer must hold.
//!
//! - [`ApiCall::from_request`] (in `bars`): a [`crate::providers::FetchRequest`] → a
//!   `TIME_SERIES_*`, `FX_*`, `DIGITAL_CURRENCY_*` or `CRYPTO_INTRADAY` call.
//! - the reference constructors (in `reference`): `CURRENCY_EXCHANGE_RATE`, `DIVIDENDS`,
//!   `SPLITS`, `SYMBOL_SEARCH`, `LISTING_STATUS`, `MARKET_STATUS` and the economic series.
//!
//! Parameters never include the API key: it is added only when sending, so neither
//! [`ApiCall::query`] nor [`ApiCall::describe`] can leak it.

mod bars;
mod reference;

pub use reference::LISTING_STATUS_FIRST_DATE;

use super::config::DataType;
use sextant_domain::{Resolution, Symbol};

/// What a `TIME_SERIES_*` answer's rows must contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `TIME_SERIES_DAILY` / `_WEEKLY` / `_MONTHLY`, and intraday: OHLC + volume.
    Plain,
    /// `TIME_SERIES_DAILY_ADJUSTED`: adjusted close, dividend and split coefficient.
    DailyAdjusted,
    /// `TIME_SERIES_WEEKLY_ADJUSTED` / `_MONTHLY_ADJUSTED`: adjusted close and dividend, no split
    /// coefficient.
    PeriodAdjusted,
}

/// Which function family a bar call belongs to, with what its `Meta Data` must echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Family {
    /// `TIME_SERIES_*`: `Meta Data` names the symbol; the zone is the exchange's.
    Equity(Shape),
    /// `FX_*`: `From Symbol`/`To Symbol`; no volume.
    Fx {
        /// The base currency sent as `from_symbol`.
        from: String,
        /// The quote currency sent as `to_symbol`.
        to: String,
    },
    /// `DIGITAL_CURRENCY_*` and `CRYPTO_INTRADAY`: `Digital Currency Code`/`Market Code`.
    Crypto {
        /// The coin sent as `symbol`.
        base: String,
        /// The market currency sent as `market`.
        market: String,
    },
}

/// What a bar call's answer is parsed into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BarSpec {
    /// The symbol the bars are stored under (`MSFT`, `EURUSD`, `BTCUSD`).
    pub symbol: Symbol,
    /// The bar length asked for.
    pub resolution: Resolution,
    /// The function family and its echoed identifiers.
    pub family: Family,
}

/// One fully specified call, without the API key (added only when sending).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// The API function (`TIME_SERIES_DAILY`, `FX_DAILY`, `DIVIDENDS`, …).
    pub function: &'static str,
    /// What the call is about, as named in errors: the stored symbol (`MSFT`, `EURUSD`,
    /// `BTCUSD`), a currency pair (`USDJPY`), the search keywords, the economic series id
    /// (`cpi_monthly`) or the function itself for calls without a subject.
    pub subject: String,
    /// The answer format asked for. JSON-only functions (`CURRENCY_EXCHANGE_RATE`,
    /// `MARKET_STATUS`) always ask for JSON and `LISTING_STATUS` always gets CSV; neither sends a
    /// `datatype` parameter.
    pub datatype: DataType,
    /// Every query parameter except `function` and `apikey`, in the order sent.
    pub params: Vec<(&'static str, String)>,
    /// Bar calls only: what the series must hold.
    pub(crate) bars: Option<BarSpec>,
}

impl ApiCall {
    /// The symbol bars are stored under; `None` for reference calls.
    pub fn symbol(&self) -> Option<&Symbol> {
        self.bars.as_ref().map(|b| &b.symbol)
    }

    /// The bar length asked for; `None` for reference calls.
    pub fn resolution(&self) -> Option<Resolution> {
        self.bars.as_ref().map(|b| b.resolution)
    }

    /// The series key a successful JSON bar answer carries (`Time Series (Daily)`,
    /// `Time Series FX (5min)`, `Time Series (Digital Currency Weekly)`, …); `None` for
    /// reference calls.
    pub fn series_key(&self) -> Option<String> {
        let spec = self.bars.as_ref()?;
        let period = match spec.resolution {
            Resolution::Daily => "Daily",
            Resolution::Weekly => "Weekly",
            Resolution::Monthly => "Monthly",
            intraday => intraday.as_str(),
        };
        Some(match (&spec.family, self.function) {
            (Family::Equity(_), "TIME_SERIES_WEEKLY") => "Weekly Time Series".to_string(),
            (Family::Equity(_), "TIME_SERIES_WEEKLY_ADJUSTED") => {
                "Weekly Adjusted Time Series".to_string()
            }
            (Family::Equity(_), "TIME_SERIES_MONTHLY") => "Monthly Time Series".to_string(),
            (Family::Equity(_), "TIME_SERIES_MONTHLY_ADJUSTED") => {
                "Monthly Adjusted Time Series".to_string()
            }
            (Family::Equity(_), _) => format!("Time Series ({period})"),
            (Family::Fx { .. }, _) => format!("Time Series FX ({period})"),
            (Family::Crypto { .. }, "CRYPTO_INTRADAY") => format!("Time Series Crypto ({period})"),
            (Family::Crypto { .. }, _) => format!("Time Series (Digital Currency {period})"),
        })
    }

    /// Every query parameter except the key, in the order sent.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("function", self.function.to_string())];
        q.extend(self.params.iter().cloned());
        q
    }

    /// Provenance, e.g. `alphavantage TIME_SERIES_DAILY symbol=MSFT outputsize=full
    /// datatype=json`. Built only from the key-free parameters.
    pub fn describe(&self) -> String {
        let mut s = format!("alphavantage {}", self.function);
        for (k, v) in &self.params {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }
}

#[cfg(test)]
mod tests;
