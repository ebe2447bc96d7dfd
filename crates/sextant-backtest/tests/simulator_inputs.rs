//! Simulator inputs: building series from domain bars, and the typed errors of bad input.

use sextant_backtest::simulator::{
    BarSeries, DataError, MarketData, SimConfig, SimError, Sizer, TradingSimulator,
};

#[test]
fn input_errors_are_typed() {
    let e = BarSeries::new(
        "X",
        vec![1, 2],
        vec![1.0],
        vec![1.0, 1.0],
        vec![1.0, 1.0],
        vec![1.0, 1.0],
        vec![0.0, 0.0],
    );
    assert!(matches!(e, Err(DataError::LengthMismatch { .. })));
    let e = BarSeries::new(
        "X",
        vec![2, 1],
        vec![1.0; 2],
        vec![1.0; 2],
        vec![1.0; 2],
        vec![1.0; 2],
        vec![0.0; 2],
    );
    assert!(matches!(
        e,
        Err(DataError::UnsortedTimestamps { index: 1, .. })
    ));
    let e = BarSeries::new(
        "X",
        vec![1, 2],
        vec![1.0; 2],
        vec![1.0; 2],
        vec![1.0; 2],
        vec![1.0, f64::NAN],
        vec![0.0; 2],
    );
    assert!(matches!(e, Err(DataError::BadPrice { index: 1, .. })));
    assert!(matches!(MarketData::new(vec![]), Err(DataError::Empty)));
    let e = TradingSimulator::new(SimConfig {
        initial_cash: 0.0,
        ..SimConfig::default()
    });
    assert!(matches!(
        e,
        Err(SimError::Config {
            field: "initial_cash",
            ..
        })
    ));
    let e = TradingSimulator::new(SimConfig {
        sizer: Sizer::FixedFraction { fraction: -1.0 },
        ..SimConfig::default()
    });
    assert!(matches!(
        e,
        Err(SimError::Config {
            field: "sizer.fraction",
            ..
        })
    ));
}

#[test]
fn series_from_domain_bars() {
    use chrono::{NaiveDate, Utc};
    use sextant_domain::{Bar, Resolution, Source, Symbol};
    let bar = |sym: &str, day: u32, close: f64| Bar {
        symbol: Symbol::new(sym).expect("symbol"),
        resolution: Resolution::Daily,
        ts: NaiveDate::from_ymd_opt(2024, 1, day)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("date"),
        tz: "America/New_York".into(),
        open: close,
        high: close + 1.0,
        low: close - 1.0,
        close,
        volume: 100.0,
        adj_close: None,
        dividend: 0.0,
        split_coefficient: 1.0,
        source: Source::Sample,
        ingested_at: Utc::now(),
    };
    let s = BarSeries::from_bars(&[bar("X", 3, 12.0), bar("X", 2, 11.0)]).expect("series");
    assert_eq!((s.symbol(), s.close()), ("X", &[11.0, 12.0][..]));
    assert_eq!(s.ts()[0], 1_704_153_600); // 2024-01-02T00:00:00Z
    assert!(matches!(
        BarSeries::from_bars(&[bar("X", 2, 1.0), bar("Y", 3, 1.0)]),
        Err(DataError::MixedSymbols { .. })
    ));
    assert!(matches!(BarSeries::from_bars(&[]), Err(DataError::Empty)));
    let e = BarSeries::from_bars(&[bar("X", 2, 5.0), bar("X", 2, 5.0)]);
    assert!(
        matches!(e, Err(DataError::UnsortedTimestamps { .. })),
        "duplicates are rejected"
    );
}
