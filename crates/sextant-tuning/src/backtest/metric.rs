//! Objective metrics on a window of per-bar returns, and weighted sums of them.

use crate::TuningError;
use serde::{Deserialize, Serialize};
use sextant_backtest::metrics::{
    cagr, calmar_ratio, max_drawdown, profit_factor, sharpe_ratio, sortino_ratio, total_return,
    Convention,
};

/// A performance figure a study can optimise. Every one is better when larger (a drawdown is
/// a negative fraction, so maximising it means a shallower one).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Metric {
    /// Annualised Sharpe ratio (mean over sample std of per-bar returns less the study's
    /// risk-free rate; zero without one).
    Sharpe,
    /// Annualised Sortino ratio (empyrical's, required return = the study's risk-free rate).
    Sortino,
    /// CAGR over the absolute maximum drawdown (empyrical's).
    Calmar,
    /// Compound annual growth rate, as a fraction.
    Cagr,
    /// Compound return over the window, as a fraction.
    TotalReturn,
    /// Gains over losses of the trades closed in the window; 1 (break-even) when none closed,
    /// [`METRIC_CAP`] when none lost.
    ProfitFactor,
    /// Largest peak-to-trough fall, a negative fraction (−0.25 = 25 % down).
    MaxDrawdown,
}

impl Metric {
    /// The metric on `returns` (per bar), the same returns less the risk-free rate (`excess`,
    /// for Sharpe and Sortino; pass `returns` again for a zero rate) and the PnLs of the trades
    /// closed in the window. A window with no return at all (flat throughout) scores 0 for the
    /// return-based metrics, as a strategy out of the market earns nothing.
    pub fn on(self, returns: &[f64], excess: &[f64], pnls: &[f64], periods_per_year: f64) -> f64 {
        let flat = returns.iter().all(|&r| r == 0.0);
        match self {
            Metric::ProfitFactor if pnls.is_empty() => 1.0,
            Metric::ProfitFactor => profit_factor(pnls, Convention::Empyrical),
            _ if flat => 0.0,
            Metric::Sharpe => sharpe_ratio(excess, 0.0, periods_per_year),
            Metric::Sortino => sortino_ratio(excess, 0.0, periods_per_year, Convention::Empyrical),
            Metric::Calmar => calmar_ratio(returns, periods_per_year, Convention::Empyrical),
            Metric::Cagr => cagr(returns, periods_per_year, Convention::Empyrical),
            Metric::TotalReturn => total_return(returns),
            Metric::MaxDrawdown => max_drawdown(returns),
        }
    }
}

/// Whether `text` ends inside a number's exponent (`…*1e`), so a sign after it is the
/// exponent's.
fn exponent(text: &str) -> bool {
    let token = text.rsplit(['*', '+', '-']).next().unwrap_or("");
    match token.strip_suffix(['e', 'E']) {
        Some(mantissa) => !mantissa.is_empty() && mantissa.parse::<f64>().is_ok(),
        None => false,
    }
}

/// Largest magnitude of a metric inside an objective.
pub const METRIC_CAP: f64 = 1_000.0;

/// One weighted term of an objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Term {
    /// The metric.
    pub metric: Metric,
    /// Its weight (negative to penalise).
    pub weight: f64,
}

/// An objective: a weighted sum of metrics (one term of weight 1 for a plain metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveExpr {
    /// The terms, summed.
    pub terms: Vec<Term>,
}

impl ObjectiveExpr {
    /// Parses `sharpe`, `0.7*sharpe+0.3*calmar` or `sharpe-0.5*max_drawdown` (weights before
    /// or after the metric; no parentheses).
    pub fn parse(s: &str) -> Result<ObjectiveExpr, TuningError> {
        let bad = |why: String| TuningError::Config(format!("objective {s:?}: {why}"));
        let text: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if text.is_empty() || text.len() > 200 {
            return Err(bad("empty or longer than 200 characters".into()));
        }
        let mut terms = Vec::new();
        let mut start = 0;
        let bytes = text.as_bytes();
        for i in 0..=bytes.len() {
            let end = i == bytes.len();
            // A sign splits terms unless it follows `*` or a number's exponent (`1e-3`).
            let split = !end
                && i > start
                && (bytes[i] == b'+' || bytes[i] == b'-')
                && bytes[i - 1] != b'*'
                && !exponent(&text[start..i]);
            if !(end || split) {
                continue;
            }
            let raw = &text[start..i];
            start = i;
            let (sign, body) = match raw.as_bytes().first() {
                Some(b'-') => (-1.0, &raw[1..]),
                Some(b'+') => (1.0, &raw[1..]),
                _ => (1.0, raw),
            };
            let mut weight = sign;
            let mut metric = None;
            for f in body.split('*') {
                if let Ok(m) = f.parse::<Metric>() {
                    if metric.replace(m).is_some() {
                        return Err(bad(format!("{body:?} names two metrics")));
                    }
                } else {
                    let w: f64 = f.parse().map_err(|_| {
                        bad(format!(
                            "{f:?} is neither a number nor a metric ({})",
                            <Metric as strum::VariantNames>::VARIANTS.join(", ")
                        ))
                    })?;
                    if !w.is_finite() {
                        return Err(bad("weights must be finite".into()));
                    }
                    weight *= w;
                }
            }
            let metric = metric.ok_or_else(|| bad(format!("{body:?} names no metric")))?;
            terms.push(Term { metric, weight });
        }
        if terms.len() > 8 {
            return Err(bad("at most 8 terms".into()));
        }
        Ok(ObjectiveExpr { terms })
    }

    /// A single metric.
    pub fn metric(m: Metric) -> ObjectiveExpr {
        ObjectiveExpr {
            terms: vec![Term {
                metric: m,
                weight: 1.0,
            }],
        }
    }

    /// The value on a window. Each metric is clamped to ±[`METRIC_CAP`] first, so a window
    /// without a losing trade or a down day (profit factor, Sortino, Calmar: +∞) scores high
    /// but finite instead of failing the trial.
    pub fn on(&self, returns: &[f64], excess: &[f64], pnls: &[f64], periods_per_year: f64) -> f64 {
        self.terms
            .iter()
            .map(|t| {
                let v = t.metric.on(returns, excess, pnls, periods_per_year);
                t.weight * v.clamp(-METRIC_CAP, METRIC_CAP)
            })
            .sum()
    }
}

impl std::fmt::Display for ObjectiveExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let [Term { metric, weight }] = self.terms.as_slice() {
            if *weight == 1.0 {
                return write!(f, "{metric}");
            }
        }
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 && t.weight >= 0.0 {
                write!(f, "+")?;
            }
            write!(f, "{}*{}", t.weight, t.metric)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_weighted_sums() {
        let e = ObjectiveExpr::parse("sharpe").unwrap();
        assert_eq!(e, ObjectiveExpr::metric(Metric::Sharpe));
        assert_eq!(e.to_string(), "sharpe");
        let e = ObjectiveExpr::parse("0.7*sharpe + calmar*0.3 - 1e-1*max_drawdown").unwrap();
        assert_eq!(e.terms.len(), 3);
        assert_eq!(e.terms[1].weight, 0.3);
        assert!((e.terms[2].weight + 0.1).abs() < 1e-15);
        assert_eq!(e.terms[2].metric, Metric::MaxDrawdown);
        for bad in ["", "sharpe*calmar", "2*", "wealth", "sharpe+inf*cagr"] {
            assert!(ObjectiveExpr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flat_windows_score_zero() {
        let r = [0.0; 10];
        assert_eq!(Metric::Sharpe.on(&r, &r, &[], 252.0), 0.0);
        assert_eq!(Metric::ProfitFactor.on(&r, &r, &[], 252.0), 1.0);
        assert_eq!(Metric::ProfitFactor.on(&r, &r, &[2.0, -1.0], 252.0), 2.0);
        let r = [0.01, -0.02, 0.03];
        assert!(
            (Metric::TotalReturn.on(&r, &r, &[], 252.0) - (1.01 * 0.98 * 1.03 - 1.0)).abs() < 1e-15
        );
    }
}
