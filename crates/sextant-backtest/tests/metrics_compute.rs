//! `Metrics::compute`, its configuration, serialisation and degenerate input.

use sextant_backtest::metrics::*;

fn returns() -> Vec<f64> {
    (0..300)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) / 2500.0)
        .collect()
}

#[test]
fn compute_agrees_with_the_individual_functions() {
    let r = returns();
    let trades = [
        TradeStats::new(120.0, 0.012, 5),
        TradeStats::new(-40.0, -0.004, 3),
        TradeStats::new(0.0, 0.0, 1),
    ];
    let positions: Vec<f64> = (0..300).map(|i| f64::from(i % 3 != 0)).collect();
    let traded: Vec<f64> = (0..300)
        .map(|i| if i % 10 == 0 { 5_000.0 } else { 0.0 })
        .collect();
    let equity = vec![10_000.0; 300];
    let input = MetricsInput {
        returns: &r,
        trades: &trades,
        positions: Some(&positions),
        traded_notional: Some(&traded),
        equity: Some(&equity),
        risk_free: None,
    };
    for convention in [Convention::Empyrical, Convention::QuantStats] {
        let config = MetricsConfig::crypto_daily()
            .with_convention(convention)
            .with_risk_free(deannualize(0.03, CRYPTO_DAILY));
        let m = Metrics::compute(&input, &config).expect("valid config");
        assert_eq!(m.periods, 300);
        assert_eq!(m.cagr, cagr(&r, 365.0, convention));
        assert_eq!(m.sharpe, sharpe_ratio(&r, config.risk_free, 365.0));
        assert_eq!(
            m.sortino,
            sortino_ratio(&r, config.risk_free, 365.0, convention)
        );
        assert_eq!(m.value_at_risk, value_at_risk(&r, 0.05, convention));
        assert_eq!(m.max_drawdown_duration, max_drawdown_duration(&r));
        assert_eq!(m.trade_count, 3);
        assert_eq!(m.expectancy, 80.0 / 3.0);
        assert_eq!(m.best_trade, 0.012);
        assert_eq!(m.worst_trade, -0.004);
        assert_eq!(m.profit_factor, 3.0);
        assert!((m.exposure - 200.0 / 300.0).abs() < 1e-15);
        assert!((m.turnover - 0.05 * 365.0).abs() < 1e-12);
        let expected_win_rate = match convention {
            Convention::Empyrical => 1.0 / 3.0,
            Convention::QuantStats => 0.5,
        };
        assert_eq!(m.win_rate, expected_win_rate);
    }
}

#[test]
fn serde_round_trip_keeps_nan_and_infinity() {
    let constant = vec![0.001; 20];
    let m = Metrics::compute(
        &MetricsInput {
            returns: &constant,
            ..Default::default()
        },
        &MetricsConfig::equities_daily(),
    )
    .expect("valid config");
    assert_eq!(m.sharpe, f64::INFINITY);
    assert!(m.calmar.is_nan() && m.exposure.is_nan() && m.win_rate.is_nan());
    let json = serde_json::to_string(&m).expect("serialises");
    assert!(json.contains("\"sharpe\":\"inf\""), "{json}");
    assert!(json.contains("\"calmar\":null"), "{json}");
    assert!(json.contains("\"convention\":\"empyrical\""), "{json}");
    let back: Metrics = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(back.sharpe, f64::INFINITY);
    assert!(back.calmar.is_nan());
    assert_eq!(back.total_return, m.total_return);
    assert_eq!(back.max_drawdown_duration, m.max_drawdown_duration);
}

#[test]
fn degenerate_returns_give_documented_values() {
    let cfg = MetricsConfig::equities_daily();
    let compute = |r: &[f64]| {
        Metrics::compute(
            &MetricsInput {
                returns: r,
                ..Default::default()
            },
            &cfg,
        )
        .expect("valid config")
    };
    let empty = compute(&[]);
    for v in [
        empty.total_return,
        empty.cagr,
        empty.annual_volatility,
        empty.sharpe,
        empty.sortino,
        empty.calmar,
        empty.max_drawdown,
        empty.value_at_risk,
        empty.conditional_value_at_risk,
        empty.skew,
        empty.kurtosis,
    ] {
        assert!(v.is_nan());
    }
    assert_eq!(empty.max_drawdown_duration, 0);
    assert_eq!(empty.trade_count, 0);

    let zeros = compute(&[0.0; 10]);
    assert_eq!(
        (zeros.total_return, zeros.cagr, zeros.annual_volatility),
        (0.0, 0.0, 0.0)
    );
    assert_eq!(zeros.max_drawdown, 0.0);
    assert!(zeros.sharpe.is_nan() && zeros.sortino.is_nan() && zeros.calmar.is_nan());

    let all_nan = compute(&[f64::NAN; 5]);
    assert_eq!(all_nan.total_return, 0.0);
    assert!(all_nan.annual_volatility.is_nan() && all_nan.sharpe.is_nan());
    assert!(all_nan.conditional_value_at_risk.is_nan());

    let negative = compute(&[-0.01, -0.02, -0.03]);
    assert_eq!(negative.max_drawdown_duration, 3);
    assert!(negative.max_drawdown < -0.058 && negative.max_drawdown > -0.059);

    // A first-period loss counts as a drawdown (start value before the first period).
    assert_eq!(max_drawdown(&[-0.05, 0.1]), -0.05);
    assert_eq!(max_drawdown_duration(&[-0.05, 0.1, -0.2, 0.01]), 2);
    assert_eq!(drawdown_series(&[0.1, -0.1]).len(), 2);

    // Infinite returns must not panic either.
    let _ = compute(&[f64::INFINITY, -1.0, 0.5, f64::NEG_INFINITY]);
}

#[test]
fn trade_statistics_without_trades() {
    let none = trade_summary(&[], Convention::Empyrical);
    assert_eq!(none.trade_count, 0);
    assert!(none.win_rate.is_nan() && none.profit_factor.is_nan() && none.expectancy.is_nan());
    assert!(none.best_trade.is_nan() && none.avg_bars_held.is_nan());
    let qs = trade_summary(&[], Convention::QuantStats);
    assert_eq!((qs.win_rate, qs.profit_factor), (0.0, 0.0));
    // Only winners: infinite profit factor.
    let winners = [TradeStats::new(1.0, 0.01, 2), TradeStats::new(2.0, 0.02, 2)];
    assert_eq!(
        profit_factor(&[1.0, 2.0], Convention::Empyrical),
        f64::INFINITY
    );
    assert_eq!(trade_summary(&winners, Convention::Empyrical).win_rate, 1.0);
    // NaN PnL is skipped but counted as a trade.
    let gappy = [
        TradeStats::new(f64::NAN, 0.01, 2),
        TradeStats::new(2.0, f64::NAN, 4),
    ];
    let s = trade_summary(&gappy, Convention::Empyrical);
    assert_eq!(
        (s.trade_count, s.expectancy, s.avg_trade, s.avg_bars_held),
        (2, 2.0, 0.01, 3.0)
    );
    let json = serde_json::to_string(&gappy[0]).expect("serialises");
    assert_eq!(json, r#"{"pnl":null,"return_pct":0.01,"bars_held":2}"#);
}

#[test]
fn configuration_is_validated() {
    assert!(MetricsConfig::new(0.0).is_err());
    assert!(MetricsConfig::new(f64::NAN).is_err());
    assert_eq!(
        MetricsConfig::new(252.0).expect("valid"),
        MetricsConfig::equities_daily()
    );
    let bad_rf = MetricsConfig::equities_daily().with_risk_free(f64::INFINITY);
    let input = MetricsInput::default();
    assert_eq!(
        Metrics::compute(&input, &bad_rf).unwrap_err(),
        MetricsError::InvalidRiskFree(f64::INFINITY)
    );
    let bad_cutoff = MetricsConfig::equities_daily().with_var_cutoff(1.0);
    assert!(Metrics::compute(&input, &bad_cutoff).is_err());
    let mismatched = MetricsInput {
        traded_notional: Some(&[1.0, 2.0]),
        equity: Some(&[1.0]),
        ..Default::default()
    };
    assert!(matches!(
        Metrics::compute(&mismatched, &MetricsConfig::equities_daily()),
        Err(MetricsError::LengthMismatch { .. })
    ));
}

#[test]
fn periods_per_year_for_intraday_bars() {
    // 5-minute bars of a 6.5-hour equity session: 78 bars a day.
    let p = periods_per_year_intraday(300.0, 6.5 * 3600.0, EQUITIES_DAILY).expect("valid");
    assert!((p - 19_656.0).abs() < 1e-9);
    let hourly_crypto = periods_per_year_intraday(3600.0, 86_400.0, CRYPTO_DAILY).expect("valid");
    assert!((hourly_crypto - 8_760.0).abs() < 1e-9);
    assert!(periods_per_year_intraday(0.0, 3600.0, 252.0).is_err());
    assert!(periods_per_year_intraday(7200.0, 3600.0, 252.0).is_err());
    assert!(periods_per_year_intraday(60.0, 3600.0, -1.0).is_err());
    // quantstats' de-annualisation of rf.
    assert!((deannualize(0.04, 252.0) - (1.04f64.powf(1.0 / 252.0) - 1.0)).abs() < 1e-18);
}

#[test]
fn out_of_range_arguments_do_not_panic() {
    let r = returns();
    for cutoff in [-0.5, 1.5, f64::NAN, 0.0, 1.0] {
        let _ = historical_var(&r, cutoff);
        let _ = historical_cvar(&r, cutoff);
        let _ = parametric_var(&r, cutoff);
        let _ = parametric_cvar(&r, cutoff);
    }
    assert!(historical_var(&r, 2.0).is_nan() && historical_cvar(&r, 2.0).is_nan());
    assert_eq!(
        historical_var(&r, 0.0),
        r.iter().copied().fold(f64::INFINITY, f64::min)
    );
    for ppy in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let _ = cagr(&r, ppy, Convention::Empyrical);
        let _ = sharpe_ratio(&r, 0.0, ppy);
        let _ = calmar_ratio(&r, ppy, Convention::QuantStats);
    }
}
