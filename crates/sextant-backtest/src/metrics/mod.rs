//! Performance metrics, numerically compatible with empyrical and quantstats.
//!
//! Definitions follow `/work/shared/reference/metrics.md`: empyrical's by default (sample std
//! with ddof 1, Sortino's downside deviation over *all* periods, drawdowns on the compounded
//! curve with a starting value before the first period), and quantstats' where
//! [`Convention::QuantStats`] is chosen; the table on [`Convention`] lists every difference.
//! `tests/metrics_golden.rs` checks both against `empyrical-reloaded` 0.7.1 and quantstats
//! 0.0.86 on real returns and on degenerate series.
//!
//! The annualisation factor is always explicit ([`MetricsConfig::periods_per_year`]): 252 for
//! daily equity bars, 365 for daily crypto bars, [`periods_per_year_intraday`] otherwise.
//!
//! # Degenerate input
//!
//! Nothing panics. What comes out for
//!
//! | input | result |
//! |---|---|
//! | no returns | every return metric NaN, drawdown duration 0 |
//! | one return | total return, CAGR, max drawdown, historical VaR/CVaR defined; volatility, Sharpe, skew, kurtosis, parametric VaR NaN; Sortino NaN (empyrical) |
//! | all zero | total return, CAGR, volatility, max drawdown 0; Sharpe, Sortino, Calmar, skew, kurtosis NaN |
//! | constant non-zero | volatility ~0, Sharpe ±inf (empyrical's zero-dispersion rule), Sortino +inf (empyrical) / NaN (quantstats) |
//! | all NaN | total return and CAGR 0 (an empty product, as numpy); the rest NaN |
//! | some NaN | missing periods: skipped by means and std, flat in the equity curve; VaR and skew NaN under empyrical's convention (numpy and scipy propagate NaN) |
//! | no trades | trade count 0, trade statistics NaN (quantstats: win rate and profit factor 0) |
//! | no positions / turnover inputs | exposure / turnover NaN |

mod config;
mod drawdown;
mod exposure;
pub mod nonfinite;
mod normal;
mod performance;
mod relative;
mod risk;
mod stats;
mod trades;

pub use config::{
    deannualize, periods_per_year_intraday, Convention, MetricsConfig, MetricsError, CRYPTO_DAILY,
    EQUITIES_DAILY, MONTHLY, WEEKLY,
};
pub use drawdown::{calmar_ratio, drawdown_series, max_drawdown, max_drawdown_duration};
pub use exposure::{exposure, exposure_from_returns, turnover};
pub use normal::{normal_pdf, normal_ppf};
pub use performance::{
    annual_volatility, cagr, downside_risk, sharpe_ratio, sortino_ratio, total_return,
};
pub use relative::{alpha, beta, excess_return, excess_sharpe, information_ratio, tracking_error};
pub use risk::{
    conditional_value_at_risk, historical_cvar, historical_var, kurtosis, parametric_cvar,
    parametric_var, skew, value_at_risk,
};
pub use trades::{profit_factor, trade_summary, win_rate, TradeStats, TradeSummary};

use serde::{Deserialize, Serialize};

/// Everything [`Metrics::compute`] reads. Only `returns` is required.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsInput<'a> {
    /// Simple returns per period (bar), NaN for a missing period.
    pub returns: &'a [f64],
    /// Closed trades.
    pub trades: &'a [TradeStats],
    /// Position per bar, for [`exposure`]; exposure is NaN without it.
    pub positions: Option<&'a [f64]>,
    /// Absolute traded value per bar and portfolio value per bar, for [`turnover`]; turnover is
    /// NaN without them.
    pub traded_notional: Option<&'a [f64]>,
    /// Portfolio value per bar, the same length as `traded_notional` (else
    /// [`MetricsError::LengthMismatch`]); bars where it is not positive are left out of turnover.
    pub equity: Option<&'a [f64]>,
    /// Risk-free return per period, aligned with `returns` (e.g. a Treasury bill yield converted
    /// with [`deannualize`], as known at the start of each period). When given it replaces
    /// [`MetricsConfig::risk_free`] in Sharpe and Sortino, element by element as empyrical
    /// subtracts an array `risk_free`; its length must equal `returns`' (else
    /// [`MetricsError::LengthMismatch`]).
    pub risk_free: Option<&'a [f64]>,
}

/// The performance summary of one backtest. Non-finite values serialise as `null` (NaN) or
/// `"inf"`/`"-inf"` (see [`nonfinite`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The formulas used where empyrical and quantstats disagree (from the config).
    pub convention: Convention,
    /// The annualisation factor the metrics were computed with (from the config).
    #[serde(with = "nonfinite")]
    pub periods_per_year: f64,
    /// Return periods, NaN ones included.
    pub periods: usize,
    /// Compounded return over all periods as a fraction (0.25 = +25 %), NaN periods skipped.
    #[serde(with = "nonfinite")]
    pub total_return: f64,
    /// Compound annual growth rate as a fraction per year; see [`cagr()`] for how periods are
    /// counted.
    #[serde(with = "nonfinite")]
    pub cagr: f64,
    /// Sample standard deviation (ddof 1) of the returns times √`periods_per_year`; NaN below two
    /// periods.
    #[serde(with = "nonfinite")]
    pub annual_volatility: f64,
    /// Annualised Sharpe ratio of the returns in excess of the per-period risk-free rate; ±inf for
    /// constant non-zero excess returns.
    #[serde(with = "nonfinite")]
    pub sharpe: f64,
    /// Annualised Sortino ratio, the per-period risk-free rate being the minimum acceptable return;
    /// see [`sortino_ratio`].
    #[serde(with = "nonfinite")]
    pub sortino: f64,
    /// CAGR over the absolute max drawdown; NaN when the curve never fell.
    #[serde(with = "nonfinite")]
    pub calmar: f64,
    /// Most negative drawdown (≤ 0).
    #[serde(with = "nonfinite")]
    pub max_drawdown: f64,
    /// Longest stretch under water, in periods.
    pub max_drawdown_duration: usize,
    /// Value at risk at `var_cutoff` as a per-period return (a loss is negative): historical under
    /// empyrical, parametric normal under quantstats.
    #[serde(with = "nonfinite")]
    pub value_at_risk: f64,
    /// Expected shortfall at `var_cutoff` as a per-period return (a loss is negative), historical
    /// or parametric like `value_at_risk`.
    #[serde(with = "nonfinite")]
    pub conditional_value_at_risk: f64,
    /// Skewness of the returns (biased under empyrical's convention, bias-corrected under
    /// quantstats').
    #[serde(with = "nonfinite")]
    pub skew: f64,
    /// Excess kurtosis (0 for a normal distribution).
    #[serde(with = "nonfinite")]
    pub kurtosis: f64,
    /// Number of closed trades given, including those with a NaN PnL or return.
    pub trade_count: usize,
    /// Fraction of winning trades (0 to 1); the denominator depends on the convention, see
    /// [`win_rate()`].
    #[serde(with = "nonfinite")]
    pub win_rate: f64,
    /// Gross profit over gross loss; +inf with gains and no loss.
    #[serde(with = "nonfinite")]
    pub profit_factor: f64,
    /// Mean PnL per trade, in account currency.
    #[serde(with = "nonfinite")]
    pub expectancy: f64,
    /// Mean trade return, as a fraction of the capital committed.
    #[serde(with = "nonfinite")]
    pub avg_trade: f64,
    /// Highest trade return, as a fraction.
    #[serde(with = "nonfinite")]
    pub best_trade: f64,
    /// Lowest trade return, as a fraction.
    #[serde(with = "nonfinite")]
    pub worst_trade: f64,
    /// Mean number of bars from entry to exit.
    #[serde(with = "nonfinite")]
    pub avg_bars_held: f64,
    /// Fraction of bars (0 to 1) with a non-zero position; NaN without `positions`.
    #[serde(with = "nonfinite")]
    pub exposure: f64,
    /// Annualised, two-sided.
    #[serde(with = "nonfinite")]
    pub turnover: f64,
}

impl Metrics {
    /// Computes every metric. Fails only on an invalid `config` or on `traded_notional` and
    /// `equity` of different lengths; degenerate data gives NaN/0 as documented above.
    pub fn compute(input: &MetricsInput<'_>, config: &MetricsConfig) -> Result<Self, MetricsError> {
        config.validate()?;
        let r = input.returns;
        let ppy = config.periods_per_year;
        let conv = config.convention;
        let trades = trade_summary(input.trades, conv);
        // With a risk-free series, Sharpe and Sortino see `r - rf_t` against zero: the same
        // numbers as `r - rf` for a constant, since `x - 0.0 == x` exactly.
        let excess_series: Vec<f64>;
        let (excess, rf) = match input.risk_free {
            Some(series) => {
                if series.len() != r.len() {
                    return Err(MetricsError::LengthMismatch {
                        series: "risk_free",
                        expected: r.len(),
                        got: series.len(),
                    });
                }
                excess_series = r.iter().zip(series).map(|(x, f)| x - f).collect();
                (excess_series.as_slice(), 0.0)
            }
            None => (r, config.risk_free),
        };
        let turnover = match (input.traded_notional, input.equity) {
            (Some(traded), Some(equity)) => turnover(traded, equity, ppy)?,
            _ => f64::NAN,
        };
        Ok(Self {
            convention: conv,
            periods_per_year: ppy,
            periods: r.len(),
            total_return: total_return(r),
            cagr: cagr(r, ppy, conv),
            annual_volatility: annual_volatility(r, ppy),
            sharpe: sharpe_ratio(excess, rf, ppy),
            sortino: sortino_ratio(excess, rf, ppy, conv),
            calmar: calmar_ratio(r, ppy, conv),
            max_drawdown: max_drawdown(r),
            max_drawdown_duration: max_drawdown_duration(r),
            value_at_risk: value_at_risk(r, config.var_cutoff, conv),
            conditional_value_at_risk: conditional_value_at_risk(r, config.var_cutoff, conv),
            skew: skew(r, conv),
            kurtosis: kurtosis(r, conv),
            trade_count: trades.trade_count,
            win_rate: trades.win_rate,
            profit_factor: trades.profit_factor,
            expectancy: trades.expectancy,
            avg_trade: trades.avg_trade,
            best_trade: trades.best_trade,
            worst_trade: trades.worst_trade,
            avg_bars_held: trades.avg_bars_held,
            exposure: input.positions.map_or(f64::NAN, exposure),
            turnover,
        })
    }
}
