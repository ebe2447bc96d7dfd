//! One factor's whole evaluation, as a user reads it: IC per horizon (the IC decay), quantile
//! returns and the top-minus-bottom spread, turnover, rank autocorrelation, and the IC by
//! regime when labels are given.

use crate::eval::{
    clean, ic_summary, mean_return_by_quantile, quantile_turnover, quantize, rank_autocorrelation,
    rank_ic, IcSummary,
};
use crate::panel::{Panel, PanelError};
use serde::Serialize;

/// The IC of one horizon.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HorizonIc {
    /// Rows (bars) ahead.
    pub period: usize,
    /// Mean, standard deviation, ICIR, t-statistic and count of the per-date rank ICs.
    pub summary: IcSummary,
    /// `(date, rank IC)` per evaluated date.
    pub series: Vec<(i64, f64)>,
}

/// The top-minus-bottom quantile return of one horizon, per date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    /// Rows ahead.
    pub period: usize,
    /// Mean over dates of (mean forward return of the top quantile − of the bottom one), as a
    /// `period`-bar return.
    pub mean: f64,
    /// Its t-statistic (mean / (sd / √n)).
    pub t_stat: f64,
    /// Dates with both quantiles.
    pub n: usize,
}

/// The mean rank IC per horizon on the dates of one regime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimeIc {
    /// The regime's label.
    pub label: String,
    /// Evaluated dates in the regime.
    pub dates: usize,
    /// Mean rank IC per horizon (the report's `periods` order).
    pub mean_ic: Vec<f64>,
}

/// Everything [`evaluate`] measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactorReport {
    /// Horizons, in rows.
    pub periods: Vec<usize>,
    /// Number of quantiles.
    pub quantiles: usize,
    /// Dates with at least one evaluable cell.
    pub dates: usize,
    /// Evaluable (date, asset) cells.
    pub cells: usize,
    /// Cells left out because the factor or a forward return was missing (not yet listed,
    /// delisted, the last `max(periods)` dates, a look-back still filling).
    pub dropped: usize,
    /// Dates left out of the quantile statistics because their quantile edges repeat (too few
    /// distinct values; pandas' `qcut` refuses them).
    pub unquantized_dates: usize,
    /// IC per horizon: its decay with the horizon is the signal's half-life.
    pub ic: Vec<HorizonIc>,
    /// Demeaned mean forward return per quantile (rows 1..=q) and horizon (columns).
    pub quantile_returns: Vec<Vec<f64>>,
    /// Top-minus-bottom spread per horizon.
    pub spread: Vec<Spread>,
    /// Mean share of the top quantile's names that were not in it one date earlier.
    pub top_turnover: f64,
    /// The same for the bottom quantile.
    pub bottom_turnover: f64,
    /// Mean rank autocorrelation of the factor from one date to the next (high = slow signal,
    /// low turnover).
    pub rank_autocorrelation: f64,
    /// IC by regime, when labels were given.
    pub by_regime: Vec<RegimeIc>,
}

pub(crate) fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v
        .filter(|x| x.is_finite())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// Evaluates `factor` (known at each date's close) against forward returns of `prices` (the
/// caller picks the prices and so the timing: next-open prices shifted one row up make every
/// label start at the next open). `regimes`, when given, has one label per date of `factor`
/// (`None` where unknown).
///
/// # Errors
///
/// [`PanelError::NotAligned`] when the panels differ in dates or assets.
pub fn evaluate(
    factor: &Panel,
    prices: &Panel,
    periods: &[usize],
    quantiles: usize,
    regimes: Option<&[Option<String>]>,
) -> Result<FactorReport, PanelError> {
    let data = clean(factor, prices, periods)?;
    let ics = rank_ic(&data);
    let ic: Vec<HorizonIc> = periods
        .iter()
        .enumerate()
        .map(|(k, &period)| {
            let values: Vec<f64> = ics.iter().map(|row| row[k]).collect();
            HorizonIc {
                period,
                summary: ic_summary(&values),
                series: data.dates.iter().copied().zip(values).collect(),
            }
        })
        .collect();
    let q = quantiles.max(2);
    let labels = quantize(&data, q);
    let quantile_returns = mean_return_by_quantile(&data, &labels, q);
    let spread = periods
        .iter()
        .enumerate()
        .map(|(k, &period)| {
            let per_date: Vec<f64> = data
                .cells
                .iter()
                .zip(&labels)
                .filter_map(|(row, l)| {
                    let l = l.as_ref()?;
                    let side = |want: usize| {
                        mean(
                            row.iter()
                                .zip(l)
                                .filter(|(_, &x)| x == want)
                                .map(|(c, _)| c.forward[k]),
                        )
                    };
                    let s = side(q) - side(1);
                    s.is_finite().then_some(s)
                })
                .collect();
            let s = ic_summary(&per_date);
            Spread {
                period,
                mean: s.mean,
                t_stat: s.t_stat,
                n: s.n,
            }
        })
        .collect();
    let top_turnover = mean(
        quantile_turnover(&data, &labels, q, 1)
            .into_iter()
            .map(|x| x.1),
    );
    let bottom_turnover = mean(
        quantile_turnover(&data, &labels, 1, 1)
            .into_iter()
            .map(|x| x.1),
    );
    let rank_autocorrelation = mean(rank_autocorrelation(&data, 1).into_iter().map(|x| x.1));
    let by_regime = regimes.map_or_else(Vec::new, |r| by_regime(factor, &data.dates, &ics, r));
    Ok(FactorReport {
        periods: periods.to_vec(),
        quantiles: q,
        dates: data.dates.len(),
        cells: data.cells.iter().map(Vec::len).sum(),
        dropped: data.dropped,
        unquantized_dates: labels.iter().filter(|l| l.is_none()).count(),
        ic,
        quantile_returns,
        spread,
        top_turnover,
        bottom_turnover,
        rank_autocorrelation,
        by_regime,
    })
}

fn by_regime(
    factor: &Panel,
    dates: &[i64],
    ics: &[Vec<f64>],
    regimes: &[Option<String>],
) -> Vec<RegimeIc> {
    let label_of = |d: i64| {
        factor
            .dates
            .binary_search(&d)
            .ok()
            .and_then(|i| regimes.get(i).cloned().flatten())
    };
    let mut labels: Vec<String> = dates.iter().filter_map(|d| label_of(*d)).collect();
    labels.sort();
    labels.dedup();
    labels
        .into_iter()
        .map(|label| {
            let rows: Vec<&Vec<f64>> = dates
                .iter()
                .zip(ics)
                .filter(|(d, _)| label_of(**d).as_deref() == Some(label.as_str()))
                .map(|(_, r)| r)
                .collect();
            let k = rows.first().map_or(0, |r| r.len());
            RegimeIc {
                dates: rows.len(),
                mean_ic: (0..k).map(|j| mean(rows.iter().map(|r| r[j]))).collect(),
                label,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four assets over 40 dates; the factor predicts the next return on even dates and is
    /// its opposite on odd ones, so splitting by a label that marks even dates separates a
    /// perfect IC from a perfectly wrong one.
    #[test]
    fn ic_by_regime_separates_the_regimes() {
        let (n, k) = (40usize, 4usize);
        let mut prices = vec![0.0; n * k];
        let mut factor = vec![f64::NAN; n * k];
        prices[..k].fill(100.0);
        for t in 1..n {
            for a in 0..k {
                let r = 0.01 * (a as f64 + 1.0) * if t % 3 == 0 { -1.0 } else { 1.0 };
                prices[t * k + a] = prices[(t - 1) * k + a] * (1.0 + r);
            }
        }
        for t in 0..n - 1 {
            for a in 0..k {
                let next = prices[(t + 1) * k + a] / prices[t * k + a] - 1.0;
                factor[t * k + a] = if t % 2 == 0 { next } else { -next };
            }
        }
        let dates: Vec<i64> = (0..n as i64).collect();
        let assets: Vec<String> = (0..k).map(|a| format!("A{a}")).collect();
        let f = Panel::new(dates.clone(), assets.clone(), factor).expect("factor");
        let p = Panel::new(dates, assets, prices).expect("prices");
        let labels: Vec<Option<String>> = (0..n)
            .map(|t| Some(if t % 2 == 0 { "even" } else { "odd" }.to_string()))
            .collect();
        let r = evaluate(&f, &p, &[1], 2, Some(&labels)).expect("report");
        assert_eq!(r.by_regime.len(), 2);
        let even = r
            .by_regime
            .iter()
            .find(|g| g.label == "even")
            .expect("even");
        let odd = r.by_regime.iter().find(|g| g.label == "odd").expect("odd");
        assert!((even.mean_ic[0] - 1.0).abs() < 1e-12, "{even:?}");
        assert!((odd.mean_ic[0] + 1.0).abs() < 1e-12, "{odd:?}");
        assert_eq!(even.dates + odd.dates, r.dates);
        // The overall IC mixes them.
        assert!(r.ic[0].summary.mean.abs() < 0.1);
    }
}
