//! A study: the search space, the objectives' directions, the sampler and pruner, the seed,
//! and every trial so far. Asks come in batches; tells may come in any order.

use crate::pareto::non_dominated_fronts;
use crate::pruner::PrunerKind;
use crate::sampler::{Sampler, SamplerKind};
use crate::space::{Assignment, SearchSpace};
use crate::trial::{Direction, Outcome, Trial, TrialState};
use crate::TuningError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a study searches and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySpec {
    /// The parameters.
    pub space: SearchSpace,
    /// One per objective.
    pub directions: Vec<Direction>,
    /// Where proposals come from.
    pub sampler: SamplerKind,
    /// Early stopping on folds (single objective only).
    pub pruner: PrunerKind,
    /// Seeds every trial's random stream.
    pub seed: u64,
}

/// The random stream of trial `number`: ChaCha8 keyed by the seed, stream = number.
pub fn trial_rng(seed: u64, number: u32) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(u64::from(number));
    r
}

/// A study in memory.
#[derive(Debug, Clone)]
pub struct Study {
    spec: StudySpec,
    sampler: Sampler,
    trials: Vec<Trial>,
}

impl Study {
    /// A study with no trials.
    pub fn new(spec: StudySpec) -> Result<Study, TuningError> {
        Study::resume(spec, Vec::new())
    }

    /// A study continuing from stored trials (numbered `0..n`); running ones are run again
    /// with their parameters.
    pub fn resume(spec: StudySpec, trials: Vec<Trial>) -> Result<Study, TuningError> {
        let sampler = Sampler::new(spec.sampler, &spec.space, spec.directions.len(), spec.seed)?;
        Study::resume_with(spec, sampler, trials)
    }

    /// [`Self::resume`] with a sampler configured by hand (e.g. TPE with other settings than
    /// the defaults); `spec.sampler` is then only a label.
    pub fn resume_with(
        spec: StudySpec,
        sampler: Sampler,
        mut trials: Vec<Trial>,
    ) -> Result<Study, TuningError> {
        spec.space.validate()?;
        if spec.directions.is_empty() || spec.directions.len() > 4 {
            return Err(TuningError::Config(format!(
                "1..=4 objectives, got {}",
                spec.directions.len()
            )));
        }
        if spec.directions.len() > 1 && spec.pruner != PrunerKind::None {
            return Err(TuningError::Config(
                "pruning needs a single objective".into(),
            ));
        }
        trials.sort_by_key(|t| t.number);
        if trials
            .iter()
            .enumerate()
            .any(|(i, t)| t.number as usize != i)
        {
            return Err(TuningError::Study(
                "stored trials are not numbered 0..n without gaps".into(),
            ));
        }
        Ok(Study {
            spec,
            sampler,
            trials,
        })
    }

    /// The specification.
    pub fn spec(&self) -> &StudySpec {
        &self.spec
    }

    /// Every trial, by number.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// Asks up to `n` new trials (fewer when a grid runs out); each sees the history as it
    /// stands, including the ones asked before it in this batch (as running trials).
    pub fn ask(&mut self, n: usize) -> Vec<Trial> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let number = self.trials.len() as u32;
            let mut rng = trial_rng(self.spec.seed, number);
            let Some((all, generation)) = self.sampler.ask(
                &self.spec.space,
                &self.trials,
                &self.spec.directions,
                number,
                &mut rng,
            ) else {
                break;
            };
            let mut params = Assignment::new();
            for p in &self.spec.space.params {
                if self.spec.space.is_active(p, &params) {
                    if let Some(&v) = all.get(&p.name) {
                        params.insert(p.name.clone(), v);
                    }
                }
            }
            let t = Trial::running(number, params, generation);
            self.trials.push(t.clone());
            out.push(t);
        }
        out
    }

    /// Records how trial `number` ended.
    pub fn tell(
        &mut self,
        number: u32,
        outcome: Outcome,
        duration_ms: f64,
    ) -> Result<&Trial, TuningError> {
        let objectives = self.spec.directions.len();
        let t = self
            .trials
            .get_mut(number as usize)
            .ok_or_else(|| TuningError::Study(format!("no trial {number}")))?;
        if t.state != TrialState::Running {
            return Err(TuningError::Study(format!(
                "trial {number} has already ended"
            )));
        }
        t.duration_ms = duration_ms;
        match outcome {
            Outcome::Complete {
                values,
                intermediate,
            } => {
                if values.len() != objectives {
                    return Err(TuningError::Study(format!(
                        "trial {number}: {} values for {objectives} objectives",
                        values.len()
                    )));
                }
                t.intermediate = intermediate;
                if values.iter().all(|v| v.is_finite()) {
                    t.values = values;
                    t.state = TrialState::Complete;
                } else {
                    t.state = TrialState::Failed;
                    t.error = Some("the objective is not a finite number".into());
                }
            }
            Outcome::Pruned { intermediate } => {
                t.intermediate = intermediate;
                t.state = TrialState::Pruned;
            }
            Outcome::Failed(why) => {
                t.state = TrialState::Failed;
                t.error = Some(why);
            }
        }
        Ok(t)
    }

    /// Complete trials ranked best first (single objective: by value, then number; several:
    /// by front, then number).
    pub fn ranked(&self) -> Vec<&Trial> {
        let done: Vec<&Trial> = self.trials.iter().filter(|t| t.is_complete()).collect();
        let dirs = &self.spec.directions;
        if dirs.len() == 1 {
            let mut v = done;
            v.sort_by(|a, b| {
                dirs[0]
                    .loss(a.values[0])
                    .total_cmp(&dirs[0].loss(b.values[0]))
                    .then(a.number.cmp(&b.number))
            });
            return v;
        }
        let losses: Vec<Vec<f64>> = done
            .iter()
            .map(|t| t.values.iter().zip(dirs).map(|(&v, d)| d.loss(v)).collect())
            .collect();
        non_dominated_fronts(&losses)
            .into_iter()
            .flat_map(|f| f.into_iter().map(|i| done[i]).collect::<Vec<_>>())
            .collect()
    }

    /// The non-dominated complete trials (all objectives), by number.
    pub fn pareto_front(&self) -> Vec<&Trial> {
        let done: Vec<&Trial> = self.trials.iter().filter(|t| t.is_complete()).collect();
        let dirs = &self.spec.directions;
        let losses: Vec<Vec<f64>> = done
            .iter()
            .map(|t| t.values.iter().zip(dirs).map(|(&v, d)| d.loss(v)).collect())
            .collect();
        non_dominated_fronts(&losses)
            .first()
            .map(|f| f.iter().map(|&i| done[i]).collect())
            .unwrap_or_default()
    }
}
