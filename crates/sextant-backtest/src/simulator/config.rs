//! Simulator configuration.

use super::costs::{Costs, SizingConvention};
use super::error::SimError;
use serde::{Deserialize, Serialize};

/// When market orders fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillTiming {
    /// At the open of the bar after the signal (backtesting.py's default): the strategy decides
    /// on bar `t`'s close and cannot trade at a price it has already seen.
    #[default]
    NextOpen,
    /// At the close of the signal bar (vectorbt's `from_signals` default, backtesting.py's
    /// `trade_on_close`): optimistic, since the decision and the fill share one price.
    SignalClose,
}

/// Whether quantities are rounded down to whole units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareRounding {
    /// Floor every quantity to whole units (shares). The default.
    #[default]
    Whole,
    /// Trade any positive quantity (crypto, fractional-share brokers).
    Fractional,
}

/// How a position opened by a [`super::Target`] or a [`super::Quantity::Sized`] order is sized.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Sizer {
    /// All available cash for a long (all equity for a short), commission included, with the
    /// configured [`SizingConvention`].
    #[default]
    AllIn,
    /// This fraction of equity (marked at the fill price), commission included; above 1 it
    /// borrows (cash goes negative).
    FixedFraction {
        /// Share of equity per position (0.5 = half, above 1 leveraged); must be finite and > 0.
        fraction: f64,
    },
    /// A fixed number of units.
    FixedQuantity {
        /// Units per position, floored under [`ShareRounding::Whole`] (0 after flooring is
        /// rejected); must be finite and > 0.
        units: f64,
    },
    /// Equity × min(`annual_vol` / realised vol, `max_leverage`), where realised vol is the
    /// sample std of the last `lookback` close-to-close log returns up to the signal bar,
    /// annualised by `periods_per_year`. No trade until `lookback` returns exist.
    VolatilityTarget {
        /// Target annualised volatility as a fraction (0.15 = 15 %); must be > 0.
        annual_vol: f64,
        /// Number of log returns in the estimate (it needs `lookback + 1` closes); must be ≥ 2.
        lookback: usize,
        /// Bars per year used to annualise the estimate (252 for daily equity bars); must be > 0.
        periods_per_year: f64,
        /// Cap on the position value as a multiple of equity, also the size when realised vol is 0;
        /// must be > 0.
        max_leverage: f64,
    },
}

impl Sizer {
    /// Checks the sizer's numbers (finite and positive, a lookback of at least 2); the error
    /// names the field as `sizer.<field>`.
    pub fn validate(&self) -> Result<(), SimError> {
        match *self {
            Sizer::AllIn => {}
            Sizer::FixedFraction { fraction } => {
                if !(fraction.is_finite() && fraction > 0.0) {
                    return Err(SimError::config(
                        "sizer.fraction",
                        format!("must be > 0, got {fraction}"),
                    ));
                }
            }
            Sizer::FixedQuantity { units } => {
                if !(units.is_finite() && units > 0.0) {
                    return Err(SimError::config(
                        "sizer.units",
                        format!("must be > 0, got {units}"),
                    ));
                }
            }
            Sizer::VolatilityTarget {
                annual_vol,
                lookback,
                periods_per_year,
                max_leverage,
            } => {
                if !(annual_vol.is_finite() && annual_vol > 0.0) {
                    return Err(SimError::config("sizer.annual_vol", "must be > 0"));
                }
                if lookback < 2 {
                    return Err(SimError::config("sizer.lookback", "must be >= 2"));
                }
                if !(periods_per_year.is_finite() && periods_per_year > 0.0) {
                    return Err(SimError::config("sizer.periods_per_year", "must be > 0"));
                }
                if !(max_leverage.is_finite() && max_leverage > 0.0) {
                    return Err(SimError::config("sizer.max_leverage", "must be > 0"));
                }
            }
        }
        Ok(())
    }
}

/// What the simulator does with corporate actions attached to the bars (the
/// [`CA_SPLIT`](super::CA_SPLIT) and [`CA_DIVIDEND`](super::CA_DIVIDEND) series).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorporateActions {
    /// Trade the prices as given (what backtesting.py and vectorbt do with a raw file).
    #[default]
    Ignore,
    /// At the open of an ex-date, multiply positions by the split ratio (dividing lot prices)
    /// and credit dividends as cash (debit them on shorts), as a broker does; for raw prices.
    Apply,
}

/// Everything that shapes a run besides the data and the strategy.
///
/// When deserialised, missing fields take their [`SimConfig::default`] values and unknown fields
/// are rejected; [`Self::validate`] checks the values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimConfig {
    /// Starting cash in account currency; must be finite and > 0. Default: `10_000.0`.
    pub initial_cash: f64,
    /// When market orders fill. Default: [`FillTiming::NextOpen`].
    pub fill: FillTiming,
    /// Commission and slippage on every fill. Default: none (all zero).
    pub costs: Costs,
    /// Whole or fractional units. Default: [`ShareRounding::Whole`].
    pub shares: ShareRounding,
    /// How a position opened by a [`Target`](super::Target) or a
    /// [`Quantity::Sized`](super::Quantity::Sized) order is sized. Default: [`Sizer::AllIn`].
    pub sizer: Sizer,
    /// How a cash budget becomes a quantity: all-in buys, the budget of the other sizers, and buys
    /// capped at the cash available. Default: [`SizingConvention::VectorBt`].
    pub convention: SizingConvention,
    /// Close every open position at the last bar's close (paying commission). Off by default:
    /// positions are marked to the last close and reported as open trades, which is what both
    /// vectorbt and backtesting.py (`finalize_trades=False`) do.
    pub close_at_end: bool,
    /// Corporate actions on raw prices (default: ignored).
    pub corporate_actions: CorporateActions,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            initial_cash: 10_000.0,
            fill: FillTiming::NextOpen,
            costs: Costs::default(),
            shares: ShareRounding::Whole,
            sizer: Sizer::AllIn,
            convention: SizingConvention::VectorBt,
            close_at_end: false,
            corporate_actions: CorporateActions::Ignore,
        }
    }
}

fn finite_nonneg(field: &'static str, v: f64) -> Result<(), SimError> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(SimError::config(
            field,
            format!("must be finite and >= 0, got {v}"),
        ))
    }
}

impl SimConfig {
    /// Checks every value and returns [`SimError::Config`] naming the first invalid field:
    /// `initial_cash` must be finite and > 0, `commission_pct` in `[0, 1)`, `commission_fixed`
    /// finite and ≥ 0, `slippage_bps` in `[0, 10000)`, and the sizer parameters as documented on
    /// [`Sizer`]. [`TradingSimulator::new`](super::TradingSimulator::new) calls it.
    pub fn validate(&self) -> Result<(), SimError> {
        if !(self.initial_cash.is_finite() && self.initial_cash > 0.0) {
            return Err(SimError::config(
                "initial_cash",
                format!("must be > 0, got {}", self.initial_cash),
            ));
        }
        finite_nonneg("costs.commission_fixed", self.costs.commission_fixed)?;
        finite_nonneg("costs.slippage_bps", self.costs.slippage_bps)?;
        let pct = self.costs.commission_pct;
        if !(pct.is_finite() && (0.0..1.0).contains(&pct)) {
            return Err(SimError::config(
                "costs.commission_pct",
                format!("must be in [0, 1), got {pct}"),
            ));
        }
        if self.costs.slippage_bps >= 10_000.0 {
            return Err(SimError::config("costs.slippage_bps", "must be < 10000"));
        }
        self.sizer.validate()?;
        Ok(())
    }

    pub(crate) fn whole(&self) -> bool {
        self.shares == ShareRounding::Whole
    }
}

/// Deserializes a [`SimConfig`] only from a JSON object: serde would otherwise also accept an
/// array (`[1]` as an initial cash of 1), which no client means.
pub fn sim_object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SimConfig, D::Error> {
    use serde::de::Error;
    let v = serde_json::Value::deserialize(d)?;
    if !v.is_object() {
        return Err(D::Error::custom(
            "sim must be an object, e.g. {\"initial_cash\": 10000}",
        ));
    }
    SimConfig::deserialize(v).map_err(D::Error::custom)
}
