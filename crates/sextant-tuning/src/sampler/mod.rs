//! Samplers: where the next trial's parameters come from.
//!
//! Every sampler is a pure function of the search space, the trial history and the trial's own
//! random stream (ChaCha8 seeded by the study seed, stream = trial number), so the same seed
//! proposes the same trials whatever the thread count, and a resumed study continues where it
//! stopped. Model-based samplers (TPE, CMA-ES) ask in batches: every trial of a batch sees the
//! history as it was when the batch began.

mod cmaes;
pub mod grid;
mod nsga2;
mod parzen;
pub mod random;
mod tpe;
pub mod transform;
mod window;

pub use cmaes::CmaSampler;
pub use nsga2::{Nsga2Config, Nsga2Sampler};
pub use tpe::{TpeCache, TpeConfig};

use crate::space::{Assignment, SearchSpace};
use crate::trial::{Direction, Trial};
use crate::TuningError;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Which sampler a study uses.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SamplerKind {
    /// Multivariate tree-structured Parzen estimator (single objective). The default.
    #[default]
    Tpe,
    /// CMA-ES over the numeric parameters (single objective).
    Cmaes,
    /// NSGA-II, for one or more objectives.
    Nsga2,
    /// Independent uniform draws.
    Random,
    /// Every point of the grid once, in an order shuffled by the seed (Optuna's
    /// `GridSampler`); integer, stepped and categorical parameters only, at most
    /// [`MAX_GRID`] points.
    Grid,
}

/// The largest grid the grid sampler enumerates.
pub const MAX_GRID: u64 = 1_000_000;

/// A sampler with the state it keeps between asks (rebuilt from the history on resume).
#[derive(Debug, Clone)]
pub enum Sampler {
    /// See [`SamplerKind::Tpe`]; the cache holds the trials' parameters as columns.
    Tpe(TpeConfig, TpeCache),
    /// See [`SamplerKind::Cmaes`].
    Cmaes(Box<CmaSampler>),
    /// See [`SamplerKind::Nsga2`].
    Nsga2(Nsga2Config, Nsga2Sampler),
    /// See [`SamplerKind::Random`].
    Random,
    /// See [`SamplerKind::Grid`]: the shuffled grid indices.
    Grid(Vec<u64>),
}

impl Sampler {
    /// A fresh sampler of `kind`, checked against the space and the number of objectives.
    pub fn new(
        kind: SamplerKind,
        space: &SearchSpace,
        objectives: usize,
        seed: u64,
    ) -> Result<Sampler, TuningError> {
        let single = |name: &str| {
            if objectives == 1 {
                Ok(())
            } else {
                Err(TuningError::Config(format!(
                    "{name} optimises one objective; use nsga2, random or grid for {objectives}"
                )))
            }
        };
        Ok(match kind {
            SamplerKind::Tpe => {
                single("tpe")?;
                Sampler::Tpe(TpeConfig::default(), TpeCache::default())
            }
            SamplerKind::Cmaes => {
                single("cmaes")?;
                Sampler::Cmaes(Box::default())
            }
            SamplerKind::Nsga2 => Sampler::Nsga2(Nsga2Config::default(), Nsga2Sampler::default()),
            SamplerKind::Random => Sampler::Random,
            SamplerKind::Grid => {
                let n = space.grid_size().ok_or_else(|| {
                    TuningError::Config(
                        "grid needs integer, stepped or categorical parameters only".into(),
                    )
                })?;
                if n > MAX_GRID {
                    return Err(TuningError::Config(format!(
                        "the grid has {n} points, more than {MAX_GRID}: narrow it or use tpe or random"
                    )));
                }
                let mut order: Vec<u64> = (0..n).collect();
                order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
                Sampler::Grid(order)
            }
        })
    }

    /// The parameters of trial `number` (every parameter, active or not) and its generation;
    /// `None` when the sampler has nothing left (an exhausted grid).
    pub fn ask(
        &mut self,
        space: &SearchSpace,
        trials: &[Trial],
        dirs: &[Direction],
        number: u32,
        rng: &mut ChaCha8Rng,
    ) -> Option<(Assignment, Option<u32>)> {
        let dir = dirs.first().copied().unwrap_or(Direction::Maximize);
        let random = |rng: &mut ChaCha8Rng| -> Assignment {
            space
                .params
                .iter()
                .map(|p| (p.name.clone(), random::sample(&p.distribution, rng)))
                .collect()
        };
        Some(match self {
            Sampler::Tpe(cfg, cache) => {
                if tpe::started(trials, dir, cfg) {
                    (tpe::ask(space, trials, dir, cfg, cache, rng), None)
                } else {
                    (random(rng), None)
                }
            }
            Sampler::Cmaes(s) => s.ask(space, trials, dir, rng),
            Sampler::Nsga2(cfg, s) => s.ask(space, trials, dirs, cfg, rng),
            Sampler::Random => (random(rng), None),
            Sampler::Grid(order) => (grid::point(space, *order.get(number as usize)?)?, None),
        })
    }
}
