//! The out-of-sample evaluation of a policy: the bars after its training range, the policy
//! replayed greedily beside buy and hold (bought on the same bar the policy first decides),
//! staying flat, and the best SMA cross of a grid tuned on the training range only (run
//! continuously, its returns taken over the same window), with a paired bootstrap of the daily
//! Sharpe difference against buy and hold and against that rule.

use super::{Prepared, RlServiceError, RlTrainRequest};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_backtest::simulator::{Context, Target, TradingSimulator};
use sextant_backtest::strategy::{build_strategy, Strategy};
use sextant_mlops::harness::{bootstrap_difference, BootstrapDifference};
use sextant_rl::policy::{Policy, PolicyStrategy};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Bootstrap resamples of the comparisons.
const RESAMPLES: usize = 2000;

/// One strategy over the evaluation window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// What it is.
    pub name: String,
    /// Compounded return over the window.
    pub total_return: f64,
    /// Annualised Sharpe ratio of the daily returns (√252; `None` when they do not vary).
    pub sharpe: Option<f64>,
    /// Deepest fall from a peak within the window (negative).
    pub max_drawdown: f64,
    /// Trades closed or open in the window's run.
    pub trades: usize,
}

/// The evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// First session of the window (the policy's first decision).
    pub from: NaiveDate,
    /// Last session of the window.
    pub to: NaiveDate,
    /// Daily returns compared.
    pub days: usize,
    /// The policy.
    pub policy: Leg,
    /// Buy and hold.
    pub buy_and_hold: Leg,
    /// Staying flat (cash earns nothing here).
    pub flat: Leg,
    /// The best SMA cross of the training range's grid.
    pub best_rule: Leg,
    /// Its parameters.
    pub best_rule_params: Value,
    /// Policy − buy and hold, paired bootstrap.
    pub vs_buy_and_hold: BootstrapDifference,
    /// Policy − best rule, paired bootstrap.
    pub vs_best_rule: BootstrapDifference,
    /// How often the policy chose each action.
    pub action_counts: Vec<usize>,
    /// SHA-256 of the audit trail (bar, observation hash, action per decision): equal for
    /// equal checkpoints on equal data.
    pub audit_hash: String,
}

/// Buys at bar `from` and holds.
struct HoldFrom(usize);

impl Strategy for HoldFrom {
    fn name(&self) -> &str {
        "buy_and_hold"
    }
    fn on_bar(&mut self, ctx: &mut Context<'_>) {
        if ctx.view().t() >= self.0 {
            ctx.target(0, Target::Long);
        }
    }
}

fn leg(name: &str, returns: &[f64], trades: usize) -> Leg {
    let mut eq = 1.0f64;
    let mut peak = 1.0f64;
    let mut dd = 0.0f64;
    for r in returns {
        eq *= 1.0 + r;
        peak = peak.max(eq);
        dd = dd.min(eq / peak - 1.0);
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
    let sd = var.sqrt();
    Leg {
        name: name.to_string(),
        total_return: eq - 1.0,
        sharpe: (sd > 1e-15).then(|| mean / sd * 252f64.sqrt()),
        max_drawdown: dd,
        trades,
    }
}

/// Daily returns of `equity` over bars `(from, to]`.
fn window_returns(equity: &[f64], from: usize, to: usize) -> Vec<f64> {
    (from + 1..=to)
        .map(|t| equity[t] / equity[t - 1] - 1.0)
        .collect()
}

pub(super) fn evaluate(
    p: &Prepared,
    req: &RlTrainRequest,
    policy: &dyn Policy,
) -> Result<Evaluation, RlServiceError> {
    let sim = TradingSimulator::new(p.sim).map_err(|e| RlServiceError::Invalid(e.to_string()))?;
    let (from, to) = (p.split, p.data.len() - 1);
    let data = &p.data;

    // The policy, replayed greedily from the first bar after training.
    let boxed: Box<dyn Policy + '_> = Box::new(Borrowed(policy));
    let mut strat = PolicyStrategy::new(boxed, Arc::clone(&p.obs), req.actions, from);
    let run = sim.run(data, &mut strat);
    let audit = strat.audit();
    let mut counts = vec![0usize; audit.first().map_or(0, |a| a.probabilities.len())];
    let mut h = Sha256::new();
    for a in audit {
        if let Some(c) = counts.get_mut(a.action) {
            *c += 1;
        }
        h.update(format!("{}:{}:{};", a.bar, a.obs_hash, a.action).as_bytes());
    }
    let policy_r = window_returns(&run.equity, from, to);

    let bh = sim.run(data, &mut HoldFrom(from));
    let bh_r = window_returns(&bh.equity, from, to);

    // The best SMA cross on the training bars only.
    let train = data.truncated(from);
    let mut best: Option<(f64, Value)> = None;
    for fast in (5..=50).step_by(5) {
        for slow in (20..=200).step_by(10) {
            if slow <= fast {
                continue;
            }
            let params = json!({"fast": fast, "slow": slow});
            let mut s = build_strategy("sma_cross", &params)
                .map_err(|e| RlServiceError::Invalid(e.to_string()))?;
            let r = sim.run(&train, s.as_mut());
            let rets = window_returns(&r.equity, 0, train.len() - 1);
            let l = leg("", &rets, 0);
            let score = l.sharpe.unwrap_or(f64::NEG_INFINITY);
            if best.as_ref().is_none_or(|(b, _)| score > *b) {
                best = Some((score, params));
            }
        }
    }
    let (_, params) = best.ok_or_else(|| RlServiceError::Invalid("empty rule grid".into()))?;
    let mut rule =
        build_strategy("sma_cross", &params).map_err(|e| RlServiceError::Invalid(e.to_string()))?;
    let rule_run = sim.run(data, rule.as_mut());
    let rule_r = window_returns(&rule_run.equity, from, to);
    let in_window = |trades: &[sextant_backtest::simulator::Trade]| {
        trades.iter().filter(|t| t.exit_bar > from).count()
    };
    let seed = req.seed;
    Ok(Evaluation {
        from: p.dates[from],
        to: p.dates[to],
        days: policy_r.len(),
        policy: leg("policy", &policy_r, in_window(&run.trades)),
        buy_and_hold: leg("buy_and_hold", &bh_r, in_window(&bh.trades)),
        flat: leg("flat", &vec![0.0; policy_r.len()], 0),
        best_rule: leg("sma_cross", &rule_r, in_window(&rule_run.trades)),
        best_rule_params: params,
        vs_buy_and_hold: bootstrap_difference(&policy_r, &bh_r, RESAMPLES, seed)
            .map_err(|e| RlServiceError::Invalid(e.to_string()))?,
        vs_best_rule: bootstrap_difference(&policy_r, &rule_r, RESAMPLES, seed)
            .map_err(|e| RlServiceError::Invalid(e.to_string()))?,
        action_counts: counts,
        audit_hash: format!("{:x}", h.finalize()),
    })
}

/// A borrowed policy as the boxed one `PolicyStrategy` owns.
struct Borrowed<'a>(&'a dyn Policy);

impl Policy for Borrowed<'_> {
    fn probabilities(&self, obs: &[f32]) -> Vec<f64> {
        self.0.probabilities(obs)
    }
    fn greedy(&self, obs: &[f32]) -> usize {
        self.0.greedy(obs)
    }
}
