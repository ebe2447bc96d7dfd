//! Split/dividend-adjusted series derived from adjustment factors.
//!
//! Two sources of factors, in order of preference:
//! 1. the vendor's adjusted close (`adj_close`, from Alpha Vantage's adjusted endpoints or a
//!    file's `Adj Close`): factor = adj_close / close;
//! 2. the corporate actions on each bar (`split_coefficient`, `dividend`), accumulated backwards
//!    from the newest bar (the CRSP convention): a split of k on day d divides every earlier price
//!    by k; a dividend D on ex-date d multiplies every earlier price by (1 − D / close[d−1]).
//!
//! Adjusted prices = raw × factor; adjusted volume = raw / (split part of the factor), so that
//! traded value is preserved across splits.

use super::Cache;
use crate::Result;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use sextant_domain::{Bar, Resolution, Symbol};

/// A bar in adjusted terms.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AdjustedBar {
    pub ts: NaiveDateTime,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    /// The multiplicative price factor applied to this bar.
    pub factor: f64,
}

impl Cache {
    /// Adjusted bars of `symbol` in `[from, to]`. Factors depend on later corporate actions, so
    /// the whole stored history is read and the range is cut afterwards.
    pub fn adjusted_bars(
        &self,
        symbol: &Symbol,
        resolution: Resolution,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> Result<Vec<AdjustedBar>> {
        let bars = self.bars(symbol, resolution, None, None)?;
        let out = adjust(&bars)
            .into_iter()
            .filter(|b| {
                let d = b.ts.date();
                from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t)
            })
            .collect();
        Ok(out)
    }
}

/// Adjusts a series of bars (oldest first). Pure, so it is tested without a database.
pub fn adjust(bars: &[Bar]) -> Vec<AdjustedBar> {
    let use_vendor = !bars.is_empty() && bars.iter().all(|b| b.adj_close.is_some_and(|a| a > 0.0));
    let n = bars.len();
    let mut price_factor = vec![1.0; n];
    let mut split_factor = vec![1.0; n];
    if use_vendor {
        for (i, b) in bars.iter().enumerate() {
            price_factor[i] = b.adj_close.unwrap_or(b.close) / b.close;
        }
        // Split part: the cumulative product of later split coefficients.
        let mut s = 1.0;
        for i in (0..n).rev() {
            split_factor[i] = s;
            if bars[i].split_coefficient > 0.0 {
                s /= bars[i].split_coefficient;
            }
        }
    } else {
        let (mut p, mut s) = (1.0, 1.0);
        for i in (0..n).rev() {
            price_factor[i] = p;
            split_factor[i] = s;
            let b = &bars[i];
            if b.split_coefficient > 0.0 && b.split_coefficient != 1.0 {
                p /= b.split_coefficient;
                s /= b.split_coefficient;
            }
            if b.dividend > 0.0 && i > 0 && bars[i - 1].close > 0.0 {
                p *= 1.0 - b.dividend / bars[i - 1].close;
            }
        }
    }
    bars.iter()
        .enumerate()
        .map(|(i, b)| AdjustedBar {
            ts: b.ts,
            open: b.open * price_factor[i],
            high: b.high * price_factor[i],
            low: b.low * price_factor[i],
            close: b.close * price_factor[i],
            volume: b.volume / split_factor[i],
            factor: price_factor[i],
        })
        .collect()
}
