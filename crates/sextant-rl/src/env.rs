//! The gym-style interface, as gymnasium defines it: `reset(seed)` starts an episode and returns
//! the first observation; `step(action)` returns the next observation, the reward, whether the
//! episode ended inside the task (`terminated`: the pole fell, the account is ruined) or was cut
//! by a time limit (`truncated`: bootstrapping from the next value is still right).

use crate::{Result, RlError};
use rayon::prelude::*;

/// An action: an index into a discrete space, or a vector for a continuous one.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Index in `0..n`.
    Discrete(usize),
    /// One value per dimension, each within the space's bounds.
    Continuous(Vec<f32>),
}

/// What actions an environment takes.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionSpace {
    /// `n` choices.
    Discrete(usize),
    /// A box of `dims` values in `[low, high]`.
    Box {
        /// Dimensions.
        dims: usize,
        /// Lower bound of every dimension.
        low: f32,
        /// Upper bound of every dimension.
        high: f32,
    },
}

impl ActionSpace {
    /// Checks `a` against the space, naming what is wrong.
    pub fn check(&self, a: &Action) -> Result<()> {
        match (self, a) {
            (ActionSpace::Discrete(n), Action::Discrete(i)) if i < n => Ok(()),
            (ActionSpace::Box { dims, low, high }, Action::Continuous(v))
                if v.len() == *dims && v.iter().all(|x| x.is_finite() && x >= low && x <= high) =>
            {
                Ok(())
            }
            _ => Err(RlError::Action(format!("{a:?} is not in {self:?}"))),
        }
    }
}

/// What one step returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The observation after the action.
    pub obs: Vec<f32>,
    /// The reward of the transition.
    pub reward: f64,
    /// The episode ended inside the task.
    pub terminated: bool,
    /// The episode was cut by its length limit.
    pub truncated: bool,
}

/// A gym-style environment.
pub trait Env: Send {
    /// Length of every observation.
    fn obs_dim(&self) -> usize;
    /// The actions it takes.
    fn action_space(&self) -> ActionSpace;
    /// Starts an episode; `Some(seed)` reseeds the environment's generator (gymnasium's rule:
    /// same seed, same first observation), `None` continues its stream.
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32>;
    /// Applies `action`. An action outside the space is an error, never a panic.
    fn step(&mut self, action: &Action) -> Result<Step>;
}

/// Many environments stepped together: an ended episode is reset at once (its final observation
/// is kept in [`VecStep::final_obs`], gymnasium's autoreset "next step" rule is not used:
/// the observation returned is the new episode's first), and the steps run on all cores.
pub struct VecEnv<E: Env> {
    envs: Vec<E>,
    obs: Vec<Vec<f32>>,
}

/// One step of every environment of a [`VecEnv`].
#[derive(Debug, Clone)]
pub struct VecStep {
    /// Per environment: the next observation (the first of a new episode after an end).
    pub obs: Vec<Vec<f32>>,
    /// Per environment: the reward.
    pub reward: Vec<f64>,
    /// Per environment: terminated.
    pub terminated: Vec<bool>,
    /// Per environment: truncated.
    pub truncated: Vec<bool>,
    /// Per environment: the last observation of an episode that ended at this step.
    pub final_obs: Vec<Option<Vec<f32>>>,
}

impl<E: Env> VecEnv<E> {
    /// Resets every environment, `env i` with `seed + i`.
    pub fn new(mut envs: Vec<E>, seed: u64) -> Self {
        let obs = envs
            .iter_mut()
            .enumerate()
            .map(|(i, e)| e.reset(Some(seed.wrapping_add(i as u64))))
            .collect();
        VecEnv { envs, obs }
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.envs.len()
    }

    /// True when it holds no environment.
    pub fn is_empty(&self) -> bool {
        self.envs.is_empty()
    }

    /// The current observation of every environment.
    pub fn obs(&self) -> &[Vec<f32>] {
        &self.obs
    }

    /// The environments (for their spaces).
    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    /// Steps environment `i` with `actions[i]`, in parallel.
    pub fn step(&mut self, actions: &[Action]) -> Result<VecStep> {
        if actions.len() != self.envs.len() {
            return Err(RlError::Action(format!(
                "{} actions for {} environments",
                actions.len(),
                self.envs.len()
            )));
        }
        let steps: Vec<Result<(Step, Option<Vec<f32>>)>> = self
            .envs
            .par_iter_mut()
            .zip(actions.par_iter())
            // A step costs ~100 ns: only batches of environments are worth a thread.
            .with_min_len(64)
            .map(|(e, a)| {
                let s = e.step(a)?;
                if s.terminated || s.truncated {
                    let first = e.reset(None);
                    let last = s.obs;
                    Ok((Step { obs: first, ..s }, Some(last)))
                } else {
                    Ok((s, None))
                }
            })
            .collect();
        let mut out = VecStep {
            obs: Vec::with_capacity(steps.len()),
            reward: Vec::with_capacity(steps.len()),
            terminated: Vec::with_capacity(steps.len()),
            truncated: Vec::with_capacity(steps.len()),
            final_obs: Vec::with_capacity(steps.len()),
        };
        for s in steps {
            let (s, last) = s?;
            out.obs.push(s.obs);
            out.reward.push(s.reward);
            out.terminated.push(s.terminated);
            out.truncated.push(s.truncated);
            out.final_obs.push(last);
        }
        self.obs.clone_from(&out.obs);
        Ok(out)
    }
}

/// Mean undiscounted return of `episodes` episodes of `env` (seeds `seed`, `seed + 1`, …) with
/// the actions `choose` picks (a policy's greedy action).
pub fn mean_return<E: Env>(
    env: &mut E,
    choose: impl Fn(&[f32]) -> usize,
    episodes: usize,
    seed: u64,
) -> Result<f64> {
    let mut total = 0.0;
    for e in 0..episodes {
        let mut obs = env.reset(Some(seed + e as u64));
        loop {
            let s = env.step(&Action::Discrete(choose(&obs)))?;
            total += s.reward;
            if s.terminated || s.truncated {
                break;
            }
            obs = s.obs;
        }
    }
    Ok(total / episodes.max(1) as f64)
}
