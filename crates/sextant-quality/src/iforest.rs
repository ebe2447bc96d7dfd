//! Isolation Forest (Liu, Ting & Zhou, 2008): the multivariate check. Random axis-parallel
//! splits isolate an unusual bar (a huge range with an ordinary return, say) in fewer steps than
//! an ordinary one; the score `2^(-E[h(x)] / c(n))` is near 1 for such points and ≤ 0.5 for the
//! bulk.
//!
//! The random numbers come from a SplitMix64 seeded by the caller, so one history always gives
//! one forest and the same scores on every machine.

/// The seeded generator of the forest (one shared implementation, see [`sextant_numeric::SplitMix`]).
pub use sextant_numeric::SplitMix;

/// One node of a tree, flat: a split on `feature` at `threshold` with children `left` and
/// `right`, or (`feature == LEAF`) a leaf whose `threshold` holds `c(size)`, the expected further
/// depth of the points it holds, computed once when the tree is built rather than on every
/// scored path (the logarithm was the hot spot of scoring).
#[derive(Debug, Clone, Copy)]
struct Node {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
}

const LEAF: u32 = u32::MAX;

impl Node {
    /// A leaf of `size` points; `cs[n]` is `c(n)` (a table: every node starts as a leaf, and the
    /// logarithm per node was a third of the build).
    fn leaf(size: usize, cs: &[f64]) -> Self {
        Node {
            threshold: cs.get(size).copied().unwrap_or_else(|| c(size)),
            feature: LEAF,
            left: 0,
            right: 0,
        }
    }
}

/// A fitted forest.
#[derive(Debug, Clone)]
pub struct IsolationForest {
    trees: Vec<Vec<Node>>,
    /// The same trees as complete binary trees (see [`Complete`]), when they are shallow enough.
    complete: Option<Complete>,
    sample_size: usize,
}

/// The trees padded to complete binary trees of one depth, stored implicitly (the children of
/// node `p` are `2p + 1` and `2p + 2`): every path then takes exactly `depth` steps with no
/// branch on the data (a leaf above the bottom becomes a subtree whose bottom entries all hold
/// its path length, so the direction taken below it does not matter). Scoring many points this
/// way overlaps their walks instead of stalling on a mispredicted branch at every node.
#[derive(Debug, Clone)]
struct Complete {
    depth: usize,
    /// Thresholds, `2^depth − 1` per tree.
    thresholds: Vec<f64>,
    /// The feature each threshold splits on.
    features: Vec<u32>,
    /// The path length at each bottom entry, `2^depth` per tree: the leaf's depth plus `c(size)`,
    /// the sum [`path_length`] forms, so the scores are the same bit for bit.
    leaves: Vec<f64>,
    /// Features every tree reads at most (points with fewer go through [`path_length`]).
    width: usize,
}

/// The deepest trees padded to [`Complete`] (a tree of depth 12 takes 4,096 bottom entries;
/// the default subsample of 256 gives depth 8).
const MAX_COMPLETE_DEPTH: usize = 12;

impl Complete {
    fn of(trees: &[Vec<Node>], depth: usize, width: usize) -> Option<Complete> {
        if depth > MAX_COMPLETE_DEPTH || trees.is_empty() || width == 0 {
            return None;
        }
        let (inner, bottom) = ((1usize << depth) - 1, 1usize << depth);
        let mut out = Complete {
            depth,
            thresholds: vec![0.0; inner * trees.len()],
            features: vec![0; inner * trees.len()],
            leaves: vec![0.0; bottom * trees.len()],
            width,
        };
        for (t, nodes) in trees.iter().enumerate() {
            let (th, fe) = (
                &mut out.thresholds[t * inner..(t + 1) * inner],
                &mut out.features[t * inner..(t + 1) * inner],
            );
            let lv = &mut out.leaves[t * bottom..(t + 1) * bottom];
            // (node, position in the complete tree, its level)
            let mut stack = vec![(0usize, 0usize, 0usize)];
            while let Some((i, p, level)) = stack.pop() {
                let n = nodes.get(i)?;
                if n.feature == LEAF {
                    // Its bottom entries: positions p·2^k + (2^k − 1) … for k = depth − level.
                    let k = depth - level;
                    let first = (p << k) + ((1usize << k) - 1) - inner;
                    lv[first..first + (1usize << k)].fill(level as f64 + n.threshold);
                    continue;
                }
                if level == depth || n.feature as usize >= width {
                    return None;
                }
                th[p] = n.threshold;
                fe[p] = n.feature;
                stack.push((n.left as usize, 2 * p + 1, level + 1));
                stack.push((n.right as usize, 2 * p + 2, level + 1));
            }
        }
        Some(out)
    }

    /// The path length of `x` in tree `t` (`x` has at least `width` features).
    fn path_length(&self, t: usize, x: &[f64]) -> f64 {
        let inner = (1usize << self.depth) - 1;
        let th = &self.thresholds[t * inner..(t + 1) * inner];
        let fe = &self.features[t * inner..(t + 1) * inner];
        let mut p = 0usize;
        for _ in 0..self.depth {
            let v = x[fe[p] as usize];
            // Right unless below the threshold (a NaN goes right, as in `path_length`).
            p = 2 * p + 2 - usize::from(v < th[p]);
        }
        self.leaves[(t << self.depth) + p - inner]
    }

    /// The path lengths in tree `t` of the points `alive` of `flat` (`width` features each, side
    /// by side), four walks interleaved: they are independent, so their loads overlap.
    fn lengths(&self, t: usize, flat: &[f64], alive: &[usize], out: &mut Vec<f64>) {
        let inner = (1usize << self.depth) - 1;
        let th = &self.thresholds[t * inner..(t + 1) * inner];
        let fe = &self.features[t * inner..(t + 1) * inner];
        let lv = &self.leaves[t * (inner + 1)..(t + 1) * (inner + 1)];
        let w = self.width;
        out.clear();
        let mut quads = alive.chunks_exact(4);
        for q in &mut quads {
            let mut p = [0usize; 4];
            for _ in 0..self.depth {
                for l in 0..4 {
                    let v = flat[q[l] * w + fe[p[l]] as usize];
                    p[l] = 2 * p[l] + 2 - usize::from(v < th[p[l]]);
                }
            }
            out.extend(p.iter().map(|&p| lv[p - inner]));
        }
        for &i in quads.remainder() {
            out.push(self.path_length(t, &flat[i * w..(i + 1) * w]));
        }
    }
}

/// The average path length of an unsuccessful search in a binary search tree of `n` points,
/// which normalises path lengths (the paper's `c(n)`).
fn c(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
        }
    }
}

impl IsolationForest {
    /// Fits `n_trees` trees on subsamples of `sample_size` rows of `rows` (every row has the same
    /// number of finite features). Fewer rows than two give an empty forest that scores 0.5.
    pub fn fit<R: AsRef<[f64]>>(rows: &[R], n_trees: usize, sample_size: usize, seed: u64) -> Self {
        let mut rng = SplitMix::new(seed);
        let psi = sample_size.min(rows.len());
        let max_depth = (psi.max(2) as f64).log2().ceil() as usize;
        let mut trees = Vec::new();
        let cs: Vec<f64> = (0..=psi).map(c).collect();
        if rows.len() >= 2 && psi > 0 {
            for _ in 0..n_trees {
                let n = rows.len();
                let idx: Vec<usize> = if n >= 4 * psi {
                    // A large history: independent draws. Repeats are rare (n ≥ 4ψ) and
                    // harmless, and this costs ψ draws instead of a set of ψ.
                    (0..psi).map(|_| rng.below(n)).collect()
                } else {
                    // Without replacement (Floyd's algorithm).
                    let mut chosen = std::collections::BTreeSet::new();
                    for j in n - psi..n {
                        let t = rng.below(j + 1);
                        if !chosen.insert(t) {
                            chosen.insert(j);
                        }
                    }
                    chosen.into_iter().collect()
                };
                // The subsample's features side by side: the tree is built on them, not on rows
                // scattered over the history (cache misses were most of the build's time).
                let width = rows[idx[0]].as_ref().len();
                let mut sample: Vec<f64> = Vec::with_capacity(idx.len() * width);
                for &i in &idx {
                    sample.extend_from_slice(rows[i].as_ref());
                }
                let mut local: Vec<usize> = (0..idx.len()).collect();
                // At most 2ψ − 1 nodes: one allocation per tree.
                let mut nodes = Vec::with_capacity(2 * idx.len());
                let data = Sample {
                    values: &sample,
                    width,
                    cs: &cs,
                };
                build(&data, &mut local, 0, max_depth, &mut rng, &mut nodes);
                trees.push(nodes);
            }
        }
        let width = rows.first().map_or(0, |r| r.as_ref().len());
        IsolationForest {
            complete: Complete::of(&trees, max_depth, width),
            trees,
            sample_size: psi,
        }
    }

    /// The score of `x` when it is above `threshold`, else `None`. Stops walking trees once the
    /// path lengths so far rule such a score out: score > t ⇔ mean path < −c(ψ)·log₂ t, and the
    /// sum only grows. Most bars scored are ordinary (long paths), so most stop about halfway.
    /// A returned score equals [`IsolationForest::score`] bit for bit (same trees, same order).
    pub fn score_if_above(&self, x: &[f64], threshold: f64) -> Option<f64> {
        let cn = c(self.sample_size);
        if self.trees.is_empty() || cn <= 0.0 || threshold <= 0.0 || !threshold.is_finite() {
            let s = self.score(x);
            return (s > threshold).then_some(s);
        }
        let n = self.trees.len() as f64;
        let limit = -cn * threshold.log2() * n;
        // A margin far above rounding, so no stop can drop a score the full sum puts above t.
        let limit = limit + 1e-9 * limit.abs() + 1e-9;
        let mut sum = 0.0;
        for t in &self.trees {
            sum += path_length(t, x);
            if sum > limit {
                return None;
            }
        }
        let s = 2f64.powf(-(sum / n) / cn);
        (s > threshold).then_some(s)
    }

    /// [`IsolationForest::score_if_above`] for many points: trees outer, points inner, so one
    /// tree's nodes stay in cache across the points (scoring point by point walked all the
    /// trees, over a megabyte, for every point). Each point's path lengths are still summed in
    /// tree order with the same stop, so every result equals `score_if_above`'s bit for bit.
    pub fn scores_if_above<X: AsRef<[f64]>>(&self, xs: &[X], threshold: f64) -> Vec<Option<f64>> {
        let cn = c(self.sample_size);
        if self.trees.is_empty() || cn <= 0.0 || threshold <= 0.0 || !threshold.is_finite() {
            return xs
                .iter()
                .map(|x| self.score_if_above(x.as_ref(), threshold))
                .collect();
        }
        let n = self.trees.len() as f64;
        let limit = -cn * threshold.log2() * n;
        let limit = limit + 1e-9 * limit.abs() + 1e-9;
        let mut sums = vec![0.0; xs.len()];
        let mut alive: Vec<usize> = (0..xs.len()).collect();
        let complete = self
            .complete
            .as_ref()
            .filter(|c| xs.iter().all(|x| x.as_ref().len() >= c.width));
        // The points' features side by side, for the complete trees.
        let flat: Vec<f64> = match complete {
            Some(c) => xs
                .iter()
                .flat_map(|x| x.as_ref()[..c.width].iter().copied())
                .collect(),
            None => Vec::new(),
        };
        let mut lengths = Vec::with_capacity(xs.len());
        for (k, t) in self.trees.iter().enumerate() {
            match complete {
                Some(c) => c.lengths(k, &flat, &alive, &mut lengths),
                None => {
                    lengths.clear();
                    lengths.extend(alive.iter().map(|&i| path_length(t, xs[i].as_ref())));
                }
            }
            // Each point's sum grows by its length; those past the limit drop out.
            let mut kept = 0;
            for (j, &len) in lengths.iter().enumerate() {
                let i = alive[j];
                sums[i] += len;
                if sums[i] <= limit {
                    alive[kept] = i;
                    kept += 1;
                }
            }
            alive.truncate(kept);
            if alive.is_empty() {
                break;
            }
        }
        let mut out = vec![None; xs.len()];
        for i in alive {
            let s = 2f64.powf(-(sums[i] / n) / cn);
            out[i] = (s > threshold).then_some(s);
        }
        out
    }

    /// The anomaly score of `x` in (0, 1].
    pub fn score(&self, x: &[f64]) -> f64 {
        if self.trees.is_empty() {
            return 0.5;
        }
        let mean: f64 =
            self.trees.iter().map(|t| path_length(t, x)).sum::<f64>() / self.trees.len() as f64;
        let cn = c(self.sample_size);
        if cn <= 0.0 {
            return 0.5;
        }
        2f64.powf(-mean / cn)
    }
}

/// A tree's subsample: `width` features per row, rows side by side; `cs[n]` is `c(n)` for every
/// size a node of it can have.
struct Sample<'a> {
    values: &'a [f64],
    width: usize,
    cs: &'a [f64],
}

impl Sample<'_> {
    fn get(&self, row: usize, feature: usize) -> f64 {
        self.values[row * self.width + feature]
    }
}

fn build(
    rows: &Sample<'_>,
    idx: &mut [usize],
    depth: usize,
    max_depth: usize,
    rng: &mut SplitMix,
    nodes: &mut Vec<Node>,
) -> usize {
    let me = nodes.len();
    nodes.push(Node::leaf(idx.len(), rows.cs));
    if depth >= max_depth || idx.len() <= 1 {
        return me;
    }
    let n_features = rows.width;
    // Try features in random order until one has spread (a constant feature cannot split).
    let start = rng.below(n_features);
    for k in 0..n_features {
        let f = (start + k) % n_features;
        // NaN compares false both ways, so it is skipped, as `f64::min`/`max` would skip it.
        // (Which zero a ±0 tie keeps cannot change a threshold or the spread test below.)
        let (lo, hi) = idx
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                let v = rows.get(i, f);
                (if v < lo { v } else { lo }, if v > hi { v } else { hi })
            });
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let threshold = lo + rng.next_f64() * (hi - lo);
        // Partition without a branch on the data: every step swaps positions `j` and `mid`, and
        // `mid` moves on only past a point below the threshold (the tree depends on which points
        // go left, not on their order).
        let mut mid = 0;
        for j in 0..idx.len() {
            let x = idx[j];
            let below = rows.get(x, f) < threshold;
            idx[j] = idx[mid];
            idx[mid] = x;
            mid += usize::from(below);
        }
        if mid == 0 || mid == idx.len() {
            continue;
        }
        let (l, r) = idx.split_at_mut(mid);
        let left = build(rows, l, depth + 1, max_depth, rng, nodes);
        let right = build(rows, r, depth + 1, max_depth, rng, nodes);
        nodes[me] = Node {
            threshold,
            feature: f as u32,
            left: left as u32,
            right: right as u32,
        };
        return me;
    }
    me
}

fn path_length(nodes: &[Node], x: &[f64]) -> f64 {
    let mut i = 0;
    let mut depth = 0.0;
    loop {
        let Some(n) = nodes.get(i) else {
            return depth;
        };
        if n.feature == LEAF {
            return depth + n.threshold;
        }
        let v = x.get(n.feature as usize).copied().unwrap_or(0.0);
        i = if v < n.threshold { n.left } else { n.right } as usize;
        depth += 1.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` rows of three bell-shaped features (sums of uniforms), like market features: dense
    /// centre, thin tails.
    fn bell_rows(seed: u64, n: usize) -> Vec<Vec<f64>> {
        let mut rng = SplitMix::new(seed);
        let mut bell = || (0..4).map(|_| rng.next_f64()).sum::<f64>() - 2.0;
        (0..n).map(|_| vec![bell(), bell(), bell()]).collect()
    }

    #[test]
    fn outlier_scores_higher_than_bulk() {
        let rows = bell_rows(7, 2000);
        let f = IsolationForest::fit(&rows, 100, 256, 42);
        // scikit-learn 1.9 on the same kind of data (seeded differently): 0.40, 0.56, 0.73.
        let inlier = f.score(&[0.0, 0.0, 0.0]);
        let one_axis = f.score(&[8.0, 0.0, 0.0]);
        let outlier = f.score(&[3.0, 3.0, 3.0]);
        assert!(inlier < 0.45, "{inlier}");
        assert!(one_axis > inlier + 0.1, "{one_axis}");
        assert!(outlier > 0.7, "{outlier}");
        // Deterministic for a seed.
        let g = IsolationForest::fit(&rows, 100, 256, 42);
        assert_eq!(g.score(&[3.0, 3.0, 3.0]), outlier);
    }

    #[test]
    fn score_if_above_agrees_with_score() {
        let rows = bell_rows(11, 3000);
        let f = IsolationForest::fit(&rows, 100, 256, 5);
        let mut probes: Vec<Vec<f64>> = rows.iter().take(500).cloned().collect();
        probes.extend((0..50).map(|i| vec![0.2 * i as f64, -0.1 * i as f64, 0.0]));
        // Non-finite features walk right at every split they meet, in both tree layouts.
        probes.extend([
            vec![f64::NAN, 0.0, 0.0],
            vec![f64::INFINITY, f64::NEG_INFINITY, 0.5],
        ]);
        let mut above = 0;
        for x in &probes {
            let s = f.score(x);
            for t in [0.0, 0.3, 0.5, 0.55, 0.6, 0.75, 0.9, 1.0, 1.5] {
                assert_eq!(
                    f.score_if_above(x, t),
                    (s > t).then_some(s),
                    "x={x:?} t={t}"
                );
            }
            // Exactly at the score: not above.
            assert_eq!(f.score_if_above(x, s), None);
            above += usize::from(s > 0.6);
        }
        assert!(above > 10, "the probes reach above 0.6: {above}");
        for t in [0.0, 0.3, 0.5, 0.55, 0.6, 0.75, 0.9, 1.0, 1.5] {
            let one_by_one: Vec<Option<u64>> = probes
                .iter()
                .map(|x| f.score_if_above(x, t).map(f64::to_bits))
                .collect();
            let together: Vec<Option<u64>> = f
                .scores_if_above(&probes, t)
                .into_iter()
                .map(|s| s.map(f64::to_bits))
                .collect();
            assert_eq!(together, one_by_one, "t={t}");
        }
    }

    #[test]
    fn complete_layout_only_when_shallow() {
        let rows = bell_rows(3, 20_000);
        assert!(IsolationForest::fit(&rows, 5, 256, 1).complete.is_some());
        let deep = IsolationForest::fit(&rows, 5, 10_000, 1);
        assert!(deep.complete.is_none(), "depth 14 keeps the linked nodes");
        let probes: Vec<Vec<f64>> = rows.iter().take(200).cloned().collect();
        let one_by_one: Vec<Option<f64>> =
            probes.iter().map(|x| deep.score_if_above(x, 0.5)).collect();
        assert_eq!(deep.scores_if_above(&probes, 0.5), one_by_one);
        // Points narrower than the trees were fitted on go through the linked nodes too.
        let forest = IsolationForest::fit(&rows, 20, 256, 2);
        let narrow = [vec![0.1], vec![2.0]];
        let expect: Vec<Option<f64>> = narrow
            .iter()
            .map(|x| forest.score_if_above(x, 0.0))
            .collect();
        assert_eq!(forest.scores_if_above(&narrow, 0.0), expect);
    }

    #[test]
    fn tiny_inputs_do_not_panic() {
        let none: &[Vec<f64>] = &[];
        assert_eq!(IsolationForest::fit(none, 10, 256, 1).score(&[1.0]), 0.5);
        let one = IsolationForest::fit(&[vec![1.0]], 10, 256, 1);
        assert_eq!(one.score(&[1.0]), 0.5);
        let same = IsolationForest::fit(&[vec![1.0], vec![1.0], vec![1.0]], 10, 256, 1);
        assert!(same.score(&[1.0]).is_finite());
    }
}
