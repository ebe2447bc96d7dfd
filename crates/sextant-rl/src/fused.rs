//! PPO's minibatch update without an autograd graph.
//!
//! Why: on 64-wide layers the arithmetic of a minibatch is a few million flops, and candle's
//! autograd spent most of a minibatch building and walking its graph (some fifty small tensor
//! ops, each allocating), not computing. Here the forward pass keeps each layer's input, the
//! backward pass is the chain rule written out for dense layers with tanh/ReLU, softmax
//! policies and the clipped objective, and every matrix product goes through `gemm` (the
//! crate candle itself multiplies with), single-threaded so results do not depend on the
//! machine. The weights still live in candle tensors between updates (checkpoints,
//! safetensors); a test checks these gradients against candle's autograd on the same loss.

use crate::nn::{Activation, Mlp};
use crate::{Result, RlError};

/// `c[m×n] = a[m×k] · b[k×n]` (or `c +=` with `accumulate`), each matrix given by its slice and
/// (row stride, column stride).
#[allow(clippy::too_many_arguments)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(c.len() > last(m, n, n, 1), "matmul: c too small");
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    assert!(a.len() > last(m, k, a_rs, a_cs), "matmul: a too small");
    assert!(b.len() > last(k, n, b_rs, b_cs), "matmul: b too small");
    // SAFETY: the asserts above keep every index gemm reads or writes inside the slices
    // (c is row-major m×n, a and b are read through their strides), and c does not alias a
    // or b (a `&mut` and two `&` borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `tanh` of every value ([`sextant_numeric::tanh_f32`]), on AVX2 lanes when the CPU has them.
/// The results are the same bits either way (no fused multiply-add is introduced: Rust never
/// contracts `a * b + c`), only faster.
fn tanh_in_place(y: &mut [f32]) {
    #[inline(always)]
    fn plain(y: &mut [f32]) {
        y.iter_mut()
            .for_each(|v| *v = sextant_numeric::tanh_f32(*v));
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2(y: &mut [f32]) {
            plain(y)
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { avx2(y) };
            return;
        }
    }
    plain(y)
}

/// One dense layer: weight `[out, inp]` row-major, bias `[out]`.
#[derive(Debug, Clone)]
struct Dense {
    inp: usize,
    out: usize,
    w: Vec<f32>,
    b: Vec<f32>,
}

/// An MLP as flat arrays (the same layout as [`Mlp`]'s tensors).
#[derive(Debug, Clone)]
pub(crate) struct FlatMlp {
    layers: Vec<Dense>,
    act: Activation,
}

/// What the forward pass keeps for the backward pass: every layer's input (the hidden ones
/// after their nonlinearity) and the output.
#[derive(Debug, Default)]
pub(crate) struct Tape {
    xs: Vec<Vec<f32>>,
    /// The network's output, `n × out` row-major.
    pub(crate) out: Vec<f32>,
    n: usize,
}

/// Gradients of an MLP's weights and biases, in layer order.
#[derive(Debug, Clone)]
pub(crate) struct Grads(Vec<(Vec<f32>, Vec<f32>)>);

impl FlatMlp {
    /// A copy of `mlp`'s weights.
    pub(crate) fn from_mlp(mlp: &Mlp) -> Self {
        FlatMlp {
            layers: mlp
                .plain_layers()
                .iter()
                .map(|(w, b, out, inp)| Dense {
                    inp: *inp,
                    out: *out,
                    w: w.clone(),
                    b: b.clone(),
                })
                .collect(),
            act: mlp.activation(),
        }
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
            let mut y = Vec::with_capacity(n * l.out);
            for _ in 0..n {
                y.extend_from_slice(&l.b);
            }
            // y[n×out] += x[n×inp] · wᵀ (wᵀ[i][o] = w[o·inp + i]).
            matmul(
                n,
                l.out,
                l.inp,
                &mut y,
                true,
                &tape.xs[i],
                (l.inp, 1),
                &l.w,
                (1, l.inp),
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
    /// forward pass recorded in `tape` is `d_out` (`n × out`).
    pub(crate) fn backward(&self, tape: &Tape, mut d: Vec<f32>, grads: &mut Grads) {
        let n = tape.n;
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate().rev() {
            if i < last {
                // d was the gradient at the layer's output after its nonlinearity.
                let y = &tape.xs[i + 1];
                match self.act {
                    Activation::Tanh => d.iter_mut().zip(y).for_each(|(g, y)| *g *= 1.0 - y * y),
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
            for row in d.chunks_exact(l.out) {
                for (g, v) in gb.iter_mut().zip(row) {
                    *g += v;
                }
            }
            if i > 0 {
                // dx[n×inp] = d[n×out] · w[out×inp].
                let mut dx = vec![0.0f32; n * l.inp];
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
                d = dx;
            }
        }
    }

    fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.layers
            .iter_mut()
            .flat_map(|l| [&mut l.w, &mut l.b].into_iter())
    }
}

impl Batch<'_> {
    /// The first `k` rows and the rest, both still means over [`Batch::total`] rows.
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

    /// The values in layer order (weights then bias of each layer), for tests.
    #[cfg(test)]
    pub(crate) fn flat(&self) -> Vec<f32> {
        self.iter().flatten().copied().collect()
    }
}

/// Adam (as candle's `AdamW` with no weight decay, and PyTorch's `Adam`) over a list of
/// networks, with the gradients first scaled to a global L2 norm of at most `max_norm`.
#[derive(Debug)]
pub(crate) struct Adam {
    beta1: f64,
    beta2: f64,
    eps: f64,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    /// Moments shaped like `nets`' parameters.
    pub(crate) fn new(nets: &mut [&mut FlatMlp], beta1: f64, beta2: f64, eps: f64) -> Self {
        let shapes: Vec<usize> = nets
            .iter_mut()
            .flat_map(|n| n.params_mut().map(|p| p.len()).collect::<Vec<_>>())
            .collect();
        Adam {
            beta1,
            beta2,
            eps,
            t: 0,
            m: shapes.iter().map(|&n| vec![0.0; n]).collect(),
            v: shapes.iter().map(|&n| vec![0.0; n]).collect(),
        }
    }

    /// Clips the gradients of `grads` (one per net, same order) to a global norm of
    /// `max_norm` and applies one step at learning rate `lr`. A non-finite norm is an error
    /// and no weight moves.
    pub(crate) fn step(
        &mut self,
        nets: &mut [&mut FlatMlp],
        grads: &[&Grads],
        lr: f64,
        max_norm: f64,
    ) -> Result<()> {
        let sq: f64 = grads
            .iter()
            .flat_map(|g| g.iter())
            .flat_map(|g| g.iter())
            .map(|&v| f64::from(v) * f64::from(v))
            .sum();
        let norm = sq.sqrt();
        if !norm.is_finite() {
            return Err(RlError::Config("non-finite gradient".into()));
        }
        let k = if norm > max_norm {
            max_norm / (norm + 1e-6)
        } else {
            1.0
        };
        self.t += 1;
        let scale_m = 1.0 / (1.0 - self.beta1.powi(self.t));
        let scale_v = 1.0 / (1.0 - self.beta2.powi(self.t));
        let (b1, b2) = (self.beta1 as f32, self.beta2 as f32);
        let (sm, sv, eps, lr) = (scale_m as f32, scale_v as f32, self.eps as f32, lr as f32);
        let k = k as f32;
        let params = nets.iter_mut().flat_map(|n| n.params_mut());
        let gs = grads.iter().flat_map(|g| g.iter());
        for (((p, g), m), v) in params.zip(gs).zip(self.m.iter_mut()).zip(self.v.iter_mut()) {
            for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let g = g * k;
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *p -= lr * (*m * sm) / ((*v * sv).sqrt() + eps);
            }
        }
        Ok(())
    }
}

/// One PPO minibatch (or a part of one), its rows gathered.
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

/// Buffers reused across minibatches.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pi: Tape,
    vf: Tape,
}

/// The gradients of PPO's loss (clipped surrogate + `vf_coef` × value MSE − `ent_coef` ×
/// entropy, all means over the batch) for `pi` and `vf` on `batch`, added to `gp` and `gv`.
/// Returns the loss.
pub(crate) fn ppo_gradients(
    pi: &FlatMlp,
    vf: &FlatMlp,
    batch: &Batch<'_>,
    w: LossWeights,
    scratch: &mut Scratch,
    gp: &mut Grads,
    gv: &mut Grads,
) -> Result<f64> {
    let n = batch.actions.len();
    if n == 0 || batch.total < n {
        return Err(RlError::Config(format!(
            "{n} rows of a batch of {}",
            batch.total
        )));
    }
    pi.forward(batch.obs, n, &mut scratch.pi)?;
    vf.forward(batch.obs, n, &mut scratch.vf)?;
    let logits = &scratch.pi.out;
    let a_dim = logits.len() / n;
    let inv_n = 1.0 / batch.total as f64;
    let mut d_logits = vec![0.0f32; logits.len()];
    let (mut policy_loss, mut entropy_sum) = (0.0f64, 0.0f64);
    let mut p = vec![0.0f64; a_dim];
    let mut logp = vec![0.0f64; a_dim];
    for j in 0..n {
        let z = &logits[j * a_dim..(j + 1) * a_dim];
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = f64::from(max)
            + z.iter()
                .map(|&v| f64::from(v - max).exp())
                .sum::<f64>()
                .ln();
        for k in 0..a_dim {
            logp[k] = f64::from(z[k]) - lse;
            p[k] = logp[k].exp();
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
    let values = &scratch.vf.out;
    let mut d_values = vec![0.0f32; n];
    let mut value_loss = 0.0f64;
    for j in 0..n {
        let diff = f64::from(values[j]) - f64::from(batch.returns[j]);
        value_loss += diff * diff * inv_n;
        d_values[j] = (w.vf_coef * 2.0 * diff * inv_n) as f32;
    }
    pi.backward(&scratch.pi, d_logits, gp);
    vf.backward(&scratch.vf, d_values, gv);
    Ok(policy_loss + w.vf_coef * value_loss - w.ent_coef * entropy_sum * inv_n)
}

#[cfg(test)]
mod tests;
