//! PPO's minibatch update without an autograd graph.
//!
//! Why: on 64-wide layers the arithmetic of a minibatch is a few million flops, and candle's
//! autograd spent most of a minibatch building and walking its graph (some fifty small tensor
//! ops, each allocating), not computing. Here the forward pass keeps each layer's input, the
//! backward pass is the chain rule written out for dense layers with tanh/ReLU, softmax
//! policies and the clipped objective, and every matrix product goes through `kernel`
//! (AVX-512 on the operands in place, or the `gemm` crate candle multiplies with),
//! single-threaded: the policy and the value function train on a thread each (`crate::epochs`).
//! The weights still live in candle tensors between updates (checkpoints, safetensors); a
//! test checks these gradients against candle's autograd on the same loss.

use crate::nn::{Activation, Mlp};
use crate::{Result, RlError};

mod adam;
mod kernel;
mod lanes;
pub(crate) use adam::{clip_scale, Adam};
use kernel::matmul;
use lanes::{add_rows, sq_sum, tanh_backward, tanh_in_place};

/// One dense layer: weight `[out, inp]` row-major, bias `[out]`, and the weight transposed
/// (`[inp, out]`: the forward pass reads its rows), refreshed whenever the weight changes.
#[derive(Debug, Clone)]
struct Dense {
    inp: usize,
    out: usize,
    w: Vec<f32>,
    b: Vec<f32>,
    wt: Vec<f32>,
}

impl Dense {
    fn transpose(&mut self) {
        self.wt.resize(self.w.len(), 0.0);
        for (o, row) in self.w.chunks_exact(self.inp).enumerate() {
            for (i, v) in row.iter().enumerate() {
                self.wt[i * self.out + o] = *v;
            }
        }
    }
}

/// An MLP as flat arrays (the same layout as [`Mlp`]'s tensors).
#[derive(Debug, Clone)]
pub(crate) struct FlatMlp {
    layers: Vec<Dense>,
    act: Activation,
}

/// What the forward pass keeps for the backward pass: every layer's input (the hidden ones
/// after their nonlinearity) and the output; and the backward pass's buffers. Reused from one
/// minibatch to the next, so a pass allocates nothing once the sizes are reached.
#[derive(Debug, Default)]
pub(crate) struct Tape {
    xs: Vec<Vec<f32>>,
    /// The network's output, `n × out` row-major.
    pub(crate) out: Vec<f32>,
    /// The loss's gradient with respect to `out`, set by the caller of [`FlatMlp::backward`].
    pub(crate) d_out: Vec<f32>,
    d_next: Vec<f32>,
    n: usize,
}

/// Gradients of an MLP's weights and biases, in layer order.
#[derive(Debug, Clone)]
pub(crate) struct Grads(Vec<(Vec<f32>, Vec<f32>)>);

impl FlatMlp {
    /// A copy of `mlp`'s weights.
    pub(crate) fn from_mlp(mlp: &Mlp) -> Self {
        let mut net = FlatMlp {
            layers: mlp
                .plain_layers()
                .iter()
                .map(|(w, b, out, inp)| Dense {
                    inp: *inp,
                    out: *out,
                    w: w.clone(),
                    b: b.clone(),
                    wt: Vec::new(),
                })
                .collect(),
            act: mlp.activation(),
        };
        net.weights_changed();
        net
    }

    /// Refreshes the transposed weights after the weights changed.
    pub(crate) fn weights_changed(&mut self) {
        self.layers.iter_mut().for_each(Dense::transpose);
    }

    /// Writes these weights back into `mlp` (its tensors and its plain copy).
    pub(crate) fn store_into(&self, mlp: &mut Mlp) -> Result<()> {
        let layers: Vec<(&[f32], &[f32])> = self
            .layers
            .iter()
            .map(|l| (l.w.as_slice(), l.b.as_slice()))
            .collect();
        mlp.set_weights(&layers)
    }

    /// Zero gradients shaped like the weights.
    pub(crate) fn zero_grads(&self) -> Grads {
        Grads(
            self.layers
                .iter()
                .map(|l| (vec![0.0; l.w.len()], vec![0.0; l.b.len()]))
                .collect(),
        )
    }

    /// `x` (`n × inp`, row-major) through the network; the output is `tape.out`.
    pub(crate) fn forward(&self, x: &[f32], n: usize, tape: &mut Tape) -> Result<()> {
        let first = self
            .layers
            .first()
            .ok_or_else(|| RlError::Config("empty network".into()))?;
        if x.len() != n * first.inp {
            return Err(RlError::Config(format!(
                "input of {} values for {n} rows of {}",
                x.len(),
                first.inp
            )));
        }
        tape.n = n;
        tape.xs.resize_with(self.layers.len(), Vec::new);
        tape.xs[0].clear();
        tape.xs[0].extend_from_slice(x);
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            let mut y = std::mem::take(if i < last {
                &mut tape.xs[i + 1]
            } else {
                &mut tape.out
            });
            y.clear();
            for _ in 0..n {
                y.extend_from_slice(&l.b);
            }
            // y[n×out] += x[n×inp] · wᵀ.
            matmul(
                n,
                l.out,
                l.inp,
                &mut y,
                true,
                &tape.xs[i],
                (l.inp, 1),
                &l.wt,
                (l.out, 1),
            );
            if i < last {
                match self.act {
                    Activation::Tanh => tanh_in_place(&mut y),
                    Activation::Relu => y.iter_mut().for_each(|v| *v = v.max(0.0)),
                }
                tape.xs[i + 1] = y;
            } else {
                tape.out = y;
            }
        }
        Ok(())
    }

    /// Adds to `grads` the gradient of a loss whose gradient with respect to the output of the
    /// forward pass recorded in `tape` is `tape.d_out` (`n × out`; used up as scratch).
    pub(crate) fn backward(&self, tape: &mut Tape, grads: &mut Grads) {
        let n = tape.n;
        let mut d = std::mem::take(&mut tape.d_out);
        let mut dx = std::mem::take(&mut tape.d_next);
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate().rev() {
            if i < last {
                // d was the gradient at the layer's output after its nonlinearity.
                let y = &tape.xs[i + 1];
                match self.act {
                    Activation::Tanh => tanh_backward(&mut d, y),
                    Activation::Relu => d.iter_mut().zip(y).for_each(|(g, y)| {
                        if *y <= 0.0 {
                            *g = 0.0
                        }
                    }),
                }
            }
            let (gw, gb) = &mut grads.0[i];
            // gw[out×inp] += dᵀ[out×n] · x[n×inp].
            matmul(
                l.out,
                l.inp,
                n,
                gw,
                true,
                &d,
                (1, l.out),
                &tape.xs[i],
                (l.inp, 1),
            );
            add_rows(gb, &d);
            if i > 0 {
                // dx[n×inp] = d[n×out] · w[out×inp].
                dx.clear();
                dx.resize(n * l.inp, 0.0);
                matmul(
                    n,
                    l.inp,
                    l.out,
                    &mut dx,
                    false,
                    &d,
                    (l.out, 1),
                    &l.w,
                    (l.inp, 1),
                );
                std::mem::swap(&mut d, &mut dx);
            }
        }
        tape.d_out = d;
        tape.d_next = dx;
    }

    pub(crate) fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.layers
            .iter_mut()
            .flat_map(|l| [&mut l.w, &mut l.b].into_iter())
    }
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

impl Grads {
    /// Adds `other` (same shapes) into these gradients.
    #[cfg(test)]
    pub(crate) fn add(&mut self, other: &Grads) {
        for (a, b) in self.iter_mut().zip(other.iter()) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Vec<f32>> {
        self.0.iter().flat_map(|(w, b)| [w, b].into_iter())
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.0.iter_mut().flat_map(|(w, b)| [w, b].into_iter())
    }

    /// Sets every gradient to zero.
    pub(crate) fn clear(&mut self) {
        self.iter_mut().for_each(|g| g.fill(0.0));
    }

    /// The sum of the squared gradients, in f64, in layer order.
    pub(crate) fn sq_norm(&self) -> f64 {
        self.iter().map(|g| sq_sum(g)).sum()
    }

    /// The values in layer order (weights then bias of each layer), for tests.
    #[cfg(test)]
    pub(crate) fn flat(&self) -> Vec<f32> {
        self.iter().flatten().copied().collect()
    }
}

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
/// the batch) for `pi` on `batch`, added to `gp`. Returns those terms' loss.
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
    let inv_n = 1.0 / batch.total as f64;
    let mut d_logits = std::mem::take(&mut tape.d_out);
    d_logits.clear();
    d_logits.resize(logits.len(), 0.0);
    let (mut policy_loss, mut entropy_sum) = (0.0f64, 0.0f64);
    let mut p = vec![0.0f64; a_dim];
    let mut logp = vec![0.0f64; a_dim];
    for j in 0..n {
        let z = &logits[j * a_dim..(j + 1) * a_dim];
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for k in 0..a_dim {
            p[k] = f64::from(z[k] - max).exp();
        }
        let sum: f64 = p.iter().sum();
        let lse = f64::from(max) + sum.ln();
        for k in 0..a_dim {
            logp[k] = f64::from(z[k]) - lse;
            p[k] /= sum;
        }
        let h: f64 = -(0..a_dim).map(|k| p[k] * logp[k]).sum::<f64>();
        entropy_sum += h;
        let a = batch.actions[j] as usize;
        if a >= a_dim {
            return Err(RlError::Config(format!("action {a} of {a_dim}")));
        }
        let adv = f64::from(batch.adv[j]);
        let ratio = (logp[a] - f64::from(batch.old_logp[j])).exp();
        let s1 = ratio * adv;
        let s2 = ratio.clamp(1.0 - w.clip, 1.0 + w.clip) * adv;
        policy_loss -= s1.min(s2) * inv_n;
        // d(−min(s1, s2))/d logp[a]: the gradient flows through s1 when it is the smaller
        // (or equal: then the clip is inactive and s2 = s1 has the same slope).
        let g_logp = if s1 <= s2 { -adv * ratio * inv_n } else { 0.0 };
        let d = &mut d_logits[j * a_dim..(j + 1) * a_dim];
        for k in 0..a_dim {
            let delta = if k == a { 1.0 } else { 0.0 };
            // log-softmax, then −ent_coef × entropy: ∂H/∂z_k = −p_k (log p_k + H).
            let g = g_logp * (delta - p[k]) + w.ent_coef * inv_n * p[k] * (logp[k] + h);
            d[k] = g as f32;
        }
    }
    tape.d_out = d_logits;
    pi.backward(tape, gp);
    Ok(policy_loss - w.ent_coef * entropy_sum * inv_n)
}

/// The gradient of PPO's value term (`vf_coef` × the mean squared error against the returns)
/// for `vf` on `batch`, added to `gv`. Returns that term's loss.
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

#[cfg(test)]
mod tests;
