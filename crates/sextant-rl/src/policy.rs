//! A trained policy as a backtest strategy: at every bar it builds the observation exactly as
//! the training environment did ([`ObsState`] over the same [`Observations`]), takes the greedy
//! action (the most probable one; no sampling, so a replay is deterministic) and records an
//! audit row: the bar, a hash of the observation, the action and every action's probability.
//! The same checkpoint on the same data gives the same audit trail and the same trades.

use crate::dqn::QPolicy;
use crate::env::Action;
use crate::ppo::ActorCritic;
use crate::trading::{apply, Actions, ObsState, Observations};
use serde::{Deserialize, Serialize};
use sextant_backtest::simulator::Context;
use sextant_backtest::strategy::Strategy;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A trained discrete policy, as a backtest replays it.
pub trait Policy: Send + Sync {
    /// The probability the policy gives each action (a Q-policy: 1 for its greedy action).
    fn probabilities(&self, obs: &[f32]) -> Vec<f64>;
    /// The action a deterministic replay takes.
    fn greedy(&self, obs: &[f32]) -> usize;
}

impl Policy for ActorCritic {
    fn probabilities(&self, obs: &[f32]) -> Vec<f64> {
        ActorCritic::probabilities(self, obs)
    }
    fn greedy(&self, obs: &[f32]) -> usize {
        ActorCritic::greedy(self, obs)
    }
}

impl Policy for QPolicy {
    fn probabilities(&self, obs: &[f32]) -> Vec<f64> {
        let n = self.q.output();
        let a = QPolicy::greedy(self, obs);
        (0..n).map(|i| if i == a { 1.0 } else { 0.0 }).collect()
    }
    fn greedy(&self, obs: &[f32]) -> usize {
        QPolicy::greedy(self, obs)
    }
}

/// One decision of the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Bar index on the run's timeline.
    pub bar: usize,
    /// The first 16 hex digits of the SHA-256 of the observation's little-endian f32 bytes.
    pub obs_hash: String,
    /// The action taken (greedy).
    pub action: usize,
    /// The probability of each action under the policy.
    pub probabilities: Vec<f64>,
}

/// The policy strategy.
pub struct PolicyStrategy<'p> {
    ac: Box<dyn Policy + 'p>,
    obs: Arc<Observations>,
    actions: Actions,
    /// Decisions start at this bar (the features' warm-up, or an evaluation window's start).
    from: usize,
    state: Option<ObsState>,
    audit: Vec<AuditRow>,
}

impl<'p> PolicyStrategy<'p> {
    /// Trades `ac` with `actions` from bar `from` on, observing `obs` (built from the run's
    /// data as for training).
    pub fn new(
        ac: Box<dyn Policy + 'p>,
        obs: Arc<Observations>,
        actions: Actions,
        from: usize,
    ) -> Self {
        let from = from.max(obs.first_valid());
        PolicyStrategy {
            ac,
            obs,
            actions,
            from,
            state: None,
            audit: Vec::new(),
        }
    }

    /// The decisions so far.
    pub fn audit(&self) -> &[AuditRow] {
        &self.audit
    }
}

/// The audit hash of an observation.
pub fn obs_hash(o: &[f32]) -> String {
    let mut h = Sha256::new();
    for v in o {
        h.update(v.to_le_bytes());
    }
    format!("{:x}", h.finalize())[..16].to_string()
}

impl Strategy for PolicyStrategy<'_> {
    fn name(&self) -> &str {
        "rl_policy"
    }

    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        let t = ctx.view().t();
        if t < self.from || t >= self.obs.len() {
            return;
        }
        let n = ctx.view().n_symbols();
        let pos: Vec<f64> = (0..n).map(|s| ctx.position(s)).collect();
        let close: Vec<f64> = (0..n).map(|s| ctx.view().close(s)[t]).collect();
        let (eq, cash) = (ctx.equity(), ctx.cash());
        let state = self.state.get_or_insert_with(|| ObsState::new(n, eq));
        let o = state.observe(self.obs.row(t), &pos, &close, eq, cash);
        let probabilities = self.ac.probabilities(&o);
        let action = self.ac.greedy(&o);
        apply(ctx, self.actions, &Action::Discrete(action));
        self.audit.push(AuditRow {
            bar: t,
            obs_hash: obs_hash(&o),
            action,
            probabilities,
        });
    }
}
