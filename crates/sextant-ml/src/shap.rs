//! Exact TreeSHAP (Lundberg et al. 2018, Algorithm 2, "tree path dependent").
//!
//! Port of the path EXTEND/UNWIND recursion used by the `shap` package's `tree_shap`: each
//! root-to-leaf path tracks, per distinct feature on it, the fraction of "feature absent" mass
//! (`zero_fraction`, the cover ratio) and "feature present" mass (`one_fraction`, 1 if the row
//! follows that branch), plus the Shapley permutation weights. This gives exact Shapley values
//! of the cover-weighted conditional expectation in O(leaves × depth²) per tree, instead of
//! enumerating 2^features subsets. Covers are training row counts (LightGBM's convention).
//!
//! Values are in raw (log-odds) space, so they add up: Σ values + expected_value = predict_raw.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::dataset::Dataset;
use crate::gbt::{GbtModel, Tree};

/// SHAP explanation of one prediction in log-odds space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shap {
    /// One contribution per model feature, in the model's feature order.
    pub values: Vec<f64>,
    /// The model's expected raw output under the training covers.
    pub expected_value: f64,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PathElem {
    feature: i32,
    zero_fraction: f64,
    one_fraction: f64,
    pweight: f64,
}

fn extend_path(path: &mut [PathElem], unique_depth: usize, zero: f64, one: f64, feature: i32) {
    path[unique_depth] = PathElem {
        feature,
        zero_fraction: zero,
        one_fraction: one,
        pweight: if unique_depth == 0 { 1.0 } else { 0.0 },
    };
    let d1 = (unique_depth + 1) as f64;
    for i in (0..unique_depth).rev() {
        path[i + 1].pweight += one * path[i].pweight * (i + 1) as f64 / d1;
        path[i].pweight = zero * path[i].pweight * (unique_depth - i) as f64 / d1;
    }
}

fn unwind_path(path: &mut [PathElem], unique_depth: usize, path_index: usize) {
    let one = path[path_index].one_fraction;
    let zero = path[path_index].zero_fraction;
    let d1 = (unique_depth + 1) as f64;
    let mut next_one_portion = path[unique_depth].pweight;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = path[i].pweight;
            path[i].pweight = next_one_portion * d1 / ((i + 1) as f64 * one);
            next_one_portion = tmp - path[i].pweight * zero * (unique_depth - i) as f64 / d1;
        } else {
            path[i].pweight = path[i].pweight * d1 / (zero * (unique_depth - i) as f64);
        }
    }
    for i in path_index..unique_depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

fn unwound_path_sum(path: &[PathElem], unique_depth: usize, path_index: usize) -> f64 {
    let one = path[path_index].one_fraction;
    let zero = path[path_index].zero_fraction;
    let d1 = (unique_depth + 1) as f64;
    let mut next_one_portion = path[unique_depth].pweight;
    let mut total = 0.0;
    for i in (0..unique_depth).rev() {
        if one != 0.0 {
            let tmp = next_one_portion * d1 / ((i + 1) as f64 * one);
            total += tmp;
            next_one_portion = path[i].pweight - tmp * zero * (unique_depth - i) as f64 / d1;
        } else if zero != 0.0 {
            total += path[i].pweight / zero / ((unique_depth - i) as f64 / d1);
        }
    }
    total
}

struct Walker<'a> {
    tree: &'a Tree,
    row: &'a [f64],
    phi: &'a mut [f64],
    /// One preallocated buffer holding every recursion level's path (like the reference C++
    /// implementation), so explaining a row allocates nothing per node.
    buf: &'a mut Vec<PathElem>,
}

impl Walker<'_> {
    /// `parent_off` is where the parent's path starts in `buf`; this level's path starts right
    /// after the parent's `unique_depth + 1` elements.
    #[allow(clippy::too_many_arguments)]
    fn recurse(
        &mut self,
        node: usize,
        parent_off: usize,
        mut unique_depth: usize,
        zero: f64,
        one: f64,
        feature: i32,
    ) {
        let t = self.tree;
        let off = parent_off + unique_depth + 1;
        let needed = off + unique_depth + 2;
        if self.buf.len() < needed {
            self.buf.resize(needed, PathElem::default());
        }
        {
            let (head, tail) = self.buf.split_at_mut(off);
            tail[..unique_depth + 1].copy_from_slice(&head[parent_off..off]);
            extend_path(tail, unique_depth, zero, one, feature);
        }
        if t.is_leaf(node) {
            let path = &self.buf[off..];
            for i in 1..=unique_depth {
                let w = unwound_path_sum(path, unique_depth, i);
                let el = path[i];
                if let Some(p) = self.phi.get_mut(el.feature as usize) {
                    *p += w * (el.one_fraction - el.zero_fraction) * t.value[node];
                }
            }
            return;
        }
        let hot = t.next_node(node, self.row);
        let (l, r) = (t.left[node] as usize, t.right[node] as usize);
        let cold = if hot == l { r } else { l };
        let split_feature = t.feature[node];
        let (mut in_zero, mut in_one) = (1.0, 1.0);
        let path = &mut self.buf[off..];
        if let Some(k) = (1..=unique_depth).find(|&k| path[k].feature == split_feature) {
            in_zero = path[k].zero_fraction;
            in_one = path[k].one_fraction;
            unwind_path(path, unique_depth, k);
            unique_depth -= 1;
        }
        let cover = t.count[node] as f64;
        let (hot_zero, cold_zero) = if cover > 0.0 {
            (t.count[hot] as f64 / cover, t.count[cold] as f64 / cover)
        } else {
            (0.5, 0.5)
        };
        self.recurse(
            hot,
            off,
            unique_depth + 1,
            hot_zero * in_zero,
            in_one,
            split_feature,
        );
        self.recurse(
            cold,
            off,
            unique_depth + 1,
            cold_zero * in_zero,
            0.0,
            split_feature,
        );
    }
}

/// Adds one tree's SHAP values for `row` into `phi`, using `buf` as scratch space.
pub(crate) fn tree_shap(tree: &Tree, row: &[f64], phi: &mut [f64], buf: &mut Vec<PathElem>) {
    if buf.is_empty() {
        buf.push(PathElem::default());
    }
    let mut w = Walker {
        tree,
        row,
        phi,
        buf,
    };
    // The root's "parent path" is the single slot at 0; its own path starts at offset 1.
    w.recurse(0, 0, 0, 1.0, 1.0, -1);
}

/// Cover-weighted mean output of a tree (its root's expected value).
pub(crate) fn tree_expected(tree: &Tree) -> f64 {
    tree.value.first().copied().unwrap_or(0.0)
}

impl GbtModel {
    /// Expected raw output: init score plus each tree's cover-weighted mean leaf value.
    pub fn expected_value(&self) -> f64 {
        self.init_score() + self.trees().iter().map(tree_expected).sum::<f64>()
    }

    /// Exact SHAP values of one row (model feature order; short rows are padded with NaN).
    pub fn shap_values(&self, row: &[f64]) -> Shap {
        let mut values = vec![0.0; self.feature_names().len()];
        let mut buf = Vec::with_capacity(64);
        for t in self.trees() {
            tree_shap(t, row, &mut values, &mut buf);
        }
        Shap {
            values,
            expected_value: self.expected_value(),
        }
    }

    /// Global importance: mean |SHAP| per feature over the dataset's rows, sorted descending
    /// (ties by name, so the order is deterministic). Columns are matched by name.
    pub fn mean_abs_shap(&self, data: &Dataset) -> Vec<(String, f64)> {
        use rayon::prelude::*;
        let map = self.column_map(data);
        let nf = self.feature_names().len();
        let per_row: Vec<Vec<f64>> = (0..data.n_rows)
            .into_par_iter()
            .map(|i| self.shap_values(&Self::aligned_row(data, &map, i)).values)
            .collect();
        let mut sums = vec![0.0; nf];
        for v in &per_row {
            for (s, x) in sums.iter_mut().zip(v) {
                *s += x.abs();
            }
        }
        let n = data.n_rows.max(1) as f64;
        let mut out: Vec<(String, f64)> = self
            .feature_names()
            .iter()
            .cloned()
            .zip(sums.into_iter().map(|s| s / n))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The model as the custom-tree dictionary `shap.TreeExplainer` accepts (shap ≥ 0.40 keys:
    /// `features`/`thresholds`/`values`, `x <= threshold` goes left, NaN goes to
    /// `children_default`, -1 marks leaves). Python must turn the per-tree lists into numpy
    /// arrays (shap calls `.astype` on them). Internal-node `values` are cover-weighted means,
    /// which is what shap sums (root values + `base_offset`) for its `expected_value`.
    pub fn to_shap_dict_json(&self) -> Value {
        let trees: Vec<Value> = self
            .trees()
            .iter()
            .map(|t| {
                let leaf = |i: usize| t.is_leaf(i);
                let n = t.len();
                let default: Vec<i32> = (0..n)
                    .map(|i| {
                        if leaf(i) {
                            -1
                        } else if t.default_left[i] {
                            t.left[i]
                        } else {
                            t.right[i]
                        }
                    })
                    .collect();
                let thresholds: Vec<f64> = (0..n)
                    .map(|i| if leaf(i) { -1.0 } else { t.threshold[i] })
                    .collect();
                let values: Vec<[f64; 1]> = t.value.iter().map(|&v| [v]).collect();
                let weights: Vec<f64> = t.count.iter().map(|&c| c as f64).collect();
                json!({
                    "children_left": t.left,
                    "children_right": t.right,
                    "children_default": default,
                    "features": t.feature,
                    "thresholds": thresholds,
                    "values": values,
                    "node_sample_weight": weights,
                })
            })
            .collect();
        json!({
            "trees": trees,
            "base_offset": self.init_score(),
            "tree_output": "log_odds",
            "objective": "binary_crossentropy",
            "input_dtype": "float64",
            "internal_dtype": "float64",
        })
    }
}
