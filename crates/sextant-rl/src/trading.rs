//! The trading environment: the real simulator stepped one bar at a time.
//!
//! At bar `t` the agent sees the observation of `t` (features of bars up to `t`, its position,
//! its unrealised return and its cash share) and chooses an action, which becomes an intent
//! decided on `t`'s close — exactly where a strategy decides. [`Session`] then fills it as
//! every backtest does (next open by default, costs and slippage from the [`SimConfig`]), marks
//! bar `t + 1`, and the reward is the log change of equity from `t`'s close to `t + 1`'s, net of
//! every cost. Episodes are windows of `episode_bars` bars starting at a random bar of the
//! training range; the episode is truncated at its length and terminated when equity is gone.

use crate::env::{Action, ActionSpace, Env, Step};
use crate::features::{causal_features, WARMUP};
use crate::{Result, RlError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sextant_backtest::simulator::{
    Context, MarketData, Session, SimConfig, Target, TradingSimulator,
};
use std::sync::Arc;

/// What the agent chooses each bar.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Actions {
    /// Three choices on the first symbol: short, flat, long (all-in, as the simulator sizes a
    /// target).
    ShortFlatLong,
    /// Two choices on the first symbol: flat, long.
    LongFlat,
    /// Five target weights of the first symbol: −1, −0.5, 0, 0.5, 1 of equity.
    Buckets,
    /// One weight per symbol in [−1, 1], scaled down so the absolute weights sum to at most 1.
    Weights,
}

/// How a transition is rewarded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Reward {
    /// `ln(equity[t+1] / equity[t])`, net of costs.
    LogReturn,
    /// The log return minus `penalty` × the increase of the drawdown from the episode's peak.
    Drawdown {
        /// Weight of the drawdown increase (0 = the log return).
        penalty: f64,
    },
    /// Moody & Saffell's differential Sharpe ratio of the log returns, with adaptation rate
    /// `eta` (e.g. 0.01): the marginal effect of this return on an exponential-moving Sharpe.
    DifferentialSharpe {
        /// Adaptation rate in (0, 1).
        eta: f64,
    },
}

/// The environment's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TradingConfig {
    /// Action space.
    pub actions: Actions,
    /// Reward.
    pub reward: Reward,
    /// Bars per episode (default 252).
    pub episode_bars: usize,
    /// The bars episodes may use: `[from, to)` row indices of the data (default: all). Bars
    /// before `from` still feed the features (a window starts after the warm-up).
    pub from: usize,
    /// End of the episode range (exclusive); `None` = the last bar.
    pub to: Option<usize>,
    /// Costs, fills and sizing: the simulator's configuration.
    pub sim: SimConfig,
}

impl Default for TradingConfig {
    fn default() -> Self {
        TradingConfig {
            actions: Actions::ShortFlatLong,
            reward: Reward::LogReturn,
            episode_bars: 252,
            from: 0,
            to: None,
            sim: SimConfig::default(),
        }
    }
}

/// The per-bar inputs of the observation: the built-in causal features of each symbol's closes
/// and any extra columns (regime probabilities, feature-store views), all point in time.
#[derive(Debug, Clone)]
pub struct Observations {
    rows: Vec<Vec<f32>>,
    first_valid: usize,
}

impl Observations {
    /// The built-in features of every symbol of `data`, side by side, plus `extra` (one row per
    /// bar, any width, computed from data up to that bar by the caller). Non-finite values become
    /// 0 after the first bar where every built-in feature is defined.
    pub fn build(data: &MarketData, extra: Option<&[Vec<f32>]>) -> Result<Self> {
        let n = data.len();
        if let Some(x) = extra {
            if x.len() != n {
                return Err(RlError::Config(format!(
                    "extra observations have {} rows for {n} bars",
                    x.len()
                )));
            }
        }
        let per_symbol: Vec<Vec<[f32; 6]>> = (0..data.symbols().len())
            .map(|s| causal_features(data.close_of(s)))
            .collect();
        let mut first_valid = WARMUP;
        let rows = (0..n)
            .map(|t| {
                let mut row = Vec::new();
                for f in &per_symbol {
                    row.extend_from_slice(&f[t]);
                }
                if let Some(x) = extra {
                    row.extend_from_slice(&x[t]);
                }
                if t == first_valid && row.iter().any(|v| !v.is_finite()) {
                    first_valid += 1;
                }
                row
            })
            .collect::<Vec<_>>();
        let rows = rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| if v.is_finite() { v } else { 0.0 })
                    .collect()
            })
            .collect();
        Ok(Observations { rows, first_valid })
    }

    /// Bars (rows).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Width of a row.
    pub fn width(&self) -> usize {
        self.rows.first().map_or(0, Vec::len)
    }

    /// The first bar whose row was fully defined before zero-filling.
    pub fn first_valid(&self) -> usize {
        self.first_valid
    }

    /// Row `t`.
    pub fn row(&self, t: usize) -> &[f32] {
        &self.rows[t]
    }
}

/// The environment.
#[derive(Debug, Clone)]
pub struct TradingEnv {
    data: Arc<MarketData>,
    obs: Arc<Observations>,
    sim: TradingSimulator,
    cfg: TradingConfig,
    /// First and last (exclusive) bar an episode may start at.
    starts: (usize, usize),
    session: Session,
    end: usize,
    rng: ChaCha8Rng,
    peak: f64,
    /// Differential Sharpe state: moving first and second moments of the returns.
    moments: (f64, f64),
    state: ObsState,
    steps: usize,
    /// Reused buffers of the symbols' positions and closes (no allocation per step).
    pos_buf: Vec<f64>,
    close_buf: Vec<f64>,
}

/// What the observation carries beyond the feature row, kept the same way by the environment
/// and by [`crate::policy::PolicyStrategy`] (so a rollout in a backtest sees what training saw):
/// each symbol's weight, the return since the positions last changed, and the cash share.
#[derive(Debug, Clone, Default)]
pub struct ObsState {
    last_pos: Vec<f64>,
    entry_equity: f64,
    prev_equity: f64,
}

impl ObsState {
    /// A fresh state at the first decision of an episode or a run.
    pub fn new(n_symbols: usize, equity: f64) -> Self {
        ObsState {
            last_pos: vec![0.0; n_symbols],
            entry_equity: equity,
            prev_equity: equity,
        }
    }

    /// The observation at a decision: `row` (the bar's features), the positions, each
    /// symbol's close, equity and cash at that decision. When the positions differ from the
    /// last decision's, the return is measured afresh from the last decision's equity.
    pub fn observe(
        &mut self,
        row: &[f32],
        pos: &[f64],
        close: &[f64],
        equity: f64,
        cash: f64,
    ) -> Vec<f32> {
        if pos != self.last_pos.as_slice() {
            self.entry_equity = self.prev_equity;
            self.last_pos.clear();
            self.last_pos.extend_from_slice(pos);
        }
        self.prev_equity = equity;
        let mut o = Vec::with_capacity(row.len() + pos.len() + 2);
        o.extend_from_slice(row);
        for (q, c) in pos.iter().zip(close) {
            let w = if equity > 0.0 && c.is_finite() {
                q * c / equity
            } else {
                0.0
            };
            o.push(w as f32);
        }
        let unrealised = if self.entry_equity > 0.0 {
            equity / self.entry_equity - 1.0
        } else {
            0.0
        };
        o.push((10.0 * unrealised) as f32);
        o.push(if equity > 0.0 {
            (cash / equity) as f32
        } else {
            0.0
        });
        o
    }
}

impl TradingEnv {
    /// An environment over `data` with the observations `obs` (built from the same data).
    pub fn new(data: Arc<MarketData>, obs: Arc<Observations>, cfg: TradingConfig) -> Result<Self> {
        let sim = TradingSimulator::new(cfg.sim).map_err(|e| RlError::Config(e.to_string()))?;
        if obs.rows.len() != data.len() {
            return Err(RlError::Config(
                "observations and data differ in length".into(),
            ));
        }
        if cfg.episode_bars < 2 {
            return Err(RlError::Config("episode_bars must be at least 2".into()));
        }
        if cfg.actions != Actions::Weights && data.symbols().is_empty() {
            return Err(RlError::Config("no symbol".into()));
        }
        if let Reward::DifferentialSharpe { eta } = cfg.reward {
            if eta.is_nan() || eta <= 0.0 || eta >= 1.0 {
                return Err(RlError::Config(format!("eta must be in (0, 1), not {eta}")));
            }
        }
        let to = cfg.to.unwrap_or(data.len()).min(data.len());
        let lo = cfg.from.max(obs.first_valid);
        // An episode needs its bars plus the bar its last action fills at.
        let hi = to.saturating_sub(cfg.episode_bars);
        if hi <= lo {
            return Err(RlError::Data(format!(
                "bars {lo}..{to} hold no episode of {} bars (features need {} bars first)",
                cfg.episode_bars, obs.first_valid
            )));
        }
        let session = Session::new(&sim, &data, lo);
        Ok(TradingEnv {
            data,
            obs,
            sim,
            cfg,
            starts: (lo, hi),
            session,
            end: lo,
            rng: ChaCha8Rng::seed_from_u64(0),
            peak: 0.0,
            moments: (0.0, 0.0),
            state: ObsState::default(),
            steps: 0,
            pos_buf: Vec::new(),
            close_buf: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TradingConfig {
        &self.cfg
    }

    /// The bar the next action is decided on.
    pub fn bar(&self) -> usize {
        self.session.bar()
    }

    /// Equity now (cash plus positions marked at the latest close).
    pub fn equity(&self) -> f64 {
        self.session.equity()
    }

    /// Starts an episode at bar `start` (clamped to the allowed starts); what `reset` does with
    /// a random start, and what a deterministic evaluation uses.
    pub fn reset_at(&mut self, start: usize) -> Vec<f32> {
        let start = start.clamp(self.starts.0, self.starts.1 - 1);
        self.session = Session::new(&self.sim, &self.data, start);
        self.session.open_bar(&self.data);
        self.end = start + self.cfg.episode_bars;
        self.peak = self.session.equity();
        self.state = ObsState::new(self.data.symbols().len(), self.peak);
        self.moments = (0.0, 0.0);
        self.steps = 0;
        self.observe()
    }

    /// Plays a whole window `[from, to)` with one episode (evaluation): like [`Self::reset_at`]
    /// with the episode length stretched to the window.
    pub fn reset_window(&mut self, from: usize, to: usize) -> Vec<f32> {
        let obs = self.reset_at(from);
        self.end = to.min(self.data.len() - 1).max(self.session.bar() + 1);
        obs
    }

    fn observe(&mut self) -> Vec<f32> {
        let t = self.session.bar().min(self.data.len() - 1);
        let n = self.data.symbols().len();
        self.pos_buf.clear();
        self.pos_buf
            .extend((0..n).map(|s| self.session.position(s)));
        self.close_buf.clear();
        self.close_buf
            .extend((0..n).map(|s| self.data.close_of(s)[t]));
        let (eq, cash) = (self.session.equity(), self.session.cash());
        self.state
            .observe(self.obs.row(t), &self.pos_buf, &self.close_buf, eq, cash)
    }

    fn submit(&mut self, action: &Action) -> Result<()> {
        self.action_space().check(action)?;
        let data = Arc::clone(&self.data);
        let actions = self.cfg.actions;
        self.session
            .decide(&data, |ctx| apply(ctx, actions, action));
        self.session.close_bar(&data);
        Ok(())
    }
}

/// Turns `action` into the intent of `actions` on the decision bar.
pub fn apply(ctx: &mut Context<'_>, actions: Actions, action: &Action) {
    match (actions, action) {
        (Actions::ShortFlatLong, Action::Discrete(i)) => {
            ctx.target(0, [Target::Short, Target::Flat, Target::Long][*i]);
        }
        (Actions::LongFlat, Action::Discrete(i)) => {
            ctx.target(0, [Target::Flat, Target::Long][*i]);
        }
        (Actions::Buckets, Action::Discrete(i)) => {
            ctx.rebalance(vec![(0, [-1.0, -0.5, 0.0, 0.5, 1.0][*i])]);
        }
        (Actions::Weights, Action::Continuous(w)) => {
            let gross: f64 = w.iter().map(|x| f64::from(x.abs())).sum();
            let k = if gross > 1.0 { 1.0 / gross } else { 1.0 };
            ctx.rebalance(
                w.iter()
                    .enumerate()
                    .map(|(s, x)| (s, f64::from(*x) * k))
                    .collect(),
            );
        }
        _ => {}
    }
}

impl Env for TradingEnv {
    fn obs_dim(&self) -> usize {
        self.obs.width() + self.data.symbols().len() + 2
    }

    fn action_space(&self) -> ActionSpace {
        match self.cfg.actions {
            Actions::ShortFlatLong => ActionSpace::Discrete(3),
            Actions::LongFlat => ActionSpace::Discrete(2),
            Actions::Buckets => ActionSpace::Discrete(5),
            Actions::Weights => ActionSpace::Box {
                dims: self.data.symbols().len(),
                low: -1.0,
                high: 1.0,
            },
        }
    }

    fn reset(&mut self, seed: Option<u64>) -> Vec<f32> {
        if let Some(s) = seed {
            self.rng = ChaCha8Rng::seed_from_u64(s);
        }
        let start = self.rng.gen_range(self.starts.0..self.starts.1);
        self.reset_at(start)
    }

    fn step(&mut self, action: &Action) -> Result<Step> {
        if self.session.done() || self.session.bar() >= self.end {
            return Err(RlError::Action("the episode has ended: reset first".into()));
        }
        // Equity after the decision bar's close (signal-close fills and their costs included).
        self.submit(action)?;
        let e0 = *self.session.equity_curve().last().unwrap_or(&self.peak);
        // The next bar: pending orders fill at its open, positions are marked to its close.
        self.session.open_bar(&self.data);
        let e1 = self.session.equity();
        self.steps += 1;
        let ruined = e1.is_nan() || e0.is_nan() || e1 <= 0.0 || e0 <= 0.0;
        let r = if ruined { -10.0 } else { (e1 / e0).ln() };
        let reward = match self.cfg.reward {
            Reward::LogReturn => r,
            Reward::Drawdown { penalty } => {
                let dd0 = 1.0 - e0 / self.peak;
                self.peak = self.peak.max(e1);
                let dd1 = 1.0 - e1 / self.peak;
                r - penalty * (dd1 - dd0).max(0.0)
            }
            Reward::DifferentialSharpe { eta } => {
                let (a, b) = self.moments;
                let (da, db) = (r - a, r * r - b);
                let denom = (b - a * a).max(0.0).powf(1.5);
                let d = if denom > 1e-18 {
                    (b * da - 0.5 * a * db) / denom
                } else {
                    0.0
                };
                self.moments = (a + eta * da, b + eta * db);
                d
            }
        };
        let terminated = ruined;
        let truncated = !terminated && (self.session.bar() >= self.end || self.session.done());
        Ok(Step {
            obs: self.observe(),
            reward,
            terminated,
            truncated,
        })
    }
}
