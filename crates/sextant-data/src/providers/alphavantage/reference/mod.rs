//! Alpha Vantage's reference, corporate-action and economic functions, each one async method on
//! [`AlphaVantage`] returning a typed value and its key-free provenance ([`Answer`]).
//!
//! Every call goes through the same limiter, retries and error classification as the bar
//! fetches: a rate-limit body is retried, an invalid call, a key problem or a premium refusal is
//! a typed error at once, and one bad value rejects the whole answer with
//! [`AlphaVantageError::Malformed`] (no partial answers).
//!
//! | method | function | formats |
//! |---|---|---|
//! | [`AlphaVantage::exchange_rate`] | `CURRENCY_EXCHANGE_RATE` | JSON only |
//! | [`AlphaVantage::dividends`] | `DIVIDENDS` | JSON, CSV |
//! | [`AlphaVantage::splits`] | `SPLITS` | JSON, CSV |
//! | [`AlphaVantage::symbol_search`] | `SYMBOL_SEARCH` | JSON, CSV |
//! | [`AlphaVantage::listing_status`] | `LISTING_STATUS` | CSV only |
//! | [`AlphaVantage::market_status`] | `MARKET_STATUS` | JSON only |
//! | [`AlphaVantage::economic`] | `TREASURY_YIELD`, `FEDERAL_FUNDS_RATE`, `CPI` | JSON, CSV |
//!
//! Functions served in both formats are asked in the configured
//! [`AlphaVantageConfig::datatype`](super::AlphaVantageConfig).

mod events;
mod parse;
mod table;
mod types;

pub use types::{Answer, ExchangeRate, Listing, MarketStatus, SymbolMatch};

use super::errors::AlphaVantageError;
use super::request::ApiCall;
use super::AlphaVantage;
use chrono::NaiveDate;
use sextant_domain::{DividendEvent, EconomicSeries, SeriesKey, SplitEvent, Symbol};

impl AlphaVantage {
    /// Sends `call` through the limiter and retries, and parses the body with `parse`.
    async fn answer<T>(
        &self,
        call: ApiCall,
        parse: impl Fn(&str, &ApiCall) -> Result<T, AlphaVantageError>,
    ) -> Result<Answer<T>, AlphaVantageError> {
        let value = self.client.call(&call, |body| parse(body, &call)).await?;
        Ok(Answer {
            value,
            request: call.describe(),
        })
    }

    /// The realtime rate from `from` to `to` (`CURRENCY_EXCHANGE_RATE`; codes such as `USD`,
    /// `JPY`, `BTC`, upper-cased before sending). The answer must echo both codes.
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] for an empty or non-alphanumeric code; the vendor's
    /// errors as typed [`AlphaVantageError`]s (an unknown code is `InvalidCall`);
    /// `SymbolMismatch` when the answer is for other codes; `Malformed` for a bad value.
    pub async fn exchange_rate(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Answer<ExchangeRate>, AlphaVantageError> {
        let call = ApiCall::exchange_rate(from, to)?;
        let (f, t) = (
            from.trim().to_ascii_uppercase(),
            to.trim().to_ascii_uppercase(),
        );
        self.answer(call, move |body, call| {
            parse::exchange_rate(body, call, &f, &t)
        })
        .await
    }

    /// `symbol`'s cash dividends (`DIVIDENDS`), oldest first, declared future ones included.
    /// An unknown symbol or one that never paid gives an empty list (the vendor answers
    /// `"data": []`).
    ///
    /// # Errors
    ///
    /// The vendor's errors as typed [`AlphaVantageError`]s; `SymbolMismatch` when the answer
    /// names another symbol; `Malformed` for a bad date or amount.
    pub async fn dividends(
        &self,
        symbol: &Symbol,
    ) -> Result<Answer<Vec<DividendEvent>>, AlphaVantageError> {
        let call = ApiCall::dividends(symbol, self.config().datatype);
        let symbol = symbol.clone();
        self.answer(call, move |body, call| {
            events::dividends(body, call, &symbol)
        })
        .await
    }

    /// `symbol`'s splits (`SPLITS`), oldest first; empty when there are none.
    ///
    /// # Errors
    ///
    /// As [`Self::dividends`]; a factor that is not a finite positive number is `Malformed`.
    pub async fn splits(
        &self,
        symbol: &Symbol,
    ) -> Result<Answer<Vec<SplitEvent>>, AlphaVantageError> {
        let call = ApiCall::splits(symbol, self.config().datatype);
        let symbol = symbol.clone();
        self.answer(call, move |body, call| events::splits(body, call, &symbol))
            .await
    }

    /// Instruments matching `keywords` (`SYMBOL_SEARCH`), best first as the vendor ranks them;
    /// empty when nothing matches.
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] for empty keywords; the vendor's errors as typed
    /// [`AlphaVantageError`]s; `Malformed` for a bad time or match score.
    pub async fn symbol_search(
        &self,
        keywords: &str,
    ) -> Result<Answer<Vec<SymbolMatch>>, AlphaVantageError> {
        let call = ApiCall::symbol_search(keywords, self.config().datatype)?;
        self.answer(call, parse::symbol_search).await
    }

    /// Securities listed on `date` (`None`: today), or delisted by then when `delisted`
    /// (`LISTING_STATUS`, CSV whatever the configured datatype: the vendor serves nothing else).
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] for a date before 2010-01-01; the vendor's errors as
    /// typed [`AlphaVantageError`]s; `Malformed` for a bad row.
    pub async fn listing_status(
        &self,
        date: Option<NaiveDate>,
        delisted: bool,
    ) -> Result<Answer<Vec<Listing>>, AlphaVantageError> {
        let call = ApiCall::listing_status(date, delisted)?;
        self.answer(call, parse::listing_status).await
    }

    /// Whether the world's major markets are open now (`MARKET_STATUS`, JSON only), in the
    /// vendor's order.
    ///
    /// # Errors
    ///
    /// The vendor's errors as typed [`AlphaVantageError`]s; `Malformed` for a bad entry.
    pub async fn market_status(&self) -> Result<Answer<Vec<MarketStatus>>, AlphaVantageError> {
        self.answer(ApiCall::market_status(), parse::market_status)
            .await
    }

    /// An economic series (`TREASURY_YIELD`, `FEDERAL_FUNDS_RATE`, `CPI`), observations oldest
    /// first; a non-numeric value is a missing observation (`value: None`). CSV answers carry no
    /// name or unit, so with `datatype = Csv` those are the vendor's known strings for the
    /// series (confirmed for the 10-year yield, the funds rate and the CPI; the pattern for
    /// other maturities is not confirmed).
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] when `key` is not a served series; the vendor's
    /// errors as typed [`AlphaVantageError`]s; `Malformed` for a date that is not a date.
    pub async fn economic(
        &self,
        key: &SeriesKey,
    ) -> Result<Answer<EconomicSeries>, AlphaVantageError> {
        let checked = SeriesKey::new(key.indicator, &key.interval, key.maturity.as_deref())
            .map_err(|e| AlphaVantageError::InvalidRequest {
                message: e.to_string(),
            })?;
        let call = ApiCall::economic(&checked, self.config().datatype)?;
        self.answer(call, move |body, call| {
            events::economic(body, call, &checked)
        })
        .await
    }
}

#[cfg(test)]
mod tests;

/// Parses an economic answer saved to a file (the vendor's JSON, or its `timestamp,value` CSV)
/// with the same strictness as a live answer: what `sextant ingest macro --file` reads, so a
/// series downloaded once (or built from a public data set in the vendor's shape) is stored
/// exactly as a fetch would store it.
///
/// # Errors
///
/// The same typed errors as [`AlphaVantage::economic`] (an error envelope, a malformed value).
pub fn parse_economic(body: &str, key: &SeriesKey) -> Result<EconomicSeries, AlphaVantageError> {
    let datatype = if body
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
    {
        super::DataType::Json
    } else {
        super::DataType::Csv
    };
    let call = ApiCall::economic(key, datatype)?;
    events::economic(body, &call, key)
}
