//! The cross-section the checks compare a bar with: the market's median move at its timestamp.

use rayon::prelude::*;
use sextant_domain::Resolution;

/// Cross-sectional median return per (resolution, timestamp), from three symbols up.
/// Also the median high-low range, so a day when every symbol swung (a flash crash) does not
/// make one symbol's wide range an outlier.
///
/// Stored per resolution as the sorted timestamps with their medians beside them: built by a
/// counting sort over the timestamps (no comparison sort of the bars, no map of vectors) and read
/// in time order by a [`Cursor`] that steps along as a series does, rather than by a hash lookup
/// per bar.
#[derive(Debug, Default)]
pub struct CrossSection {
    tables: Vec<(Resolution, Table)>,
}

#[derive(Debug, Default)]
struct Table {
    /// Every timestamp any bar of the resolution had, ascending.
    times: Vec<i64>,
    /// At each: the median return and the median range, or `None` below three symbols.
    median: Vec<Option<(f64, f64)>>,
}

/// One bar's move: its timestamp, its log return on the adjusted basis (see
/// [`basis_return`](crate::basis_return)) and its log high-low range, `ln(high / low)`.
pub type Move = (i64, f64, f64);

impl CrossSection {
    /// Adds a resolution's cross-section: `runs` are the moves of the series being judged (one
    /// run per series, each in time order), `extra` those of reference symbols in any order.
    /// Timestamps with fewer than three moves get no median: there the market's move counts as
    /// unknown. The medians do not depend on the order of the moves, so this runs on all cores.
    /// A resolution added twice keeps the first table.
    pub fn insert(&mut self, res: Resolution, runs: &[Vec<Move>], extra: Vec<Move>) {
        if self.table(res).is_some() {
            return;
        }
        // Every run in time order (a series' moves already are; any other is sorted here), the
        // reference moves too. The order within a timestamp does not matter.
        let mut fixed: Vec<Vec<Move>> = runs
            .iter()
            .filter(|r| !r.is_sorted_by_key(|m| m.0))
            .cloned()
            .chain(std::iter::once(extra))
            .collect();
        for r in &mut fixed {
            r.par_sort_unstable_by_key(|m| m.0);
        }
        let runs: Vec<&[Move]> = runs
            .iter()
            .filter(|r| r.is_sorted_by_key(|m| m.0))
            .chain(&fixed)
            .map(|r| &r[..])
            .collect();
        let times = union(&runs);
        // The position in `times` of every move, by a merge walk of each run.
        let slots: Vec<Vec<u32>> = runs
            .par_iter()
            .map(|run| {
                let mut at = 0usize;
                run.iter()
                    .map(|m| {
                        at = seek(&times, at, m.0);
                        at as u32
                    })
                    .collect()
            })
            .collect();
        // A counting sort of the moves by timestamp, on all cores: each task owns a range of
        // timestamps and takes its part of every run (runs are sorted, so that part is a slice).
        let t = times.len();
        let tasks = (t / 8192).clamp(1, 256);
        let bounds: Vec<usize> = (0..=tasks).map(|c| c * t / tasks).collect();
        let part = |c: usize, s: &[u32]| {
            let (a, b) = (bounds[c] as u32, bounds[c + 1] as u32);
            s.partition_point(|&k| k < a)..s.partition_point(|&k| k < b)
        };
        let mut count = vec![0u32; t];
        split_at_bounds(&mut count, &bounds)
            .into_par_iter()
            .enumerate()
            .for_each(|(c, piece)| {
                for s in &slots {
                    for &k in &s[part(c, s)] {
                        piece[k as usize - bounds[c]] += 1;
                    }
                }
            });
        let mut start = Vec::with_capacity(t + 1);
        start.push(0usize);
        for (k, &n) in count.iter().enumerate() {
            start.push(start[k] + n as usize);
        }
        let mut grouped = vec![(0.0, 0.0); start[t]];
        let group_bounds: Vec<usize> = bounds.iter().map(|&k| start[k]).collect();
        split_at_bounds(&mut grouped, &group_bounds)
            .into_par_iter()
            .enumerate()
            .for_each(|(c, piece)| {
                let (a, b) = (bounds[c], bounds[c + 1]);
                let mut fill: Vec<usize> = start[a..b].iter().map(|&x| x - start[a]).collect();
                for (run, s) in runs.iter().zip(&slots) {
                    let range = part(c, s);
                    for (m, &k) in run[range.clone()].iter().zip(&s[range]) {
                        let at = &mut fill[k as usize - a];
                        piece[*at] = (m.1, m.2);
                        *at += 1;
                    }
                }
            });
        let median = (0..t)
            .into_par_iter()
            .map_init(
                || (Vec::new(), Vec::new()),
                |(r, hl), k| {
                    let group = &grouped[start[k]..start[k + 1]];
                    if group.len() < 3 {
                        return None;
                    }
                    r.clear();
                    r.extend(group.iter().map(|g| g.0));
                    hl.clear();
                    hl.extend(group.iter().map(|g| g.1).filter(|x: &f64| x.is_finite()));
                    let range = if hl.len() >= 3 { median(hl) } else { f64::NAN };
                    Some((median(r), range))
                },
            )
            .collect();
        self.tables.push((res, Table { times, median }));
    }

    fn table(&self, res: Resolution) -> Option<&Table> {
        self.tables.iter().find(|(r, _)| *r == res).map(|(_, t)| t)
    }

    /// True when at least three symbols traded at `ts`: only then can a move be judged against
    /// the market's.
    pub(crate) fn has(&self, res: Resolution, ts: i64) -> bool {
        self.cursor(res).at(ts).is_some()
    }

    /// A reader of one resolution's medians for timestamps that mostly ascend.
    pub(crate) fn cursor(&self, res: Resolution) -> Cursor<'_> {
        let (times, median) = match self.table(res) {
            Some(t) => (&t.times[..], &t.median[..]),
            None => (&[][..], &[][..]),
        };
        Cursor {
            times,
            median,
            pos: 0,
        }
    }
}

/// Reads a cross-section at timestamps in ascending order in amortised constant time (a step
/// or a few per bar); a timestamp behind the last one read is found by binary search.
pub(crate) struct Cursor<'a> {
    times: &'a [i64],
    median: &'a [Option<(f64, f64)>],
    pos: usize,
}

impl Cursor<'_> {
    fn at(&mut self, ts: i64) -> Option<(f64, f64)> {
        self.pos = seek(self.times, self.pos, ts);
        match self.times.get(self.pos) {
            Some(&t) if t == ts => self.median[self.pos],
            _ => None,
        }
    }

    /// The median return at `ts`, 0 when fewer than three symbols traded.
    pub(crate) fn get(&mut self, ts: i64) -> f64 {
        self.at(ts).map_or(0.0, |m| m.0)
    }

    /// The median high-low log range at `ts` (NaN when fewer than three symbols traded).
    pub(crate) fn range(&mut self, ts: i64) -> f64 {
        self.at(ts).map_or(f64::NAN, |m| m.1)
    }
}

/// The distinct timestamps of sorted runs, ascending: merged in pairs, on all cores.
fn union(runs: &[&[Move]]) -> Vec<i64> {
    match runs {
        [] => Vec::new(),
        [one] => {
            let mut v: Vec<i64> = one.iter().map(|m| m.0).collect();
            v.dedup();
            v
        }
        _ => {
            let (a, b) = runs.split_at(runs.len() / 2);
            let (a, b) = rayon::join(|| union(a), || union(b));
            let mut out = Vec::with_capacity(a.len().max(b.len()));
            let (mut i, mut j) = (0, 0);
            while i < a.len() && j < b.len() {
                let (x, y) = (a[i], b[j]);
                out.push(x.min(y));
                i += usize::from(x <= y);
                j += usize::from(y <= x);
            }
            out.extend_from_slice(&a[i..]);
            out.extend_from_slice(&b[j..]);
            out
        }
    }
}

/// `v` cut at the ascending positions `bounds` (first 0, last `v.len()`) into the slices between.
fn split_at_bounds<'a, T>(mut v: &'a mut [T], bounds: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(bounds.len().saturating_sub(1));
    for w in bounds.windows(2) {
        let (head, tail) = std::mem::take(&mut v).split_at_mut(w[1] - w[0]);
        out.push(head);
        v = tail;
    }
    out
}

/// The first position of `times` (ascending) not before `ts`, looked for from `from` onwards when
/// `ts` is not behind it: a few steps forward, then a binary search of the rest; from the start
/// otherwise.
fn seek(times: &[i64], from: usize, ts: i64) -> usize {
    if from > 0 && times.get(from - 1).is_none_or(|&t| t >= ts) {
        return times.partition_point(|&t| t < ts);
    }
    let mut at = from;
    for _ in 0..8 {
        match times.get(at) {
            Some(&t) if t < ts => at += 1,
            _ => return at,
        }
    }
    at + times
        .get(at..)
        .map_or(0, |rest| rest.partition_point(|&t| t < ts))
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

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_numeric::SplitMix;
    use std::collections::BTreeMap;

    /// The medians computed the plain way: a map from timestamp to its moves.
    fn naive(moves: &[Move]) -> BTreeMap<i64, (f64, f64)> {
        let mut by_ts: BTreeMap<i64, Vec<(f64, f64)>> = BTreeMap::new();
        for m in moves {
            by_ts.entry(m.0).or_default().push((m.1, m.2));
        }
        by_ts
            .into_iter()
            .filter(|(_, g)| g.len() >= 3)
            .map(|(ts, g)| {
                let mut r: Vec<f64> = g.iter().map(|x| x.0).collect();
                let mut hl: Vec<f64> = g.iter().map(|x| x.1).filter(|x| x.is_finite()).collect();
                let range = if hl.len() >= 3 {
                    median(&mut hl)
                } else {
                    f64::NAN
                };
                (ts, (median(&mut r), range))
            })
            .collect()
    }

    #[test]
    fn medians_match_a_map_of_timestamps() {
        let mut rng = SplitMix::new(9);
        // Twelve series on overlapping, gappy grids (one of them out of order), and reference
        // moves in no order, with some ranges missing; 25k timestamps make three sort tasks.
        let mut runs: Vec<Vec<Move>> = (0..12)
            .map(|s| {
                let mut run = Vec::new();
                for t in 0..25_000 {
                    if rng.below(10) < 2 {
                        continue;
                    }
                    let hl = if rng.below(20) == 0 {
                        f64::NAN
                    } else {
                        rng.next_f64()
                    };
                    run.push((60 * (t + 3 * (s % 5)) as i64, rng.next_f64() - 0.5, hl));
                }
                run
            })
            .collect();
        runs[7].reverse();
        let extra: Vec<Move> = (0..20_000)
            .map(|_| {
                (
                    60 * rng.below(25_500) as i64,
                    rng.next_f64() - 0.5,
                    rng.next_f64(),
                )
            })
            .collect();
        let mut cross = CrossSection::default();
        cross.insert(Resolution::Min1, &runs, extra.clone());
        let all: Vec<Move> = runs.iter().flatten().chain(&extra).copied().collect();
        let want = naive(&all);
        assert!(
            want.len() > 20_000,
            "most timestamps have three moves: {}",
            want.len()
        );
        let mut cur = cross.cursor(Resolution::Min1);
        let mut missing = 0;
        for t in 0..26_000i64 {
            let ts = 60 * t - 30 * (t % 2); // every other probe falls between the grid points
            match want.get(&ts) {
                Some(&(r, hl)) => {
                    assert_eq!(cur.get(ts).to_bits(), r.to_bits(), "median at {ts}");
                    assert_eq!(cur.range(ts).to_bits(), hl.to_bits(), "range at {ts}");
                    assert!(cross.has(Resolution::Min1, ts));
                }
                None => {
                    missing += 1;
                    assert_eq!(cur.get(ts), 0.0);
                    assert!(cur.range(ts).is_nan());
                    assert!(!cross.has(Resolution::Min1, ts));
                }
            }
        }
        assert!(missing > 10_000);
        // A cursor read backwards, and another resolution, read nothing wrong.
        let (&last, &(r, _)) = want.iter().next_back().expect("a median");
        let (&first, &(r0, _)) = want.iter().next().expect("a median");
        assert_eq!(cur.get(last), r);
        assert_eq!(cur.get(first), r0);
        assert_eq!(cross.cursor(Resolution::Daily).get(first), 0.0);
        // A resolution inserted again keeps its first table.
        cross.insert(Resolution::Min1, &[], Vec::new());
        assert_eq!(cross.cursor(Resolution::Min1).get(first), r0);
    }
}
