//! Feature discretisation into histogram bins.
//!
//! Like LightGBM, each feature is bucketed once before training so that split finding scans at
//! most `max_bin` candidate thresholds per feature instead of every distinct value. Bin upper
//! bounds are midpoints between adjacent distinct training values, so a split "bin <= b" is
//! exactly equivalent to the real-valued test `x <= upper[b]` stored in the tree: a model
//! predicts identically from raw features and from bins. NaN always lands in its own extra bin
//! (index `n_real_bins()`), which is what lets the learner try both default directions.

/// Per-feature bin boundaries learnt from training data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BinMapper {
    /// Sorted, strictly increasing upper bounds of real bins `0..n_real-1`; the last real bin is
    /// unbounded above.
    pub upper: Vec<f64>,
}

impl BinMapper {
    /// Learns bin boundaries from one column (NaNs get their own extra bin).
    ///
    /// Mirrors LightGBM's `FindBinWithZeroAsOneBin` + `GreedyFindBin` so that, on the same
    /// data, both libraries consider the same candidate thresholds: negative and positive values
    /// are binned separately around a zero bin `[-1e-35, 1e-35]`, the bin budget is shared in
    /// proportion to their counts, and within each side values whose count alone fills a bin
    /// get their own bin while the rest are cut greedily into equal-count bins (few distinct
    /// values: one bin per value, merged until each holds `min_data_in_bin`). Boundaries are
    /// midpoints nudged one ulp up, as LightGBM does. When NaNs are present one bin of the
    /// budget goes to them, again like LightGBM.
    pub fn fit(column: &[f64], max_bin: usize, min_data_in_bin: usize) -> Self {
        let mut vals: Vec<f64> = column.iter().copied().filter(|v| !v.is_nan()).collect();
        let has_nan = vals.len() < column.len();
        vals.sort_by(f64::total_cmp);
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for v in vals {
            match distinct.last_mut() {
                Some((d, c)) if *d == v => *c += 1,
                _ => distinct.push((v, 1)),
            }
        }
        if distinct.len() <= 1 {
            return Self { upper: Vec::new() };
        }
        let budget = if has_nan {
            max_bin.saturating_sub(1)
        } else {
            max_bin
        }
        .max(2);
        let mut bounds = find_bin_with_zero_as_one_bin(&distinct, budget, min_data_in_bin);
        bounds.retain(|b| b.is_finite());
        // Defensive: keep strictly increasing bounds only (bin lookup relies on it).
        let mut upper: Vec<f64> = Vec::with_capacity(bounds.len());
        for b in bounds {
            if upper.last().is_none_or(|&l| b > l) {
                upper.push(b);
            }
        }
        Self { upper }
    }

    /// Number of real-valued bins (the NaN bin is extra).
    pub fn n_real_bins(&self) -> usize {
        self.upper.len() + 1
    }

    /// Index of the NaN bin.
    pub fn nan_bin(&self) -> usize {
        self.upper.len() + 1
    }

    /// Bin index of a value: number of upper bounds strictly below it, or the NaN bin.
    pub fn bin(&self, v: f64) -> usize {
        if v.is_nan() {
            self.nan_bin()
        } else {
            self.upper.partition_point(|&u| u < v)
        }
    }

    /// Real threshold equivalent to "bin <= b". For the last real bin (all non-missing values
    /// go left, missing go right) any bound above every value works; `f64::MAX` survives JSON.
    pub fn threshold(&self, b: usize) -> f64 {
        self.upper.get(b).copied().unwrap_or(f64::MAX)
    }
}

/// LightGBM's zero bin half-width.
const ZERO_THRESHOLD: f64 = 1e-35;

/// Smallest float strictly greater than `x` (LightGBM's `GetDoubleUpperBound`).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits + 1 } else { bits - 1 })
}

/// Boundary between adjacent values `a < b`: midpoint nudged up, kept below `b` so `a` goes
/// left and `b` goes right under `x <= t`.
fn boundary(a: f64, b: f64) -> f64 {
    let m = next_up((a + b) / 2.0);
    if m < b && m >= a {
        m
    } else {
        a
    }
}

/// LightGBM's `GreedyFindBin` over sorted `(value, count)` pairs. Returns upper bounds, the
/// last being +∞.
fn greedy_find_bin(
    distinct: &[(f64, usize)],
    max_bin: usize,
    total: usize,
    min_data_in_bin: usize,
) -> Vec<f64> {
    let n = distinct.len();
    let mut out = Vec::new();
    if n == 0 {
        return out;
    }
    let push = |out: &mut Vec<f64>, v: f64| {
        if out.last().is_none_or(|&l: &f64| v > l) {
            out.push(v);
        }
    };
    if n <= max_bin {
        let mut cur = 0;
        for i in 0..n - 1 {
            cur += distinct[i].1;
            if cur >= min_data_in_bin {
                let before = out.len();
                push(&mut out, boundary(distinct[i].0, distinct[i + 1].0));
                if out.len() > before {
                    cur = 0;
                }
            }
        }
        out.push(f64::INFINITY);
        return out;
    }
    // Never plan more bins than could each hold min_data_in_bin rows.
    let max_bin = total
        .checked_div(min_data_in_bin)
        .map_or(max_bin, |cap| max_bin.min(cap).max(1));
    let mut mean_bin_size = total as f64 / max_bin as f64;
    let mut rest_bins = max_bin as f64;
    let mut rest_samples = total as f64;
    let is_big: Vec<bool> = distinct
        .iter()
        .map(|&(_, c)| c as f64 >= mean_bin_size)
        .collect();
    for (i, &(_, c)) in distinct.iter().enumerate() {
        if is_big[i] {
            rest_bins -= 1.0;
            rest_samples -= c as f64;
        }
    }
    mean_bin_size = rest_samples / rest_bins;
    let mut uppers = Vec::new();
    let mut lowers = vec![distinct[0].0];
    let mut cur = 0usize;
    for i in 0..n - 1 {
        if !is_big[i] {
            rest_samples -= distinct[i].1 as f64;
        }
        cur += distinct[i].1;
        let half = (mean_bin_size * 0.5).max(1.0);
        if is_big[i] || cur as f64 >= mean_bin_size || (is_big[i + 1] && cur as f64 >= half) {
            uppers.push(distinct[i].0);
            lowers.push(distinct[i + 1].0);
            if uppers.len() + 1 >= max_bin {
                break;
            }
            cur = 0;
            if !is_big[i] {
                rest_bins -= 1.0;
                mean_bin_size = rest_samples / rest_bins;
            }
        }
    }
    for (i, &u) in uppers.iter().enumerate() {
        push(&mut out, boundary(u, lowers[i + 1]));
    }
    out.push(f64::INFINITY);
    out
}

/// LightGBM's `FindBinWithZeroAsOneBin`: bins negatives and positives separately around a
/// dedicated zero bin.
fn find_bin_with_zero_as_one_bin(
    distinct: &[(f64, usize)],
    max_bin: usize,
    min_data_in_bin: usize,
) -> Vec<f64> {
    let total: usize = distinct.iter().map(|d| d.1).sum();
    let left_cnt_data: usize = distinct
        .iter()
        .filter(|d| d.0 < -ZERO_THRESHOLD)
        .map(|d| d.1)
        .sum();
    let cnt_zero: usize = distinct
        .iter()
        .filter(|d| d.0.abs() <= ZERO_THRESHOLD)
        .map(|d| d.1)
        .sum();
    let right_cnt_data = total - left_cnt_data - cnt_zero;
    let left_cnt = distinct
        .iter()
        .position(|d| d.0 > -ZERO_THRESHOLD)
        .unwrap_or(distinct.len());
    let mut bounds = Vec::new();
    if left_cnt > 0 && max_bin > 1 {
        let denom = (total - cnt_zero).max(1) as f64;
        let left_max_bin = ((left_cnt_data as f64 / denom * (max_bin - 1) as f64) as usize).max(1);
        bounds = greedy_find_bin(
            &distinct[..left_cnt],
            left_max_bin,
            left_cnt_data,
            min_data_in_bin,
        );
        if let Some(last) = bounds.last_mut() {
            *last = -ZERO_THRESHOLD;
        }
    }
    let right_start = distinct[left_cnt..]
        .iter()
        .position(|d| d.0 > ZERO_THRESHOLD)
        .map(|p| p + left_cnt);
    let right_max_bin = (max_bin as i64) - 1 - bounds.len() as i64;
    match right_start {
        Some(rs) if right_max_bin > 0 => {
            let right = greedy_find_bin(
                &distinct[rs..],
                right_max_bin as usize,
                right_cnt_data,
                min_data_in_bin,
            );
            bounds.push(ZERO_THRESHOLD);
            bounds.extend(right);
        }
        _ => bounds.push(f64::INFINITY),
    }
    bounds
}

/// All features binned, column-major, with their mappers.
pub(crate) struct BinnedData {
    pub mappers: Vec<BinMapper>,
    /// `bins[f][row]`.
    pub bins: Vec<Vec<u16>>,
}

impl BinnedData {
    /// Bins every column of the dataset (one rayon task per feature; order-preserving collect).
    pub fn new(columns: &[Vec<f64>], max_bin: usize, min_data_in_bin: usize) -> Self {
        use rayon::prelude::*;
        let per_feature: Vec<(BinMapper, Vec<u16>)> = columns
            .par_iter()
            .map(|col| {
                let m = BinMapper::fit(col, max_bin, min_data_in_bin);
                // max_bin <= 65534 (validated) so bin indices incl. NaN fit in u16.
                let b = col.iter().map(|&v| m.bin(v) as u16).collect();
                (m, b)
            })
            .collect();
        let (mappers, bins) = per_feature.into_iter().unzip();
        Self { mappers, bins }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_lightgbm_boundaries() {
        let col: Vec<f64> = [1.0, 2.0, 3.0].iter().flat_map(|&v| vec![v; 5]).collect();
        let m = BinMapper::fit(&col, 255, 3);
        // Zero bin boundary, then midpoints nudged one ulp up (LightGBM's GetDoubleUpperBound).
        assert_eq!(m.upper, vec![1e-35, next_up(1.5), next_up(2.5)]);
        assert_eq!(m.bin(1.0), 1);
        assert_eq!(m.bin(1.5), 1);
        assert_eq!(m.bin(2.0), 2);
        assert_eq!(m.bin(9.0), 3);
        assert_eq!(m.bin(-4.0), 0);
        assert_eq!(m.bin(f64::NAN), 4);
        let signed = BinMapper::fit(&[-2.0, -2.0, -2.0, 0.0, 0.0, 0.0, 5.0, 5.0, 5.0], 255, 3);
        assert_eq!(signed.upper, vec![-1e-35, 1e-35]);
    }

    #[test]
    fn many_values_respect_max_bin_and_bin_threshold_equivalence() {
        let col: Vec<f64> = (0..10_000)
            .map(|i| ((i * 7919) % 10_007) as f64 / 3.0)
            .collect();
        let m = BinMapper::fit(&col, 16, 3);
        assert!(
            m.n_real_bins() <= 16 && m.n_real_bins() >= 8,
            "{}",
            m.n_real_bins()
        );
        for &v in col.iter().take(500) {
            for b in 0..m.n_real_bins() {
                assert_eq!(m.bin(v) <= b, v <= m.threshold(b));
            }
        }
    }

    #[test]
    fn constant_and_all_nan_columns_have_one_bin() {
        assert_eq!(BinMapper::fit(&[2.0; 10], 255, 3).n_real_bins(), 1);
        assert_eq!(BinMapper::fit(&[f64::NAN; 10], 255, 3).n_real_bins(), 1);
    }
}
