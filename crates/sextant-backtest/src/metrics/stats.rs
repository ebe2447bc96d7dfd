//! Small numeric helpers, written to reproduce numpy/bottleneck/pandas results.

/// The non-NaN values of `x` (infinities are kept, as numpy keeps them).
pub(crate) fn non_nan(x: &[f64]) -> Vec<f64> {
    x.iter().copied().filter(|v| !v.is_nan()).collect()
}

/// Mean of the non-NaN values (bottleneck's `nanmean`, pandas' `mean`); NaN if there are none.
pub(crate) fn nanmean(x: &[f64]) -> f64 {
    let (sum, count) = x
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, c), &v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// Two-pass standard deviation of the non-NaN values with `ddof` (bottleneck's `nanstd`,
/// pandas' `std`); NaN when fewer than `ddof + 1` values.
pub(crate) fn nanstd(x: &[f64], ddof: usize) -> f64 {
    let values = non_nan(x);
    if values.len() <= ddof {
        return f64::NAN;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let ss: f64 = values.iter().map(|&v| (v - mean) * (v - mean)).sum();
    (ss / (values.len() - ddof) as f64).sqrt()
}

/// True when all non-NaN values are equal (and there is at least one).
pub(crate) fn is_constant(x: &[f64]) -> bool {
    let mut values = x.iter().filter(|v| !v.is_nan());
    match values.next() {
        Some(&first) => values.all(|&v| v == first),
        None => false,
    }
}

/// numpy's `percentile(x, q)` with the default linear interpolation, on NaN-free data; NaN for
/// empty data. `q` in percent.
pub(crate) fn percentile_linear(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let quantile = q / 100.0;
    let virtual_index = (sorted.len() - 1) as f64 * quantile;
    let lower = virtual_index.floor();
    let gamma = virtual_index - lower;
    let lo = lower as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's `_lerp`: interpolate from the nearer end, so that t = 1 gives b exactly.
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}
