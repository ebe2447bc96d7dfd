//! The cross-section the checks compare a bar with: the market's median move at its timestamp.

use rustc_hash::FxHashMap;
use sextant_domain::Resolution;

/// Cross-sectional median return per (resolution, timestamp), from three symbols up.
/// Also the median high-low range, so a day when every symbol swung (a flash crash) does not
/// make one symbol's wide range an outlier. Built from a flat list sorted once (not a map of
/// vectors): a million intraday bars would otherwise mean a hundred thousand small allocations.
#[derive(Debug, Default)]
pub struct CrossSection {
    raw: Vec<(Resolution, i64, f64, f64)>,
    /// FxHash: looked up twice per judged bar, with keys that are our own timestamps.
    median: FxHashMap<(Resolution, i64), (f64, f64)>,
}

impl CrossSection {
    /// Records one symbol's bar at `ts`: `r` its log return on the adjusted basis (see
    /// [`basis_return`]) and `range` its log high-low range, `ln(high / low)`. Call
    /// [`CrossSection::finish`] after the last `add`.
    pub fn add(&mut self, res: Resolution, ts: i64, r: f64, range: f64) {
        self.raw.push((res, ts, r, range));
    }

    /// Records many bars of one resolution at once (see [`CrossSection::add`]).
    pub fn extend(&mut self, res: Resolution, bars: impl IntoIterator<Item = (i64, f64, f64)>) {
        self.raw
            .extend(bars.into_iter().map(|(ts, r, range)| (res, ts, r, range)));
    }

    /// Computes the medians per (resolution, timestamp) and frees the raw list. Timestamps with
    /// fewer than three symbols get no entry: there the market's move counts as unknown.
    /// On all cores: the medians do not depend on the order within a timestamp.
    pub fn finish(&mut self) {
        use rayon::prelude::*;
        // Stable: the rows arrive as one time-ordered run per series, which the (parallel)
        // merge sort merges instead of partitioning from scratch.
        self.raw.par_sort_by_key(|a| (a.0, a.1));
        let medians: Vec<((Resolution, i64), (f64, f64))> = self
            .raw
            .par_chunk_by(|a, b| a.0 == b.0 && a.1 == b.1)
            .filter(|group| group.len() >= 3)
            .map(|group| {
                let mut r: Vec<f64> = group.iter().map(|g| g.2).collect();
                let mut hl: Vec<f64> = group
                    .iter()
                    .map(|g| g.3)
                    .filter(|x| x.is_finite())
                    .collect();
                let range = if hl.len() >= 3 {
                    median(&mut hl)
                } else {
                    f64::NAN
                };
                ((group[0].0, group[0].1), (median(&mut r), range))
            })
            .collect();
        self.median.reserve(medians.len());
        self.median.extend(medians);
        self.raw = Vec::new();
    }

    pub(crate) fn get(&self, res: Resolution, ts: i64) -> f64 {
        self.median.get(&(res, ts)).map_or(0.0, |m| m.0)
    }

    /// True when at least three symbols traded at `ts`: only then can a move be judged against
    /// the market's.
    pub(crate) fn has(&self, res: Resolution, ts: i64) -> bool {
        self.median.contains_key(&(res, ts))
    }

    /// The median high-low log range at `ts` (NaN when fewer than three symbols traded).
    pub(crate) fn range(&self, res: Resolution, ts: i64) -> f64 {
        self.median.get(&(res, ts)).map_or(f64::NAN, |m| m.1)
    }
}

/// Median of a slice (reordered in place, linear time); NaN for an empty slice.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (lo, mid, _) = v.select_nth_unstable_by(n / 2, |a, b| a.total_cmp(b));
    let upper = *mid;
    if n % 2 == 1 {
        upper
    } else {
        let lower = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}
