//! Deep Q-learning (Mnih et al. 2015) with the double-DQN target (van Hasselt et al. 2016):
//! an experience replay buffer sampled uniformly, a target network copied from the online one
//! every `target_update_interval` environment steps, ε-greedy exploration annealed linearly,
//! the Huber loss, gradients clipped to a global norm, Adam. The next state's action is chosen
//! by the online network and valued by the target network, which removes most of DQN's
//! overestimation. A time-limit truncation is not an end: its transition bootstraps.
//!
//! Seeded like [`crate::ppo`]: same seed, environment and configuration ⇒ the same weights.

use crate::env::{Action, ActionSpace, Env};
use crate::nn::{Activation, Mlp};
use crate::ppo::Progress;
use crate::{Result, RlError};
use candle_core::{Device, Tensor, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// DQN's hyperparameters (defaults: rl-baselines3-zoo's CartPole-v1 settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DqnConfig {
    /// Environment steps in all.
    pub total_steps: usize,
    /// Learning rate (default 0.0023).
    pub learning_rate: f64,
    /// Replay buffer capacity (default 100,000).
    pub buffer_size: usize,
    /// Steps of random play before learning (default 1,000).
    pub learning_starts: usize,
    /// Minibatch size (default 64).
    pub batch_size: usize,
    /// Discount (default 0.99).
    pub gamma: f64,
    /// Environment steps between target-network copies (default 10).
    pub target_update_interval: usize,
    /// Environment steps between training bursts (default 256).
    pub train_freq: usize,
    /// Gradient steps per burst (default 128).
    pub gradient_steps: usize,
    /// Share of the run over which ε falls from 1 to its final value (default 0.16).
    pub exploration_fraction: f64,
    /// Final ε (default 0.04).
    pub exploration_final_eps: f64,
    /// Global gradient norm limit (default 10).
    pub max_grad_norm: f64,
    /// Hidden layer widths (default [256, 256]).
    pub hidden: Vec<usize>,
    /// Seed of everything random.
    pub seed: u64,
}

impl Default for DqnConfig {
    fn default() -> Self {
        DqnConfig {
            total_steps: 50_000,
            learning_rate: 0.0023,
            buffer_size: 100_000,
            learning_starts: 1_000,
            batch_size: 64,
            gamma: 0.99,
            target_update_interval: 10,
            train_freq: 256,
            gradient_steps: 128,
            exploration_fraction: 0.16,
            exploration_final_eps: 0.04,
            max_grad_norm: 10.0,
            hidden: vec![256, 256],
            seed: 0,
        }
    }
}

/// A Q-network: observation → one value per action.
#[derive(Debug, Clone)]
pub struct QPolicy {
    /// The online network.
    pub q: Mlp,
}

impl QPolicy {
    /// A Q-network for `obs_dim` inputs and `n_actions` actions (ReLU hidden layers).
    pub fn build(
        obs_dim: usize,
        n_actions: usize,
        hidden: &[usize],
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        let mut sizes = vec![obs_dim];
        sizes.extend_from_slice(hidden);
        sizes.push(n_actions);
        Ok(QPolicy {
            q: Mlp::with_activation(&sizes, 1.0, Activation::Relu, rng)?,
        })
    }

    /// The action of highest value (ties to the lowest index).
    pub fn greedy(&self, obs: &[f32]) -> usize {
        argmax(&self.q.forward_row(obs))
    }
}

/// Index of the largest value (the first of ties).
fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

struct Replay {
    obs: Vec<f32>,
    next: Vec<f32>,
    action: Vec<u32>,
    reward: Vec<f32>,
    done: Vec<f32>,
    dim: usize,
    cap: usize,
    len: usize,
    at: usize,
}

impl Replay {
    fn new(cap: usize, dim: usize) -> Self {
        Replay {
            obs: vec![0.0; cap * dim],
            next: vec![0.0; cap * dim],
            action: vec![0; cap],
            reward: vec![0.0; cap],
            done: vec![0.0; cap],
            dim,
            cap,
            len: 0,
            at: 0,
        }
    }

    fn push(&mut self, o: &[f32], a: usize, r: f64, next: &[f32], done: bool) {
        let i = self.at;
        self.obs[i * self.dim..(i + 1) * self.dim].copy_from_slice(o);
        self.next[i * self.dim..(i + 1) * self.dim].copy_from_slice(next);
        self.action[i] = a as u32;
        self.reward[i] = r as f32;
        self.done[i] = if done { 1.0 } else { 0.0 };
        self.at = (self.at + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }
}

/// Trains a double DQN on one environment (discrete actions); `on_progress` sees the figures
/// every `train_freq` steps and may stop the run by returning false.
/// Runs on a one-thread pool of its own, as [`crate::ppo::train`] does.
pub fn train<E: Env>(
    env: E,
    cfg: &DqnConfig,
    on_progress: impl FnMut(&Progress) -> bool + Send,
) -> Result<(QPolicy, Vec<Progress>)> {
    crate::nn::on_threads(1, || train_here(env, cfg, on_progress))
}

fn train_here<E: Env>(
    mut env: E,
    cfg: &DqnConfig,
    mut on_progress: impl FnMut(&Progress) -> bool,
) -> Result<(QPolicy, Vec<Progress>)> {
    if cfg.batch_size == 0 || cfg.buffer_size < cfg.batch_size || cfg.train_freq == 0 {
        return Err(RlError::Config(
            "batch_size must be positive and at most buffer_size; train_freq positive".into(),
        ));
    }
    let positive = |x: f64| x > 0.0; // false for NaN
    if !(positive(cfg.learning_rate) && positive(cfg.gamma) && cfg.gamma <= 1.0) {
        return Err(RlError::Config(
            "learning_rate > 0 and gamma in (0, 1]".into(),
        ));
    }
    let n_actions = match env.action_space() {
        ActionSpace::Discrete(n) => n,
        other => {
            return Err(RlError::Config(format!(
                "DQN takes discrete actions, not {other:?}"
            )))
        }
    };
    let dim = env.obs_dim();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut online = QPolicy::build(dim, n_actions, &cfg.hidden, &mut rng)?.q;
    let mut target = online.clone_detached()?;
    let vars = online.vars();
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: cfg.learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        },
    )?;
    let mut buf = Replay::new(cfg.buffer_size, dim);
    let dev = Device::Cpu;
    let mut obs = env.reset(Some(cfg.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
    let mut ep_return = 0.0;
    let mut finished = Vec::new();
    let mut history = Vec::new();
    let explore_steps = (cfg.exploration_fraction * cfg.total_steps as f64).max(1.0);
    for step in 1..=cfg.total_steps {
        let eps = (1.0 - (step as f64 / explore_steps) * (1.0 - cfg.exploration_final_eps))
            .max(cfg.exploration_final_eps);
        let a = if step <= cfg.learning_starts || rng.gen::<f64>() < eps {
            rng.gen_range(0..n_actions)
        } else {
            argmax(&online.forward_row(&obs))
        };
        let s = env.step(&Action::Discrete(a))?;
        ep_return += s.reward;
        buf.push(&obs, a, s.reward, &s.obs, s.terminated);
        if s.terminated || s.truncated {
            finished.push(ep_return);
            ep_return = 0.0;
            obs = env.reset(None);
        } else {
            obs = s.obs;
        }
        if step > cfg.learning_starts && step % cfg.train_freq == 0 {
            for _ in 0..cfg.gradient_steps {
                let idx: Vec<usize> = (0..cfg.batch_size)
                    .map(|_| rng.gen_range(0..buf.len))
                    .collect();
                let gather = |src: &[f32]| -> Result<Tensor> {
                    let mut v = Vec::with_capacity(idx.len() * dim);
                    for &i in &idx {
                        v.extend_from_slice(&src[i * dim..(i + 1) * dim]);
                    }
                    Ok(Tensor::from_vec(v, (idx.len(), dim), &dev)?)
                };
                let o = gather(&buf.obs)?;
                let o2 = gather(&buf.next)?;
                let acts = Tensor::from_vec(
                    idx.iter().map(|&i| buf.action[i]).collect::<Vec<u32>>(),
                    (idx.len(), 1),
                    &dev,
                )?;
                let r = Tensor::from_vec(
                    idx.iter().map(|&i| buf.reward[i]).collect::<Vec<f32>>(),
                    idx.len(),
                    &dev,
                )?;
                let not_done = Tensor::from_vec(
                    idx.iter().map(|&i| 1.0 - buf.done[i]).collect::<Vec<f32>>(),
                    idx.len(),
                    &dev,
                )?;
                // Double DQN: the online network picks, the target network values.
                let next_a = online.forward(&o2)?.detach().argmax_keepdim(D::Minus1)?;
                let next_v = target
                    .forward(&o2)?
                    .detach()
                    .gather(&next_a, 1)?
                    .squeeze(1)?;
                let y = (r + (next_v * not_done)?.affine(cfg.gamma, 0.0)?)?.detach();
                let q = online.forward(&o)?.gather(&acts, 1)?.squeeze(1)?;
                let loss = huber(&(q - y)?)?;
                crate::nn::clipped_step(&mut opt, &vars, loss.backward()?, cfg.max_grad_norm)?;
            }
            online.sync()?;
        }
        if step % cfg.target_update_interval == 0 {
            target = online.clone_detached()?;
        }
        if step % cfg.train_freq == 0 {
            let p = Progress {
                steps: step,
                mean_return: if finished.is_empty() {
                    f64::NAN
                } else {
                    finished.iter().sum::<f64>() / finished.len() as f64
                },
                episodes: finished.len(),
            };
            finished.clear();
            let go_on = on_progress(&p);
            history.push(p);
            if !go_on {
                break;
            }
        }
    }
    Ok((QPolicy { q: online }, history))
}

/// Mean Huber loss (δ = 1) of `d`.
fn huber(d: &Tensor) -> Result<Tensor> {
    let a = d.abs()?;
    let quad = a.clamp(0.0, 1.0)?;
    let lin = (&a - &quad)?;
    Ok(((quad.sqr()? * 0.5)? + lin)?.mean_all()?)
}

/// Mean undiscounted return of `episodes` greedy episodes (seeds `seed`, `seed + 1`, …).
pub fn evaluate<E: Env>(env: &mut E, policy: &QPolicy, episodes: usize, seed: u64) -> Result<f64> {
    crate::env::mean_return(env, |o| policy.greedy(o), episodes, seed)
}
