//! Walk-forward regimes: a model is fitted on the rows up to a fit row, labels the rows from
//! there to the next refit, and is refitted on a fixed schedule of rows. Every label therefore
//! comes from a model fitted on earlier rows and from the rows up to its own (the forward
//! filter): appending rows never changes an earlier label or probability, bit for bit.

use crate::hmm::HmmConfig;
use crate::model::{ModelKind, RegimeModel};
use crate::naming::{match_states, name_states, Regime};
use crate::RegimeError;
use serde::{Deserialize, Serialize};

/// How regimes are fitted walk-forward. Every field has a default, so `{}` is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalkConfig {
    /// The model family. Default: hmm.
    pub kind: ModelKind,
    /// States, restarts, iterations, floor and seed of every fit.
    pub model: HmmConfig,
    /// Rows of the first fit; rows before its last get no label. Default: 504 (two years of
    /// daily bars).
    pub min_fit_rows: usize,
    /// Rows between refits. Default: 252 (yearly on daily bars).
    pub refit_every: usize,
}

impl Default for WalkConfig {
    fn default() -> Self {
        WalkConfig {
            kind: ModelKind::Hmm,
            model: HmmConfig::default(),
            min_fit_rows: 504,
            refit_every: 252,
        }
    }
}

impl WalkConfig {
    /// Checks the ranges (the model's too).
    ///
    /// # Errors
    /// [`RegimeError::Config`] naming the field out of range.
    pub fn check(&self) -> Result<(), RegimeError> {
        self.model.check()?;
        if self.model.states > 4 {
            return Err(RegimeError::Config(format!(
                "states must be 1 to 4 for named regimes, got {}",
                self.model.states
            )));
        }
        if self.min_fit_rows < 4 * self.model.states.max(1) || self.min_fit_rows > 100_000 {
            return Err(RegimeError::Config(format!(
                "min_fit_rows must be 4 x states to 100000, got {}",
                self.min_fit_rows
            )));
        }
        if !(1..=100_000).contains(&self.refit_every) {
            return Err(RegimeError::Config(format!(
                "refit_every must be 1 to 100000, got {}",
                self.refit_every
            )));
        }
        Ok(())
    }
}

/// What one state looked like on its model's fit rows (rows assigned by the most probable
/// state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateSummary {
    /// The state's name.
    pub regime: Regime,
    /// Fit rows assigned to it.
    pub rows: usize,
    /// Mean of each feature over those rows.
    pub mean: Vec<f64>,
    /// Standard deviation of the first feature (the return) over those rows.
    pub std_first: f64,
}

/// One fitted model and the rows it labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Last row (0-based) the model was fitted on; it labels rows `fit_end..end`.
    pub fit_end: usize,
    /// One past the last row it labels.
    pub end: usize,
    /// Hash of the fit rows' bits (16 hex digits): a later run reuses the model only if they
    /// are unchanged.
    pub fit_hash: String,
    /// The model.
    pub model: RegimeModel,
    /// Each state's name, in the model's state order.
    pub names: Vec<Regime>,
    /// States whose name differs from the name of the previous fit's state they match (0 for
    /// the first fit): how stable the naming was at this refit.
    #[serde(default)]
    pub renamed: usize,
    /// The fit's objective (log-likelihood; minus the within-cluster sum of squares for
    /// k-means).
    pub score: f64,
    /// Each state's statistics on the fit rows, in state order.
    pub states: Vec<StateSummary>,
}

/// The labels of every row from the first fit on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Walk {
    /// The regimes that have a probability column, in [`Regime`] order.
    pub columns: Vec<Regime>,
    /// Every model, oldest first.
    pub segments: Vec<Segment>,
    /// The first labelled row (the last row of the first fit).
    pub first_labelled: usize,
    /// p(regime | rows up to t) for rows `first_labelled..`, `columns.len()` per row.
    pub probabilities: Vec<f64>,
    /// The most probable regime of each labelled row.
    pub labels: Vec<Regime>,
    /// Models fitted by this call (the rest were reused).
    pub fitted: usize,
}

/// Fits and labels `x` walk-forward. `reuse` is an earlier run's segments: a segment whose fit
/// rows are unchanged keeps its model and names (what makes a refresh that adds a day cost one
/// forward filter, not a refit).
///
/// # Errors
/// [`RegimeError::Config`] for an invalid configuration, [`RegimeError::Data`] for fewer rows
/// than `min_fit_rows` or unusable rows.
pub fn walk_forward(
    x: &[Vec<f64>],
    cfg: &WalkConfig,
    reuse: &[Segment],
) -> Result<Walk, RegimeError> {
    cfg.check()?;
    let n = x.len();
    if n < cfg.min_fit_rows {
        return Err(RegimeError::Data(format!(
            "{n} rows; the first fit needs {}",
            cfg.min_fit_rows
        )));
    }
    let first = cfg.min_fit_rows - 1;
    let fit_ends: Vec<usize> = (first..n).step_by(cfg.refit_every).collect();
    let mut segments: Vec<Segment> = Vec::with_capacity(fit_ends.len());
    let columns = columns_for(cfg.model.states);
    let mut probabilities = Vec::new();
    let mut labels = Vec::new();
    let mut fitted = 0;
    for (s, &fe) in fit_ends.iter().enumerate() {
        let end = fit_ends.get(s + 1).copied().unwrap_or(n);
        let fit_rows = &x[..=fe];
        let fit_hash = hash_rows(fit_rows);
        let old = reuse
            .get(s)
            .filter(|r| r.fit_end == fe && r.fit_hash == fit_hash && r.model.kind() == cfg.kind);
        let mut seg = match old {
            Some(r) => Segment { end, ..r.clone() },
            None => {
                fitted += 1;
                let (model, score) = match segments.last() {
                    None => RegimeModel::fit(cfg.kind, fit_rows, &cfg.model)?,
                    Some(prev) => prev.model.refit(fit_rows, &cfg.model)?,
                };
                let k = model.n_states();
                let p = model.probabilities(fit_rows)?;
                let (mean, std_first, rows) = state_stats(fit_rows, &p, k);
                // Every fit names its states by its own statistics (so a name always says
                // what the state is on the data so far); matching each state to the previous
                // fit's counts how many states changed name, which the walk reports.
                let names = name_states(&mean.iter().map(|m| m[0]).collect::<Vec<_>>(), &std_first);
                let renamed = match segments.last() {
                    None => 0,
                    Some(prev) => {
                        let scale = feature_scale(fit_rows);
                        let sig = |m: &[Vec<f64>]| -> Vec<Vec<f64>> {
                            m.iter()
                                .map(|v| v.iter().zip(&scale).map(|(a, s)| a / s).collect())
                                .collect()
                        };
                        let prev_mean: Vec<Vec<f64>> =
                            prev.states.iter().map(|st| st.mean.clone()).collect();
                        let perm = match_states(&sig(&prev_mean), &sig(&mean));
                        perm.iter()
                            .enumerate()
                            .filter(|(j, &p)| prev.names.get(p) != Some(&names[*j]))
                            .count()
                    }
                };
                let states = (0..k)
                    .map(|j| StateSummary {
                        regime: names[j],
                        rows: rows[j],
                        mean: mean[j].clone(),
                        std_first: std_first[j],
                    })
                    .collect();
                Segment {
                    fit_end: fe,
                    end,
                    fit_hash,
                    model,
                    names,
                    renamed,
                    score,
                    states,
                }
            }
        };
        let k = seg.model.n_states();
        let p = seg.model.probabilities(&x[..end])?;
        for t in fe..end {
            let mut row = vec![0.0; columns.len()];
            for j in 0..k {
                if let Some(c) = columns.iter().position(|r| *r == seg.names[j]) {
                    row[c] += p[t * k + j];
                }
            }
            let best = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
                .unwrap_or(0);
            labels.push(columns[best]);
            probabilities.extend_from_slice(&row);
        }
        seg.end = end;
        segments.push(seg);
    }
    Ok(Walk {
        columns,
        segments,
        first_labelled: first,
        probabilities,
        labels,
        fitted,
    })
}

/// Every name [`name_states`] can give `k` states, in [`Regime`] order: the probability columns
/// are fixed by the configuration, so they never depend on later fits.
fn columns_for(k: usize) -> Vec<Regime> {
    match k {
        0 | 1 => vec![Regime::Sideways],
        2 | 3 => vec![Regime::Bull, Regime::Bear, Regime::HighVol],
        _ => vec![
            Regime::Bull,
            Regime::Bear,
            Regime::Sideways,
            Regime::HighVol,
        ],
    }
}

/// Per state: mean of every feature, standard deviation of the first, rows (by most probable
/// state). A state with no rows gets means far from any data, so matching pairs it last.
fn state_stats(x: &[Vec<f64>], p: &[f64], k: usize) -> (Vec<Vec<f64>>, Vec<f64>, Vec<usize>) {
    let d = x[0].len();
    let mut sums = vec![vec![0.0; d]; k];
    let mut sq = vec![0.0; k];
    let mut rows = vec![0usize; k];
    for (t, r) in x.iter().enumerate() {
        let pr = &p[t * k..(t + 1) * k];
        let j = (0..k)
            .max_by(|&a, &b| pr[a].total_cmp(&pr[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        rows[j] += 1;
        for (s, v) in sums[j].iter_mut().zip(r) {
            *s += v;
        }
        sq[j] += r[0] * r[0];
    }
    let mut means = Vec::with_capacity(k);
    let mut stds = Vec::with_capacity(k);
    for j in 0..k {
        if rows[j] == 0 {
            means.push(vec![1e6; d]);
            stds.push(0.0);
            continue;
        }
        let c = rows[j] as f64;
        let m: Vec<f64> = sums[j].iter().map(|s| s / c).collect();
        stds.push((sq[j] / c - m[0] * m[0]).max(0.0).sqrt());
        means.push(m);
    }
    (means, stds, rows)
}

fn feature_scale(x: &[Vec<f64>]) -> Vec<f64> {
    let n = x.len() as f64;
    (0..x[0].len())
        .map(|f| {
            let m = x.iter().map(|r| r[f]).sum::<f64>() / n;
            let v = x.iter().map(|r| (r[f] - m).powi(2)).sum::<f64>() / n;
            if v > 0.0 {
                v.sqrt()
            } else {
                1.0
            }
        })
        .collect()
}

/// FNV-1a over the rows' bits, as 16 hex digits (stores without unsigned 64-bit integers keep
/// it whole).
fn hash_rows(x: &[Vec<f64>]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for r in x {
        for v in r {
            for b in v.to_bits().to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("{h:016x}")
}
