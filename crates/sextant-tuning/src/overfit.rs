//! How much of the best trial is luck: the deflated Sharpe ratio and the probability of
//! backtest overfitting.
//!
//! - **Deflated Sharpe ratio** (Bailey & López de Prado 2014): the probabilistic Sharpe ratio
//!   of the best trial's returns against `SR*`, the Sharpe ratio the best of `N` skill-less
//!   trials would show by chance: `SR* = √V[SR] · ((1−γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))`,
//!   and `PSR(SR*) = Φ((SR − SR*) √(T−1) / √(1 − γ₃ SR + (γ₄ − 1)/4 · SR²))` on per-period
//!   (not annualised) Sharpe ratios, sample std (ddof 1), biased skewness and Pearson kurtosis.
//! - **PBO by combinatorially symmetric cross-validation** (Bailey, Borwein, López de Prado &
//!   Zhu 2017): the `T × N` matrix of per-period returns is cut into `S` equal blocks (the
//!   oldest `T mod S` rows dropped); for each of the `C(S, S/2)` halves the in-sample best
//!   trial's out-of-sample rank `ω` (average ranks, 1 = worst, over `N + 1`) gives a logit
//!   `ln(ω / (1 − ω))`; PBO is the share of logits ≤ 0.
//!
//! `scripts/tuning/overfit_reference.py` implements both independently; its outputs on fixed
//! inputs are the fixture `tests/overfit_reference.rs` checks.

use crate::TuningError;
use serde::{Deserialize, Serialize};
use sextant_numeric::{norm_cdf, norm_ppf};

/// Euler–Mascheroni constant.
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The deflated Sharpe ratio of a selected trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deflated {
    /// Per-period Sharpe ratio of the selected trial's returns (mean / std, ddof 1).
    pub sharpe: f64,
    /// Periods in the track record (`T`).
    pub periods: usize,
    /// Skewness of the returns (biased).
    pub skew: f64,
    /// Kurtosis of the returns (Pearson, 3 for a normal; biased).
    pub kurtosis: f64,
    /// Trials the selection was made among (`N`).
    pub trials: usize,
    /// Variance of the trials' per-period Sharpe ratios (ddof 1).
    pub sharpe_variance: f64,
    /// Expected maximum per-period Sharpe ratio of `N` skill-less trials; 0 with fewer than
    /// two trials.
    pub sharpe_star: f64,
    /// Probability that the true Sharpe ratio exceeds 0 (no deflation).
    pub psr: f64,
    /// Probability that it exceeds `sharpe_star`: the deflated Sharpe ratio.
    pub dsr: f64,
}

/// Mean, per-period Sharpe, biased skewness and Pearson kurtosis of `r`.
fn moments(r: &[f64]) -> (f64, f64, f64) {
    let n = r.len() as f64;
    let mean = r.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for x in r {
        let d = x - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    let (m2b, m3b, m4b) = (m2 / n, m3 / n, m4 / n);
    let sd = (m2 / (n - 1.0)).sqrt();
    (mean / sd, m3b / m2b.powf(1.5), m4b / (m2b * m2b))
}

/// Per-period Sharpe ratio of `r` (mean over sample std); NaN for fewer than 2 values or no
/// variation.
pub fn sharpe(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    moments(r).0
}

/// `SR*`: the expected maximum of `n` per-period Sharpe ratios with variance `var` and no skill.
pub fn expected_max_sharpe(n: usize, var: f64) -> f64 {
    if n < 2 || !(var.is_finite() && var > 0.0) {
        return 0.0;
    }
    let nf = n as f64;
    var.sqrt()
        * ((1.0 - EULER_GAMMA) * norm_ppf(1.0 - 1.0 / nf)
            + EULER_GAMMA * norm_ppf(1.0 - 1.0 / (nf * std::f64::consts::E)))
}

/// The probabilistic Sharpe ratio `PSR(sr_star)` of a track record.
pub fn psr(sharpe: f64, periods: usize, skew: f64, kurtosis: f64, sr_star: f64) -> f64 {
    let denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe;
    if periods < 2 || denom.is_nan() || denom <= 0.0 {
        return f64::NAN;
    }
    norm_cdf((sharpe - sr_star) * ((periods - 1) as f64).sqrt() / denom.sqrt())
}

/// The deflated Sharpe ratio of `best` (the selected trial's per-period returns), selected
/// among trials whose per-period Sharpe ratios are `trial_sharpes` (the selected one included;
/// `N` is their number).
pub fn deflated_sharpe(best: &[f64], trial_sharpes: &[f64]) -> Result<Deflated, TuningError> {
    deflated_sharpe_among(best, trial_sharpes, 0)
}

/// [`deflated_sharpe`] with `N` at least `trials`: when more trials were tried than have a
/// Sharpe ratio (pruned ones, ones that never traded), they still count as tries; the variance
/// comes from the finite Sharpe ratios given.
pub fn deflated_sharpe_among(
    best: &[f64],
    trial_sharpes: &[f64],
    trials: usize,
) -> Result<Deflated, TuningError> {
    if best.len() < 3 || best.iter().any(|x| !x.is_finite()) {
        return Err(TuningError::Stats(
            "the deflated Sharpe ratio needs at least 3 finite returns".into(),
        ));
    }
    let (sr, skew, kurt) = moments(best);
    let srs: Vec<f64> = trial_sharpes
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .collect();
    let n = srs.len();
    let var = if n >= 2 {
        let m = srs.iter().sum::<f64>() / n as f64;
        srs.iter().map(|s| (s - m) * (s - m)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    let n = n.max(trials);
    let star = expected_max_sharpe(n, var);
    Ok(Deflated {
        sharpe: sr,
        periods: best.len(),
        skew,
        kurtosis: kurt,
        trials: n,
        sharpe_variance: var,
        sharpe_star: star,
        psr: psr(sr, best.len(), skew, kurt, 0.0),
        dsr: psr(sr, best.len(), skew, kurt, star),
    })
}

/// The probability of backtest overfitting and what CSCV saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pbo {
    /// Share of splits where the in-sample best ranked in the bottom half out of sample.
    pub pbo: f64,
    /// Splits evaluated: `C(S, S/2)`.
    pub splits: usize,
    /// Blocks `S`.
    pub blocks: usize,
    /// Trials (columns) compared.
    pub trials: usize,
    /// Rows used (a multiple of `S`).
    pub periods: usize,
    /// Oldest rows dropped to make `T` a multiple of `S`.
    pub periods_dropped: usize,
    /// Mean logit of the out-of-sample rank (positive: the in-sample best tends to stay good).
    pub mean_logit: f64,
    /// OLS slope of the best trial's out-of-sample Sharpe on its in-sample Sharpe across splits
    /// (negative: the better it looked, the worse it did).
    pub degradation_slope: f64,
    /// Share of splits where the in-sample best lost money out of sample (per-period Sharpe < 0).
    pub prob_loss: f64,
}

/// Default number of CSCV blocks (`S`), as in the paper's examples.
pub const DEFAULT_BLOCKS: usize = 16;

fn perf(sum: f64, sum_sq: f64, n: f64) -> f64 {
    let mean = sum / n;
    let var = (sum_sq - sum * mean) / (n - 1.0);
    if var > 0.0 {
        mean / var.sqrt()
    } else if mean == 0.0 {
        0.0
    } else {
        mean.signum() * f64::INFINITY
    }
}

/// One trial's returns reduced to what CSCV needs: per block, the sum and the sum of squares.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSums {
    sums: Vec<f64>,
    squares: Vec<f64>,
    len: usize,
    dropped: usize,
}

impl BlockSums {
    /// Cuts `returns` into `blocks` equal blocks, dropping the oldest `len mod blocks`.
    pub fn new(returns: &[f64], blocks: usize) -> Result<BlockSums, TuningError> {
        if blocks < 2 || !blocks.is_multiple_of(2) || blocks > 24 {
            return Err(TuningError::Stats(format!(
                "blocks must be even and in 2..=24, got {blocks}"
            )));
        }
        let t = returns.len();
        let len = t / blocks;
        if len < 2 {
            return Err(TuningError::Stats(format!(
                "{t} periods are too few for {blocks} blocks of at least 2"
            )));
        }
        let dropped = t - len * blocks;
        let r = &returns[dropped..];
        if r.iter().any(|x| !x.is_finite()) {
            return Err(TuningError::Stats("returns must be finite".into()));
        }
        let (mut sums, mut squares) = (vec![0.0; blocks], vec![0.0; blocks]);
        for (b, chunk) in r.chunks(len).enumerate() {
            for &x in chunk {
                sums[b] += x;
                squares[b] += x * x;
            }
        }
        Ok(BlockSums {
            sums,
            squares,
            len,
            dropped,
        })
    }
}

/// PBO by CSCV on `columns` (one per trial, all the same length, in time order), `blocks` even.
pub fn pbo(columns: &[Vec<f64>], blocks: usize) -> Result<Pbo, TuningError> {
    let b: Vec<BlockSums> = columns
        .iter()
        .map(|c| BlockSums::new(c, blocks))
        .collect::<Result<_, _>>()?;
    pbo_blocks(&b)
}

/// [`pbo`] on trials already reduced to [`BlockSums`] (same length and blocks).
pub fn pbo_blocks(trials: &[BlockSums]) -> Result<Pbo, TuningError> {
    let n = trials.len();
    let Some(first) = trials.first() else {
        return Err(TuningError::Stats("PBO needs at least 2 trials".into()));
    };
    let (blocks, len, dropped) = (first.sums.len(), first.len, first.dropped);
    if n < 2
        || trials
            .iter()
            .any(|b| b.sums.len() != blocks || b.len != len || b.dropped != dropped)
    {
        return Err(TuningError::Stats(
            "PBO needs at least 2 trials of equal length".into(),
        ));
    }
    let t = dropped + len * blocks;
    // sums[b][j], sq[b][j]: block b, trial j.
    let sums: Vec<Vec<f64>> = (0..blocks)
        .map(|b| trials.iter().map(|x| x.sums[b]).collect())
        .collect();
    let sq: Vec<Vec<f64>> = (0..blocks)
        .map(|b| trials.iter().map(|x| x.squares[b]).collect())
        .collect();
    let half = blocks / 2;
    let rows = (half * len) as f64;
    let mut logits = Vec::new();
    let (mut is_best, mut oos_best) = (Vec::new(), Vec::new());
    let mut combo: Vec<usize> = (0..half).collect();
    let mut in_set = vec![false; blocks];
    loop {
        in_set.iter_mut().for_each(|x| *x = false);
        combo.iter().for_each(|&b| in_set[b] = true);
        let (mut is_perf, mut oos_perf) = (vec![0.0; n], vec![0.0; n]);
        for j in 0..n {
            let (mut s_in, mut q_in, mut s_out, mut q_out) = (0.0, 0.0, 0.0, 0.0);
            for b in 0..blocks {
                if in_set[b] {
                    s_in += sums[b][j];
                    q_in += sq[b][j];
                } else {
                    s_out += sums[b][j];
                    q_out += sq[b][j];
                }
            }
            is_perf[j] = perf(s_in, q_in, rows);
            oos_perf[j] = perf(s_out, q_out, rows);
        }
        let mut star = 0;
        for j in 1..n {
            if is_perf[j] > is_perf[star] {
                star = j;
            }
        }
        let v = oos_perf[star];
        let less = oos_perf.iter().filter(|&&x| x < v).count() as f64;
        let equal = oos_perf.iter().filter(|&&x| x == v).count() as f64;
        let rank = less + (equal + 1.0) / 2.0;
        let omega = rank / (n as f64 + 1.0);
        logits.push((omega / (1.0 - omega)).ln());
        is_best.push(is_perf[star]);
        oos_best.push(v);
        // Next combination in lexicographic order.
        let mut i = half;
        loop {
            if i == 0 {
                return Ok(summarise(
                    logits, &is_best, &oos_best, blocks, n, t, dropped,
                ));
            }
            i -= 1;
            if combo[i] < blocks - half + i {
                combo[i] += 1;
                for k in i + 1..half {
                    combo[k] = combo[k - 1] + 1;
                }
                break;
            }
        }
    }
}

fn summarise(
    logits: Vec<f64>,
    is_best: &[f64],
    oos_best: &[f64],
    blocks: usize,
    trials: usize,
    t: usize,
    dropped: usize,
) -> Pbo {
    let m = logits.len() as f64;
    let pbo = logits.iter().filter(|&&l| l <= 0.0).count() as f64 / m;
    let finite: Vec<(f64, f64)> = is_best
        .iter()
        .zip(oos_best)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(&a, &b)| (a, b))
        .collect();
    let k = finite.len() as f64;
    let (mx, my) = finite
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / k, b + y / k));
    let (sxy, sxx) = finite.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    Pbo {
        pbo,
        splits: logits.len(),
        blocks,
        trials,
        periods: t - dropped,
        periods_dropped: dropped,
        mean_logit: logits.iter().sum::<f64>() / m,
        degradation_slope: if sxx > 0.0 { sxy / sxx } else { f64::NAN },
        prob_loss: oos_best.iter().filter(|&&v| v < 0.0).count() as f64 / m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn noise(seed: u64, t: usize, n: usize, edge: Option<(usize, f64)>) -> Vec<Vec<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let d = Normal::new(0.0, 0.01).unwrap();
        (0..n)
            .map(|j| {
                (0..t)
                    .map(|_| {
                        let mu = match edge {
                            Some((k, m)) if k == j => m,
                            _ => 0.0,
                        };
                        mu + d.sample(&mut rng)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn noise_overfits_and_an_edge_does_not() {
        let mut p_noise = Vec::new();
        for seed in 0..4 {
            p_noise.push(pbo(&noise(seed, 1000, 40, None), 10).unwrap().pbo);
        }
        let mean = p_noise.iter().sum::<f64>() / 4.0;
        assert!((0.35..=0.75).contains(&mean), "{p_noise:?}");
        let e = pbo(&noise(9, 1000, 40, Some((7, 0.002))), 10).unwrap();
        assert!(e.pbo < 0.05, "{e:?}");
        assert_eq!(e.splits, 252);
    }

    #[test]
    fn dsr_deflates_with_more_trials() {
        let r = &noise(1, 1000, 1, Some((0, 0.001)))[0];
        let few = deflated_sharpe(r, &[0.01, 0.02, sharpe(r)]).unwrap();
        let many: Vec<f64> = (0..1000).map(|i| (i as f64 - 500.0) * 1e-4).collect();
        let lots = deflated_sharpe(r, &many).unwrap();
        assert!(lots.sharpe_star > few.sharpe_star);
        assert!(lots.dsr < few.dsr && few.dsr <= few.psr);
        assert!(deflated_sharpe(&[0.1, 0.2], &[]).is_err());
    }
}
