//! Leaf-wise (best-first) growth of one tree from gradient/hessian histograms.
//!
//! Leaf-wise growth (LightGBM's strategy) always splits the leaf with the largest loss
//! reduction, so for a fixed `num_leaves` budget it reaches a lower training loss than
//! depth-wise growth; `min_data_in_leaf`/`max_depth` keep it from over-fitting deep chains.
//! Histograms make split finding O(bins) per feature, and the subtraction trick (sibling =
//! parent − smaller child) means only the smaller child's rows are ever scanned.
//!
//! Determinism: each feature's histogram is accumulated sequentially by one task in row order,
//! features are processed in parallel but collected in index order, and every tie has a fixed
//! rule (leaves and features: lower index wins; thresholds: the higher cut wins, like LightGBM's
//! reverse scan), so the result does not depend on the number of rayon threads.

use rayon::prelude::*;

use super::binning::BinnedData;
use super::params::GbtParams;
use super::tree::Tree;

/// Gradient/hessian/count sums of one histogram bin.
#[derive(Debug, Clone, Copy, Default)]
struct HistBin {
    g: f64,
    h: f64,
    n: u32,
}

type Histogram = Vec<Vec<HistBin>>;

/// One feature's part of a split: the smaller and larger child's histograms and best splits.
type ChildrenOfFeature = (
    Vec<HistBin>,
    Vec<HistBin>,
    Option<SplitInfo>,
    Option<SplitInfo>,
);

/// Gradient sum, hessian sum and row count of a leaf, computed once from its rows (every
/// feature's histogram sums to the same totals, so there is no need to re-add 256 bins per
/// feature).
type Totals = (f64, f64, u64);

/// Below this many (row × feature) updates a rayon fan-out costs more than it saves.
const PAR_MIN_WORK: usize = 1 << 16;

/// The best split found for a leaf.
#[derive(Debug, Clone, Copy)]
struct SplitInfo {
    feature: usize,
    bin: usize,
    default_left: bool,
    gain: f64,
}

struct Leaf {
    node: usize,
    rows: Vec<u32>,
    hist: Histogram,
    depth: usize,
    best: Option<SplitInfo>,
}

/// Everything the learner needs that is fixed for one tree.
pub(crate) struct GrowContext<'a> {
    /// Called before every parallel region (see `spin`).
    pub wake: &'a (dyn Fn() + Sync),
    pub data: &'a BinnedData,
    /// Interleaved (gradient, hessian) per row.
    pub gh: &'a [(f64, f64)],
    /// Features this tree may split on (feature_fraction).
    pub features: &'a [usize],
    pub params: &'a GbtParams,
}

/// L1 soft-thresholding of a gradient sum (LightGBM's `ThresholdL1`).
fn threshold_l1(g: f64, l1: f64) -> f64 {
    if l1 > 0.0 {
        g.signum() * (g.abs() - l1).max(0.0)
    } else {
        g
    }
}

/// Loss reduction contributed by a leaf with these sums: T(G)²/(H+λ₂).
fn leaf_gain(g: f64, h: f64, p: &GbtParams) -> f64 {
    let denom = h + p.lambda_l2;
    if denom <= 0.0 {
        return 0.0;
    }
    let t = threshold_l1(g, p.lambda_l1);
    t * t / denom
}

/// Optimal (shrunk) leaf value: −T(G)/(H+λ₂) × learning_rate.
pub(crate) fn leaf_output(g: f64, h: f64, p: &GbtParams) -> f64 {
    let denom = h + p.lambda_l2;
    if denom <= 0.0 {
        return 0.0;
    }
    -threshold_l1(g, p.lambda_l1) / denom * p.learning_rate
}

impl GrowContext<'_> {
    /// One feature's histogram over `rows`, whose gradients are `ordered` (gathered once per
    /// leaf in row order, LightGBM's "ordered gradients": each feature then reads them
    /// sequentially and gathers only its own bin codes).
    fn feature_hist(&self, f: usize, rows: &[u32], ordered: &[(f64, f64)]) -> Vec<HistBin> {
        let mut hist = vec![HistBin::default(); self.data.mappers[f].n_real_bins() + 1];
        let bins = &self.data.bins[f];
        for (&r, &(g, h)) in rows.iter().zip(ordered) {
            let b = &mut hist[bins[r as usize] as usize];
            b.g += g;
            b.h += h;
            b.n += 1;
        }
        hist
    }

    /// Runs `one` for every feature (an empty result for features this tree may not use), on
    /// all cores when `work` is worth it, each thread taking a contiguous block of features.
    /// Why one parallel region per split (its histograms and both children's searches) rather
    /// than three: on small data waking the pool cost more than the work it shared. Each
    /// feature is computed by one task the same way either way, so results do not depend on
    /// the number of threads.
    fn per_feature<T: Send + Default>(
        &self,
        work: usize,
        one: impl Fn(usize) -> T + Sync,
    ) -> Vec<T> {
        let n = self.data.bins.len();
        self.per_feature_with(vec![(); n], work, |f, ()| one(f))
    }

    /// [`Self::per_feature`] handing each feature its own item of `items` (one per feature).
    fn per_feature_with<I: Send, T: Send + Default>(
        &self,
        items: Vec<I>,
        work: usize,
        one: impl Fn(usize, I) -> T + Sync,
    ) -> Vec<T> {
        let n = items.len();
        let allowed = |f: usize| self.features.binary_search(&f).is_ok();
        let run = |(f, item): (usize, I)| {
            if allowed(f) {
                one(f, item)
            } else {
                T::default()
            }
        };
        let threads = rayon::current_num_threads();
        if threads > 1 && work >= PAR_MIN_WORK {
            (self.wake)();
            items
                .into_par_iter()
                .enumerate()
                // Rounded down: rounded up, 17 features on 2 threads made one block of 17.
                .with_min_len((n / threads).max(1))
                .map(run)
                .collect()
        } else {
            items.into_iter().enumerate().map(run).collect()
        }
    }

    /// The root's histograms and best split.
    fn root(&self, rows: &[u32], total: Totals) -> (Histogram, Option<SplitInfo>) {
        let ordered: Vec<(f64, f64)> = rows.iter().map(|&r| self.gh[r as usize]).collect();
        let per: Vec<(Vec<HistBin>, Option<SplitInfo>)> =
            self.per_feature(rows.len() * self.features.len(), |f| {
                let hist = self.feature_hist(f, rows, &ordered);
                let best = self.search(f, &hist, 0, total);
                (hist, best)
            });
        let (hist, best): (Histogram, Vec<Option<SplitInfo>>) = per.into_iter().unzip();
        (hist, first_best(best))
    }

    /// Both children of a split: the smaller one's histograms from its rows, the larger one's
    /// as the parent's minus those (the subtraction trick), and each child's best split.
    fn children(
        &self,
        parent: Histogram,
        small_rows: &[u32],
        depth: usize,
        (small_total, large_total): (Totals, Totals),
    ) -> [(Histogram, Option<SplitInfo>); 2] {
        let ordered: Vec<(f64, f64)> = small_rows.iter().map(|&r| self.gh[r as usize]).collect();
        let bins: usize = self.features.iter().map(|&f| parent[f].len()).sum();
        let work = small_rows.len() * self.features.len() + bins * 16;
        // The larger child's histograms are the parent's buffers, subtracted in place.
        let per: Vec<ChildrenOfFeature> = self.per_feature_with(parent, work, |f, mut large| {
            let small = self.feature_hist(f, small_rows, &ordered);
            for (p, c) in large.iter_mut().zip(&small) {
                p.g -= c.g;
                p.h -= c.h;
                p.n -= c.n;
            }
            let bs = self.search(f, &small, depth, small_total);
            let bl = self.search(f, &large, depth, large_total);
            (small, large, bs, bl)
        });
        let mut small = (Vec::with_capacity(per.len()), Vec::with_capacity(per.len()));
        let mut large = (Vec::with_capacity(per.len()), Vec::with_capacity(per.len()));
        for (hs, hl, bs, bl) in per {
            small.0.push(hs);
            small.1.push(bs);
            large.0.push(hl);
            large.1.push(bl);
        }
        [
            (small.0, first_best(small.1)),
            (large.0, first_best(large.1)),
        ]
    }

    fn sums(&self, rows: &[u32]) -> (f64, f64) {
        rows.iter().fold((0.0, 0.0), |(g, h), &r| {
            let (gr, hr) = self.gh[r as usize];
            (g + gr, h + hr)
        })
    }

    /// The best split of one feature's histogram, or None (also past `max_depth`, or for a
    /// feature the tree may not use, whose histogram is empty).
    fn search(&self, f: usize, hist: &[HistBin], depth: usize, total: Totals) -> Option<SplitInfo> {
        let p = self.params;
        if hist.is_empty() || (p.max_depth > 0 && depth >= p.max_depth as usize) {
            return None;
        }
        // Both sides of any cut need `min_data_in_leaf` rows: a leaf with fewer than twice that
        // has no cut to find (the scan would reject every one).
        if total.2 < 2 * p.min_data_in_leaf.max(1) as u64 {
            return None;
        }
        self.best_split_feature(f, hist, total)
    }

    fn best_split_feature(&self, f: usize, hist: &[HistBin], total: Totals) -> Option<SplitInfo> {
        let p = self.params;
        let min_n = p.min_data_in_leaf.max(1) as u64;
        let nan = hist[hist.len() - 1];
        let n_real = hist.len() - 1;
        let (tg, th, tn) = total;
        let parent_gain = leaf_gain(tg, th, p);
        if nan.n == 0 {
            return self.best_split_no_nan(f, hist, total, parent_gain);
        }
        let mut best: Option<SplitInfo> = None;
        let (mut lg, mut lh, mut ln) = (0.0, 0.0, 0u64);
        // Without NaNs in this leaf the direction is irrelevant for the data; only one pass.
        let directions: &[bool] = if nan.n > 0 { &[false, true] } else { &[false] };
        for (b, bin) in hist.iter().enumerate().take(n_real) {
            lg += bin.g;
            lh += bin.h;
            ln += bin.n as u64;
            // Cuts after b, b+1, … up to the next non-empty bin give the same partition. Like
            // LightGBM (which scans from the top), evaluate only the highest of them, so the
            // threshold sits just below the next value present in this leaf. The last real bin
            // is a valid cut only if NaNs exist to be sent right.
            let is_last = b + 1 == n_real;
            if (is_last && nan.n == 0) || (!is_last && hist[b + 1].n == 0) {
                continue;
            }
            // Even with the NaNs sent left this cut is too small on the left.
            if ln + (nan.n as u64) < min_n {
                continue;
            }
            // The right side only shrinks from here on (NaNs at best stay right).
            if tn - ln < min_n {
                break;
            }
            for &default_left in directions {
                if b + 1 == n_real && default_left {
                    continue;
                }
                let (g_l, h_l, n_l) = if default_left {
                    (lg + nan.g, lh + nan.h, ln + nan.n as u64)
                } else {
                    (lg, lh, ln)
                };
                let (g_r, h_r, n_r) = (tg - g_l, th - h_l, tn - n_l);
                if n_l < min_n || n_r < min_n {
                    continue;
                }
                if h_l < p.min_sum_hessian_in_leaf || h_r < p.min_sum_hessian_in_leaf {
                    continue;
                }
                let gain = leaf_gain(g_l, h_l, p) + leaf_gain(g_r, h_r, p) - parent_gain;
                if gain > p.min_gain_to_split
                    && gain.is_finite()
                    // `>=`: equal gains go to the higher cut, as in LightGBM's reverse scan.
                    && best.is_none_or(|s| gain >= s.gain)
                {
                    // With no NaNs seen, send future NaNs to the bigger side (most likely branch).
                    let default_left = if nan.n > 0 { default_left } else { n_l >= n_r };
                    best = Some(SplitInfo {
                        feature: f,
                        bin: b,
                        default_left,
                        gain,
                    });
                }
            }
        }
        best
    }

    /// [`Self::best_split_feature`] for a leaf without NaNs in this feature: one direction, the
    /// same cuts, sums and tie rule, in a loop lean enough to stay in registers (split finding
    /// was half of training on small data, most of it stepping over bins).
    fn best_split_no_nan(
        &self,
        f: usize,
        hist: &[HistBin],
        (tg, th, tn): Totals,
        parent_gain: f64,
    ) -> Option<SplitInfo> {
        let p = self.params;
        let min_n = p.min_data_in_leaf.max(1) as u64;
        let min_h = p.min_sum_hessian_in_leaf;
        let n_real = hist.len() - 1;
        let mut best: Option<(usize, f64, u64)> = None;
        let (mut lg, mut lh, mut ln) = (0.0, 0.0, 0u64);
        // Pairs (b, b + 1) of real bins: the last real bin is no cut (nothing would go right).
        for (b, pair) in hist[..n_real].windows(2).enumerate() {
            let bin = pair[0];
            lg += bin.g;
            lh += bin.h;
            ln += bin.n as u64;
            // The highest of the cuts that give one partition (see best_split_feature).
            if pair[1].n == 0 || ln < min_n {
                continue;
            }
            if tn - ln < min_n {
                break;
            }
            let (gr, hr) = (tg - lg, th - lh);
            if lh < min_h || hr < min_h {
                continue;
            }
            let gain = leaf_gain(lg, lh, p) + leaf_gain(gr, hr, p) - parent_gain;
            if gain > p.min_gain_to_split
                && gain.is_finite()
                && best.is_none_or(|(_, g, _)| gain >= g)
            {
                best = Some((b, gain, ln));
            }
        }
        best.map(|(bin, gain, n_l)| SplitInfo {
            feature: f,
            bin,
            // With no NaNs seen, send future NaNs to the bigger side (most likely branch).
            default_left: n_l >= tn - n_l,
            gain,
        })
    }

    fn goes_left(&self, s: &SplitInfo, row: u32) -> bool {
        let bin = self.data.bins[s.feature][row as usize] as usize;
        if bin == self.data.mappers[s.feature].nan_bin() {
            s.default_left
        } else {
            bin <= s.bin
        }
    }

    /// Grows one tree over `rows` (the bag). Returns the tree (leaf values set) and, for each
    /// leaf node, the rows that ended in it, so the caller can update scores without traversal.
    pub fn grow(&self, rows: Vec<u32>) -> (Tree, Vec<(usize, Vec<u32>)>) {
        let p = self.params;
        let (g0, h0) = self.sums(&rows);
        let mut tree = Tree::new_root(rows.len() as u64, h0);
        tree.value[0] = leaf_output(g0, h0, p);
        let (hist, best) = self.root(&rows, (g0, h0, rows.len() as u64));
        let mut leaves = vec![Leaf {
            node: 0,
            rows,
            hist,
            depth: 0,
            best,
        }];
        while leaves.len() < p.num_leaves {
            let mut pick: Option<(usize, f64)> = None;
            for (i, leaf) in leaves.iter().enumerate() {
                if let Some(s) = leaf.best {
                    if pick.is_none_or(|(_, g)| s.gain > g) {
                        pick = Some((i, s.gain));
                    }
                }
            }
            let Some((idx, _)) = pick else { break };
            let leaf = leaves.swap_remove(idx);
            let Some(split) = leaf.best else { break };
            // One pass: each side's rows and gradient sums (added in row order, as a fold over
            // that side's rows would).
            let mut l_rows = Vec::with_capacity(leaf.rows.len());
            let mut r_rows = Vec::with_capacity(leaf.rows.len());
            let (mut gl, mut hl, mut gr, mut hr) = (0.0, 0.0, 0.0, 0.0);
            for &r in &leaf.rows {
                let (g, h) = self.gh[r as usize];
                if self.goes_left(&split, r) {
                    l_rows.push(r);
                    gl += g;
                    hl += h;
                } else {
                    r_rows.push(r);
                    gr += g;
                    hr += h;
                }
            }
            l_rows.shrink_to_fit();
            r_rows.shrink_to_fit();
            let threshold = self.data.mappers[split.feature].threshold(split.bin);
            let (ln, rn) = tree.split(
                leaf.node,
                split.feature,
                threshold,
                split.default_left,
                (l_rows.len() as u64, hl),
                (r_rows.len() as u64, hr),
            );
            tree.value[ln] = leaf_output(gl, hl, p);
            tree.value[rn] = leaf_output(gr, hr, p);
            let depth = leaf.depth + 1;
            let left_small = l_rows.len() <= r_rows.len();
            let l_total = (gl, hl, l_rows.len() as u64);
            let r_total = (gr, hr, r_rows.len() as u64);
            let [(l_hist, lb), (r_hist, rb)] = if left_small {
                self.children(leaf.hist, &l_rows, depth, (l_total, r_total))
            } else {
                let [right, left] = self.children(leaf.hist, &r_rows, depth, (r_total, l_total));
                [left, right]
            };
            // Keep leaves ordered by node index so tie-breaking is independent of swap_remove.
            leaves.push(Leaf {
                node: ln,
                rows: l_rows,
                hist: l_hist,
                depth,
                best: lb,
            });
            leaves.push(Leaf {
                node: rn,
                rows: r_rows,
                hist: r_hist,
                depth,
                best: rb,
            });
            leaves.sort_by_key(|l| l.node);
        }
        tree.finalize_internal_values();
        let assignment = leaves.into_iter().map(|l| (l.node, l.rows)).collect();
        (tree, assignment)
    }
}

/// The best of per-feature results, in feature order: a higher gain wins, ties go to the
/// lower feature index (so the winner does not depend on how features were split among threads).
fn first_best(per_feature: Vec<Option<SplitInfo>>) -> Option<SplitInfo> {
    let mut best: Option<SplitInfo> = None;
    for s in per_feature.into_iter().flatten() {
        if best.is_none_or(|b| s.gain > b.gain) {
            best = Some(s);
        }
    }
    best
}
