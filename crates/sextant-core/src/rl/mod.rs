//! Reinforcement-learning policies as a service: trained on a symbol's total-return daily bars
//! up to a date, checkpointed (safetensors, named by their hash, at `rl/checkpoints/` of the
//! object store: the data directory by default, an S3-compatible bucket by configuration),
//! registered in the metadata store with everything that made them
//! (request, data snapshot, seed, reward curve), and evaluated out of sample — the bars after
//! the training range — beside buy and hold, staying flat, and the best SMA cross tuned on the
//! training range, with a paired bootstrap of the Sharpe difference.

mod evaluate;
mod job;
mod regime;

pub use evaluate::{Evaluation, Leg};
pub(crate) use job::job_error;
pub use job::{train_reporting, TrainRlJob, JOB_MAX_STEPS};
pub use regime::{regime_columns, RegimeInputs};

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sextant_backtest::simulator::{BarSeries, Costs, MarketData, SimConfig};
use sextant_data::cache::{ReadPool, Slice};
use sextant_domain::{PriceBasis, Resolution, Symbol};
use sextant_meta::{MetaStore, Query};
use sextant_objects::Objects;
use sextant_rl::dqn::{self, DqnConfig, QPolicy};
use sextant_rl::policy::Policy;
use sextant_rl::ppo::{self, ActorCritic, PpoConfig, Progress};
use sextant_rl::trading::{Actions, Observations, Reward, TradingConfig, TradingEnv};
use std::sync::Arc;

/// The metadata collection of trained policies.
pub const COLLECTION: &str = "rl_policies";
/// Most environment steps one training may take.
pub const MAX_STEPS: usize = 5_000_000;
/// Where checkpoints go in the object store (`<CHECKPOINTS>/<sha256>.safetensors`).
pub const CHECKPOINTS: &str = "rl/checkpoints";

/// Which agent learns.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display, strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Algo {
    /// Proximal policy optimisation on 8 environments.
    Ppo,
    /// Double DQN on one environment.
    Dqn,
}

/// What to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlTrainRequest {
    /// The symbol traded (daily bars, total-return basis).
    pub symbol: Symbol,
    /// Last session of the training range (inclusive); the evaluation starts after it.
    pub train_to: NaiveDate,
    /// Last session of the evaluation (default: the newest bar).
    #[serde(default)]
    pub test_to: Option<NaiveDate>,
    /// The agent (default PPO).
    #[serde(default = "default_algo")]
    pub algo: Algo,
    /// Environment steps (default 100,000; at most 5,000,000).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Seed of everything random (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Actions (default short / flat / long).
    #[serde(default = "default_actions")]
    pub actions: Actions,
    /// Reward (default the log return net of costs).
    #[serde(default = "default_reward")]
    pub reward: Reward,
    /// Bars per training episode (default 252).
    #[serde(default = "default_episode")]
    pub episode_bars: usize,
    /// Commission as a fraction of notional (default 0.001).
    #[serde(default = "default_commission")]
    pub commission_pct: f64,
    /// Slippage in basis points (default 5).
    #[serde(default = "default_slippage")]
    pub slippage_bps: f64,
    /// Regime probabilities in the observation: the states (2 to 4) of a walk-forward HMM on
    /// the symbol's return and volatility, point in time (default none).
    #[serde(default)]
    pub regime_states: Option<usize>,
}

fn default_algo() -> Algo {
    Algo::Ppo
}
fn default_steps() -> usize {
    100_000
}
fn default_actions() -> Actions {
    Actions::ShortFlatLong
}
fn default_reward() -> Reward {
    Reward::LogReturn
}
fn default_episode() -> usize {
    252
}
fn default_commission() -> f64 {
    0.001
}
fn default_slippage() -> f64 {
    5.0
}

/// A trained policy as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// `rlp_` and 12 hex digits of the checkpoint hash.
    pub id: String,
    /// What was asked.
    pub request: RlTrainRequest,
    /// SHA-256 of the checkpoint file.
    pub checkpoint: String,
    /// The data snapshot of the bars read (training and evaluation).
    pub data_snapshot: String,
    /// Bars used for training: the first and last session.
    pub train_range: [NaiveDate; 2],
    /// Observation width and hidden layers (to rebuild the network).
    pub obs_dim: usize,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// The reward curve: mean episode return per rollout.
    pub curve: Vec<Progress>,
    /// Out-of-sample evaluation.
    pub evaluation: Evaluation,
    /// When it was trained.
    pub created_at: chrono::DateTime<Utc>,
    /// Training wall time in seconds.
    pub train_secs: f64,
    /// The regime columns observed, when asked for.
    #[serde(default)]
    pub regimes: Option<RegimeInputs>,
}

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum RlServiceError {
    /// A request that cannot be served, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// No such policy.
    #[error("no RL policy {0}")]
    NotFound(String),
    /// The bar store.
    #[error(transparent)]
    Data(#[from] sextant_data::DataError),
    /// The metadata store.
    #[error(transparent)]
    Meta(#[from] sextant_meta::MetaError),
    /// Training or the environment.
    #[error(transparent)]
    Rl(#[from] sextant_rl::RlError),
    /// The checkpoint store (missing, corrupt or unreachable checkpoint).
    #[error("checkpoint: {0}")]
    Objects(#[from] sextant_objects::ObjectsError),
}

/// Trains, stores and evaluates policies.
#[derive(Clone)]
pub struct RlService {
    reads: Arc<ReadPool>,
    meta: Arc<dyn MetaStore>,
    objects: Arc<Objects>,
}

/// A policy trained and evaluated, its checkpoint not yet stored nor the record registered
/// ([`RlService::store`] does both).
pub struct Trained {
    /// The record to register.
    pub record: PolicyRecord,
    /// The policy, ready to act.
    pub policy: Box<dyn Policy>,
    /// The checkpoint's safetensors bytes (their SHA-256 is `record.checkpoint`).
    pub checkpoint: Vec<u8>,
}

/// The inputs of one symbol, read once.
pub(crate) struct Prepared {
    pub data: Arc<MarketData>,
    pub obs: Arc<Observations>,
    pub dates: Vec<NaiveDate>,
    /// First bar after the training range.
    pub split: usize,
    pub snapshot: String,
    pub sim: SimConfig,
    pub regimes: Option<RegimeInputs>,
}

impl RlService {
    /// A service reading bars through `reads`, registering in `meta`, checkpoints in
    /// `objects`.
    pub fn new(reads: Arc<ReadPool>, meta: Arc<dyn MetaStore>, objects: Arc<Objects>) -> Self {
        RlService {
            reads,
            meta,
            objects,
        }
    }

    /// Checks a request's values (without reading bars).
    pub fn check(req: &RlTrainRequest) -> Result<(), RlServiceError> {
        let bad = |m: String| Err(RlServiceError::Invalid(m));
        if req.steps == 0 || req.steps > MAX_STEPS {
            return bad(format!("steps must be in 1..={MAX_STEPS}"));
        }
        if !(0.0..0.1).contains(&req.commission_pct) {
            return bad("commission_pct must be in [0, 0.1)".into());
        }
        if !(0.0..1000.0).contains(&req.slippage_bps) {
            return bad("slippage_bps must be in [0, 1000)".into());
        }
        if req.actions == Actions::Weights {
            return bad("one symbol: choose short_flat_long, long_flat or buckets".into());
        }
        if req.test_to.is_some_and(|t| t <= req.train_to) {
            return bad("test_to must be after train_to".into());
        }
        if req.regime_states.is_some_and(|k| !(2..=4).contains(&k)) {
            return bad("regime_states must be 2 to 4".into());
        }
        Ok(())
    }

    /// The data snapshot a training of `req` reads (the symbol's daily bars up to `test_to`),
    /// on the service's cache.
    pub fn data_snapshot(&self, req: &RlTrainRequest) -> Result<String, RlServiceError> {
        Self::snapshot_on(&self.reads.get(), req)
    }

    fn snapshot_on(
        reader: &sextant_data::Cache,
        req: &RlTrainRequest,
    ) -> Result<String, RlServiceError> {
        Ok(reader.snapshot_hash(&Slice {
            symbols: vec![req.symbol.clone()],
            resolution: Some(Resolution::Daily),
            from: None,
            to: req.test_to,
        })?)
    }

    pub(crate) fn prepare(&self, req: &RlTrainRequest) -> Result<Prepared, RlServiceError> {
        Self::check(req)?;
        let reader = self.reads.get();
        let bars = reader.bars_on(
            &req.symbol,
            Resolution::Daily,
            None,
            req.test_to,
            PriceBasis::TotalReturn,
        )?;
        let split = bars.partition_point(|b| b.ts.date() <= req.train_to);
        if split < 300 || bars.len() - split < 20 {
            return Err(RlServiceError::Invalid(format!(
                "{}: {split} bars up to {} and {} after it; training needs 300 and the evaluation 20",
                req.symbol,
                req.train_to,
                bars.len() - split
            )));
        }
        let dates: Vec<NaiveDate> = bars.iter().map(|b| b.ts.date()).collect();
        let series =
            BarSeries::from_bars(&bars).map_err(|e| RlServiceError::Invalid(e.to_string()))?;
        let data = Arc::new(
            MarketData::single(series).map_err(|e| RlServiceError::Invalid(e.to_string()))?,
        );
        let (extra, regimes) = match req.regime_states {
            Some(k) => {
                let (cols, inputs) = regime::aligned(&reader, &req.symbol, &dates, k, req.seed)?;
                if inputs.first_labelled > req.train_to {
                    return Err(RlServiceError::Invalid(format!(
                        "{}: regimes are known from {} only, after train_to",
                        req.symbol, inputs.first_labelled
                    )));
                }
                (Some(cols), Some(inputs))
            }
            None => (None, None),
        };
        let obs = Arc::new(Observations::build(&data, extra.as_deref())?);
        let snapshot = Self::snapshot_on(&reader, req)?;
        let sim = SimConfig {
            costs: Costs {
                commission_pct: req.commission_pct,
                commission_fixed: 0.0,
                slippage_bps: req.slippage_bps,
            },
            ..SimConfig::default()
        };
        Ok(Prepared {
            data,
            obs,
            dates,
            split,
            snapshot,
            sim,
            regimes,
        })
    }

    /// The training environment's configuration: episodes end before the evaluation starts.
    fn env_config(req: &RlTrainRequest, p: &Prepared) -> TradingConfig {
        TradingConfig {
            actions: req.actions,
            reward: req.reward,
            episode_bars: req.episode_bars,
            from: 0,
            to: Some(p.split),
            sim: p.sim,
        }
    }

    /// Trains and evaluates a policy. Blocking (CPU for seconds to minutes): call it from a
    /// blocking thread, then [`RlService::store`] the result. `progress` sees the reward curve as
    /// it grows and may stop training early by returning false.
    pub fn train_blocking(
        &self,
        req: &RlTrainRequest,
        progress: impl FnMut(&Progress) -> bool + Send,
    ) -> Result<Trained, RlServiceError> {
        let p = self.prepare(req)?;
        let cfg = Self::env_config(req, &p);
        let hidden = vec![64, 64];
        let t = std::time::Instant::now();
        let env = || TradingEnv::new(Arc::clone(&p.data), Arc::clone(&p.obs), cfg.clone());
        let (policy, curve, (bytes, hash), obs_dim): (Box<dyn Policy>, _, _, _) = match req.algo {
            Algo::Ppo => {
                let envs = (0..8).map(|_| env()).collect::<Result<Vec<_>, _>>()?;
                let obs_dim = sextant_rl::env::Env::obs_dim(&envs[0]);
                let ppo_cfg = PpoConfig {
                    hidden: hidden.clone(),
                    ..PpoConfig::trading(req.steps, req.seed)
                };
                let (ac, curve) = ppo::train(envs, &ppo_cfg, progress)?;
                let ckpt = sextant_rl::checkpoint::encode(&ac)?;
                (Box::new(ac), curve, ckpt, obs_dim)
            }
            Algo::Dqn => {
                let e = env()?;
                let obs_dim = sextant_rl::env::Env::obs_dim(&e);
                let dqn_cfg = DqnConfig {
                    total_steps: req.steps,
                    hidden: hidden.clone(),
                    learning_rate: 1e-4,
                    seed: req.seed,
                    ..DqnConfig::default()
                };
                let (q, curve) = dqn::train(e, &dqn_cfg, progress)?;
                let ckpt = sextant_rl::checkpoint::encode_q(&q)?;
                (Box::new(q), curve, ckpt, obs_dim)
            }
        };
        let train_secs = t.elapsed().as_secs_f64();
        let evaluation = evaluate::evaluate(&p, req, policy.as_ref())?;
        let record = PolicyRecord {
            id: format!("rlp_{}", &hash[..12]),
            request: req.clone(),
            checkpoint: hash,
            data_snapshot: p.snapshot.clone(),
            train_range: [p.dates[0], p.dates[p.split - 1]],
            obs_dim,
            hidden,
            curve,
            evaluation,
            created_at: Utc::now(),
            train_secs,
            regimes: p.regimes.clone(),
        };
        Ok(Trained {
            record,
            policy,
            checkpoint: bytes,
        })
    }

    /// Stores a trained policy's checkpoint, then registers its record (in that order: a
    /// registered policy always has its checkpoint).
    pub async fn store(&self, trained: Trained) -> Result<PolicyRecord, RlServiceError> {
        let hash = self
            .objects
            .put_hashed(CHECKPOINTS, "safetensors", trained.checkpoint)
            .await?;
        debug_assert_eq!(hash, trained.record.checkpoint);
        self.register(&trained.record).await?;
        Ok(trained.record)
    }

    /// Trains a policy (on a blocking thread), stores its checkpoint and registers it.
    pub async fn train(&self, req: RlTrainRequest) -> Result<PolicyRecord, RlServiceError> {
        let this = self.clone();
        let trained = tokio::task::spawn_blocking(move || this.train_blocking(&req, |_| true))
            .await
            .map_err(|e| RlServiceError::Invalid(format!("training task: {e}")))??;
        self.store(trained).await
    }

    /// Stores `record` (idempotent: the same checkpoint is the same id).
    pub async fn register(&self, record: &PolicyRecord) -> Result<(), RlServiceError> {
        let doc =
            serde_json::to_value(record).map_err(|e| RlServiceError::Invalid(e.to_string()))?;
        self.meta.upsert(COLLECTION, &record.id, doc).await?;
        Ok(())
    }

    /// Every registered policy, newest first.
    pub async fn list(&self) -> Result<Vec<PolicyRecord>, RlServiceError> {
        let docs = self.meta.find(COLLECTION, &Query::default()).await?;
        let mut out: Vec<PolicyRecord> = docs
            .into_iter()
            .filter_map(|d| match serde_json::from_value(d) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::warn!(error = %e, "unreadable RL policy record skipped");
                    None
                }
            })
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(out)
    }

    /// One registered policy.
    pub async fn get(&self, id: &str) -> Result<PolicyRecord, RlServiceError> {
        let doc = self
            .meta
            .get(COLLECTION, id)
            .await?
            .ok_or_else(|| RlServiceError::NotFound(id.to_string()))?;
        serde_json::from_value(doc).map_err(|e| RlServiceError::Invalid(e.to_string()))
    }

    /// Loads a registered policy's checkpoint from the object store, checked against its hash.
    pub async fn load_policy(
        &self,
        record: &PolicyRecord,
    ) -> Result<Box<dyn Policy>, RlServiceError> {
        let bytes = self
            .objects
            .get_hashed(CHECKPOINTS, &record.checkpoint, "safetensors")
            .await?;
        Self::policy_from(record, &bytes)
    }

    /// The policy of `record` with the weights of `bytes`.
    fn policy_from(record: &PolicyRecord, bytes: &[u8]) -> Result<Box<dyn Policy>, RlServiceError> {
        let n_actions = match record.request.actions {
            Actions::ShortFlatLong => 3,
            Actions::LongFlat => 2,
            Actions::Buckets => 5,
            Actions::Weights => {
                return Err(RlServiceError::Invalid(
                    "weights policies are not stored here".into(),
                ))
            }
        };
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        Ok(match record.request.algo {
            Algo::Ppo => {
                let mut ac = ActorCritic::new(record.obs_dim, n_actions, &record.hidden, &mut rng)?;
                sextant_rl::checkpoint::decode(&mut ac, bytes)?;
                Box::new(ac)
            }
            Algo::Dqn => {
                let mut q = QPolicy::build(record.obs_dim, n_actions, &record.hidden, &mut rng)?;
                sextant_rl::checkpoint::decode_q(&mut q, bytes)?;
                Box::new(q)
            }
        })
    }

    /// Re-runs a registered policy's evaluation from its checkpoint on the current bars (the
    /// same bars give the same figures; a changed snapshot is reported by the caller).
    pub async fn reevaluate(
        &self,
        record: &PolicyRecord,
    ) -> Result<(Evaluation, String), RlServiceError> {
        let bytes = self
            .objects
            .get_hashed(CHECKPOINTS, &record.checkpoint, "safetensors")
            .await?;
        let this = self.clone();
        let record = record.clone();
        tokio::task::spawn_blocking(move || -> Result<(Evaluation, String), RlServiceError> {
            let p = this.prepare(&record.request)?;
            let policy = Self::policy_from(&record, &bytes)?;
            Ok((
                evaluate::evaluate(&p, &record.request, policy.as_ref())?,
                p.snapshot,
            ))
        })
        .await
        .map_err(|e| RlServiceError::Invalid(format!("evaluation task: {e}")))?
    }
}
