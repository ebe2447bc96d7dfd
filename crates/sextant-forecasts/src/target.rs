//! What is forecast: holdings of one or more assets (and cash) whose daily log returns are
//! known up to the forecast origin.
//!
//! The value at the origin is `V₀ = cash + Σ vᵢ` (`vᵢ` the market value of asset `i`); `h` days
//! later, holding the same quantities, it is `cash + Σ vᵢ · exp(rᵢ,₁ + … + rᵢ,ₕ)`. Models that
//! see one series (the naive normal, GARCH) use the *portfolio proxy*: today's holdings priced
//! through each past day, `ln((cash + Σ vᵢ e^{rᵢ,ₜ}) / V₀)`, the usual way to give a fixed
//! portfolio a return history.

use crate::ForecastError;

/// A portfolio (or one asset) and its return history, oldest row first.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Daily log returns (fractions), row-major: row `t` is day `t`'s cross-section.
    returns: Vec<f64>,
    assets: usize,
    /// Market value of each asset at the origin.
    values: Vec<f64>,
    /// Cash at the origin (earns nothing).
    cash: f64,
}

impl Target {
    /// A target from row-major log returns (`assets` per row), market values and cash.
    /// Refuses ragged rows, non-finite returns or values, and a non-positive total value.
    pub fn new(
        returns: Vec<f64>,
        assets: usize,
        values: Vec<f64>,
        cash: f64,
    ) -> Result<Target, ForecastError> {
        if assets == 0 || values.len() != assets {
            return Err(ForecastError::Data(format!(
                "{} market values for {assets} assets",
                values.len()
            )));
        }
        if !returns.len().is_multiple_of(assets) {
            return Err(ForecastError::Data(format!(
                "{} returns do not fill rows of {assets} assets",
                returns.len()
            )));
        }
        if let Some(i) = returns.iter().position(|r| !r.is_finite()) {
            return Err(ForecastError::Data(format!(
                "return of asset {} on row {} is not finite",
                i % assets,
                i / assets
            )));
        }
        if !cash.is_finite() || values.iter().any(|v| !v.is_finite()) {
            return Err(ForecastError::Data("market values must be finite".into()));
        }
        let t = Target {
            returns,
            assets,
            values,
            cash,
        };
        if t.start_value() <= 0.0 {
            return Err(ForecastError::Data(format!(
                "the value at the origin is {}: nothing to forecast",
                t.start_value()
            )));
        }
        Ok(t)
    }

    /// One asset worth `value`, no cash.
    pub fn single(returns: Vec<f64>, value: f64) -> Result<Target, ForecastError> {
        Target::new(returns, 1, vec![value], 0.0)
    }

    /// Rows (days) of history.
    pub fn rows(&self) -> usize {
        self.returns.len() / self.assets
    }

    /// Assets per row.
    pub fn assets(&self) -> usize {
        self.assets
    }

    /// Row `t`'s log returns.
    pub fn row(&self, t: usize) -> &[f64] {
        &self.returns[t * self.assets..(t + 1) * self.assets]
    }

    /// All returns, row-major.
    pub fn returns(&self) -> &[f64] {
        &self.returns
    }

    /// Market values at the origin.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Cash at the origin.
    pub fn cash(&self) -> f64 {
        self.cash
    }

    /// `V₀`: cash plus the market values.
    pub fn start_value(&self) -> f64 {
        self.cash + self.values.iter().sum::<f64>()
    }

    /// Asset `i`'s returns, oldest first.
    pub fn column(&self, i: usize) -> Vec<f64> {
        self.returns
            .iter()
            .skip(i)
            .step_by(self.assets)
            .copied()
            .collect()
    }

    /// The portfolio proxy's log return of every row (see the module docs).
    pub fn proxy(&self) -> Vec<f64> {
        (0..self.rows())
            .map(|t| self.proxy_of(self.row(t)))
            .collect()
    }

    /// The proxy log return of one cross-section (or of summed returns over several days).
    pub fn proxy_of(&self, r: &[f64]) -> f64 {
        let v: f64 = self.cash
            + self
                .values
                .iter()
                .zip(r)
                .map(|(v, r)| v * r.exp())
                .sum::<f64>();
        (v / self.start_value()).ln()
    }

    /// The same holdings with only rows `[start, end)` of history.
    pub fn window(&self, start: usize, end: usize) -> Target {
        Target {
            returns: self.returns[start * self.assets..end * self.assets].to_vec(),
            assets: self.assets,
            values: self.values.clone(),
            cash: self.cash,
        }
    }

    /// Value relative to `V₀` after the days `[from, to)` of this history have happened,
    /// holding the quantities of the origin: the outcome a forecast made at row `from − 1` is
    /// judged against.
    pub fn realised(&self, from: usize, to: usize) -> f64 {
        let mut cum = vec![0.0; self.assets];
        for t in from..to {
            for (c, r) in cum.iter_mut().zip(self.row(t)) {
                *c += r;
            }
        }
        self.proxy_of(&cum).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_prices_today_s_holdings_through_past_days() {
        let t = Target::new(vec![0.1, -0.2, 0.0, 0.05], 2, vec![60.0, 30.0], 10.0).expect("ok");
        let v0 = 100.0;
        let day0 = (10.0 + 60.0 * 0.1f64.exp() + 30.0 * (-0.2f64).exp()) / v0;
        assert!((t.proxy()[0] - day0.ln()).abs() < 1e-15);
        let both = (10.0 + 60.0 * 0.1f64.exp() + 30.0 * (-0.15f64).exp()) / v0;
        assert!((t.realised(0, 2) - both).abs() < 1e-15);
    }

    #[test]
    fn refuses_bad_input() {
        assert!(Target::new(vec![0.1, 0.2, 0.3], 2, vec![1.0, 1.0], 0.0).is_err());
        assert!(Target::new(vec![f64::NAN], 1, vec![1.0], 0.0).is_err());
        assert!(Target::new(vec![0.1], 1, vec![-5.0], 1.0).is_err());
        assert!(Target::new(vec![0.1], 1, vec![1.0, 2.0], 1.0).is_err());
    }
}
