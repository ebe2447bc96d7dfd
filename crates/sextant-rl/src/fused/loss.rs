//! PPO's loss on a minibatch: its value and its gradient with respect to each network's output,
//! pushed back through the network.

use super::lanes::exp_in_place;
use super::{FlatMlp, Grads, Tape};
use crate::{Result, RlError};

/// One PPO minibatch (or a part of one), its rows gathered (the policy reads the actions,
/// log-probabilities and advantages, the value function the returns; either may leave the
/// other's empty).
#[derive(Clone, Copy)]
pub(crate) struct Batch<'a> {
    /// Rows of the whole minibatch (the losses are means over all of them).
    pub total: usize,
    /// Observations, `n × obs_dim`.
    pub obs: &'a [f32],
    /// Actions taken.
    pub actions: &'a [u32],
    /// Their log-probabilities when taken.
    pub old_logp: &'a [f32],
    /// Normalised advantages.
    pub adv: &'a [f32],
    /// Value targets.
    pub returns: &'a [f32],
}

/// The coefficients of PPO's loss.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LossWeights {
    pub clip: f64,
    pub vf_coef: f64,
    pub ent_coef: f64,
}

fn check_rows(n: usize, total: usize) -> Result<usize> {
    if n == 0 || total < n {
        return Err(RlError::Config(format!("{n} rows of a batch of {total}")));
    }
    Ok(n)
}

/// The gradient of PPO's policy terms (clipped surrogate − `ent_coef` × entropy, means over
/// the batch) for `pi` on `batch`, written into `gp`. Returns those terms' loss.
///
/// The softmax runs in f64 over the whole batch in passes (exponentials of every logit, then
/// every row's sums, then every ratio's exponential), so that the exponentials vectorise
/// ([`sextant_numeric::exp`]); only the row sums' logarithms are calls to libm.
pub(crate) fn policy_gradients(
    pi: &FlatMlp,
    batch: &Batch<'_>,
    w: LossWeights,
    tape: &mut Tape,
    gp: &mut Grads,
) -> Result<f64> {
    let n = check_rows(batch.actions.len(), batch.total)?;
    pi.forward(batch.obs, n, tape)?;
    let logits = &tape.out;
    let a_dim = logits.len() / n;
    if let Some(a) = batch.actions.iter().find(|&&a| a as usize >= a_dim) {
        return Err(RlError::Config(format!("action {a} of {a_dim}")));
    }
    let inv_n = 1.0 / batch.total as f64;
    // p: the logits less their row's maximum, exponentiated, then divided by the row's sum;
    // per row: log-sum-exp, entropy, ratio.
    let mut f = std::mem::take(&mut tape.f64s);
    f.resize(n * (a_dim + 3), 0.0);
    let (p, rest) = f.split_at_mut(n * a_dim);
    let (lse, rest) = rest.split_at_mut(n);
    let (h, ratio) = rest.split_at_mut(n);
    for ((z, p), lse) in logits
        .chunks_exact(a_dim)
        .zip(p.chunks_exact_mut(a_dim))
        .zip(&mut *lse)
    {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        p.iter_mut()
            .zip(z)
            .for_each(|(p, z)| *p = f64::from(z - max));
        *lse = f64::from(max);
    }
    exp_in_place(p);
    for j in 0..n {
        let z = &logits[j * a_dim..(j + 1) * a_dim];
        let p = &mut p[j * a_dim..(j + 1) * a_dim];
        let sum: f64 = p.iter().sum();
        lse[j] += sum.ln();
        p.iter_mut().for_each(|v| *v /= sum);
        h[j] = -p
            .iter()
            .zip(z)
            .map(|(p, z)| p * (f64::from(*z) - lse[j]))
            .sum::<f64>();
        let a = batch.actions[j] as usize;
        ratio[j] = f64::from(z[a]) - lse[j] - f64::from(batch.old_logp[j]);
    }
    exp_in_place(ratio);
    let mut d_logits = std::mem::take(&mut tape.d_out);
    d_logits.resize(logits.len(), 0.0);
    let (mut policy_loss, mut entropy_sum) = (0.0f64, 0.0f64);
    for j in 0..n {
        let z = &logits[j * a_dim..(j + 1) * a_dim];
        let p = &p[j * a_dim..(j + 1) * a_dim];
        entropy_sum += h[j];
        let a = batch.actions[j] as usize;
        let adv = f64::from(batch.adv[j]);
        let s1 = ratio[j] * adv;
        let s2 = ratio[j].clamp(1.0 - w.clip, 1.0 + w.clip) * adv;
        policy_loss -= s1.min(s2) * inv_n;
        // d(−min(s1, s2))/d logp[a]: the gradient flows through s1 when it is the smaller
        // (or equal: then the clip is inactive and s2 = s1 has the same slope).
        let g_logp = if s1 <= s2 {
            -adv * ratio[j] * inv_n
        } else {
            0.0
        };
        let d = &mut d_logits[j * a_dim..(j + 1) * a_dim];
        for k in 0..a_dim {
            let delta = if k == a { 1.0 } else { 0.0 };
            let logp = f64::from(z[k]) - lse[j];
            // log-softmax, then −ent_coef × entropy: ∂H/∂z_k = −p_k (log p_k + H).
            let g = g_logp * (delta - p[k]) + w.ent_coef * inv_n * p[k] * (logp + h[j]);
            d[k] = g as f32;
        }
    }
    tape.f64s = f;
    tape.d_out = d_logits;
    pi.backward(tape, gp);
    Ok(policy_loss - w.ent_coef * entropy_sum * inv_n)
}

/// The gradient of PPO's value term (`vf_coef` × the mean squared error against the returns)
/// for `vf` on `batch`, written into `gv`. Returns that term's loss.
pub(crate) fn value_gradients(
    vf: &FlatMlp,
    batch: &Batch<'_>,
    vf_coef: f64,
    tape: &mut Tape,
    gv: &mut Grads,
) -> Result<f64> {
    let n = check_rows(batch.returns.len(), batch.total)?;
    vf.forward(batch.obs, n, tape)?;
    let inv_n = 1.0 / batch.total as f64;
    let mut d_values = std::mem::take(&mut tape.d_out);
    d_values.clear();
    let mut value_loss = 0.0f64;
    for (v, r) in tape.out.iter().zip(batch.returns) {
        let diff = f64::from(*v) - f64::from(*r);
        value_loss += diff * diff * inv_n;
        d_values.push((vf_coef * 2.0 * diff * inv_n) as f32);
    }
    tape.d_out = d_values;
    vf.backward(tape, gv);
    Ok(vf_coef * value_loss)
}

/// Both: the gradients of PPO's whole loss, and the loss.
#[cfg(test)]
pub(crate) fn ppo_gradients(
    pi: &FlatMlp,
    vf: &FlatMlp,
    batch: &Batch<'_>,
    w: LossWeights,
    gp: &mut Grads,
    gv: &mut Grads,
) -> Result<f64> {
    let lp = policy_gradients(pi, batch, w, &mut Tape::default(), gp)?;
    let lv = value_gradients(vf, batch, w.vf_coef, &mut Tape::default(), gv)?;
    Ok(lp + lv)
}

impl Batch<'_> {
    /// The first `k` rows and the rest, both still means over [`Batch::total`] rows.
    #[cfg(test)]
    pub(crate) fn split(&self, k: usize) -> (Self, Self) {
        let d = self.obs.len() / self.actions.len().max(1);
        let part = |lo: usize, hi: usize| Batch {
            total: self.total,
            obs: &self.obs[lo * d..hi * d],
            actions: &self.actions[lo..hi],
            old_logp: &self.old_logp[lo..hi],
            adv: &self.adv[lo..hi],
            returns: &self.returns[lo..hi],
        };
        let n = self.actions.len();
        (part(0, k.min(n)), part(k.min(n), n))
    }
}
