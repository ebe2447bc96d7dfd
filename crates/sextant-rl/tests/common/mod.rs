//! Shared fixtures of the RL tests.
#![allow(dead_code)]

use sextant_backtest::simulator::{BarSeries, MarketData};

/// The bundled sample's MSFT daily bars (as the cache stores them: unadjusted).
pub fn msft() -> MarketData {
    let cache = sextant_data::Cache::open_in_memory().expect("cache");
    cache.ingest_sample().expect("sample");
    let sym = sextant_domain::Symbol::new("MSFT").expect("symbol");
    let bars = cache
        .bars(&sym, sextant_domain::Resolution::Daily, None, None)
        .expect("bars");
    MarketData::single(BarSeries::from_bars(&bars).expect("series")).expect("data")
}
