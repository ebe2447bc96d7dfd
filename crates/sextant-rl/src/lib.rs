#![warn(missing_docs)]
//! Reinforcement learning on Sextant's simulator.
//!
//! - [`env`](mod@env): the gym-style interface (`reset(seed)` / `step(action)` → observation, reward,
//!   terminated, truncated) and [`env::VecEnv`], many environments stepped together on all
//!   cores.
//! - [`cartpole`]: gymnasium's CartPole-v1, ported with its exact dynamics, the sanity test of
//!   the agents.
//! - [`trading`]: the trading environment over the real simulator ([`sextant_backtest::simulator::Session`]):
//!   fills, costs and slippage are the simulator's, observations are point in time.
//! - [`nn`]: small MLPs on candle, initialised from a seeded generator (not candle's), so the
//!   same seed gives the same weights to the bit.
//! - [`ppo`]: PPO (clipped objective, GAE, minibatch epochs); its minibatch gradients are
//!   written out by hand (`fused`, checked against candle's autograd) for speed, its rollouts
//!   run in two lanes of environments (`rollout`) and its epochs with the policy and the value
//!   function on a thread each (`epochs`).
//! - [`dqn`]: double DQN (replay, target network, ε-greedy).
//! - [`policy`]: a trained policy as a backtest strategy, greedy, with an audit row per bar.
//! - [`checkpoint`]: safetensors checkpoints with their lineage.

pub mod cartpole;
pub mod checkpoint;
pub mod dqn;
pub mod env;
mod epochs;
mod error;
pub mod features;
mod fused;
pub mod nn;
pub mod policy;
pub mod ppo;
mod rollout;
pub mod trading;

pub use error::RlError;

/// Results of this crate.
pub type Result<T> = std::result::Result<T, RlError>;
