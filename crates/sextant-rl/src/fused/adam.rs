//! Adam (as candle's `AdamW` with no weight decay, and PyTorch's `Adam`) for one network, and the
//! scale that clips gradients to a global L2 norm.
//!
//! Why one network at a time: PPO's policy and value networks are updated on two threads
//! (`crate::epochs`), which share only the global norm of their gradients.

use super::lanes::{adam_update, AdamStep};
use super::{FlatMlp, Grads};
use crate::{Result, RlError};

/// Adam's moments for one network.
#[derive(Debug)]
pub(crate) struct Adam {
    beta1: f64,
    beta2: f64,
    eps: f64,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

/// The factor that brings gradients of squared L2 norm `sq_norm` to a norm of at most
/// `max_norm` (PyTorch's `clip_grad_norm_`: `max_norm / (norm + 1e-6)` when above, else 1). A
/// non-finite norm is an error: no weight may move.
pub(crate) fn clip_scale(sq_norm: f64, max_norm: f64) -> Result<f64> {
    let norm = sq_norm.sqrt();
    if !norm.is_finite() {
        return Err(RlError::Config("non-finite gradient".into()));
    }
    Ok(if norm > max_norm {
        max_norm / (norm + 1e-6)
    } else {
        1.0
    })
}

impl Adam {
    /// Zero moments shaped like `net`'s parameters.
    pub(crate) fn new(net: &FlatMlp, beta1: f64, beta2: f64, eps: f64) -> Self {
        let shapes: Vec<usize> = net
            .layers
            .iter()
            .flat_map(|l| [l.w.len(), l.b.len()])
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

    /// One step at learning rate `lr` with the gradients `grads` (of `net`, same shapes)
    /// scaled by `k` (see [`clip_scale`]).
    pub(crate) fn step(&mut self, net: &mut FlatMlp, grads: &Grads, lr: f64, k: f64) {
        self.t += 1;
        let scale_m = 1.0 / (1.0 - self.beta1.powi(self.t));
        let scale_v = 1.0 / (1.0 - self.beta2.powi(self.t));
        let s = AdamStep {
            k: k as f32,
            b1: self.beta1 as f32,
            b2: self.beta2 as f32,
            sm: scale_m as f32,
            sv: scale_v as f32,
            eps: self.eps as f32,
            lr: lr as f32,
        };
        let params = net.params_mut().zip(grads.iter());
        for ((p, g), (m, v)) in params.zip(self.m.iter_mut().zip(self.v.iter_mut())) {
            adam_update(p, g, m, v, &s);
        }
        net.weights_changed();
    }
}
