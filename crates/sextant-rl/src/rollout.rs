//! PPO's rollouts on two threads: the environments in two fixed lanes (the first half and the
//! rest), each lane stepping its environments, acting through the policy, then computing its
//! values and advantages on its own thread; the lanes' rows are then laid out as one rollout
//! (step-major, environment-minor, as Stable-Baselines3's buffer).
//!
//! Why: between updates nothing else runs, and a lane needs nothing from the other, so the
//! second core would otherwise idle through a tenth of a run. The uniform draws that pick the
//! actions are taken from the trainer's generator before the rollout, in the order a single
//! thread would take them (step by step, environment by environment), and the lanes are fixed
//! by the number of environments, not of cores: a rollout is the same bits on one core or
//! many.

use crate::env::{Action, Env};
use crate::fused::{FlatMlp, Tape};
use crate::{Result, RlError};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// GAE's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gae {
    pub gamma: f64,
    pub lambda: f64,
}

/// One rollout, laid out row `s · n_envs + i` for step `s` of environment `i`.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub obs: Vec<f32>,
    pub actions: Vec<u32>,
    pub logp: Vec<f32>,
    pub adv: Vec<f64>,
    pub returns: Vec<f32>,
    /// Undiscounted returns of the episodes that ended, in the order they ended (step by
    /// step, environment by environment).
    pub finished: Vec<f64>,
}

/// The environments in their lanes, with what carries over from one rollout to the next.
pub(crate) struct Lanes<E: Env> {
    lanes: Vec<Lane<E>>,
    n_envs: usize,
    obs_dim: usize,
    n_actions: usize,
}

struct Lane<E: Env> {
    envs: Vec<E>,
    obs: Vec<Vec<f32>>,
    /// The lane's first environment's index.
    first: usize,
    ep_return: Vec<f64>,
    /// Per environment: its current observation starts an episode.
    starts: Vec<bool>,
    pi_tape: Tape,
    vf_tape: Tape,
    out: LaneRollout,
}

/// A lane's rows, `s · len + e` for step `s` of its environment `e`.
#[derive(Default)]
struct LaneRollout {
    obs: Vec<f32>,
    actions: Vec<u32>,
    logp: Vec<f32>,
    rewards: Vec<f64>,
    starts: Vec<bool>,
    /// Time-limit truncations: (row, the final observation), bootstrapped from its value.
    truncations: Vec<(usize, Vec<f32>)>,
    /// Ended episodes: (row, undiscounted return).
    finished: Vec<(usize, f64)>,
    values: Vec<f64>,
    adv: Vec<f64>,
}

impl<E: Env> Lanes<E> {
    /// Resets environment `i` with `seed + i`; every observation must be `obs_dim` wide.
    pub(crate) fn new(envs: Vec<E>, seed: u64, obs_dim: usize, n_actions: usize) -> Result<Self> {
        let n_envs = envs.len();
        let split = n_envs.div_ceil(2);
        let mut lanes = Vec::new();
        let mut envs = envs.into_iter().enumerate().peekable();
        while envs.peek().is_some() {
            let mut lane = Lane {
                envs: Vec::new(),
                obs: Vec::new(),
                first: envs.peek().map_or(0, |(i, _)| *i),
                ep_return: Vec::new(),
                starts: Vec::new(),
                pi_tape: Tape::default(),
                vf_tape: Tape::default(),
                out: LaneRollout::default(),
            };
            for (i, mut e) in envs.by_ref().take(split) {
                lane.obs.push(checked(
                    e.reset(Some(seed.wrapping_add(i as u64))),
                    obs_dim,
                )?);
                lane.envs.push(e);
                lane.ep_return.push(0.0);
                // SB3 starts its buffer with every episode starting.
                lane.starts.push(true);
            }
            lanes.push(lane);
        }
        Ok(Lanes {
            lanes,
            n_envs,
            obs_dim,
            n_actions,
        })
    }

    /// `n_steps` steps of every environment under `pi` (actions drawn with `rng`), valued by
    /// `vf`, advantages by GAE.
    pub(crate) fn collect(
        &mut self,
        pi: &FlatMlp,
        vf: &FlatMlp,
        rng: &mut ChaCha8Rng,
        n_steps: usize,
        gae: Gae,
    ) -> Result<Collected> {
        let draws: Vec<f64> = (0..n_steps * self.n_envs).map(|_| rng.gen()).collect();
        let plan = Steps {
            n_steps,
            n_envs: self.n_envs,
            obs_dim: self.obs_dim,
            n_actions: self.n_actions,
            draws: &draws,
            gae,
        };
        let (first, rest) = self.lanes.split_at_mut(1);
        std::thread::scope(|s| {
            let helper = rest
                .first_mut()
                .map(|lane| {
                    std::thread::Builder::new()
                        .name("sextant-rl-lane".into())
                        .spawn_scoped(s, || lane.run(pi, vf, &plan))
                        .map_err(|e| RlError::Config(format!("a rollout thread: {e}")))
                })
                .transpose()?;
            let mine = first
                .first_mut()
                .map_or(Ok(()), |lane| lane.run(pi, vf, &plan));
            let theirs = helper.map_or(Ok(()), |h| match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            });
            mine.and(theirs)
        })?;
        Ok(self.merge(n_steps))
    }

    /// The lanes' rows as one rollout.
    fn merge(&self, n_steps: usize) -> Collected {
        let (n, d) = (self.n_envs, self.obs_dim);
        let rows = n_steps * n;
        let mut c = Collected {
            obs: vec![0.0; rows * d],
            actions: vec![0; rows],
            logp: vec![0.0; rows],
            adv: vec![0.0; rows],
            returns: vec![0.0; rows],
            finished: Vec::new(),
        };
        // (global row, return) of every ended episode, put back in single-thread order.
        let mut finished = Vec::new();
        let mut offset = 0;
        for lane in &self.lanes {
            let (len, o) = (lane.envs.len(), &lane.out);
            for s in 0..n_steps {
                for e in 0..len {
                    let (k, g) = (s * len + e, s * n + offset + e);
                    c.obs[g * d..(g + 1) * d].copy_from_slice(&o.obs[k * d..(k + 1) * d]);
                    c.actions[g] = o.actions[k];
                    c.logp[g] = o.logp[k];
                    c.adv[g] = o.adv[k];
                    c.returns[g] = (o.adv[k] + o.values[k]) as f32;
                }
            }
            finished.extend(
                o.finished
                    .iter()
                    .map(|&(k, r)| ((k / len) * n + offset + k % len, r)),
            );
            offset += len;
        }
        finished.sort_by_key(|&(g, _)| g);
        c.finished = finished.into_iter().map(|(_, r)| r).collect();
        c
    }
}

/// What every lane does in a rollout.
struct Steps<'a> {
    n_steps: usize,
    n_envs: usize,
    obs_dim: usize,
    n_actions: usize,
    /// Uniform draws, `s · n_envs + i` for step `s` of environment `i`.
    draws: &'a [f64],
    gae: Gae,
}

impl<E: Env> Lane<E> {
    fn run(&mut self, pi: &FlatMlp, vf: &FlatMlp, plan: &Steps<'_>) -> Result<()> {
        let Steps {
            n_steps,
            n_envs,
            obs_dim: d,
            n_actions,
            draws,
            gae,
        } = *plan;
        let len = self.envs.len();
        let out = &mut self.out;
        out.obs.clear();
        out.actions.clear();
        out.logp.clear();
        out.rewards.clear();
        out.starts.clear();
        out.truncations.clear();
        out.finished.clear();
        for s in 0..n_steps {
            let start = out.obs.len();
            for o in &self.obs {
                out.obs.extend_from_slice(o);
            }
            pi.forward(&out.obs[start..], len, &mut self.pi_tape)?;
            let logits = self.pi_tape.out.chunks_exact(n_actions);
            for (e, logits) in logits.enumerate() {
                let p = crate::ppo::softmax(logits);
                let u = draws[s * n_envs + self.first + e];
                let mut a = p.len() - 1;
                let mut acc = 0.0;
                for (k, pk) in p.iter().enumerate() {
                    acc += pk;
                    if u < acc {
                        a = k;
                        break;
                    }
                }
                out.actions.push(a as u32);
                out.logp.push(p[a].max(1e-30).ln() as f32);
                out.starts.push(self.starts[e]);
                let env = &mut self.envs[e];
                let step = env.step(&Action::Discrete(a))?;
                let next = checked(step.obs, d)?;
                self.ep_return[e] += step.reward;
                let ended = step.terminated || step.truncated;
                let row = out.rewards.len();
                if ended {
                    if step.truncated && !step.terminated {
                        out.truncations.push((row, next));
                    }
                    self.obs[e] = checked(env.reset(None), d)?;
                    out.finished.push((row, self.ep_return[e]));
                    self.ep_return[e] = 0.0;
                } else {
                    self.obs[e] = next;
                }
                out.rewards.push(step.reward);
                self.starts[e] = ended;
            }
        }
        // The values of the lane's observations, of the next ones and of the final
        // observations of truncated episodes, in one pass.
        let rows = n_steps * len;
        for o in &self.obs {
            out.obs.extend_from_slice(o);
        }
        for (_, last) in &out.truncations {
            out.obs.extend_from_slice(last);
        }
        let all = rows + len + out.truncations.len();
        vf.forward(&out.obs, all, &mut self.vf_tape)?;
        out.obs.truncate(rows * d);
        let v = &self.vf_tape.out;
        out.values.clear();
        out.values.extend(v[..rows].iter().map(|&x| f64::from(x)));
        for (t, (k, _)) in out.truncations.iter().enumerate() {
            out.rewards[*k] += gae.gamma * f64::from(v[rows + len + t]);
        }
        // GAE over each environment's column.
        out.adv.clear();
        out.adv.resize(rows, 0.0);
        for e in 0..len {
            let mut g = 0.0;
            for s in (0..n_steps).rev() {
                let k = s * len + e;
                let (next_value, next_nonterminal) = if s + 1 == n_steps {
                    (
                        f64::from(v[rows + e]),
                        if self.starts[e] { 0.0 } else { 1.0 },
                    )
                } else {
                    let nk = k + len;
                    (out.values[nk], if out.starts[nk] { 0.0 } else { 1.0 })
                };
                let delta =
                    out.rewards[k] + gae.gamma * next_value * next_nonterminal - out.values[k];
                g = delta + gae.gamma * gae.lambda * next_nonterminal * g;
                out.adv[k] = g;
            }
        }
        Ok(())
    }
}

/// `obs` if it is `width` values wide, else an error naming both.
fn checked(obs: Vec<f32>, width: usize) -> Result<Vec<f32>> {
    if obs.len() == width {
        Ok(obs)
    } else {
        Err(RlError::Data(format!(
            "an observation of {} values where the environment declares {width}",
            obs.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use crate::env::{ActionSpace, Step};
    use crate::ppo::{self, PpoConfig};

    /// Observations two wide, except one step's of environment 1, three wide.
    struct Odd {
        t: usize,
        bad_at: Option<usize>,
    }

    impl crate::env::Env for Odd {
        fn obs_dim(&self) -> usize {
            2
        }
        fn action_space(&self) -> ActionSpace {
            ActionSpace::Discrete(2)
        }
        fn reset(&mut self, _seed: Option<u64>) -> Vec<f32> {
            vec![0.5, -0.5]
        }
        fn step(&mut self, _action: &crate::env::Action) -> crate::Result<Step> {
            self.t += 1;
            let width = if Some(self.t) == self.bad_at { 3 } else { 2 };
            Ok(Step {
                obs: vec![0.1; width],
                reward: 1.0,
                terminated: false,
                truncated: self.t.is_multiple_of(5),
            })
        }
    }

    #[test]
    fn an_observation_of_the_wrong_width_is_an_error_not_a_panic() {
        let cfg = PpoConfig {
            total_steps: 64,
            n_steps: 16,
            batch_size: 8,
            n_epochs: 2,
            ..PpoConfig::default()
        };
        let envs = |bad_at| {
            vec![
                Odd { t: 0, bad_at: None },
                Odd { t: 0, bad_at },
                Odd { t: 0, bad_at: None },
            ]
        };
        let (_, history) = ppo::train(envs(None), &cfg, |_| true).expect("well-formed");
        assert_eq!(history.len(), 1);
        assert_eq!(
            history[0].episodes, 9,
            "three episodes of five steps per environment"
        );
        let e = ppo::train(envs(Some(7)), &cfg, |_| true).expect_err("3 values");
        assert!(e.to_string().contains("3 values"), "{e}");
    }
}
