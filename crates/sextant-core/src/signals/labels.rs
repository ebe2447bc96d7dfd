//! Labels with explicit execution timing. Every label records the index of the last bar it
//! depends on (`end`), which is what purging and embargo need: a training sample whose label
//! ends inside a test period has seen that period.

use serde::{Deserialize, Serialize};

/// When the position implied by a signal at bar `t` is entered and left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// The simulator's convention: a signal at the close of `t` fills at the open of `t+1`, so
    /// the label is the return from `open[t+1]` to `open[t+1+h]`.
    #[default]
    NextOpen,
    /// From `close[t]` to `close[t+h]` (what a signal-at-close fill would earn).
    CloseToClose,
}

/// What the model learns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LabelSpec {
    /// 1 when the return over `horizon` bars is above `dead_zone`, 0 when below `-dead_zone`;
    /// undefined (excluded) inside the dead zone.
    NextReturn {
        /// Which prices the return runs between. Default: [`Timing::NextOpen`].
        #[serde(default)]
        timing: Timing,
        /// Bars the return spans, 1 to 1000. Default: `1`.
        #[serde(default = "one")]
        horizon: usize,
        /// Returns with an absolute value at or below this (a fraction, in `[0, 1)`) are left
        /// unlabelled. Default: `0` (every finite return is labelled; exactly 0 counts as down).
        #[serde(default)]
        dead_zone: f64,
    },
    /// López de Prado's triple barrier on closes: 1 when the upper barrier
    /// (`close[t]·exp(upper·σ)`) is touched first, 0 when the lower one is, else the sign of
    /// the return at the vertical barrier `t+horizon`. σ is the standard deviation of 1-bar log
    /// returns over the `vol_window` bars up to `t`.
    TripleBarrier {
        /// Bars to the vertical barrier, 1 to 1000. Required.
        horizon: usize,
        /// Upper barrier in multiples of σ, positive and finite. Required.
        upper: f64,
        /// Lower barrier in multiples of σ, positive and finite. Required.
        lower: f64,
        /// Bars σ is estimated over, 2 to 5000. Default: `20`.
        #[serde(default = "twenty")]
        vol_window: usize,
    },
    /// 1 when the next bar's absolute close-to-close log return is above the median absolute
    /// return of the `window` bars up to `t` (volatility clusters, so this is learnable).
    AbsReturnAboveMedian {
        /// Bars the median is taken over, 2 to 5000. Default: `250`.
        #[serde(default = "two_fifty")]
        window: usize,
    },
}

fn one() -> usize {
    1
}
fn twenty() -> usize {
    20
}
fn two_fifty() -> usize {
    250
}

impl Default for LabelSpec {
    fn default() -> Self {
        LabelSpec::NextReturn {
            timing: Timing::NextOpen,
            horizon: 1,
            dead_zone: 0.0,
        }
    }
}

/// One label: 0, 1 or NaN (undefined: not enough future, or inside the dead zone), and the last
/// bar index it depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    /// 1, 0, or NaN when undefined (the sample is then dropped).
    pub value: f64,
    /// Index of the last bar the label depends on: what purging and embargo work from.
    pub end: usize,
}

impl LabelSpec {
    /// Bars after `t` the label can look at (the purge horizon).
    pub fn horizon(&self) -> usize {
        match self {
            LabelSpec::NextReturn {
                timing: Timing::NextOpen,
                horizon,
                ..
            } => horizon + 1,
            LabelSpec::NextReturn { horizon, .. } | LabelSpec::TripleBarrier { horizon, .. } => {
                *horizon
            }
            LabelSpec::AbsReturnAboveMedian { .. } => 1,
        }
    }

    /// Checks the ranges documented on each field, so that a bad spec is refused before any
    /// data is read. The error is a message for people.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            LabelSpec::NextReturn {
                horizon, dead_zone, ..
            } => {
                if *horizon == 0 || *horizon > 1000 {
                    return Err("horizon must be 1 to 1000 bars".into());
                }
                if !(0.0..1.0).contains(dead_zone) {
                    return Err("dead_zone must be in [0, 1)".into());
                }
            }
            LabelSpec::TripleBarrier {
                horizon,
                upper,
                lower,
                vol_window,
            } => {
                if *horizon == 0 || *horizon > 1000 {
                    return Err("horizon must be 1 to 1000 bars".into());
                }
                if !(*upper > 0.0 && *lower > 0.0 && upper.is_finite() && lower.is_finite()) {
                    return Err("upper and lower must be positive multiples of volatility".into());
                }
                if !(2..=5000).contains(vol_window) {
                    return Err("vol_window must be 2 to 5000 bars".into());
                }
            }
            LabelSpec::AbsReturnAboveMedian { window } => {
                if !(2..=5000).contains(window) {
                    return Err("window must be 2 to 5000 bars".into());
                }
            }
        }
        Ok(())
    }

    /// Labels for one symbol's adjusted bars (`open`, `close` in time order).
    pub fn labels(&self, open: &[f64], close: &[f64]) -> Vec<Label> {
        let n = close.len().min(open.len());
        let undefined = |t: usize| Label {
            value: f64::NAN,
            end: t,
        };
        let mut out = Vec::with_capacity(n);
        for t in 0..n {
            let label = match *self {
                LabelSpec::NextReturn {
                    timing,
                    horizon,
                    dead_zone,
                } => {
                    let (a, b) = match timing {
                        Timing::NextOpen => (t + 1, t + 1 + horizon),
                        Timing::CloseToClose => (t, t + horizon),
                    };
                    if b >= n {
                        undefined(t)
                    } else {
                        let (pa, pb) = match timing {
                            Timing::NextOpen => (open[a], open[b]),
                            Timing::CloseToClose => (close[a], close[b]),
                        };
                        let r = pb / pa - 1.0;
                        let value = if !r.is_finite() || r.abs() <= dead_zone && dead_zone > 0.0 {
                            f64::NAN
                        } else if r > 0.0 {
                            1.0
                        } else {
                            0.0
                        };
                        Label { value, end: b }
                    }
                }
                LabelSpec::TripleBarrier {
                    horizon,
                    upper,
                    lower,
                    vol_window,
                } => triple_barrier(close, t, horizon, upper, lower, vol_window),
                LabelSpec::AbsReturnAboveMedian { window } => {
                    if t + 1 >= n || t < window {
                        undefined(t)
                    } else {
                        let mut past: Vec<f64> = (t + 1 - window..=t)
                            .map(|k| (close[k] / close[k - 1]).ln().abs())
                            .collect();
                        past.sort_by(f64::total_cmp);
                        let m = past.len();
                        let med = if m % 2 == 1 {
                            past[m / 2]
                        } else {
                            0.5 * (past[m / 2 - 1] + past[m / 2])
                        };
                        let next = (close[t + 1] / close[t]).ln().abs();
                        let value = if next.is_finite() && med.is_finite() {
                            f64::from(u8::from(next > med))
                        } else {
                            f64::NAN
                        };
                        Label { value, end: t + 1 }
                    }
                }
            };
            out.push(label);
        }
        out
    }
}

fn triple_barrier(
    close: &[f64],
    t: usize,
    horizon: usize,
    upper: f64,
    lower: f64,
    vol_window: usize,
) -> Label {
    let n = close.len();
    if t < vol_window || t + 1 >= n {
        return Label {
            value: f64::NAN,
            end: t,
        };
    }
    let r: Vec<f64> = (t + 1 - vol_window..=t)
        .map(|k| (close[k] / close[k - 1]).ln())
        .collect();
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    let sd = (r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt();
    let up = close[t] * (upper * sd).exp();
    let down = close[t] * (-lower * sd).exp();
    // A barrier touched before the data ends decides the label even when the vertical
    // barrier lies beyond it: that outcome is already known at the touch.
    let last_seen = (t + horizon).min(n - 1);
    for (k, &c) in close.iter().enumerate().take(last_seen + 1).skip(t + 1) {
        if c >= up {
            return Label { value: 1.0, end: k };
        }
        if c <= down {
            return Label { value: 0.0, end: k };
        }
    }
    if t + horizon >= n {
        return Label {
            value: f64::NAN,
            end: t,
        };
    }
    let last = close[t + horizon] / close[t] - 1.0;
    Label {
        value: if last.is_finite() {
            f64::from(u8::from(last > 0.0))
        } else {
            f64::NAN
        },
        end: t + horizon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_open_runs_from_the_next_open() {
        let open = [10.0, 11.0, 12.0, 11.5, 13.0];
        let close = [10.5, 11.5, 12.5, 11.0, 13.5];
        let l = LabelSpec::default().labels(&open, &close);
        // t=0: open[1]=11 -> open[2]=12 up.
        assert_eq!((l[0].value, l[0].end), (1.0, 2));
        // t=1: 12 -> 11.5 down.
        assert_eq!((l[1].value, l[1].end), (0.0, 3));
        assert!(l[3].value.is_nan() && l[4].value.is_nan());
        let c2c = LabelSpec::NextReturn {
            timing: Timing::CloseToClose,
            horizon: 1,
            dead_zone: 0.0,
        }
        .labels(&open, &close);
        assert_eq!((c2c[2].value, c2c[2].end), (0.0, 3));
        let dz = LabelSpec::NextReturn {
            timing: Timing::NextOpen,
            horizon: 1,
            dead_zone: 0.05,
        }
        .labels(&open, &close);
        // 12 -> 11.5 is -4.2%: inside the 5% dead zone.
        assert!(dz[1].value.is_nan());
    }

    /// Truncating the future leaves every label whose span ends before the cut unchanged.
    #[test]
    fn labels_are_point_in_time_up_to_their_end() {
        let close: Vec<f64> = (0..400)
            .map(|i| 100.0 * (1.0 + 0.01 * ((i * 7919 % 13) as f64 - 6.0) / 6.0).powi(i % 5 + 1))
            .collect();
        let open: Vec<f64> = close.iter().map(|c| c * 0.999).collect();
        let specs = [
            LabelSpec::default(),
            LabelSpec::TripleBarrier {
                horizon: 10,
                upper: 1.5,
                lower: 1.0,
                vol_window: 20,
            },
            LabelSpec::AbsReturnAboveMedian { window: 50 },
        ];
        for spec in specs {
            let full = spec.labels(&open, &close);
            let cut = 300;
            let part = spec.labels(&open[..cut], &close[..cut]);
            for t in 0..cut {
                if full[t].end < cut {
                    assert_eq!(
                        full[t].value.to_bits(),
                        part[t].value.to_bits(),
                        "{spec:?} t={t}"
                    );
                    assert_eq!(full[t].end, part[t].end);
                } else {
                    assert!(part[t].value.is_nan(), "{spec:?} t={t} needs the future");
                }
            }
        }
    }
}
