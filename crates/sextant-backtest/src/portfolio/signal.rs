//! The score each name is ranked by on a decision bar, read through the `≤ t` view.

use crate::simulator::BarView;

/// The external series that marks universe membership on each bar (1 inside, 0 or NaN
/// outside), attached by the service that resolves a universe; a name without it is always a
/// member.
pub const MEMBER_SERIES: &str = "member";

/// The external series the service attaches for a model's or a feature's scores.
pub const SIGNAL_SERIES: &str = "signal";

/// What ranks the names. Higher is better for every variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// `close[t] / close[t - lookback] − 1` on the aligned timeline (NaN when either close is
    /// missing): cross-sectional momentum.
    Momentum(usize),
    /// Minus the momentum: short-term reversal.
    Reversal(usize),
    /// Minus the sample standard deviation of the last `lookback` close-to-close returns: the
    /// low-volatility anomaly. NaN unless all `lookback + 1` closes exist.
    LowVol(usize),
    /// An attached series (a model's probabilities, a feature column), read at `t`.
    Series(String),
}

impl Signal {
    /// The score of `symbol` at the view's last bar; NaN when it has none.
    pub fn score(&self, view: &BarView<'_>, symbol: usize) -> f64 {
        match self {
            Signal::Momentum(l) => momentum(view.close(symbol), *l),
            Signal::Reversal(l) => -momentum(view.close(symbol), *l),
            Signal::LowVol(l) => {
                returns(view.close(symbol), *l).map_or(f64::NAN, |r| -sample_std(&r))
            }
            Signal::Series(name) => view
                .series(symbol, name)
                .and_then(|v| v.last().copied())
                .unwrap_or(f64::NAN),
        }
    }
}

fn momentum(close: &[f64], lookback: usize) -> f64 {
    let n = close.len();
    if lookback == 0 || n <= lookback {
        return f64::NAN;
    }
    close[n - 1] / close[n - 1 - lookback] - 1.0
}

/// The last `lookback` close-to-close simple returns, oldest first; `None` unless all
/// `lookback + 1` closes exist (a name that did not trade every bar of the window).
pub(crate) fn returns(close: &[f64], lookback: usize) -> Option<Vec<f64>> {
    let n = close.len();
    if lookback == 0 || n <= lookback {
        return None;
    }
    let w = &close[n - 1 - lookback..];
    if w.iter().any(|c| !c.is_finite()) {
        return None;
    }
    Some(w.windows(2).map(|p| p[1] / p[0] - 1.0).collect())
}

/// Sample standard deviation (n − 1); NaN below two values.
pub(crate) fn sample_std(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Whether `symbol` may be ranked at the view's last bar: it has a bar there and, when the
/// membership series is attached, is a member.
pub(crate) fn eligible(view: &BarView<'_>, symbol: usize) -> bool {
    view.has_bar(symbol)
        && view
            .series(symbol, MEMBER_SERIES)
            .is_none_or(|m| m.last().is_some_and(|v| *v == 1.0))
}
