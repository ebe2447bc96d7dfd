//! PPO's minibatch epochs on two threads: the policy network on the calling thread, the value
//! network on a second one.
//!
//! Why: the two networks share their input rows and nothing else but the clipping of their
//! gradients to one global norm. So each thread runs every epoch on its own network, and the
//! two meet once per minibatch to add up their squared gradient norms, spinning on an atomic
//! counter for the few microseconds one may wait for the other. (Splitting each minibatch in
//! halves over a rayon join, as before, parked and woke a thread every minibatch: ~10 % of a
//! run.) Each network's arithmetic is one thread's code in a fixed order, so the weights are
//! the same bits on one core or many.

use crate::fused::{
    clip_scale, policy_gradients, value_gradients, Adam, Batch, FlatMlp, Grads, LossWeights, Tape,
};
use crate::rollout::Collected;
use crate::{Result, RlError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// One network with its optimiser and buffers.
#[derive(Debug)]
pub(crate) struct Learner {
    pub(crate) net: FlatMlp,
    adam: Adam,
    grads: Grads,
    tape: Tape,
}

impl Learner {
    /// `net` with fresh Adam moments (β 0.9/0.999, ε 1e-5: Stable-Baselines3's).
    pub(crate) fn new(net: FlatMlp) -> Self {
        let adam = Adam::new(&net, 0.9, 0.999, 1e-5);
        let grads = net.zero_grads();
        Learner {
            net,
            adam,
            grads,
            tape: Tape::default(),
        }
    }
}

/// What one update's epochs do.
pub(crate) struct Plan<'a> {
    /// Values per observation.
    pub obs_dim: usize,
    /// Each epoch's order of the rollout's rows, cut into minibatches of `batch_size`.
    pub orders: &'a [Vec<u32>],
    /// Rows per minibatch.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// The loss's coefficients.
    pub weights: LossWeights,
    /// The global gradient norm limit.
    pub max_grad_norm: f64,
}

/// Runs every minibatch of `plan` on `data`: `pi` on this thread, `vf` on a scoped second one.
pub(crate) fn run(
    pi: &mut Learner,
    vf: &mut Learner,
    data: &Collected,
    plan: &Plan<'_>,
) -> Result<()> {
    let meeting = Meeting::default();
    std::thread::scope(|s| {
        let helper = std::thread::Builder::new()
            .name("sextant-rl-value".into())
            .spawn_scoped(s, || side(Side::Value, vf, data, plan, &meeting))
            .map_err(|e| RlError::Config(format!("a training thread: {e}")))?;
        let mine = side(Side::Policy, pi, data, plan, &meeting);
        let theirs = match helper.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match (mine, theirs) {
            (Err(Failure::Own(e)), _) | (_, Err(Failure::Own(e))) => Err(e),
            (Err(Failure::Partner), _) | (_, Err(Failure::Partner)) => {
                Err(RlError::Config("a training thread stopped".into()))
            }
            (Ok(()), Ok(())) => Ok(()),
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Policy = 0,
    Value = 1,
}

enum Failure {
    /// This side's own error.
    Own(RlError),
    /// The other side stopped (its error is reported instead).
    Partner,
}

/// Where the two sides meet: each publishes its squared norm for minibatch `j` in slot
/// `j % 2` and then its counter; a side can overwrite a slot only two minibatches later, after
/// the other has read it.
#[derive(Default)]
struct Meeting {
    seq: [AtomicU64; 2],
    norm: [[AtomicU64; 2]; 2],
    left: [AtomicBool; 2],
}

/// Spins (`pause` is ~100 cycles) before yielding the core while waiting.
const SPINS: u32 = 1 << 10;

impl Meeting {
    /// Publishes `me`'s squared norm of minibatch `j` and returns the other side's.
    fn exchange(&self, me: Side, j: u64, sq: f64) -> std::result::Result<f64, Failure> {
        let (me, other) = (me as usize, 1 - me as usize);
        let slot = (j % 2) as usize;
        self.norm[me][slot].store(sq.to_bits(), Ordering::Relaxed);
        self.seq[me].store(j, Ordering::Release);
        let mut spins = 0;
        while self.seq[other].load(Ordering::Acquire) < j {
            // Checked after the counter: a side publishes before it leaves.
            if self.left[other].load(Ordering::Acquire)
                && self.seq[other].load(Ordering::Acquire) < j
            {
                return Err(Failure::Partner);
            }
            if spins < SPINS {
                spins += 1;
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        Ok(f64::from_bits(
            self.norm[other][slot].load(Ordering::Relaxed),
        ))
    }
}

/// Marks a side as gone when it returns or unwinds, so the other never waits for it.
struct Leave<'a>(&'a Meeting, Side);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.left[self.1 as usize].store(true, Ordering::Release);
    }
}

/// The rows of one minibatch, gathered.
#[derive(Default)]
struct Rows {
    obs: Vec<f32>,
    actions: Vec<u32>,
    old_logp: Vec<f32>,
    adv: Vec<f32>,
    returns: Vec<f32>,
}

impl Rows {
    /// Gathers what `side` needs of rows `chunk`; the policy's advantages are normalised over
    /// the minibatch (mean 0, sample standard deviation 1), except in a minibatch of one row,
    /// as Stable-Baselines3.
    fn gather<'a>(
        &'a mut self,
        side: Side,
        chunk: &[u32],
        data: &Collected,
        d: usize,
    ) -> Batch<'a> {
        self.obs.clear();
        for &k in chunk {
            let k = k as usize;
            self.obs.extend_from_slice(&data.obs[k * d..(k + 1) * d]);
        }
        let pick = |out: &mut Vec<f32>, v: &[f32]| {
            out.clear();
            out.extend(chunk.iter().map(|&k| v[k as usize]));
        };
        match side {
            Side::Policy => {
                pick(&mut self.old_logp, &data.logp);
                self.actions.clear();
                self.actions
                    .extend(chunk.iter().map(|&k| data.actions[k as usize]));
                let a = || chunk.iter().map(|&k| data.adv[k as usize]);
                self.adv.clear();
                if chunk.len() > 1 {
                    let n = chunk.len() as f64;
                    let mean = a().sum::<f64>() / n;
                    let sd = (a().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                    self.adv
                        .extend(a().map(|x| ((x - mean) / (sd + 1e-8)) as f32));
                } else {
                    self.adv.extend(a().map(|x| x as f32));
                }
            }
            Side::Value => pick(&mut self.returns, &data.returns),
        }
        Batch {
            total: chunk.len(),
            obs: &self.obs,
            actions: &self.actions,
            old_logp: &self.old_logp,
            adv: &self.adv,
            returns: &self.returns,
        }
    }
}

/// One side's epochs.
fn side(
    which: Side,
    l: &mut Learner,
    data: &Collected,
    plan: &Plan<'_>,
    meeting: &Meeting,
) -> std::result::Result<(), Failure> {
    let _leave = Leave(meeting, which);
    let mut rows = Rows::default();
    let mut j = 0u64;
    for order in plan.orders {
        for chunk in order.chunks(plan.batch_size) {
            j += 1;
            let batch = rows.gather(which, chunk, data, plan.obs_dim);
            let done = match which {
                Side::Policy => {
                    policy_gradients(&l.net, &batch, plan.weights, &mut l.tape, &mut l.grads)
                }
                Side::Value => value_gradients(
                    &l.net,
                    &batch,
                    plan.weights.vf_coef,
                    &mut l.tape,
                    &mut l.grads,
                ),
            };
            done.map_err(Failure::Own)?;
            let mine = l.grads.sq_norm();
            let theirs = meeting.exchange(which, j, mine)?;
            // The same sum, in the same order, on both sides.
            let total = match which {
                Side::Policy => mine + theirs,
                Side::Value => theirs + mine,
            };
            let k = clip_scale(total, plan.max_grad_norm).map_err(Failure::Own)?;
            l.adam.step(&mut l.net, &l.grads, plan.lr, k);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Mlp;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn learners() -> (Learner, Learner) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let pi = Mlp::new(&[3, 8, 2], 0.01, &mut rng).expect("pi");
        let vf = Mlp::new(&[3, 8, 1], 1.0, &mut rng).expect("vf");
        (
            Learner::new(FlatMlp::from_mlp(&pi)),
            Learner::new(FlatMlp::from_mlp(&vf)),
        )
    }

    /// Trains on 12 rows (3 epochs of minibatches of 5) and returns both networks' weights.
    fn train(obs: &[f32], actions: &[u32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let (mut pi, mut vf) = learners();
        let n = actions.len();
        let adv: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
        let returns: Vec<f32> = (0..n).map(|i| (i as f32 * 0.3).cos()).collect();
        let data = Collected {
            obs: obs.to_vec(),
            actions: actions.to_vec(),
            logp: vec![-0.7; n],
            adv,
            returns,
            finished: Vec::new(),
        };
        let orders: Vec<Vec<u32>> = (0..3)
            .map(|e| (0..n as u32).map(|i| (i * 5 + e) % n as u32).collect())
            .collect();
        let plan = Plan {
            obs_dim: 3,
            orders: &orders,
            batch_size: 5,
            lr: 1e-2,
            weights: LossWeights {
                clip: 0.2,
                vf_coef: 0.5,
                ent_coef: 0.01,
            },
            max_grad_norm: 0.5,
        };
        run(&mut pi, &mut vf, &data, &plan)?;
        let flat = |l: &mut Learner| l.net.params_mut().flat_map(|p| p.clone()).collect();
        Ok((flat(&mut pi), flat(&mut vf)))
    }

    #[test]
    fn both_sides_train_the_same_bits_every_time_and_stop_together_on_an_error() {
        let obs: Vec<f32> = (0..36).map(|i| (i as f32 * 0.37).sin()).collect();
        let actions: Vec<u32> = (0..12).map(|i| i % 2).collect();
        let (pi, vf) = train(&obs, &actions).expect("train");
        let start = learners();
        let (mut p0, mut v0) = start;
        let before: Vec<f32> = p0.net.params_mut().flat_map(|p| p.clone()).collect();
        let before_v: Vec<f32> = v0.net.params_mut().flat_map(|p| p.clone()).collect();
        assert_ne!(pi, before, "the policy moved");
        assert_ne!(vf, before_v, "the value function moved");
        for _ in 0..5 {
            assert_eq!(
                train(&obs, &actions).expect("again"),
                (pi.clone(), vf.clone())
            );
        }
        // An action out of range fails the policy's side; the value side must not wait forever.
        let mut bad = actions.clone();
        bad[7] = 2;
        let e = train(&obs, &bad).expect_err("action 2 of 2");
        assert!(e.to_string().contains("action 2 of 2"), "{e}");
        // A NaN observation makes both norms non-finite: an error, not NaN weights.
        let mut nan = obs.clone();
        nan[4] = f32::NAN;
        let e = train(&nan, &actions).expect_err("non-finite");
        assert!(e.to_string().contains("non-finite"), "{e}");
    }
}
