//! NSGA-II (Deb et al. 2002) as Optuna's `NSGAIISampler`: populations of 50, binary
//! tournaments on dominance alone (the second entrant wins when neither dominates), uniform
//! crossover (probability 0.9, each parameter from the second parent with probability 0.5),
//! otherwise a copy of a random parent, and mutation that redraws each parameter at random with
//! probability `1 / parameters`.
//!
//! Generation 0 is random. Generation `g` starts once `population` trials of generation
//! `g − 1` are complete; its parents are the elite of the previous parents and every complete
//! trial of generation `g − 1`, taken front by front and, in the front that does not fit,
//! by crowding distance. Everything is recomputed from the trial history, so a resumed study
//! proposes the same trials.

use crate::pareto::{crowding_distance, non_dominated_fronts};
use crate::space::{Assignment, SearchSpace};
use crate::trial::{Direction, Trial};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// NSGA-II settings; the defaults are Optuna's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Nsga2Config {
    /// Trials per generation. Default: 50.
    pub population: u32,
    /// Probability that a child is a crossover of two parents. Default: 0.9.
    pub crossover_prob: f64,
    /// Probability that uniform crossover takes a parameter from the second parent.
    /// Default: 0.5.
    pub swapping_prob: f64,
}

impl Default for Nsga2Config {
    fn default() -> Self {
        Nsga2Config {
            population: 50,
            crossover_prob: 0.9,
            swapping_prob: 0.5,
        }
    }
}

/// The sampler: the elite of each generation, computed once and kept.
#[derive(Debug, Clone, Default)]
pub struct Nsga2Sampler {
    /// `elites[g]` = parents of generation `g + 1` (trial numbers).
    elites: Vec<Vec<u32>>,
}

fn losses(t: &Trial, dirs: &[Direction]) -> Option<Vec<f64>> {
    if !t.is_complete() || t.values.len() != dirs.len() {
        return None;
    }
    Some(t.values.iter().zip(dirs).map(|(&v, d)| d.loss(v)).collect())
}

impl Nsga2Sampler {
    /// A proposal for every parameter and its generation.
    pub(crate) fn ask(
        &mut self,
        space: &SearchSpace,
        trials: &[Trial],
        dirs: &[Direction],
        cfg: &Nsga2Config,
        rng: &mut ChaCha8Rng,
    ) -> (Assignment, Option<u32>) {
        let pop = cfg.population.max(2) as usize;
        // Catch up: generation g is complete once `pop` of its trials are.
        loop {
            let g = self.elites.len() as u32;
            let members: Vec<&Trial> = trials
                .iter()
                .filter(|t| t.generation == Some(g) && losses(t, dirs).is_some())
                .collect();
            if members.len() < pop {
                break;
            }
            let prev = self.elites.last().cloned().unwrap_or_default();
            let mut pool: Vec<&Trial> = prev
                .iter()
                .filter_map(|&n| trials.iter().find(|t| t.number == n))
                .collect();
            pool.extend(members);
            self.elites.push(select_elite(&pool, dirs, pop));
        }
        let generation = self.elites.len() as u32;
        let mut out = Assignment::new();
        for p in &space.params {
            out.insert(p.name.clone(), super::random::sample(&p.distribution, rng));
        }
        let Some(parents) = self.elites.last() else {
            return (out, Some(0));
        };
        let parents: Vec<&Trial> = parents
            .iter()
            .filter_map(|&n| trials.iter().find(|t| t.number == n))
            .collect();
        if parents.len() < 2 {
            return (out, Some(generation));
        }
        let tournament = |rng: &mut ChaCha8Rng, pool: &[&'_ Trial]| -> usize {
            let a = rng.gen_range(0..pool.len());
            let b = rng.gen_range(0..pool.len());
            match (losses(pool[a], dirs), losses(pool[b], dirs)) {
                (Some(x), Some(y)) if crate::pareto::dominates(&x, &y) => a,
                _ => b,
            }
        };
        let child: Assignment = if rng.gen::<f64>() < cfg.crossover_prob {
            let i0 = tournament(rng, &parents);
            let p0 = parents[i0];
            let rest: Vec<&Trial> = parents
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != i0)
                .map(|(_, t)| *t)
                .collect();
            let p1 = rest[tournament(rng, &rest)];
            p0.params
                .iter()
                .map(|(k, &v)| {
                    let from1 = rng.gen::<f64>() < cfg.swapping_prob;
                    let w = if from1 {
                        p1.params.get(k).copied().unwrap_or(v)
                    } else {
                        v
                    };
                    (k.clone(), w)
                })
                .collect()
        } else {
            parents[rng.gen_range(0..parents.len())].params.clone()
        };
        let mutation = 1.0 / child.len().max(1) as f64;
        for p in &space.params {
            if let Some(&v) = child.get(&p.name) {
                if rng.gen::<f64>() >= mutation {
                    out.insert(p.name.clone(), v);
                }
            }
        }
        (out, Some(generation))
    }
}

/// The best `size` trials by front, then by crowding distance (larger first), then number.
fn select_elite(pool: &[&Trial], dirs: &[Direction], size: usize) -> Vec<u32> {
    let ls: Vec<Vec<f64>> = pool.iter().filter_map(|t| losses(t, dirs)).collect();
    let fronts = non_dominated_fronts(&ls);
    let mut out = Vec::with_capacity(size);
    for front in fronts {
        if out.len() + front.len() < size {
            out.extend(front.iter().map(|&i| pool[i].number));
            continue;
        }
        let d = crowding_distance(&ls, &front);
        let mut order: Vec<usize> = (0..front.len()).collect();
        order.sort_by(|&a, &b| {
            d[b].total_cmp(&d[a])
                .then(pool[front[a]].number.cmp(&pool[front[b]].number))
        });
        for &i in order.iter().take(size - out.len()) {
            out.push(pool[front[i]].number);
        }
        break;
    }
    out
}
