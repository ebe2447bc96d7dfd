//! Streaming states against slice functions, warm-up lengths, missing values and bad input.

use sextant_backtest::indicators::*;

/// A deterministic random walk with OHLCV around it (no file needed).
struct Bars {
    high: Vec<f64>,
    low: Vec<f64>,
    close: Vec<f64>,
    volume: Vec<f64>,
}

fn bars(len: usize) -> Bars {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut price = 100.0;
    let mut out = Bars {
        high: vec![],
        low: vec![],
        close: vec![],
        volume: vec![],
    };
    for i in 0..len {
        price *= 1.0 + (next() - 0.5) * 0.04;
        // A few flat bars to exercise the zero-range branches.
        let spread = if i % 37 == 0 { 0.0 } else { next() * 2.0 };
        out.close.push(price);
        out.high.push(price + spread * next());
        out.low.push(price - spread * next());
        out.volume.push((1000.0 * next()).round());
    }
    out
}

/// Runs a state bar by bar.
fn stream<S: Indicator>(mut state: S, inputs: &[S::Input]) -> Vec<Option<S::Output>> {
    inputs.iter().map(|&x| state.update(x)).collect()
}

fn hlc(b: &Bars) -> Vec<Hlc> {
    (0..b.close.len())
        .map(|i| Hlc::new(b.high[i], b.low[i], b.close[i]))
        .collect()
}

/// Bitwise equality, NaN equal to NaN (and to `None`).
fn assert_same(label: &str, streamed: &[f64], sliced: &[f64]) {
    assert_eq!(streamed.len(), sliced.len(), "{label}: length");
    for (i, (a, b)) in streamed.iter().zip(sliced).enumerate() {
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{label}[{i}]: streamed {a} vs slice {b}"
        );
    }
}

fn opt(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

fn first_value(v: &[f64]) -> Option<usize> {
    v.iter().position(|x| !x.is_nan())
}

/// Checks streaming == slice and that the first value sits at the lookback.
fn check_single<S>(label: &str, state: S, slice: Vec<f64>, x: &[f64])
where
    S: Indicator<Input = f64, Output = f64>,
{
    let lookback = state.lookback();
    let streamed = opt(&stream(state, x));
    assert_same(label, &streamed, &slice);
    if x.iter().all(|v| v.is_finite()) {
        assert_eq!(first_value(&slice), Some(lookback), "{label}: lookback");
    }
}

/// Inputs with missing bars sprinkled in.
fn with_gaps(x: &[f64]) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, &v)| if i % 23 == 7 { f64::NAN } else { v })
        .collect()
}

#[test]
fn single_series_streaming_equals_slice() {
    let b = bars(400);
    for x in [b.close.clone(), with_gaps(&b.close)] {
        let x = &x[..];
        for n in [1, 2, 5, 14, 30] {
            check_single("sma", SmaState::new(n).unwrap(), sma(x, n), x);
            check_single("ema", EmaState::new(n).unwrap(), ema(x, n), x);
            check_single("wma", WmaState::new(n).unwrap(), wma(x, n), x);
            check_single("mom", MomState::new(n).unwrap(), mom(x, n), x);
            check_single("roc", RocState::new(n).unwrap(), roc(x, n), x);
            check_single(
                "zscore",
                ZScoreState::new(n.max(2), StdKind::Sample).unwrap(),
                zscore(x, n.max(2), StdKind::Sample),
                x,
            );
            check_single(
                "zscore",
                ZScoreState::new(n.max(2), StdKind::Population).unwrap(),
                zscore(x, n.max(2), StdKind::Population),
                x,
            );
            if n >= 2 {
                check_single("rsi", RsiState::new(n).unwrap(), rsi(x, n), x);
            }
        }
    }
}

#[test]
fn multi_output_streaming_equals_slice() {
    let b = bars(400);
    for close in [b.close.clone(), with_gaps(&b.close)] {
        for (fast, slow, signal) in [(12, 26, 9), (26, 12, 9), (1, 1, 1), (3, 10, 1)] {
            let state = MacdState::new(fast, slow, signal).unwrap();
            let lookback = state.lookback();
            let s = stream(state, &close);
            let m = macd(&close, fast, slow, signal);
            assert_same(
                "macd",
                &opt(&s.iter().map(|v| v.map(|v| v.macd)).collect::<Vec<_>>()),
                &m.macd,
            );
            assert_same(
                "signal",
                &opt(&s.iter().map(|v| v.map(|v| v.signal)).collect::<Vec<_>>()),
                &m.signal,
            );
            assert_same(
                "hist",
                &opt(&s.iter().map(|v| v.map(|v| v.hist)).collect::<Vec<_>>()),
                &m.hist,
            );
            if close.iter().all(|v| v.is_finite()) {
                assert_eq!(first_value(&m.macd), Some(lookback), "macd lookback");
            }
        }
        for (n, up, dn) in [(20, 2.0, 2.0), (5, 1.0, 3.0), (1, 2.0, 2.0)] {
            let state = BollingerState::new(n, up, dn).unwrap();
            let s = stream(state, &close);
            let bb = bollinger(&close, n, up, dn);
            assert_same(
                "bb.upper",
                &opt(&s.iter().map(|v| v.map(|v| v.upper)).collect::<Vec<_>>()),
                &bb.upper,
            );
            assert_same(
                "bb.middle",
                &opt(&s.iter().map(|v| v.map(|v| v.middle)).collect::<Vec<_>>()),
                &bb.middle,
            );
            assert_same(
                "bb.lower",
                &opt(&s.iter().map(|v| v.map(|v| v.lower)).collect::<Vec<_>>()),
                &bb.lower,
            );
        }
    }
}

#[test]
fn bar_indicators_streaming_equals_slice() {
    let mut b = bars(400);
    let clean = hlc(&b);
    b.high[50] = f64::NAN;
    b.close[120] = f64::INFINITY;
    let gappy = hlc(&b);
    for (inputs, h, l, c) in [
        (
            &clean,
            clean.iter().map(|x| x.high).collect::<Vec<_>>(),
            clean.iter().map(|x| x.low).collect::<Vec<_>>(),
            clean.iter().map(|x| x.close).collect::<Vec<_>>(),
        ),
        (&gappy, b.high.clone(), b.low.clone(), b.close.clone()),
    ] {
        let tr = true_range(&h, &l, &c).unwrap();
        assert_same("trange", &opt(&stream(TrueRangeState::new(), inputs)), &tr);
        for n in [1, 2, 5, 14] {
            let state = AtrState::new(n).unwrap();
            let lookback = state.lookback();
            let streamed = opt(&stream(state, inputs));
            let sliced = atr(&h, &l, &c, n).unwrap();
            assert_same("atr", &streamed, &sliced);
            assert_eq!(first_value(&sliced), Some(lookback), "atr lookback");
        }
        for n in [2, 5, 14] {
            let s = stream(AdxState::new(n).unwrap(), inputs);
            let a = adx(&h, &l, &c, n).unwrap();
            assert_same(
                "adx",
                &opt(&s.iter().map(|v| v.and_then(|v| v.adx)).collect::<Vec<_>>()),
                &a.adx,
            );
            assert_same(
                "+di",
                &opt(&s.iter().map(|v| v.map(|v| v.plus_di)).collect::<Vec<_>>()),
                &a.plus_di,
            );
            assert_same(
                "-di",
                &opt(&s.iter().map(|v| v.map(|v| v.minus_di)).collect::<Vec<_>>()),
                &a.minus_di,
            );
            assert_eq!(first_value(&a.plus_di), Some(n), "di lookback");
            assert_eq!(first_value(&a.adx), Some(2 * n - 1), "adx lookback");
        }
        for (k, sk, sd) in [(5, 3, 3), (14, 1, 1), (1, 1, 1)] {
            let state = StochState::new(k, sk, sd).unwrap();
            let lookback = state.lookback();
            let s = stream(state, inputs);
            let st = stoch(&h, &l, &c, k, sk, sd).unwrap();
            assert_same(
                "slowk",
                &opt(&s.iter().map(|v| v.map(|v| v.slowk)).collect::<Vec<_>>()),
                &st.slowk,
            );
            assert_same(
                "slowd",
                &opt(&s.iter().map(|v| v.map(|v| v.slowd)).collect::<Vec<_>>()),
                &st.slowd,
            );
            assert_eq!(first_value(&st.slowk), Some(lookback), "stoch lookback");
        }
        for n in [1, 20] {
            let hl: Vec<HighLow> = inputs.iter().map(|x| HighLow::new(x.high, x.low)).collect();
            let s = stream(DonchianState::new(n).unwrap(), &hl);
            let d = donchian(&h, &l, n).unwrap();
            assert_same(
                "dc.upper",
                &opt(&s.iter().map(|v| v.map(|v| v.upper)).collect::<Vec<_>>()),
                &d.upper,
            );
            assert_same(
                "dc.middle",
                &opt(&s.iter().map(|v| v.map(|v| v.middle)).collect::<Vec<_>>()),
                &d.middle,
            );
            assert_same(
                "dc.lower",
                &opt(&s.iter().map(|v| v.map(|v| v.lower)).collect::<Vec<_>>()),
                &d.lower,
            );
        }
        let pv: Vec<PriceVolume> = inputs
            .iter()
            .zip(&b.volume)
            .map(|(x, &v)| PriceVolume::new(x.close, v))
            .collect();
        assert_same(
            "obv",
            &opt(&stream(ObvState::new(), &pv)),
            &obv(&c, &b.volume).unwrap(),
        );
    }
}

#[test]
fn default_stochastic_is_talibs_5_3_3() {
    let b = bars(100);
    let s = stream(StochState::default(), &hlc(&b));
    let st = stoch(&b.high, &b.low, &b.close, 5, 3, 3).unwrap();
    assert_same(
        "slowk",
        &opt(&s.iter().map(|v| v.map(|v| v.slowk)).collect::<Vec<_>>()),
        &st.slowk,
    );
    assert_eq!(StochState::default().lookback(), 8);
}

#[test]
fn missing_bars_are_skipped() {
    let x = [1.0, 2.0, f64::NAN, 3.0, f64::INFINITY, 5.0];
    let out = sma(&x, 2);
    assert!(out[0].is_nan() && out[2].is_nan() && out[4].is_nan());
    assert_eq!(out[1], 1.5);
    assert_eq!(out[3], 2.5); // window {2, 3}: the NaN bar does not exist
    assert_eq!(out[5], 4.0); // window {3, 5}
                             // A recursive indicator continues from the last valid bar.
    let e = ema(&x, 1);
    assert_eq!(opt(&[Some(e[3]), Some(e[5])]), vec![3.0, 5.0]);
}

#[test]
fn bad_parameters_give_errors_or_all_nan_never_panics() {
    let b = bars(30);
    let x = &b.close[..];
    assert!(sma(x, 0).iter().all(|v| v.is_nan()));
    assert!(rsi(x, 1).iter().all(|v| v.is_nan()));
    assert!(bollinger(x, 20, f64::NAN, 2.0)
        .upper
        .iter()
        .all(|v| v.is_nan()));
    assert!(macd(x, 0, 26, 9).macd.iter().all(|v| v.is_nan()));
    assert!(atr(&b.high, &b.low, x, 0)
        .unwrap()
        .iter()
        .all(|v| v.is_nan()));
    // Longer than the input: all warm-up.
    assert!(sma(x, 31).iter().all(|v| v.is_nan()));
    assert!(adx(&b.high, &b.low, x, 16)
        .unwrap()
        .adx
        .iter()
        .all(|v| v.is_nan()));
    assert!(macd(x, 12, 26, 9).macd.iter().all(|v| v.is_nan()));
    // Empty input.
    assert!(sma(&[], 5).is_empty());
    assert!(stoch(&[], &[], &[], 5, 3, 3).unwrap().slowk.is_empty());
    // Typed errors.
    assert_eq!(
        SmaState::new(0).unwrap_err(),
        IndicatorError::InvalidPeriod {
            indicator: "SMA",
            param: "n",
            value: 0,
            min: 1
        }
    );
    assert!(RsiState::new(1).is_err());
    assert!(AdxState::new(1).is_err());
    assert!(ZScoreState::new(1, StdKind::Sample).is_err());
    assert!(matches!(
        BollingerState::new(20, f64::INFINITY, 2.0),
        Err(IndicatorError::InvalidMultiplier { .. })
    ));
    assert!(matches!(
        atr(&b.high[1..], &b.low, x, 14),
        Err(IndicatorError::LengthMismatch { series: "high", .. })
    ));
    assert!(obv(x, &b.volume[..3]).is_err());
    assert!(donchian(&b.high, &b.low[..2], 5).is_err());
}

#[test]
fn reset_starts_over() {
    let b = bars(120);
    let mut state = MacdState::new(12, 26, 9).unwrap();
    let first: Vec<_> = b.close.iter().map(|&x| state.update(x)).collect();
    state.reset();
    let second: Vec<_> = b.close.iter().map(|&x| state.update(x)).collect();
    assert_eq!(first, second);
    let mut adx_state = AdxState::new(14).unwrap();
    let first = stream(adx_state.clone(), &hlc(&b));
    for bar in hlc(&b) {
        adx_state.update(bar);
    }
    adx_state.reset();
    assert_eq!(first, stream(adx_state, &hlc(&b)));
}

#[test]
fn flat_market_edge_values_follow_talib() {
    let flat = vec![5.0; 40];
    // RSI of a flat market is 0, a flat stochastic window gives %K = 0, σ of a flat window is 0.
    assert!(rsi(&flat, 14)[14..].iter().all(|&v| v == 0.0));
    let st = stoch(&flat, &flat, &flat, 5, 3, 3).unwrap();
    assert!(st.slowk[8..].iter().all(|&v| v == 0.0));
    let bb = bollinger(&flat, 5, 2.0, 2.0);
    assert!(bb.upper[4..].iter().all(|&v| v == 5.0));
    let a = adx(&flat, &flat, &flat, 5).unwrap();
    assert!(a.adx[9..].iter().all(|&v| v == 0.0));
    assert!(a.plus_di[5..].iter().all(|&v| v == 0.0));
    // A zero reference price gives ROC 0 (TA-Lib), a constant window has no z-score.
    assert_eq!(roc(&[0.0, 1.0], 1)[1], 0.0);
    assert!(zscore(&flat, 5, StdKind::Population)[4..]
        .iter()
        .all(|v| v.is_nan()));
    // Tiny prices are not flattened to zero (TA-Lib 0.8's scale-aware tests).
    let tiny: Vec<f64> = bars(60).close.iter().map(|v| v * 1e-12).collect();
    let r = rsi(&tiny, 14);
    assert!(r[14..].iter().all(|&v| v > 0.0 && v < 100.0));
}

#[test]
fn huge_periods_are_only_warm_up() {
    let b = bars(50);
    let x = &b.close[..];
    let huge = usize::MAX;
    assert!(sma(x, huge).iter().all(|v| v.is_nan()));
    assert!(wma(x, huge).iter().all(|v| v.is_nan()));
    assert!(ema(x, huge).iter().all(|v| v.is_nan()));
    assert!(rsi(x, huge).iter().all(|v| v.is_nan()));
    assert!(mom(x, huge).iter().all(|v| v.is_nan()));
    assert!(roc(x, huge).iter().all(|v| v.is_nan()));
    assert!(zscore(x, huge, StdKind::Sample).iter().all(|v| v.is_nan()));
    assert!(macd(x, huge, huge, huge).macd.iter().all(|v| v.is_nan()));
    assert!(bollinger(x, huge, 2.0, 2.0)
        .middle
        .iter()
        .all(|v| v.is_nan()));
    assert!(atr(&b.high, &b.low, x, huge)
        .unwrap()
        .iter()
        .all(|v| v.is_nan()));
    assert!(adx(&b.high, &b.low, x, huge)
        .unwrap()
        .adx
        .iter()
        .all(|v| v.is_nan()));
    let st = stoch(&b.high, &b.low, x, huge, huge, huge).unwrap();
    assert!(st.slowd.iter().all(|v| v.is_nan()));
    assert!(donchian(&b.high, &b.low, huge)
        .unwrap()
        .upper
        .iter()
        .all(|v| v.is_nan()));
    assert_eq!(
        StochState::new(huge, huge, huge).unwrap().lookback(),
        usize::MAX
    );
}
