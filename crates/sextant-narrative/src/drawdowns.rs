//! Drawdown episodes of an equity curve, with dates a narrative can quote.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sextant_domain::EquityPoint;

/// One stretch under water: from the peak it fell from to the first bar back at that peak.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrawdownPeriod {
    /// Date of the peak the curve fell from.
    pub start: NaiveDate,
    /// Date of the lowest equity of the episode.
    pub trough: NaiveDate,
    /// First date equity reached the peak again; `None` if it had not recovered by the end.
    pub end: Option<NaiveDate>,
    /// trough / peak − 1 (≤ 0).
    pub depth: f64,
    /// Bars from the peak to the recovery (or to the last bar).
    pub bars: usize,
}

/// The `n` deepest drawdown episodes of `curve`, deepest first. Episodes are disjoint by
/// construction (one per excursion below a running peak), so the list never names the same
/// decline twice, unlike the "n lowest points of the drawdown series".
pub fn worst_drawdowns(curve: &[EquityPoint], n: usize) -> Vec<DrawdownPeriod> {
    let mut episodes = Vec::new();
    let mut peak_i = 0usize;
    let mut trough_i: Option<usize> = None;
    for (i, p) in curve.iter().enumerate() {
        if !p.equity.is_finite() {
            continue;
        }
        let peak = curve[peak_i].equity;
        if p.equity >= peak {
            if let Some(t) = trough_i.take() {
                episodes.push(episode(curve, peak_i, t, Some(i)));
            }
            peak_i = i;
        } else if trough_i.is_none_or(|t| p.equity < curve[t].equity) {
            trough_i = Some(i);
        }
    }
    if let Some(t) = trough_i {
        episodes.push(episode(curve, peak_i, t, None));
    }
    episodes.sort_by(|a, b| a.depth.total_cmp(&b.depth));
    episodes.truncate(n);
    episodes
}

fn episode(
    curve: &[EquityPoint],
    peak: usize,
    trough: usize,
    end: Option<usize>,
) -> DrawdownPeriod {
    let last = end.unwrap_or(curve.len() - 1);
    DrawdownPeriod {
        start: curve[peak].ts.date(),
        trough: curve[trough].ts.date(),
        end: end.map(|e| curve[e].ts.date()),
        depth: curve[trough].equity / curve[peak].equity - 1.0,
        bars: last - peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(values: &[f64]) -> Vec<EquityPoint> {
        let d0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default();
        values
            .iter()
            .enumerate()
            .map(|(i, &equity)| EquityPoint {
                ts: (d0 + chrono::Days::new(i as u64))
                    .and_hms_opt(0, 0, 0)
                    .unwrap_or_default(),
                equity,
                cash: 0.0,
            })
            .collect()
    }

    #[test]
    fn episodes_are_ranked_and_dated() {
        let c = curve(&[100.0, 90.0, 95.0, 101.0, 80.0, 85.0]);
        let dd = worst_drawdowns(&c, 3);
        assert_eq!(dd.len(), 2);
        assert!((dd[0].depth - (80.0 / 101.0 - 1.0)).abs() < 1e-12);
        assert_eq!(dd[0].end, None, "not recovered");
        assert_eq!(dd[1].start, c[0].ts.date());
        assert_eq!(dd[1].trough, c[1].ts.date());
        assert_eq!(dd[1].end, Some(c[3].ts.date()));
        assert_eq!(dd[1].bars, 3);
    }
}
