//! Cross-sectional percentile ranks: the rows of every symbol bucketed by timestamp once,
//! then each bucket ranked on its own (in parallel).

use rayon::prelude::*;

/// Rows grouped by timestamp: `order[starts[g]..starts[g + 1]]` are the rows of the `g`-th
/// distinct timestamp.
pub(crate) struct TsGroups {
    order: Vec<u32>,
    starts: Vec<usize>,
}

impl TsGroups {
    /// Groups rows whose timestamps are `ts`, in (symbol, ts) order with each symbol's rows at
    /// `symbols[s]..symbols[s + 1]`, sorted within a symbol.
    pub(crate) fn new(ts: &[i64], symbols: &[usize]) -> TsGroups {
        let distinct = distinct_of(ts, symbols);
        let group: Vec<u32> = symbols
            .par_windows(2)
            .flat_map_iter(|w| {
                let mut pos = 0usize;
                let distinct = &distinct;
                ts[w[0]..w[1]].iter().map(move |&t| {
                    pos = gallop(distinct, pos, t);
                    pos as u32
                })
            })
            .collect();
        let mut starts = vec![0usize; distinct.len() + 1];
        for &g in &group {
            starts[g as usize + 1] += 1;
        }
        for g in 0..distinct.len() {
            starts[g + 1] += starts[g];
        }
        let mut fill = starts.clone();
        let mut order = vec![0u32; ts.len()];
        for (row, &g) in group.iter().enumerate() {
            order[fill[g as usize]] = row as u32;
            fill[g as usize] += 1;
        }
        TsGroups { order, starts }
    }
}

/// The distinct timestamps of every symbol: the union of their sorted runs, merged pairwise in
/// halves (O(n log symbols), on all cores) instead of copying and sorting every row's
/// timestamp.
fn distinct_of(ts: &[i64], symbols: &[usize]) -> Vec<i64> {
    match symbols.len() {
        0 | 1 => Vec::new(),
        2 => union(&ts[symbols[0]..symbols[1]], &[]),
        n => {
            let mid = n / 2;
            let (a, b) = rayon::join(
                || distinct_of(ts, &symbols[..=mid]),
                || distinct_of(ts, &symbols[mid..]),
            );
            union(&a, &b)
        }
    }
}

/// The sorted, duplicate-free union of two sorted slices (duplicates within either are
/// dropped too).
fn union(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    let mut push = |v: i64| {
        if out.last() != Some(&v) {
            out.push(v);
        }
    };
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            push(a[i]);
            i += 1;
        } else {
            push(b[j]);
            j += 1;
        }
    }
    a[i..].iter().chain(&b[j..]).for_each(|&v| push(v));
    out
}

/// The first index at or after `pos` whose value in the sorted `distinct` is not below `t`
/// (what `partition_point` over `distinct[pos..]` finds), searching outward from `pos`: a
/// symbol's next timestamp is nearly always one of the next few distinct ones, so this costs a
/// step or two instead of a binary search over the rest of the list.
fn gallop(distinct: &[i64], pos: usize, t: i64) -> usize {
    if distinct.get(pos).is_none_or(|&d| d >= t) {
        return pos;
    }
    // Invariant: distinct[lo] < t.
    let (mut lo, mut step) = (pos, 1);
    loop {
        let hi = lo + step;
        if hi >= distinct.len() || distinct[hi] >= t {
            let end = hi.min(distinct.len());
            return lo + 1 + distinct[lo + 1..end].partition_point(|&d| d < t);
        }
        lo = hi;
        step *= 2;
    }
}

/// DuckDB's `percent_rank()` of `values` among the rows with a value (not NaN) at the same
/// timestamp, into `out` (every row written): (lowest rank of equal values − 1) / (rows − 1),
/// 0 for a lone row, NaN where the row has no value. `ranked` is a scratch buffer, reused
/// across calls.
pub(crate) fn cross_sectional_ranks_into(
    groups: &TsGroups,
    values: &[f64],
    ranked: &mut Vec<f64>,
    out: &mut [f64],
) {
    ranked.clear();
    ranked.resize(values.len(), f64::NAN);
    let mut slices: Vec<(&[u32], &mut [f64])> = Vec::with_capacity(groups.starts.len());
    let mut rest: &mut [f64] = ranked;
    for w in groups.starts.windows(2) {
        let (head, tail) = rest.split_at_mut(w[1] - w[0]);
        slices.push((&groups.order[w[0]..w[1]], head));
        rest = tail;
    }
    // Buckets are small (one row per symbol): a buffer per worker, not one per bucket.
    slices.into_par_iter().for_each_init(
        Vec::new,
        |present: &mut Vec<(f64, usize)>, (rows, out)| {
            present.clear();
            present.extend(rows.iter().enumerate().filter_map(|(k, &r)| {
                let v = values[r as usize];
                (!v.is_nan()).then_some((v, k))
            }));
            present.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let n = present.len();
            let mut rank = 0usize;
            for i in 0..n {
                // Equal values share the lowest rank (-0.0 equals 0.0, as in SQL).
                if i == 0 || present[i].0 != present[i - 1].0 {
                    rank = i;
                }
                out[present[i].1] = if n == 1 {
                    0.0
                } else {
                    rank as f64 / (n - 1) as f64
                };
            }
        },
    );
    // `ranked` is in bucket order; scatter it back to row order (every row is in one bucket).
    // Writes land at random rows, which the store buffer absorbs; the inverse (reading
    // `ranked` at random positions while writing `out` in order) stalls on every read.
    for (k, &r) in groups.order.iter().enumerate() {
        out[r as usize] = ranked[k];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallop_finds_what_partition_point_finds() {
        let distinct: Vec<i64> = (0..300).map(|i| i * 10 + (i % 7)).collect();
        for pos in [0, 1, 5, 100, 298, 299, 300] {
            for t in -2..3010 {
                let want = pos + distinct[pos.min(distinct.len())..].partition_point(|&d| d < t);
                assert_eq!(gallop(&distinct, pos, t), want, "pos {pos}, t {t}");
            }
        }
    }

    #[test]
    fn union_is_the_sorted_distinct_values_of_both() {
        let cases: [(&[i64], &[i64]); 5] = [
            (&[], &[]),
            (&[1, 3, 5], &[]),
            (&[], &[2, 2, 4]),
            (&[1, 3, 5, 7], &[0, 3, 4, 7, 9]),
            (&[-5, -5, 0, 8], &[8, 8, 10]),
        ];
        for (a, b) in cases {
            let mut want: Vec<i64> = a.iter().chain(b).copied().collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(union(a, b), want, "{a:?} ∪ {b:?}");
            assert_eq!(union(b, a), want, "{b:?} ∪ {a:?}");
        }
    }

    #[test]
    fn distinct_timestamps_of_many_symbols() {
        // Symbols over overlapping and disjoint periods, one of them empty.
        let runs: Vec<Vec<i64>> = (0..37)
            .map(|s| (0..(s * 7) % 50).map(|i| i * 3 + (s % 5) * 40).collect())
            .collect();
        let mut ts = Vec::new();
        let mut symbols = vec![0];
        for r in &runs {
            ts.extend_from_slice(r);
            symbols.push(ts.len());
        }
        let mut want = ts.clone();
        want.sort_unstable();
        want.dedup();
        assert_eq!(distinct_of(&ts, &symbols), want);
        assert_eq!(distinct_of(&ts[..0], &[0]), Vec::<i64>::new());
    }

    #[test]
    fn ranks_per_timestamp_with_ties_and_missing_values() {
        // Symbol A at t = 1, 2, 3; symbol B at t = 2, 3; symbol C at t = 3.
        let ts = [1, 2, 3, 2, 3, 3];
        let symbols = [0, 3, 5, 6];
        let v = [5.0, 1.0, 2.0, 1.0, f64::NAN, 7.0];
        let g = TsGroups::new(&ts, &symbols);
        let mut r = vec![0.0; v.len()];
        cross_sectional_ranks_into(&g, &v, &mut Vec::new(), &mut r);
        assert_eq!(r[0], 0.0, "alone at t = 1");
        assert_eq!((r[1], r[3]), (0.0, 0.0), "a tie shares the lowest rank");
        assert!(r[4].is_nan(), "no value, no rank");
        assert_eq!((r[2], r[5]), (0.0, 1.0), "ranked among the two with values");
    }
}
