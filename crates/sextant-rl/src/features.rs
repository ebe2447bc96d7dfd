//! Observations computed from bars, point in time: row `t` reads closes up to `t` only, so the
//! features of a truncated series are the full series' features cut at the same bar
//! (`tests/trading.rs` checks it). The environment also takes any other per-bar matrix the
//! caller computed the same way (the feature store's views, regime probabilities).

/// Names of [`causal_features`]' columns, in order.
pub const FEATURE_NAMES: [&str; 6] = [
    "ret_1",
    "ret_5",
    "ret_20",
    "vol_20",
    "close_sma_20",
    "rsi_14",
];

/// Bars before every feature is defined.
pub const WARMUP: usize = 20;

/// Per bar: 1-, 5- and 20-bar log returns, the standard deviation of the last 20 one-bar log
/// returns, close / SMA(20) − 1, and Wilder's RSI(14) rescaled to [−1, 1]; NaN until defined.
/// Log returns are scaled by 10 and the volatility by 10 so a policy network sees values of
/// order one.
pub fn causal_features(close: &[f64]) -> Vec<[f32; 6]> {
    let n = close.len();
    let mut out = vec![[f32::NAN; 6]; n];
    let lr = |t: usize, k: usize| -> f64 {
        if t >= k && close[t - k] > 0.0 && close[t] > 0.0 {
            (close[t] / close[t - k]).ln()
        } else {
            f64::NAN
        }
    };
    let (mut gain, mut loss) = (f64::NAN, f64::NAN);
    for t in 0..n {
        let row = &mut out[t];
        row[0] = (10.0 * lr(t, 1)) as f32;
        row[1] = (10.0 * lr(t, 5)) as f32;
        row[2] = (10.0 * lr(t, 20)) as f32;
        if t >= 20 {
            let rets: Vec<f64> = (t - 19..=t).map(|i| lr(i, 1)).collect();
            let mean = rets.iter().sum::<f64>() / 20.0;
            let var = rets.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / 19.0;
            row[3] = (10.0 * var.sqrt()) as f32;
        }
        if t >= 19 {
            let sma = close[t - 19..=t].iter().sum::<f64>() / 20.0;
            row[4] = (10.0 * (close[t] / sma - 1.0)) as f32;
        }
        // Wilder's smoothing, seeded with the mean of the first 14 changes.
        if t >= 1 {
            let d = close[t] - close[t - 1];
            let (g, l) = (d.max(0.0), (-d).max(0.0));
            if t == 14 {
                let (mut sg, mut sl) = (0.0, 0.0);
                for i in 1..=14 {
                    let d = close[i] - close[i - 1];
                    sg += d.max(0.0);
                    sl += (-d).max(0.0);
                }
                gain = sg / 14.0;
                loss = sl / 14.0;
            } else if t > 14 {
                gain = (gain * 13.0 + g) / 14.0;
                loss = (loss * 13.0 + l) / 14.0;
            }
            if t >= 14 {
                let rsi = if gain + loss > 0.0 {
                    gain / (gain + loss)
                } else {
                    0.5
                };
                row[5] = (2.0 * rsi - 1.0) as f32;
            }
        }
    }
    out
}
