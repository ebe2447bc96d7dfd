//! Leakage-proof cross-validation splitters for time-ordered samples.
//!
//! Follows López de Prado, *Advances in Financial Machine Learning*, ch. 7 (see
//! `shared/reference/leakage.md`): samples are rows in time order and sample `i`'s label is
//! computed from bars `[i, label_end[i]]`. A training sample whose label window overlaps the
//! test fold's label window leaks test outcomes into training (**purging** removes it), and
//! samples right after the test fold are serially correlated with it (**embargo** removes them
//! too). Folds are contiguous and never shuffled.

use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// One train/test split as row indices (each sorted ascending, disjoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

/// Expanding-window walk-forward splits over `n` time-ordered samples.
///
/// The last `n_splits × test_size` samples are cut into `n_splits` consecutive test blocks.
/// For a test block starting at `s`, training is `[0, s − gap)`: strictly before the test, with
/// `gap` samples dropped. `gap` must be at least the label horizon (bars a label looks ahead)
/// plus the desired embargo — like scikit-learn's `TimeSeriesSplit(gap=…)` — otherwise the last
/// training labels overlap the test period. Errors if the first fold would have fewer than
/// `min_train` (≥ 1) training samples.
pub fn walk_forward(
    n: usize,
    n_splits: usize,
    min_train: usize,
    test_size: usize,
    gap: usize,
) -> Result<Vec<Split>, MlError> {
    if n_splits == 0 || test_size == 0 {
        return Err(MlError::InvalidParam(
            "n_splits and test_size must be >= 1".into(),
        ));
    }
    let needed = n_splits
        .checked_mul(test_size)
        .and_then(|t| t.checked_add(gap))
        .and_then(|t| t.checked_add(min_train.max(1)))
        .ok_or_else(|| MlError::InvalidParam("walk_forward sizes overflow".into()))?;
    if needed > n {
        return Err(MlError::InvalidParam(format!(
            "walk_forward needs {needed} samples (min_train + gap + n_splits*test_size), have {n}"
        )));
    }
    let first_test = n - n_splits * test_size;
    Ok((0..n_splits)
        .map(|k| {
            let s = first_test + k * test_size;
            Split {
                train: (0..s - gap).collect(),
                test: (s..s + test_size).collect(),
            }
        })
        .collect())
}

/// Purged k-fold with embargo (López de Prado's `PurgedKFold`).
///
/// `label_end[i] >= i` is the index of the last bar sample `i`'s label depends on. The samples
/// are cut into `k` contiguous folds (sizes differ by at most one, larger folds first, like
/// scikit-learn's `KFold`). For a test fold `[a, b)` with label span `[a, e]`,
/// `e = max(label_end[a..b])`, a sample `i` outside the fold is dropped from training if
///
/// * its label span `[i, label_end[i]]` intersects `[a, e]` (purging), or
/// * it lies in the embargo window `[b, max(b, e + 1) + embargo)`: the `embargo` samples after
///   the fold's label span (samples between `b` and `e` are already purged), since features
///   right after the test period are serially correlated with it.
///
/// Training before the fold is kept when its labels resolve before `a`, so folds in the middle
/// train on both sides, as in the book.
pub fn purged_kfold(label_end: &[usize], k: usize, embargo: usize) -> Result<Vec<Split>, MlError> {
    let n = label_end.len();
    if n == 0 {
        return Err(MlError::Empty("purged_kfold: no samples".into()));
    }
    if k < 2 || k > n {
        return Err(MlError::InvalidParam(format!(
            "purged_kfold: k must be in 2..={n}, got {k}"
        )));
    }
    if let Some(i) = (0..n).find(|&i| label_end[i] < i) {
        return Err(MlError::InvalidParam(format!(
            "label_end[{i}] = {} precedes the sample itself",
            label_end[i]
        )));
    }
    let (base, extra) = (n / k, n % k);
    let mut splits = Vec::with_capacity(k);
    let mut a = 0;
    for fold in 0..k {
        let b = a + base + usize::from(fold < extra);
        let e = label_end[a..b].iter().copied().max().unwrap_or(a);
        let embargo_end = (e.saturating_add(1)).max(b).saturating_add(embargo);
        let train = (0..n)
            .filter(|&i| {
                let in_test = (a..b).contains(&i);
                let overlaps = i <= e && label_end[i] >= a;
                let embargoed = i >= b && i < embargo_end;
                !in_test && !overlaps && !embargoed
            })
            .collect();
        splits.push(Split {
            train,
            test: (a..b).collect(),
        });
        a = b;
    }
    Ok(splits)
}
