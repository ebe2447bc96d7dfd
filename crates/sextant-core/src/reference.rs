//! `ReferenceService`: everything about a symbol that is not its bars, and the economy around
//! it. Corporate actions (Alpha Vantage `DIVIDENDS`, `SPLITS`), economic series (`TREASURY_YIELD`,
//! `FEDERAL_FUNDS_RATE`, `CPI`, fetched or imported from a file in the vendor's shape), the
//! symbol directory (`LISTING_STATUS`, `SYMBOL_SEARCH`), market status and exchange rates.
//!
//! Every fetch writes its whole answer in one transaction or nothing: a refused or malformed
//! answer leaves the stored copy as it was.

use crate::common::blocking;
use sextant_data::cache::{DirectoryEntry, EconomicSummary};
use sextant_data::providers::alphavantage::{
    self, AlphaVantage, ExchangeRate, MarketStatus, SymbolMatch,
};
use sextant_data::{Cache, DataError};
use sextant_domain::{Instrument, Observation, SeriesKey, Symbol};
use std::path::Path;
use std::sync::Arc;

/// What a corporate-action refresh stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActionsOutcome {
    /// The symbol.
    pub symbol: String,
    /// Dividends stored (the whole history the vendor gave).
    pub dividends: usize,
    /// Splits stored.
    pub splits: usize,
    /// The two requests, key-free.
    pub requests: Vec<String>,
}

/// What an economic-series fetch or import stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MacroOutcome {
    /// The series id (`treasury_yield_3month_daily`).
    pub series: String,
    /// Observations stored.
    pub observations: usize,
    /// Of which missing (the vendor's `.`).
    pub missing: usize,
    /// The request or file it came from.
    pub request: String,
}

/// Reference data over the cache; vendor calls take the Alpha Vantage client explicitly, so the
/// service itself needs no key.
pub struct ReferenceService {
    cache: Arc<Cache>,
}

impl ReferenceService {
    /// A service writing to `cache`.
    pub fn new(cache: Arc<Cache>) -> Self {
        ReferenceService { cache }
    }

    /// Fetches the dividends and splits of `symbol` and stores both in one transaction (both
    /// fetched first: if either call fails nothing is written).
    pub async fn refresh_actions(
        &self,
        av: &AlphaVantage,
        symbol: &Symbol,
    ) -> Result<ActionsOutcome, DataError> {
        let dividends = av.dividends(symbol).await?;
        let splits = av.splits(symbol).await?;
        let cache = self.cache.clone();
        let sym = symbol.clone();
        let (d, s) = (dividends.clone(), splits.clone());
        blocking(move || {
            cache.store_actions(
                &sym,
                Some((&d.value, &d.request)),
                Some((&s.value, &s.request)),
            )
        })
        .await?;
        Ok(ActionsOutcome {
            symbol: symbol.to_string(),
            dividends: dividends.value.len(),
            splits: splits.value.len(),
            requests: vec![dividends.request, splits.request],
        })
    }

    /// Fetches an economic series and replaces its stored copy.
    pub async fn refresh_macro(
        &self,
        av: &AlphaVantage,
        key: &SeriesKey,
    ) -> Result<MacroOutcome, DataError> {
        let answer = av.economic(key).await?;
        let cache = self.cache.clone();
        let request = answer.request.clone();
        let series = answer.value;
        let missing = series
            .observations
            .iter()
            .filter(|o| o.value.is_none())
            .count();
        let n = blocking(move || cache.store_economic(&series, &request)).await?;
        Ok(MacroOutcome {
            series: key.id(),
            observations: n,
            missing,
            request: answer.request,
        })
    }

    /// Reads an economic series from a file in the vendor's shape (its JSON answer or its
    /// `timestamp,value` CSV), with the same checks as a fetch, and replaces the stored copy.
    pub fn import_macro(&self, key: &SeriesKey, path: &Path) -> Result<MacroOutcome, DataError> {
        let body = std::fs::read_to_string(path).map_err(|source| DataError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let series = alphavantage::reference::parse_economic(&body, key)?;
        let request = format!("file {}", path.display());
        let missing = series
            .observations
            .iter()
            .filter(|o| o.value.is_none())
            .count();
        let n = self.cache.store_economic(&series, &request)?;
        Ok(MacroOutcome {
            series: key.id(),
            observations: n,
            missing,
            request,
        })
    }

    /// Every stored economic series.
    pub fn macro_series(&self) -> Result<Vec<EconomicSummary>, DataError> {
        self.cache.economic_series()
    }

    /// The stored observations of `key`, oldest first.
    pub fn macro_observations(&self, key: &SeriesKey) -> Result<Vec<Observation>, DataError> {
        self.cache.economic(key)
    }

    /// Fetches the vendor's directory of one state and replaces the stored copy of that state.
    pub async fn refresh_listings(
        &self,
        av: &AlphaVantage,
        delisted: bool,
    ) -> Result<usize, DataError> {
        let answer = av.listing_status(None, delisted).await?;
        let cache = self.cache.clone();
        blocking(move || cache.store_listings(&answer.value, delisted)).await
    }

    /// Symbols matching `query` in the stored directory and the cache.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<DirectoryEntry>, DataError> {
        self.cache.search_symbols(query, limit)
    }

    /// The vendor's own search (`SYMBOL_SEARCH`): any listed instrument worldwide.
    pub async fn search_vendor(
        &self,
        av: &AlphaVantage,
        keywords: &str,
    ) -> Result<Vec<SymbolMatch>, DataError> {
        Ok(av.symbol_search(keywords).await?.value)
    }

    /// Which of the world's markets are open now (`MARKET_STATUS`).
    pub async fn market_status(&self, av: &AlphaVantage) -> Result<Vec<MarketStatus>, DataError> {
        Ok(av.market_status().await?.value)
    }

    /// The latest exchange rate of a currency (or coin) pair (`CURRENCY_EXCHANGE_RATE`).
    pub async fn exchange_rate(
        &self,
        av: &AlphaVantage,
        from: &str,
        to: &str,
    ) -> Result<ExchangeRate, DataError> {
        Ok(av.exchange_rate(from, to).await?.value)
    }

    /// What `symbol` is (a US equity when the cache has no record).
    pub fn instrument(&self, symbol: &Symbol) -> Result<Instrument, DataError> {
        self.cache.instrument(symbol)
    }

    /// Every symbol with a stored instrument record.
    pub fn instruments(&self) -> Result<Vec<Instrument>, DataError> {
        self.cache.instruments()
    }
}
