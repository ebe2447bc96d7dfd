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
mod loss;
pub(crate) use adam::{clip_scale, Adam};
use kernel::{matmul, Init};
use lanes::{add_rows, sq_sum, tanh_backward, tanh_in_place};
#[cfg(test)]
pub(crate) use loss::ppo_gradients;
pub(crate) use loss::{policy_gradients, value_gradients, Batch, LossWeights};

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
    /// Scratch of the loss ([`policy_gradients`]).
    f64s: Vec<f64>,
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
            // Every value is written below: a buffer of the right size needs no zeroing.
            y.resize(n * l.out, 0.0);
            // y[n×out] = b + x[n×inp] · wᵀ.
            matmul(
                n,
                l.out,
                l.inp,
                &mut y,
                Init::Bias(&l.b),
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

    /// Writes into `grads` the gradient of a loss whose gradient with respect to the output of the
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
            // gw[out×inp] = dᵀ[out×n] · x[n×inp].
            matmul(
                l.out,
                l.inp,
                n,
                gw,
                Init::Zero,
                &d,
                (1, l.out),
                &tape.xs[i],
                (l.inp, 1),
            );
            gb.fill(0.0);
            add_rows(gb, &d);
            if i > 0 {
                // dx[n×inp] = d[n×out] · w[out×inp].
                dx.resize(n * l.inp, 0.0);
                matmul(
                    n,
                    l.inp,
                    l.out,
                    &mut dx,
                    Init::Zero,
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

    #[cfg(test)]
    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.0.iter_mut().flat_map(|(w, b)| [w, b].into_iter())
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

#[cfg(test)]
mod tests;
