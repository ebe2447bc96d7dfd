//! The date × asset panel and forward returns.

/// Why a panel cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PanelError {
    /// `values` does not hold `rows × cols` numbers.
    #[error("panel of {rows} dates and {cols} assets needs {expected} values, got {got}")]
    Shape {
        /// Dates.
        rows: usize,
        /// Assets.
        cols: usize,
        /// `rows × cols`.
        expected: usize,
        /// Values given.
        got: usize,
    },
    /// Two panels that must share dates and assets do not.
    #[error("panels are not aligned: {0}")]
    NotAligned(String),
}

/// Values by date (row) and asset (column), row-major; NaN is missing. Dates are whatever
/// orderable key the caller uses (a day number, a timestamp), strictly increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Row keys, increasing.
    pub dates: Vec<i64>,
    /// Column names.
    pub assets: Vec<String>,
    /// `dates.len() × assets.len()` values, row-major.
    pub values: Vec<f64>,
}

impl Panel {
    /// A panel, checking its shape.
    ///
    /// # Errors
    ///
    /// [`PanelError::Shape`] when `values` has the wrong length.
    pub fn new(dates: Vec<i64>, assets: Vec<String>, values: Vec<f64>) -> Result<Self, PanelError> {
        let expected = dates.len() * assets.len();
        if values.len() != expected {
            return Err(PanelError::Shape {
                rows: dates.len(),
                cols: assets.len(),
                expected,
                got: values.len(),
            });
        }
        Ok(Panel {
            dates,
            assets,
            values,
        })
    }

    /// Number of dates.
    pub fn rows(&self) -> usize {
        self.dates.len()
    }

    /// Number of assets.
    pub fn cols(&self) -> usize {
        self.assets.len()
    }

    /// The value at date row `t`, asset column `j`.
    pub fn at(&self, t: usize, j: usize) -> f64 {
        self.values[t * self.cols() + j]
    }

    /// One date's row.
    pub fn row(&self, t: usize) -> &[f64] {
        let c = self.cols();
        &self.values[t * c..(t + 1) * c]
    }

    /// Checks that `other` has the same dates and assets.
    ///
    /// # Errors
    ///
    /// [`PanelError::NotAligned`] naming what differs.
    pub fn check_aligned(&self, other: &Panel) -> Result<(), PanelError> {
        if self.dates != other.dates {
            return Err(PanelError::NotAligned("dates differ".into()));
        }
        if self.assets != other.assets {
            return Err(PanelError::NotAligned("assets differ".into()));
        }
        Ok(())
    }
}

/// `period`-row forward returns: each asset's prices forward-filled, then
/// `p[t + period] / p[t] - 1` at row `t` (NaN when either end is unknown or past the last
/// row). alphalens' `compute_forward_returns` with `cumulative_returns=True`.
pub fn forward_returns(prices: &Panel, period: usize) -> Panel {
    let (rows, cols) = (prices.rows(), prices.cols());
    let mut filled = prices.values.clone();
    for j in 0..cols {
        let mut last = f64::NAN;
        for t in 0..rows {
            let v = &mut filled[t * cols + j];
            if v.is_nan() {
                *v = last;
            } else {
                last = *v;
            }
        }
    }
    let mut out = vec![f64::NAN; rows * cols];
    for t in 0..rows.saturating_sub(period) {
        for j in 0..cols {
            let (a, b) = (filled[t * cols + j], filled[(t + period) * cols + j]);
            out[t * cols + j] = b / a - 1.0;
        }
    }
    Panel {
        dates: prices.dates.clone(),
        assets: prices.assets.clone(),
        values: out,
    }
}
