//! Technical indicators, numerically compatible with TA-Lib.
//!
//! Every indicator comes twice:
//!
//! * a **slice function** (`sma(&close, 20)`) that returns one value per input bar, `NaN` while
//!   the indicator warms up, for research code and charts;
//! * a **streaming state** (`SmaState::new(20)?`) implementing [`Indicator`], whose `update` takes
//!   one bar and returns `Some(value)` once the indicator is defined, for the simulator.
//!
//! The slice functions are nothing but the state run over the slice, so both always agree bit for
//! bit (the tests check it for every indicator anyway).
//!
//! # TA-Lib compatibility
//!
//! Values equal TA-Lib's (checked against the `TA-Lib` Python wheel, C library 0.8.1, in
//! `tests/indicators_golden.rs`), including TA-Lib's warm-up, because a backtest that is ported
//! from or compared with TA-Lib-based code must see the same first signal on the same bar:
//!
//! * the first output sits at TA-Lib's *lookback* ([`Indicator::lookback`]), e.g. `n - 1` for an
//!   SMA, `n` for RSI and ATR, `2n - 1` for ADX;
//! * EMAs are seeded with the simple mean of their first `n` inputs (TA-Lib's default
//!   compatibility mode), not with the first input;
//! * Wilder smoothing (RSI, ATR, ADX/DI) is seeded with a simple mean (RSI, ATR) or a plain sum
//!   (DM and TR of ADX), as in Wilder's book and TA-Lib;
//! * MACD computes its fast EMA only from the slow EMA's first bar, seeded with the mean of the
//!   `fast` inputs that end there, and seeds its signal EMA with the mean of the first `signal`
//!   MACD values: that is how TA-Lib aligns the lookbacks, and the first ~`slow + signal` values
//!   differ noticeably from a naive "EMA of everything" otherwise;
//! * TA-Lib's unstable periods are at their default, 0.
//!
//! Degenerate windows follow TA-Lib 0.8, whose zero tests are exact or relative to the operands
//! (older releases used a fixed `1e-8`, which silently zeroed RSI, Bollinger width and the
//! stochastic for instruments quoted below ~1e-4): RSI is 0 when average gain and loss are both
//! exactly 0, the stochastic's %K is 0 when the window's high–low range is within 1e-14 of its
//! magnitude, a constant window has σ = 0, DI is 0 when the smoothed true range is 0, and ROC is 0
//! for a zero reference price.
//!
//! # Bad parameters
//!
//! A state's `new` returns [`IndicatorError`] for a period of 0 (or below the indicator's
//! minimum, e.g. RSI and ADX need 2) and for non-finite multipliers. The slice functions never
//! fail on parameters: a bad period gives an all-`NaN` output. A period longer than the input is
//! not an error, the output is simply all warm-up (`NaN`). Functions taking several input series
//! return [`IndicatorError::LengthMismatch`] when the slices differ in length. Nothing panics.
//!
//! # Missing values (NaN)
//!
//! A bar whose input is not finite (NaN or ±inf; for multi-input indicators any of its fields) is
//! treated as **missing**: it yields `None`/`NaN` at that bar and leaves the state exactly as it
//! was, as if the bar did not exist. Window indicators therefore span the last `n` valid bars and
//! recursive ones (EMA, RSI, ATR, ADX, OBV) continue from the last valid bar. TA-Lib itself has no
//! rule for NaN (it lets NaN poison its running sums for good), so this is our convention.

mod adx;
mod atr;
mod bollinger;
mod donchian;
mod ema;
mod error;
mod macd;
mod momentum;
mod obv;
mod rsi;
mod run;
mod sma;
mod stoch;
mod types;
mod wma;
mod zscore;

pub use adx::{adx, AdxOutput, AdxState, AdxValue};
pub use atr::{atr, true_range, AtrState, TrueRangeState};
pub use bollinger::{bollinger, BollingerBands, BollingerState, BollingerValue};
pub use donchian::{donchian, DonchianChannel, DonchianState, DonchianValue};
pub use ema::{ema, EmaState};
pub use error::IndicatorError;
pub use macd::{macd, MacdOutput, MacdState, MacdValue};
pub use momentum::{mom, roc, MomState, RocState};
pub use obv::{obv, ObvState};
pub use rsi::{rsi, RsiState};
pub use sma::{sma, SmaState};
pub use stoch::{stoch, StochOutput, StochState, StochValue};
pub use types::{HighLow, Hlc, Indicator, PriceVolume};
pub use wma::{wma, WmaState};
pub use zscore::{zscore, StdKind, ZScoreState};
