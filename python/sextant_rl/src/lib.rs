//! `sextant_rl._core`: the Rust environments for Python. The gymnasium classes wrapping them
//! are in `python/sextant_rl/__init__.py`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sextant_backtest::simulator::{BarSeries, Costs, MarketData, SimConfig};
use sextant_rl::cartpole::CartPole;
use sextant_rl::env::{Action, ActionSpace, Env, Step};
use sextant_rl::trading::{Actions, Observations, Reward, TradingConfig, TradingEnv};
use std::sync::Arc;

fn err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

type StepOut = (Vec<f32>, f64, bool, bool);

fn out(s: Step) -> StepOut {
    (s.obs, s.reward, s.terminated, s.truncated)
}

fn n_actions(space: ActionSpace) -> usize {
    match space {
        ActionSpace::Discrete(n) => n,
        ActionSpace::Box { dims, .. } => dims,
    }
}

/// The trading environment over one symbol's bars.
#[pyclass(module = "sextant_rl._core")]
struct TradingCore {
    env: TradingEnv,
}

#[pymethods]
impl TradingCore {
    /// Bars as columns (`ts` in Unix seconds, ascending); `train_bars` limits episodes to the
    /// first bars (the rest is for evaluation). `reward`: "log_return", "drawdown:P", "dsr:ETA".
    #[new]
    #[pyo3(signature = (ts, open, high, low, close, volume, *, actions="short_flat_long", reward="log_return", episode_bars=252, commission=0.001, slippage_bps=5.0, train_bars=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        ts: Vec<i64>,
        open: Vec<f64>,
        high: Vec<f64>,
        low: Vec<f64>,
        close: Vec<f64>,
        volume: Vec<f64>,
        actions: &str,
        reward: &str,
        episode_bars: usize,
        commission: f64,
        slippage_bps: f64,
        train_bars: Option<usize>,
    ) -> PyResult<Self> {
        let series = BarSeries::new("X", ts, open, high, low, close, volume).map_err(err)?;
        let data = Arc::new(MarketData::single(series).map_err(err)?);
        let obs = Arc::new(Observations::build(&data, None).map_err(err)?);
        let actions: Actions = actions
            .parse()
            .map_err(|_| err(format!("unknown actions {actions:?}")))?;
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| err(format!("bad reward parameter {v:?}")))
        };
        let reward = match reward.split_once(':') {
            None if reward == "log_return" => Reward::LogReturn,
            Some(("drawdown", p)) => Reward::Drawdown { penalty: num(p)? },
            Some(("dsr", e)) => Reward::DifferentialSharpe { eta: num(e)? },
            _ => return Err(err(format!("unknown reward {reward:?}"))),
        };
        let cfg = TradingConfig {
            actions,
            reward,
            episode_bars,
            from: 0,
            to: train_bars,
            sim: SimConfig {
                costs: Costs {
                    commission_pct: commission,
                    commission_fixed: 0.0,
                    slippage_bps,
                },
                ..SimConfig::default()
            },
        };
        Ok(TradingCore {
            env: TradingEnv::new(data, obs, cfg).map_err(err)?,
        })
    }

    /// Length of an observation.
    #[getter]
    fn obs_dim(&self) -> usize {
        self.env.obs_dim()
    }

    /// Number of discrete actions.
    #[getter]
    fn n_actions(&self) -> usize {
        n_actions(self.env.action_space())
    }

    /// Starts an episode (a seed restarts the generator of episode windows).
    #[pyo3(signature = (seed=None))]
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        self.env.reset(seed)
    }

    /// One step: (observation, reward, terminated, truncated).
    fn step(&mut self, action: usize) -> PyResult<StepOut> {
        self.env
            .step(&Action::Discrete(action))
            .map(out)
            .map_err(err)
    }
}

/// CartPole-v1 with gymnasium's dynamics, in Rust.
#[pyclass(module = "sextant_rl._core")]
struct CartPoleCore {
    env: CartPole,
}

#[pymethods]
impl CartPoleCore {
    #[new]
    fn new() -> Self {
        CartPoleCore {
            env: CartPole::new(),
        }
    }

    /// Starts an episode.
    #[pyo3(signature = (seed=None))]
    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        self.env.reset(seed)
    }

    /// One step: (observation, reward, terminated, truncated).
    fn step(&mut self, action: usize) -> PyResult<StepOut> {
        self.env
            .step(&Action::Discrete(action))
            .map(out)
            .map_err(err)
    }
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TradingCore>()?;
    m.add_class::<CartPoleCore>()?;
    Ok(())
}
