//! One regression tree stored as flat parallel arrays.
//!
//! Flat arrays (rather than boxed nodes) keep a tree in a few contiguous allocations, so a warm
//! single-row prediction over 100 trees is a few thousand predictable loads, and the layout maps
//! 1:1 onto the `shap` package's custom-tree dictionary. Children always have larger indices
//! than their parent, which makes bottom-up passes a reverse loop and makes cycles impossible
//! (checked on deserialization).

use serde::{Deserialize, Serialize};

use crate::error::MlError;

/// A binary decision tree. Node 0 is the root; `left[i] < 0` marks a leaf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Left child index, or -1 for a leaf.
    pub left: Vec<i32>,
    /// Right child index, or -1 for a leaf.
    pub right: Vec<i32>,
    /// Split feature index, or -1 for a leaf.
    pub feature: Vec<i32>,
    /// Split threshold: `x <= threshold` goes left (unused for leaves).
    pub threshold: Vec<f64>,
    /// Where a missing (NaN) value goes.
    pub default_left: Vec<bool>,
    /// Leaf output (already multiplied by the learning rate). For internal nodes: the
    /// count-weighted mean of the leaves below, i.e. the node's expected output (used by SHAP).
    pub value: Vec<f64>,
    /// Number of (in-bag) training rows that reached the node; the SHAP cover.
    pub count: Vec<u64>,
    /// Sum of (weighted) hessians of the training rows that reached the node.
    pub hess: Vec<f64>,
}

impl Tree {
    /// A single-leaf tree.
    pub(crate) fn new_root(count: u64, hess: f64) -> Self {
        Self {
            left: vec![-1],
            right: vec![-1],
            feature: vec![-1],
            threshold: vec![0.0],
            default_left: vec![true],
            value: vec![0.0],
            count: vec![count],
            hess: vec![hess],
        }
    }

    fn push_leaf(&mut self, count: u64, hess: f64) -> usize {
        self.left.push(-1);
        self.right.push(-1);
        self.feature.push(-1);
        self.threshold.push(0.0);
        self.default_left.push(true);
        self.value.push(0.0);
        self.count.push(count);
        self.hess.push(hess);
        self.left.len() - 1
    }

    /// Turns leaf `node` into a split and appends its two (leaf) children.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn split(
        &mut self,
        node: usize,
        feature: usize,
        threshold: f64,
        default_left: bool,
        left: (u64, f64),
        right: (u64, f64),
    ) -> (usize, usize) {
        let l = self.push_leaf(left.0, left.1);
        let r = self.push_leaf(right.0, right.1);
        self.left[node] = l as i32;
        self.right[node] = r as i32;
        self.feature[node] = feature as i32;
        self.threshold[node] = threshold;
        self.default_left[node] = default_left;
        (l, r)
    }

    /// Fills internal-node values with the count-weighted mean of their children.
    pub(crate) fn finalize_internal_values(&mut self) {
        for i in (0..self.len()).rev() {
            if self.is_leaf(i) {
                continue;
            }
            let (l, r) = (self.left[i] as usize, self.right[i] as usize);
            let (cl, cr) = (self.count[l] as f64, self.count[r] as f64);
            self.value[i] = if cl + cr > 0.0 {
                (cl * self.value[l] + cr * self.value[r]) / (cl + cr)
            } else {
                0.5 * (self.value[l] + self.value[r])
            };
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.left.len()
    }

    /// True if the tree has no nodes (never the case for a trained/validated tree).
    pub fn is_empty(&self) -> bool {
        self.left.is_empty()
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.left.iter().filter(|&&l| l < 0).count()
    }

    /// True if `node` is a leaf.
    #[inline]
    pub fn is_leaf(&self, node: usize) -> bool {
        self.left[node] < 0
    }

    /// The child a row goes to from internal node `node`. A feature index beyond the row's
    /// length is treated as missing, so short rows never panic.
    #[inline]
    pub fn next_node(&self, node: usize, row: &[f64]) -> usize {
        let v = row
            .get(self.feature[node] as usize)
            .copied()
            .unwrap_or(f64::NAN);
        let go_left = if v.is_nan() {
            self.default_left[node]
        } else {
            v <= self.threshold[node]
        };
        if go_left {
            self.left[node] as usize
        } else {
            self.right[node] as usize
        }
    }

    /// Index of the leaf a row falls into.
    #[inline]
    pub fn leaf_index(&self, row: &[f64]) -> usize {
        let mut node = 0;
        while !self.is_leaf(node) {
            node = self.next_node(node, row);
        }
        node
    }

    /// The tree's output for one row.
    #[inline]
    pub fn predict(&self, row: &[f64]) -> f64 {
        self.value[self.leaf_index(row)]
    }

    /// Structural validation for trees that came from bytes: consistent array lengths, children
    /// in range and strictly after their parent (so traversal terminates), features in range.
    pub(crate) fn validate(&self, n_features: usize) -> Result<(), MlError> {
        let n = self.len();
        let lens = [
            self.right.len(),
            self.feature.len(),
            self.threshold.len(),
            self.default_left.len(),
            self.value.len(),
            self.count.len(),
            self.hess.len(),
        ];
        if n == 0 || lens.iter().any(|&l| l != n) {
            return Err(MlError::InvalidModel(
                "tree arrays are empty or of unequal length".into(),
            ));
        }
        for i in 0..n {
            let (l, r) = (self.left[i], self.right[i]);
            if l < 0 {
                if r >= 0 {
                    return Err(MlError::InvalidModel(format!("node {i}: half leaf")));
                }
                continue;
            }
            let ok_child = |c: i32| c as i64 > i as i64 && (c as usize) < n;
            if !ok_child(l) || !ok_child(r) {
                return Err(MlError::InvalidModel(format!(
                    "node {i}: child index out of order"
                )));
            }
            let f = self.feature[i];
            if f < 0 || f as usize >= n_features {
                return Err(MlError::InvalidModel(format!(
                    "node {i}: feature {f} out of range"
                )));
            }
            if self.threshold[i].is_nan() {
                return Err(MlError::InvalidModel(format!("node {i}: NaN threshold")));
            }
        }
        Ok(())
    }

    /// Depth of the deepest leaf (root = 0).
    pub fn max_depth(&self) -> usize {
        let mut depth = vec![0usize; self.len()];
        let mut best = 0;
        for i in 0..self.len() {
            if !self.is_leaf(i) {
                let d = depth[i] + 1;
                depth[self.left[i] as usize] = d;
                depth[self.right[i] as usize] = d;
                best = best.max(d);
            }
        }
        best
    }
}
