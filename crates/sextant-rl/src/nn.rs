//! Small MLPs on candle: tanh (or ReLU) hidden layers, a linear head. Weights are initialised here, from a
//! seeded ChaCha generator (orthogonal, as Stable-Baselines3 initialises its policies: gain √2 for
//! hidden layers, a chosen gain for the head, zero biases), so the same seed gives the same
//! network to the bit on any machine. Training goes through candle's autograd; acting goes
//! through [`Mlp::forward_row`], a plain copy of the weights, which avoids the tensor overhead on
//! the one-observation path of a rollout.

use crate::{Result, RlError};
use candle_core::{DType, Device, Tensor, Var};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;

/// One dense layer: weight `[out, in]`, bias `[out]`.
#[derive(Debug, Clone)]
struct Layer {
    w: Var,
    b: Var,
}

/// The hidden layers' nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// tanh (Stable-Baselines3's actor-critic policies).
    Tanh,
    /// max(0, x) (Stable-Baselines3's Q-networks).
    Relu,
}

/// A multilayer perceptron.
#[derive(Debug, Clone)]
pub struct Mlp {
    layers: Vec<Layer>,
    act: Activation,
    /// Plain copies of the weights for [`Mlp::forward_row`] (refreshed by [`Mlp::sync`]).
    plain: Vec<(Vec<f32>, Vec<f32>, usize, usize)>,
}

/// A standard normal draw (Box–Muller) from `rng`.
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(1e-300);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// An `rows × cols` matrix with orthonormal rows (or columns, whichever are fewer) times
/// `gain`: Gram–Schmidt on a Gaussian matrix, as `torch.nn.init.orthogonal_` produces in law.
fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let (r, c, transpose) = if rows <= cols {
        (rows, cols, false)
    } else {
        (cols, rows, true)
    };
    let mut m: Vec<Vec<f64>> = (0..r)
        .map(|_| (0..c).map(|_| normal(rng)).collect())
        .collect();
    for i in 0..r {
        let (done, rest) = m.split_at_mut(i);
        let row = &mut rest[0];
        for prev in done.iter() {
            let d: f64 = row.iter().zip(prev).map(|(a, b)| a * b).sum();
            for (a, b) in row.iter_mut().zip(prev) {
                *a -= d * b;
            }
        }
        let norm = m[i].iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        for v in &mut m[i] {
            *v /= norm;
        }
    }
    let mut out = vec![0f32; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            let v = if transpose { m[j][i] } else { m[i][j] };
            out[i * cols + j] = (gain * v) as f32;
        }
    }
    out
}

impl Mlp {
    /// Layers of `sizes` (input first, output last), tanh, hidden gain √2, head gain
    /// `head_gain`.
    pub fn new(sizes: &[usize], head_gain: f64, rng: &mut ChaCha8Rng) -> Result<Self> {
        Self::with_activation(sizes, head_gain, Activation::Tanh, rng)
    }

    /// [`Mlp::new`] with another hidden nonlinearity.
    pub fn with_activation(
        sizes: &[usize],
        head_gain: f64,
        act: Activation,
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(RlError::Config(format!("bad layer sizes {sizes:?}")));
        }
        let dev = Device::Cpu;
        let mut layers = Vec::new();
        for (i, pair) in sizes.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let gain = if i + 2 == sizes.len() {
                head_gain
            } else {
                std::f64::consts::SQRT_2
            };
            let w = Tensor::from_vec(
                orthogonal(fan_out, fan_in, gain, rng),
                (fan_out, fan_in),
                &dev,
            )?;
            let b = Tensor::zeros(fan_out, DType::F32, &dev)?;
            layers.push(Layer {
                w: Var::from_tensor(&w)?,
                b: Var::from_tensor(&b)?,
            });
        }
        let mut mlp = Mlp {
            layers,
            act,
            plain: Vec::new(),
        };
        mlp.sync()?;
        Ok(mlp)
    }

    /// A copy with its own storage (a target network): later steps on `self` do not move it.
    pub fn clone_detached(&self) -> Result<Self> {
        let layers = self
            .layers
            .iter()
            .map(|l| {
                Ok(Layer {
                    w: Var::from_tensor(&l.w.as_tensor().copy()?)?,
                    b: Var::from_tensor(&l.b.as_tensor().copy()?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Mlp {
            layers,
            act: self.act,
            plain: self.plain.clone(),
        })
    }

    /// Input width.
    pub fn input(&self) -> usize {
        self.plain.first().map_or(0, |l| l.3)
    }

    /// Output width.
    pub fn output(&self) -> usize {
        self.plain.last().map_or(0, |l| l.2)
    }

    /// The trainable variables, in layer order (weight, bias).
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|l| [l.w.clone(), l.b.clone()])
            .collect()
    }

    /// `x` `[batch, in]` → `[batch, out]` through candle (differentiable).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            h = h
                .matmul(&l.w.as_tensor().t()?)?
                .broadcast_add(l.b.as_tensor())?;
            if i < last {
                h = match self.act {
                    Activation::Tanh => h.tanh()?,
                    Activation::Relu => h.relu()?,
                };
            }
        }
        Ok(h)
    }

    /// One observation through the plain copy of the weights.
    pub fn forward_row(&self, x: &[f32]) -> Vec<f32> {
        let mut h: Vec<f32> = x.to_vec();
        let last = self.plain.len() - 1;
        for (i, (w, b, out, inp)) in self.plain.iter().enumerate() {
            let mut next = b.clone();
            for (o, acc) in next.iter_mut().enumerate() {
                let row = &w[o * inp..(o + 1) * inp];
                let mut s = 0f32;
                for (a, v) in row.iter().zip(&h) {
                    s += a * v;
                }
                *acc += s;
                if i < last {
                    *acc = match self.act {
                        Activation::Tanh => sextant_numeric::tanh_f32(*acc),
                        Activation::Relu => acc.max(0.0),
                    };
                }
            }
            let _ = out;
            h = next;
        }
        h
    }

    /// Refreshes the plain copy after the variables changed (an optimiser step, a load).
    pub fn sync(&mut self) -> Result<()> {
        self.plain = self
            .layers
            .iter()
            .map(|l| {
                let (out, inp) = l.w.as_tensor().dims2()?;
                Ok((
                    l.w.as_tensor().flatten_all()?.to_vec1::<f32>()?,
                    l.b.as_tensor().to_vec1::<f32>()?,
                    out,
                    inp,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(())
    }

    /// The plain copy of the weights: (weight `[out × in]` row-major, bias, out, in) per layer.
    pub(crate) fn plain_layers(&self) -> &[(Vec<f32>, Vec<f32>, usize, usize)] {
        &self.plain
    }

    /// The hidden layers' nonlinearity.
    pub(crate) fn activation(&self) -> Activation {
        self.act
    }

    /// Replaces every layer's weight and bias (flat, row-major) and refreshes the plain copy.
    pub(crate) fn set_weights(&mut self, layers: &[(&[f32], &[f32])]) -> Result<()> {
        if layers.len() != self.layers.len() {
            return Err(RlError::Config(format!(
                "{} layers for a network of {}",
                layers.len(),
                self.layers.len()
            )));
        }
        for (l, (w, b)) in self.layers.iter().zip(layers) {
            let wt = Tensor::from_slice(w, l.w.as_tensor().dims(), &Device::Cpu)?;
            let bt = Tensor::from_slice(b, l.b.as_tensor().dims(), &Device::Cpu)?;
            l.w.set(&wt)?;
            l.b.set(&bt)?;
        }
        self.sync()
    }

    /// The weights by name (`{prefix}.{i}.weight`, `{prefix}.{i}.bias`), for a checkpoint.
    pub fn tensors(&self, prefix: &str) -> HashMap<String, Tensor> {
        let mut m = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            m.insert(format!("{prefix}.{i}.weight"), l.w.as_tensor().clone());
            m.insert(format!("{prefix}.{i}.bias"), l.b.as_tensor().clone());
        }
        m
    }

    /// Replaces the weights from `tensors` (as written by [`Mlp::tensors`]); shapes must match.
    pub fn load(&mut self, prefix: &str, tensors: &HashMap<String, Tensor>) -> Result<()> {
        for (i, l) in self.layers.iter().enumerate() {
            for (name, var) in [("weight", &l.w), ("bias", &l.b)] {
                let key = format!("{prefix}.{i}.{name}");
                let t = tensors
                    .get(&key)
                    .ok_or_else(|| RlError::Checkpoint(format!("missing tensor {key}")))?;
                if t.dims() != var.as_tensor().dims() {
                    return Err(RlError::Checkpoint(format!(
                        "{key}: shape {:?}, the policy has {:?}",
                        t.dims(),
                        var.as_tensor().dims()
                    )));
                }
                var.set(&t.to_dtype(DType::F32)?)?;
            }
        }
        self.sync()
    }
}

/// Scales the gradients of `vars` down to a global L2 norm of `max_norm` (when above it) and
/// applies one optimiser step. A non-finite norm is an error: the step is not taken.
pub(crate) fn clipped_step(
    opt: &mut candle_nn::AdamW,
    vars: &[Var],
    mut grads: candle_core::backprop::GradStore,
    max_norm: f64,
) -> Result<()> {
    use candle_nn::Optimizer;
    let mut sq = 0.0f64;
    for var in vars {
        if let Some(g) = grads.get(var.as_tensor()) {
            sq += f64::from(
                g.sqr()?
                    .sum_all()?
                    .to_dtype(DType::F32)?
                    .to_scalar::<f32>()?,
            );
        }
    }
    let norm = sq.sqrt();
    if !norm.is_finite() {
        return Err(RlError::Config("non-finite gradient".into()));
    }
    if norm > max_norm {
        let k = max_norm / (norm + 1e-6);
        for var in vars {
            if let Some(g) = grads.get(var.as_tensor()) {
                let scaled = (g * k)?;
                grads.insert(var.as_tensor(), scaled);
            }
        }
    }
    opt.step(&grads)?;
    Ok(())
}

/// Runs `f` on a rayon pool of `threads` threads of its own (the environments' parallel work
/// included).
pub(crate) fn on_threads<T: Send>(
    threads: usize,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RlError::Config(format!("thread pool: {e}")))?;
    pool.install(f)
}
