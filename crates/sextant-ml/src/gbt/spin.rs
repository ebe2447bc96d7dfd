//! Keeping a second worker ready during a fit.
//!
//! Why: a split's parallel work is tens of microseconds on small data, about what it costs
//! rayon to wake a sleeping worker (its idle workers sleep after a few dozen empty polls), so a
//! second thread shared nothing: one and two threads trained in the same time, and a probe saw
//! both halves of a split run on one worker. OpenMP, which LightGBM uses, keeps its threads
//! spinning between regions. Here, before a parallel region, one worker is made to spin in
//! `rayon::yield_now` (which runs any pending job, ours or another caller's) until it has found
//! nothing to do for [`IDLE`], so a split's second half is stolen within microseconds. Results
//! do not depend on it: each feature is still computed by one task in one way.

use rayon::Yield;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a spinning worker stays without finding work before it gives its core back.
/// Longer than the sequential stretch between two splits (partitioning a leaf's rows).
const IDLE: Duration = Duration::from_micros(200);

/// Makes sure one worker of `scope`'s pool is spinning (no-op with one thread, or when one
/// already is). `active` lives as long as the scope and says whether a spinner runs.
pub(crate) fn wake<'s>(scope: &rayon::Scope<'s>, active: &'s AtomicBool) {
    if rayon::current_num_threads() < 2 || active.swap(true, Ordering::AcqRel) {
        return;
    }
    scope.spawn(move |_| {
        let mut idle_since = Instant::now();
        loop {
            match rayon::yield_now() {
                Some(Yield::Executed) => idle_since = Instant::now(),
                Some(Yield::Idle) if idle_since.elapsed() < IDLE => std::hint::spin_loop(),
                _ => break,
            }
        }
        active.store(false, Ordering::Release);
    });
}
