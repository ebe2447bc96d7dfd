//! gymnasium's `CartPole-v1` (classic_control/cartpole.py, Euler integrator), ported line for
//! line: the state is kept in f64 as gymnasium keeps it in Python floats, the observation is its
//! f32 copy, the reward is 1 for every step including the one that ends the episode, and the
//! `TimeLimit` wrapper truncates at 500 steps. The first state is uniform in ±0.05.

use crate::env::{Action, ActionSpace, Env, Step};
use crate::{Result, RlError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const GRAVITY: f64 = 9.8;
const MASS_CART: f64 = 1.0;
const MASS_POLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
const LENGTH: f64 = 0.5;
const POLE_MASS_LENGTH: f64 = MASS_POLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;
/// `CartPole-v1`'s `max_episode_steps`.
pub const MAX_STEPS: u32 = 500;

/// The environment.
#[derive(Debug, Clone)]
pub struct CartPole {
    state: [f64; 4],
    steps: u32,
    done: bool,
    rng: ChaCha8Rng,
}

impl Default for CartPole {
    fn default() -> Self {
        Self::new()
    }
}

impl CartPole {
    /// A cart pole seeded with 0 (reset with a seed to choose).
    pub fn new() -> Self {
        CartPole {
            state: [0.0; 4],
            steps: 0,
            done: true,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }

    /// The full-precision state `(x, x_dot, theta, theta_dot)`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Sets the state (for checking the dynamics against gymnasium's).
    pub fn set_state(&mut self, state: [f64; 4]) {
        self.state = state;
        self.steps = 0;
        self.done = false;
    }

    fn obs(&self) -> Vec<f32> {
        self.state.iter().map(|v| *v as f32).collect()
    }
}

impl Env for CartPole {
    fn obs_dim(&self) -> usize {
        4
    }

    fn action_space(&self) -> ActionSpace {
        ActionSpace::Discrete(2)
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(s) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(s);
        }
        for v in &mut self.state {
            *v = self.rng.gen_range(-0.05..0.05);
        }
        self.steps = 0;
        self.done = false;
        self.obs()
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        let push = match action {
            Action::Discrete(0) => -FORCE_MAG,
            Action::Discrete(1) => FORCE_MAG,
            other => {
                return Err(RlError::Action(format!(
                    "CartPole takes 0 or 1, not {other:?}"
                )))
            }
        };
        let [x, x_dot, theta, theta_dot] = self.state;
        let (sin, cos) = theta.sin_cos();
        let temp = (push + POLE_MASS_LENGTH * theta_dot * theta_dot * sin) / TOTAL_MASS;
        let theta_acc = (GRAVITY * sin - cos * temp)
            / (LENGTH * (4.0 / 3.0 - MASS_POLE * cos * cos / TOTAL_MASS));
        let x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS;
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * x_acc,
            theta + TAU * theta_dot,
            theta_dot + TAU * theta_acc,
        ];
        let [x, _, theta, _] = self.state;
        let terminated = !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD..=THETA_THRESHOLD).contains(&theta);
        // gymnasium: 1 on every step up to and including the terminating one, 0 after it.
        let reward = if self.done { 0.0 } else { 1.0 };
        self.done |= terminated;
        self.steps += 1;
        Ok(Step {
            obs: self.obs(),
            reward,
            terminated,
            // gymnasium's TimeLimit: truncated at the limit whether or not it also terminated.
            truncated: self.steps >= MAX_STEPS,
        })
    }
}
