//! Isolation Forest (Liu, Ting & Zhou, 2008): the multivariate check. Random axis-parallel
//! splits isolate an unusual bar (a huge range with an ordinary return, say) in fewer steps than
//! an ordinary one; the score `2^(-E[h(x)] / c(n))` is near 1 for such points and ≤ 0.5 for the
//! bulk.
//!
//! The random numbers come from a SplitMix64 seeded by the caller, so one history always gives
//! one forest and the same scores on every machine.

/// The seeded generator of the forest (one shared implementation, see [`sextant_numeric::SplitMix`]).
pub use sextant_numeric::SplitMix;

#[derive(Debug, Clone)]
enum Node {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        size: usize,
    },
}

/// A fitted forest.
#[derive(Debug, Clone)]
pub struct IsolationForest {
    trees: Vec<Vec<Node>>,
    sample_size: usize,
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
        if rows.len() >= 2 {
            for _ in 0..n_trees {
                let n = rows.len();
                let mut idx: Vec<usize> = if n >= 4 * psi {
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
                let mut nodes = Vec::new();
                build(rows, &mut idx, 0, max_depth, &mut rng, &mut nodes);
                trees.push(nodes);
            }
        }
        IsolationForest {
            trees,
            sample_size: psi,
        }
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

fn build<R: AsRef<[f64]>>(
    rows: &[R],
    idx: &mut [usize],
    depth: usize,
    max_depth: usize,
    rng: &mut SplitMix,
    nodes: &mut Vec<Node>,
) -> usize {
    let me = nodes.len();
    nodes.push(Node::Leaf { size: idx.len() });
    if depth >= max_depth || idx.len() <= 1 {
        return me;
    }
    let n_features = rows[idx[0]].as_ref().len();
    // Try features in random order until one has spread (a constant feature cannot split).
    let start = rng.below(n_features);
    for k in 0..n_features {
        let f = (start + k) % n_features;
        let (lo, hi) = idx
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &i| {
                let v = rows[i].as_ref()[f];
                (lo.min(v), hi.max(v))
            });
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let threshold = lo + rng.next_f64() * (hi - lo);
        let mut mid = 0;
        for j in 0..idx.len() {
            if rows[idx[j]].as_ref()[f] < threshold {
                idx.swap(j, mid);
                mid += 1;
            }
        }
        if mid == 0 || mid == idx.len() {
            continue;
        }
        let (l, r) = idx.split_at_mut(mid);
        let left = build(rows, l, depth + 1, max_depth, rng, nodes);
        let right = build(rows, r, depth + 1, max_depth, rng, nodes);
        nodes[me] = Node::Split {
            feature: f,
            threshold,
            left,
            right,
        };
        return me;
    }
    me
}

fn path_length(nodes: &[Node], x: &[f64]) -> f64 {
    let mut i = 0;
    let mut depth = 0.0;
    loop {
        match nodes.get(i) {
            Some(Node::Split {
                feature,
                threshold,
                left,
                right,
            }) => {
                let v = x.get(*feature).copied().unwrap_or(0.0);
                i = if v < *threshold { *left } else { *right };
                depth += 1.0;
            }
            Some(Node::Leaf { size }) => return depth + c(*size),
            None => return depth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlier_scores_higher_than_bulk() {
        let mut rng = SplitMix::new(7);
        // Bell-shaped features (sums of uniforms), like market features: dense centre, thin tails.
        let mut bell = || (0..4).map(|_| rng.next_f64()).sum::<f64>() - 2.0;
        let rows: Vec<Vec<f64>> = (0..2000).map(|_| vec![bell(), bell(), bell()]).collect();
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
    fn tiny_inputs_do_not_panic() {
        let none: &[Vec<f64>] = &[];
        assert_eq!(IsolationForest::fit(none, 10, 256, 1).score(&[1.0]), 0.5);
        let one = IsolationForest::fit(&[vec![1.0]], 10, 256, 1);
        assert_eq!(one.score(&[1.0]), 0.5);
        let same = IsolationForest::fit(&[vec![1.0], vec![1.0], vec![1.0]], 10, 256, 1);
        assert!(same.score(&[1.0]).is_finite());
    }
}
