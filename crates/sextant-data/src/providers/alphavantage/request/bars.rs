//! [`FetchRequest`] → one bar call, by asset class and resolution.

use super::{ApiCall, BarSpec, Family, Shape};
use crate::providers::alphavantage::config::DataType;
use crate::providers::alphavantage::errors::AlphaVantageError;
use crate::providers::{FetchRequest, OutputSize};
use sextant_domain::{AssetClass, Instrument, Resolution, Symbol};

fn invalid(message: String) -> AlphaVantageError {
    AlphaVantageError::InvalidRequest { message }
}

impl ApiCall {
    /// Builds the bar call for `req`.
    ///
    /// - US equities, other equities and indices: `TIME_SERIES_*` (resolution + `adjusted` →
    ///   function). Weekly and monthly functions take no `outputsize` (Alpha Vantage always
    ///   returns their whole history), so none is sent.
    /// - FX (`asset = Fx`): `FX_INTRADAY` / `FX_DAILY` / `FX_WEEKLY` / `FX_MONTHLY` with
    ///   `from_symbol`/`to_symbol` split from the symbol (`EURUSD`, `EUR/USD` → `EUR`, `USD`).
    /// - Crypto (`asset = Crypto`): `CRYPTO_INTRADAY` / `DIGITAL_CURRENCY_DAILY` / `_WEEKLY` /
    ///   `_MONTHLY` with `symbol` = the coin and `market` = `req.market`, or the symbol's quote
    ///   when `req.market` is `None` (`BTCUSD` → `BTC`, `USD`).
    ///
    /// `adjusted` and `extended_hours` have no meaning for FX and crypto (currencies have no
    /// corporate actions and trade around the clock) and are ignored there.
    ///
    /// # Errors
    ///
    /// [`AlphaVantageError::InvalidRequest`] for what the vendor cannot be asked: a `month` on a
    /// non-intraday or non-equity call, a malformed month, an FX symbol that is not a pair of
    /// three-letter codes, a crypto symbol without a market, or a `market` on a non-crypto
    /// request.
    pub fn from_request(
        req: &FetchRequest,
        datatype: DataType,
    ) -> Result<ApiCall, AlphaVantageError> {
        if req.market.is_some() && req.asset != AssetClass::Crypto {
            return Err(invalid(format!(
                "`market` applies to crypto only, not {}",
                req.asset
            )));
        }
        match req.asset {
            AssetClass::UsEquity | AssetClass::Equity | AssetClass::Index => equity(req, datatype),
            AssetClass::Fx => fx(req, datatype),
            AssetClass::Crypto => crypto(req, datatype),
        }
    }
}

fn outputsize(req: &FetchRequest) -> String {
    match req.output_size {
        OutputSize::Compact => "compact",
        OutputSize::Full => "full",
    }
    .to_string()
}

fn equity(req: &FetchRequest, datatype: DataType) -> Result<ApiCall, AlphaVantageError> {
    let mut params: Vec<(&'static str, String)> = vec![("symbol", req.symbol.as_str().to_string())];
    let (function, shape) = match (req.resolution, req.adjusted) {
        (Resolution::Daily, false) => ("TIME_SERIES_DAILY", Shape::Plain),
        (Resolution::Daily, true) => ("TIME_SERIES_DAILY_ADJUSTED", Shape::DailyAdjusted),
        (Resolution::Weekly, false) => ("TIME_SERIES_WEEKLY", Shape::Plain),
        (Resolution::Weekly, true) => ("TIME_SERIES_WEEKLY_ADJUSTED", Shape::PeriodAdjusted),
        (Resolution::Monthly, false) => ("TIME_SERIES_MONTHLY", Shape::Plain),
        (Resolution::Monthly, true) => ("TIME_SERIES_MONTHLY_ADJUSTED", Shape::PeriodAdjusted),
        (intraday, adjusted) => {
            params.push(("interval", intraday.as_str().to_string()));
            params.push(("outputsize", outputsize(req)));
            if let Some(month) = &req.month {
                validate_month(month)?;
                params.push(("month", month.clone()));
            }
            params.push(("adjusted", adjusted.to_string()));
            params.push(("extended_hours", req.extended_hours.to_string()));
            ("TIME_SERIES_INTRADAY", Shape::Plain)
        }
    };
    if !req.resolution.is_intraday() {
        no_month(req)?;
        if req.resolution == Resolution::Daily {
            params.push(("outputsize", outputsize(req)));
        }
    }
    params.push(("datatype", datatype.as_str().to_string()));
    Ok(ApiCall {
        function,
        subject: req.symbol.to_string(),
        datatype,
        params,
        bars: Some(BarSpec {
            symbol: req.symbol.clone(),
            resolution: req.resolution,
            family: Family::Equity(shape),
        }),
    })
}

fn no_month(req: &FetchRequest) -> Result<(), AlphaVantageError> {
    match &req.month {
        Some(_) => Err(invalid(format!(
            "`month` applies to equity intraday resolutions only, not {} {}",
            req.asset, req.resolution
        ))),
        None => Ok(()),
    }
}

/// A three-letter currency code (`EUR`), upper case.
fn currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

fn fx(req: &FetchRequest, datatype: DataType) -> Result<ApiCall, AlphaVantageError> {
    no_month(req)?;
    let pair = Instrument::new(req.symbol.clone(), AssetClass::Fx);
    let (from, to) = match (pair.base, pair.quote) {
        (Some(b), Some(q)) if currency_code(&b) && currency_code(&q) => (b, q),
        _ => {
            return Err(invalid(format!(
                "FX symbol {} is not a pair of three-letter currency codes (EURUSD, EUR/USD)",
                req.symbol
            )))
        }
    };
    let mut params: Vec<(&'static str, String)> =
        vec![("from_symbol", from.clone()), ("to_symbol", to.clone())];
    let function = match req.resolution {
        Resolution::Daily => {
            params.push(("outputsize", outputsize(req)));
            "FX_DAILY"
        }
        Resolution::Weekly => "FX_WEEKLY",
        Resolution::Monthly => "FX_MONTHLY",
        intraday => {
            params.push(("interval", intraday.as_str().to_string()));
            params.push(("outputsize", outputsize(req)));
            "FX_INTRADAY"
        }
    };
    params.push(("datatype", datatype.as_str().to_string()));
    Ok(ApiCall {
        function,
        subject: req.symbol.to_string(),
        datatype,
        params,
        bars: Some(BarSpec {
            symbol: req.symbol.clone(),
            resolution: req.resolution,
            family: Family::Fx { from, to },
        }),
    })
}

/// The coin and the market of a crypto request.
///
/// With `market` given, the symbol is the coin (`BTC`), or the coin followed by that market
/// (`BTCUSD`, `BTC/USD`); a symbol naming another market after a separator (`BTC/EUR` with market
/// `USD`) is refused. Without `market`, the symbol must be a pair (`BTCUSD` → `BTC`, `USD`).
fn crypto_pair(
    symbol: &Symbol,
    market: Option<&str>,
) -> Result<(String, String), AlphaVantageError> {
    let split = Instrument::new(symbol.clone(), AssetClass::Crypto);
    let has_separator = symbol.as_str().contains(['/', '-']);
    let (base, market) = match market {
        Some(m) => {
            let m = m.trim().to_ascii_uppercase();
            if !currency_code(&m) {
                return Err(invalid(format!(
                    "crypto market {m:?} is not a three-letter currency code"
                )));
            }
            match (split.base, split.quote) {
                (Some(b), Some(q)) if q == m => (b, m),
                _ if has_separator => {
                    return Err(invalid(format!(
                        "crypto symbol {symbol} names another market than the requested {m}"
                    )))
                }
                _ => (symbol.as_str().to_string(), m),
            }
        }
        None => match (split.base, split.quote) {
            (Some(b), Some(q)) if currency_code(&q) => (b, q),
            _ => {
                return Err(invalid(format!(
                    "crypto symbol {symbol} names no market: pass `market` or a pair such as BTCUSD"
                )))
            }
        },
    };
    let coin_ok =
        !base.is_empty() && base.len() <= 10 && base.bytes().all(|b| b.is_ascii_alphanumeric());
    if !coin_ok {
        return Err(invalid(format!(
            "crypto symbol {symbol}: {base:?} is not a coin code"
        )));
    }
    Ok((base, market))
}

fn crypto(req: &FetchRequest, datatype: DataType) -> Result<ApiCall, AlphaVantageError> {
    no_month(req)?;
    let (base, market) = crypto_pair(&req.symbol, req.market.as_deref())?;
    let stored = Symbol::new(&format!("{base}{market}"))
        .map_err(|e| invalid(format!("crypto pair {base}/{market}: {e}")))?;
    let mut params: Vec<(&'static str, String)> =
        vec![("symbol", base.clone()), ("market", market.clone())];
    let function = match req.resolution {
        Resolution::Daily => "DIGITAL_CURRENCY_DAILY",
        Resolution::Weekly => "DIGITAL_CURRENCY_WEEKLY",
        Resolution::Monthly => "DIGITAL_CURRENCY_MONTHLY",
        intraday => {
            params.push(("interval", intraday.as_str().to_string()));
            params.push(("outputsize", outputsize(req)));
            "CRYPTO_INTRADAY"
        }
    };
    params.push(("datatype", datatype.as_str().to_string()));
    Ok(ApiCall {
        function,
        subject: stored.to_string(),
        datatype,
        params,
        bars: Some(BarSpec {
            symbol: stored,
            resolution: req.resolution,
            family: Family::Crypto { base, market },
        }),
    })
}

/// `YYYY-MM` with a real month; anything else would cost a request just to get `Invalid API call`.
fn validate_month(month: &str) -> Result<(), AlphaVantageError> {
    let ok = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").is_ok()
        && month.len() == 7;
    if ok {
        Ok(())
    } else {
        Err(invalid(format!("month {month:?} is not YYYY-MM")))
    }
}
