//! Reference, corporate-action and economic calls.

use super::ApiCall;
use crate::providers::alphavantage::config::DataType;
use crate::providers::alphavantage::errors::AlphaVantageError;
use chrono::NaiveDate;
use sextant_domain::{SeriesKey, Symbol};

fn invalid(message: String) -> AlphaVantageError {
    AlphaVantageError::InvalidRequest { message }
}

/// The first `date` `LISTING_STATUS` serves (the vendor documents 2010-01-01 as the earliest).
pub const LISTING_STATUS_FIRST_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2010, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A physical or digital currency code as `CURRENCY_EXCHANGE_RATE` takes it: 1–10 letters or
/// digits, upper-cased.
fn currency(code: &str, which: &str) -> Result<String, AlphaVantageError> {
    let c = code.trim().to_ascii_uppercase();
    if c.is_empty() || c.len() > 10 || !c.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid(format!(
            "{which} currency {code:?} is not a currency code (USD, JPY, BTC)"
        )));
    }
    Ok(c)
}

fn call(
    function: &'static str,
    subject: String,
    datatype: DataType,
    mut params: Vec<(&'static str, String)>,
    send_datatype: bool,
) -> ApiCall {
    if send_datatype {
        params.push(("datatype", datatype.as_str().to_string()));
    }
    ApiCall {
        function,
        subject,
        datatype,
        params,
        bars: None,
    }
}

impl ApiCall {
    /// `CURRENCY_EXCHANGE_RATE from_currency=… to_currency=…`. JSON only: the vendor answers
    /// JSON even when asked for CSV, so no `datatype` is sent. The subject is `FROMTO`.
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] when a code is empty or not alphanumeric.
    pub fn exchange_rate(from: &str, to: &str) -> Result<ApiCall, AlphaVantageError> {
        let (from, to) = (currency(from, "from")?, currency(to, "to")?);
        Ok(call(
            "CURRENCY_EXCHANGE_RATE",
            format!("{from}{to}"),
            DataType::Json,
            vec![("from_currency", from), ("to_currency", to)],
            false,
        ))
    }

    /// `DIVIDENDS symbol=…` in `datatype`.
    pub fn dividends(symbol: &Symbol, datatype: DataType) -> ApiCall {
        call(
            "DIVIDENDS",
            symbol.to_string(),
            datatype,
            vec![("symbol", symbol.to_string())],
            true,
        )
    }

    /// `SPLITS symbol=…` in `datatype`.
    pub fn splits(symbol: &Symbol, datatype: DataType) -> ApiCall {
        call(
            "SPLITS",
            symbol.to_string(),
            datatype,
            vec![("symbol", symbol.to_string())],
            true,
        )
    }

    /// `SYMBOL_SEARCH keywords=…` in `datatype`; the keywords are sent trimmed.
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] for empty keywords.
    pub fn symbol_search(keywords: &str, datatype: DataType) -> Result<ApiCall, AlphaVantageError> {
        let k = keywords.trim();
        if k.is_empty() {
            return Err(invalid("SYMBOL_SEARCH needs non-empty keywords".into()));
        }
        Ok(call(
            "SYMBOL_SEARCH",
            k.to_string(),
            datatype,
            vec![("keywords", k.to_string())],
            true,
        ))
    }

    /// `LISTING_STATUS [date=…] state=active|delisted`. CSV only (the vendor serves nothing
    /// else), so no `datatype` is sent. `date = None` asks for today's list; `state` is always
    /// sent, so the provenance says which list was asked for.
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] for a date before [`LISTING_STATUS_FIRST_DATE`].
    pub fn listing_status(
        date: Option<NaiveDate>,
        delisted: bool,
    ) -> Result<ApiCall, AlphaVantageError> {
        let mut params = Vec::new();
        if let Some(d) = date {
            if d < LISTING_STATUS_FIRST_DATE {
                return Err(invalid(format!(
                    "LISTING_STATUS serves dates from {LISTING_STATUS_FIRST_DATE} on, not {d}"
                )));
            }
            params.push(("date", d.to_string()));
        }
        let state = if delisted { "delisted" } else { "active" };
        params.push(("state", state.to_string()));
        Ok(call(
            "LISTING_STATUS",
            format!("LISTING_STATUS {state}"),
            DataType::Csv,
            params,
            false,
        ))
    }

    /// `MARKET_STATUS`: no parameters; JSON only (no `datatype` sent).
    pub fn market_status() -> ApiCall {
        call(
            "MARKET_STATUS",
            "MARKET_STATUS".into(),
            DataType::Json,
            Vec::new(),
            false,
        )
    }

    /// `TREASURY_YIELD interval=… maturity=…`, `FEDERAL_FUNDS_RATE interval=…` or
    /// `CPI interval=…`, in `datatype`. The subject is the series id (`cpi_monthly`).
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] when `key` is not a series the vendor serves (its
    /// fields are public, so it is checked again here).
    pub fn economic(key: &SeriesKey, datatype: DataType) -> Result<ApiCall, AlphaVantageError> {
        let checked = SeriesKey::new(key.indicator, &key.interval, key.maturity.as_deref())
            .map_err(|e| invalid(e.to_string()))?;
        let mut params = vec![("interval", checked.interval.clone())];
        if let Some(m) = &checked.maturity {
            params.push(("maturity", m.clone()));
        }
        Ok(call(
            checked.indicator.function(),
            checked.id(),
            datatype,
            params,
            true,
        ))
    }
}
