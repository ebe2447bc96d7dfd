//! Which formulas and annualisation the metrics use.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Periods per year of daily bars of exchange-traded equities (empyrical's and quantstats'
/// default, ~252 trading days).
pub const EQUITIES_DAILY: f64 = 252.0;
/// Periods per year of daily bars of markets that never close (crypto; vectorbt's default).
pub const CRYPTO_DAILY: f64 = 365.0;
/// Periods per year of weekly bars.
pub const WEEKLY: f64 = 52.0;
/// Periods per year of monthly bars.
pub const MONTHLY: f64 = 12.0;

/// Whose definitions a metric follows where the reference libraries disagree.
///
/// See `/work/shared/reference/metrics.md`; the differences that remain for the metrics here:
///
/// | metric | `Empyrical` (default) | `QuantStats` |
/// |---|---|---|
/// | CAGR | `n` counts every period, NaN ones too | `n` counts non-NaN periods only |
/// | Sortino | `±inf` when there is no downside (0/0: NaN); NaN below 2 periods | NaN when there is no downside |
/// | Calmar | NaN unless the max drawdown is negative | CAGR / \|MDD\| (NaN for MDD = 0, where quantstats raises) |
/// | VaR | historical: `np.percentile(r, 100·cutoff)` (any NaN → NaN) | parametric normal `μ + σ·Φ⁻¹(cutoff)` |
/// | CVaR | mean of the `⌊(n−1)·cutoff⌋+1` worst returns | normal expected shortfall `μ − σ·φ(Φ⁻¹(c))/c` |
/// | skew, kurtosis | scipy, biased (pyfolio's perf stats); any NaN → NaN | pandas, bias-corrected G1/G2; NaN skipped |
/// | win rate | winning trades / all trades | winning trades / trades with non-zero PnL |
/// | profit factor | gross profit / gross loss; NaN with neither | quantstats: 0 with neither, wins counted with `>= 0` |
///
/// Sharpe, annual volatility, total return and max drawdown agree between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convention {
    /// empyrical (`empyrical-reloaded` 0.7), as used by pyfolio and zipline.
    #[default]
    Empyrical,
    /// quantstats 0.0.8x (August 2025 and later: CAGR over `n / periods_per_year` years).
    QuantStats,
}

/// Why metrics could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    /// A `periods_per_year` (or the `sessions_per_year` of [`periods_per_year_intraday`]) that is
    /// not finite and positive.
    #[error("periods_per_year must be finite and positive, got {0}")]
    InvalidPeriodsPerYear(f64),
    /// A `risk_free` rate that is not finite.
    #[error("risk_free must be finite, got {0}")]
    InvalidRiskFree(f64),
    /// A VaR cutoff not strictly between 0 and 1 (or NaN).
    #[error("the VaR cutoff must lie strictly between 0 and 1, got {0}")]
    InvalidCutoff(f64),
    /// An intraday bar or session length that is not finite and positive, or a bar longer than the
    /// session.
    #[error("bar length and session length must be positive and the bar no longer than the session (bar {bar_seconds} s, session {session_seconds} s)")]
    InvalidBarLength {
        /// The bar length given, in seconds.
        bar_seconds: f64,
        /// The session length given, in seconds.
        session_seconds: f64,
    },
    /// Two per-bar series that must align differ in length (`equity` against `traded_notional` in
    /// [`turnover`](super::turnover)).
    #[error("series `{series}` has {got} values, expected {expected}")]
    LengthMismatch {
        /// Name of the series whose length is off.
        series: &'static str,
        /// Length of the reference series.
        expected: usize,
        /// Length of `series`.
        got: usize,
    },
}

/// Annualisation, risk-free rate, VaR cutoff and convention for [`super::Metrics::compute`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricsConfig {
    /// Return periods per year (252 for equity daily bars, 365 for crypto daily bars, see
    /// [`periods_per_year_intraday`] for intraday bars). Always explicit: a silent 252 on crypto
    /// or intraday data misstates every annualised number.
    pub periods_per_year: f64,
    /// Risk-free return **per period**, subtracted before Sharpe (empyrical's `risk_free`) and
    /// used as Sortino's minimum acceptable return. For an annual rate use [`deannualize`]
    /// (quantstats' conversion).
    pub risk_free: f64,
    /// Tail probability of VaR and CVaR (0.05 for 95 %).
    pub var_cutoff: f64,
    /// Whose formulas to use where the reference libraries disagree; the constructors set
    /// [`Convention::Empyrical`].
    pub convention: Convention,
}

impl MetricsConfig {
    /// `periods_per_year` with no risk-free rate, a 5 % VaR cutoff and empyrical's formulas.
    pub fn new(periods_per_year: f64) -> Result<Self, MetricsError> {
        let config = Self {
            periods_per_year,
            risk_free: 0.0,
            var_cutoff: 0.05,
            convention: Convention::Empyrical,
        };
        config.validate()?;
        Ok(config)
    }

    /// Daily bars of equities (252 periods per year).
    pub fn equities_daily() -> Self {
        Self {
            periods_per_year: EQUITIES_DAILY,
            risk_free: 0.0,
            var_cutoff: 0.05,
            convention: Convention::Empyrical,
        }
    }

    /// Daily bars of crypto (365 periods per year).
    pub fn crypto_daily() -> Self {
        Self {
            periods_per_year: CRYPTO_DAILY,
            ..Self::equities_daily()
        }
    }

    /// Returns the config with `convention` in place of the current one.
    pub fn with_convention(mut self, convention: Convention) -> Self {
        self.convention = convention;
        self
    }

    /// Returns the config with a risk-free return **per period** (convert an annual rate with
    /// [`deannualize`]); must be finite, which [`Self::validate`] checks.
    pub fn with_risk_free(mut self, per_period: f64) -> Self {
        self.risk_free = per_period;
        self
    }

    /// Returns the config with the VaR/CVaR tail probability `cutoff` (0.01 for 99 %); must lie
    /// strictly between 0 and 1, which [`Self::validate`] checks.
    pub fn with_var_cutoff(mut self, cutoff: f64) -> Self {
        self.var_cutoff = cutoff;
        self
    }

    /// Checks every field (the builders do not, so that they can be chained).
    pub fn validate(&self) -> Result<(), MetricsError> {
        if !(self.periods_per_year.is_finite() && self.periods_per_year > 0.0) {
            return Err(MetricsError::InvalidPeriodsPerYear(self.periods_per_year));
        }
        if !self.risk_free.is_finite() {
            return Err(MetricsError::InvalidRiskFree(self.risk_free));
        }
        if !(self.var_cutoff > 0.0 && self.var_cutoff < 1.0) {
            return Err(MetricsError::InvalidCutoff(self.var_cutoff));
        }
        Ok(())
    }
}

/// Periods per year of intraday bars: `session / bar` bars per session times
/// `sessions_per_year` (e.g. 5-minute bars of a 6.5-hour US equity session, 252 sessions:
/// 78 · 252 = 19 656; 1-hour crypto bars: 24 · 365 = 8 760).
pub fn periods_per_year_intraday(
    bar_seconds: f64,
    session_seconds: f64,
    sessions_per_year: f64,
) -> Result<f64, MetricsError> {
    let valid = bar_seconds.is_finite()
        && session_seconds.is_finite()
        && bar_seconds > 0.0
        && bar_seconds <= session_seconds;
    if !valid {
        return Err(MetricsError::InvalidBarLength {
            bar_seconds,
            session_seconds,
        });
    }
    if !(sessions_per_year.is_finite() && sessions_per_year > 0.0) {
        return Err(MetricsError::InvalidPeriodsPerYear(sessions_per_year));
    }
    Ok(session_seconds / bar_seconds * sessions_per_year)
}

/// A per-period rate from an annual one, `(1 + annual)^(1/periods) - 1`, as quantstats
/// converts its annual `rf`.
pub fn deannualize(annual_rate: f64, periods_per_year: f64) -> f64 {
    (1.0 + annual_rate).powf(1.0 / periods_per_year) - 1.0
}
