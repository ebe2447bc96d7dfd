//! Signal evaluation with alphalens-reloaded 0.5's conventions (`tests/alphalens_parity.rs`).

use crate::panel::{forward_returns, Panel, PanelError};
use crate::stats::{average_ranks, pearson};

/// One (date, asset) cell where the factor and every forward return are known.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Column of the asset in the source panels.
    pub asset: usize,
    /// The factor value.
    pub factor: f64,
    /// Forward return per horizon, in the order of `CleanPanel::periods`.
    pub forward: Vec<f64>,
}

/// The evaluable cells, by date: alphalens' "clean factor data".
#[derive(Debug, Clone, PartialEq)]
pub struct CleanPanel {
    /// Dates that kept at least one cell.
    pub dates: Vec<i64>,
    /// Asset names (the source panels' columns).
    pub assets: Vec<String>,
    /// Horizons, in rows.
    pub periods: Vec<usize>,
    /// Cells per kept date, in asset order.
    pub cells: Vec<Vec<Cell>>,
    /// Cells dropped because the factor or a forward return was missing.
    pub dropped: usize,
}

/// The cells where `factor` and the `periods`-row forward returns of `prices` are all known.
///
/// # Errors
///
/// [`PanelError::NotAligned`] when the panels differ in dates or assets.
pub fn clean(factor: &Panel, prices: &Panel, periods: &[usize]) -> Result<CleanPanel, PanelError> {
    factor.check_aligned(prices)?;
    let fwd: Vec<Panel> = periods
        .iter()
        .map(|&p| forward_returns(prices, p))
        .collect();
    let mut out = CleanPanel {
        dates: Vec::new(),
        assets: factor.assets.clone(),
        periods: periods.to_vec(),
        cells: Vec::new(),
        dropped: 0,
    };
    for t in 0..factor.rows() {
        let mut row = Vec::new();
        for j in 0..factor.cols() {
            let f = factor.at(t, j);
            let forward: Vec<f64> = fwd.iter().map(|p| p.at(t, j)).collect();
            if f.is_nan() || forward.iter().any(|r| r.is_nan()) {
                out.dropped += usize::from(!f.is_nan());
                continue;
            }
            row.push(Cell {
                asset: j,
                factor: f,
                forward,
            });
        }
        if !row.is_empty() {
            out.dates.push(factor.dates[t]);
            out.cells.push(row);
        }
    }
    Ok(out)
}

/// Spearman rank IC per kept date and horizon: `ic[date][k]` (scipy's `spearmanr`; NaN for a
/// date with fewer than two cells or no dispersion).
pub fn rank_ic(data: &CleanPanel) -> Vec<Vec<f64>> {
    data.cells
        .iter()
        .map(|row| {
            let f = average_ranks(&row.iter().map(|c| c.factor).collect::<Vec<_>>());
            (0..data.periods.len())
                .map(|k| {
                    pearson(
                        &f,
                        &average_ranks(&row.iter().map(|c| c.forward[k]).collect::<Vec<_>>()),
                    )
                })
                .collect()
        })
        .collect()
}

/// Summary of one horizon's IC series.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct IcSummary {
    /// Mean IC over the dates with a finite IC.
    pub mean: f64,
    /// Standard deviation (ddof 1).
    pub std: f64,
    /// `mean / std`: the information coefficient's information ratio.
    pub icir: f64,
    /// `mean / (std / √n)`, the t-statistic of the mean IC.
    pub t_stat: f64,
    /// Dates counted.
    pub n: usize,
}

/// The summary of `ic` (one horizon's values), NaN dates skipped.
pub fn ic_summary(ic: &[f64]) -> IcSummary {
    let v: Vec<f64> = ic.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    let mean = if n == 0 {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / n as f64
    };
    let std = if n < 2 {
        f64::NAN
    } else {
        (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
    };
    IcSummary {
        mean,
        std,
        icir: mean / std,
        t_stat: mean / (std / (n as f64).sqrt()),
        n,
    }
}

/// Quantile (1..=`q`) of every cell, per date, as `pd.qcut(factor, q, labels=False) + 1`:
/// edges at the linear-interpolation quantiles of the date's factor values, bins closed on
/// the right, the lowest edge included. `None` for a date whose edges repeat (pandas raises).
pub fn quantize(data: &CleanPanel, q: usize) -> Vec<Option<Vec<usize>>> {
    data.cells
        .iter()
        .map(|row| {
            let mut sorted: Vec<f64> = row.iter().map(|c| c.factor).collect();
            sorted.sort_by(f64::total_cmp);
            let edges: Vec<f64> = (0..=q)
                .map(|i| numpy_quantile(&sorted, linspace(q, i)))
                .collect();
            if edges.windows(2).any(|w| w[0] == w[1]) {
                return None;
            }
            Some(
                row.iter()
                    .map(|c| {
                        let i = edges.partition_point(|e| *e < c.factor);
                        i.max(1)
                    })
                    .collect(),
            )
        })
        .collect()
}

/// The `i`-th of `q + 1` points of `np.linspace(0, 1, q + 1)`, as pandas hands it to numpy's
/// percentile (times 100, then divided by 100 again).
fn linspace(q: usize, i: usize) -> f64 {
    let step = 1.0 / q as f64;
    let v = if i == q { 1.0 } else { i as f64 * step };
    (v * 100.0) / 100.0
}

/// numpy's `quantile(sorted, p, method="linear")`, operation for operation (its virtual index
/// and its two-sided lerp), so bin edges equal pandas' bit for bit.
fn numpy_quantile(sorted: &[f64], p: f64) -> f64 {
    // numpy's "linear" method is the Hyndman–Fan parameters alpha = beta = 1.
    const ALPHA: f64 = 1.0;
    const BETA: f64 = 1.0;
    let n = sorted.len();
    let virtual_index =
        (n as f64 * p + (ALPHA + p * (1.0 - ALPHA - BETA)) - 1.0).clamp(0.0, (n - 1) as f64);
    let lo = virtual_index.floor();
    let gamma = virtual_index - lo;
    let lo = lo as usize;
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Mean forward return per quantile and horizon, demeaned by each date's mean over its cells
/// (alphalens' `mean_return_by_quantile(demeaned=True)`): `out[quantile - 1][k]`. As
/// alphalens, the mean over dates of each date's mean within the quantile (every date weighs
/// the same, whatever the quantile's size that day); a quantile is counted on the dates it
/// holds names. Dates without quantiles are skipped.
pub fn mean_return_by_quantile(
    data: &CleanPanel,
    quantiles: &[Option<Vec<usize>>],
    q: usize,
) -> Vec<Vec<f64>> {
    let kn = data.periods.len();
    let mut sum = vec![vec![0.0; kn]; q];
    let mut dates = vec![0usize; q];
    for (row, labels) in data.cells.iter().zip(quantiles) {
        let Some(labels) = labels else { continue };
        let means: Vec<f64> = (0..kn)
            .map(|k| row.iter().map(|c| c.forward[k]).sum::<f64>() / row.len() as f64)
            .collect();
        let mut day = vec![vec![0.0; kn]; q];
        let mut members = vec![0usize; q];
        for (c, &l) in row.iter().zip(labels) {
            members[l - 1] += 1;
            for (d, (r, m)) in day[l - 1].iter_mut().zip(c.forward.iter().zip(&means)) {
                *d += r - m;
            }
        }
        for ((s, d), (&count, n)) in sum.iter_mut().zip(&day).zip(members.iter().zip(&mut dates)) {
            if count == 0 {
                continue;
            }
            *n += 1;
            for (s, d) in s.iter_mut().zip(d) {
                *s += d / count as f64;
            }
        }
    }
    sum.into_iter()
        .zip(dates)
        .map(|(s, n)| s.into_iter().map(|x| x / n as f64).collect())
        .collect()
}

/// Share of quantile `quantile`'s assets that were not in it `period` observations earlier
/// (alphalens' `quantile_turnover`), for every date holding the quantile: `(date, turnover)`,
/// NaN for the first `period` of them (nothing to compare with), as alphalens reports them.
pub fn quantile_turnover(
    data: &CleanPanel,
    quantiles: &[Option<Vec<usize>>],
    quantile: usize,
    period: usize,
) -> Vec<(i64, f64)> {
    let sets: Vec<(i64, Vec<usize>)> = data
        .cells
        .iter()
        .zip(quantiles)
        .zip(&data.dates)
        .filter_map(|((row, labels), d)| {
            let labels = labels.as_ref()?;
            let names: Vec<usize> = row
                .iter()
                .zip(labels)
                .filter(|(_, &l)| l == quantile)
                .map(|(c, _)| c.asset)
                .collect();
            (!names.is_empty()).then_some((*d, names))
        })
        .collect();
    (0..sets.len())
        .map(|i| {
            let (d, now) = &sets[i];
            if i < period {
                return (*d, f64::NAN);
            }
            let before = &sets[i - period].1;
            let new = now.iter().filter(|a| !before.contains(a)).count();
            (*d, new as f64 / now.len() as f64)
        })
        .collect()
}

/// Pearson correlation of each date's factor ranks with the ranks `period` kept dates
/// earlier, over the assets ranked on both (alphalens' `factor_rank_autocorrelation`):
/// `(date, autocorrelation)` from the `period + 1`-th date on.
pub fn rank_autocorrelation(data: &CleanPanel, period: usize) -> Vec<(i64, f64)> {
    let cols = data.assets.len();
    let ranks: Vec<Vec<f64>> = data
        .cells
        .iter()
        .map(|row| {
            let r = average_ranks(&row.iter().map(|c| c.factor).collect::<Vec<_>>());
            let mut full = vec![f64::NAN; cols];
            for (c, v) in row.iter().zip(r) {
                full[c.asset] = v;
            }
            full
        })
        .collect();
    (period..ranks.len())
        .map(|i| {
            let (a, b): (Vec<f64>, Vec<f64>) = ranks[i]
                .iter()
                .zip(&ranks[i - period])
                .filter(|(x, y)| !x.is_nan() && !y.is_nan())
                .map(|(x, y)| (*x, *y))
                .unzip();
            (data.dates[i], pearson(&a, &b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ic_summary_of_a_known_series() {
        let s = ic_summary(&[0.1, f64::NAN, 0.3, 0.2]);
        assert_eq!(s.n, 3);
        assert!((s.mean - 0.2).abs() < 1e-15);
        assert!((s.std - 0.1).abs() < 1e-15);
        assert!((s.icir - 2.0).abs() < 1e-12);
        assert!((s.t_stat - 2.0 * 3f64.sqrt()).abs() < 1e-12);
        assert!(ic_summary(&[]).mean.is_nan());
    }
}
