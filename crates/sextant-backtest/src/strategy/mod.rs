//! Strategies: one trait, a library of parameterised strategies, and a registry to build them
//! by name from a JSON parameter object.
//!
//! A strategy only ever gets a [`Context`] for the current bar, whose [`crate::simulator::BarView`]
//! ends at that bar; the built-in ones keep streaming indicator states
//! ([`crate::indicators::Indicator`]) fed one bar at a time, so they cost O(1) per bar and are
//! causal by construction. The truncation tests (`tests/truncation.rs`) check every one of them.
//!
//! # Crossovers and ties
//!
//! Crossover rules (SMA/EMA cross, MACD) are strict on both bars, as `backtesting.lib.crossover`:
//! `a` crosses above `b` at `t` iff `a[t-1] < b[t-1]` and `a[t] > b[t]`. A bar where the two are
//! exactly equal suppresses the cross on both sides of it, so `<, =, >` signals nothing (vectorbt's
//! `crossed_above` would signal at the `>`). The sweep engine uses the same rule.

mod breakout;
mod cross;
mod external;
mod portfolio;
mod regime;
mod registry;
mod reversion;
mod schema;

pub use portfolio::{equal_weight_benchmark, signal_of, signal_source, PORTFOLIO_STRATEGIES};
pub use regime::{REGIME_LABELS, REGIME_SERIES};
pub use registry::{build_strategy, required_series, schema_for, strategy_library, StrategyInfo};
pub use schema::{
    is_identifier, json_schema, validate, ParamError, ParamKind, ParamSpec, ParamValue, Params,
};

use crate::simulator::{BarView, Context, Target};

/// A trading strategy driven by the simulator once per bar.
///
/// `on_bar` is called for every bar from the first, in order, after the orders pending from the
/// previous bar were filled at this bar's open; the intents it places on the context are executed
/// at this bar's close or the next bar's open ([`crate::simulator::FillTiming`]).
pub trait Strategy: Send {
    /// The registry name of the strategy.
    fn name(&self) -> &str;
    /// Called once per bar with the data up to that bar and the portfolio; places its orders or
    /// targets on `ctx`. State kept between calls is how a strategy remembers earlier bars.
    fn on_bar(&mut self, ctx: &mut Context<'_>);
}

/// A rule run independently on each symbol: it sees the symbol's bars up to `t` (only on bars
/// where the symbol has one) and its current signed position, and may name a target position.
pub(crate) trait SignalRule: Clone + Send {
    fn update(&mut self, view: &BarView<'_>, symbol: usize, position: f64) -> Option<Target>;
}

/// Runs one copy of a [`SignalRule`] per symbol and turns changed targets into intents.
#[derive(Debug, Clone)]
pub(crate) struct PerSymbol<R> {
    name: &'static str,
    proto: R,
    rules: Vec<R>,
}

impl<R: SignalRule> PerSymbol<R> {
    pub fn new(name: &'static str, rule: R) -> Self {
        PerSymbol {
            name,
            proto: rule,
            rules: Vec::new(),
        }
    }
}

/// The side a signed position is on.
pub(crate) fn held(position: f64) -> Target {
    if position > 0.0 {
        Target::Long
    } else if position < 0.0 {
        Target::Short
    } else {
        Target::Flat
    }
}

impl<R: SignalRule> Strategy for PerSymbol<R> {
    fn name(&self) -> &str {
        self.name
    }

    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let view = *ctx.view();
        if self.rules.len() != view.n_symbols() {
            self.rules = vec![self.proto.clone(); view.n_symbols()];
        }
        for (s, rule) in self.rules.iter_mut().enumerate() {
            if !view.has_bar(s) {
                continue;
            }
            let pos = ctx.position(s);
            // Only a change is submitted, so the order log shows decisions rather than restating
            // the same target every bar.
            if let Some(target) = rule.update(&view, s, pos).filter(|t| *t != held(pos)) {
                ctx.target(s, target);
            }
        }
    }
}

/// The target for a bearish signal: short if allowed, flat otherwise.
pub(crate) fn bearish(allow_short: bool) -> Target {
    if allow_short {
        Target::Short
    } else {
        Target::Flat
    }
}

/// Strict crossover of `(a, b)` from `prev` to `now`: `Some(true)` when `a` crosses above `b`,
/// `Some(false)` when it crosses below, `None` otherwise (including ties on either bar).
pub(crate) fn cross(prev: (f64, f64), now: (f64, f64)) -> Option<bool> {
    if prev.0 < prev.1 && now.0 > now.1 {
        Some(true)
    } else if prev.0 > prev.1 && now.0 < now.1 {
        Some(false)
    } else {
        None
    }
}

/// The latest close of `symbol` (the view always has the current bar).
pub(crate) fn last_close(view: &BarView<'_>, symbol: usize) -> f64 {
    view.close(symbol).last().copied().unwrap_or(f64::NAN)
}
