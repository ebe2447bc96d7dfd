//! Independent uniform sampling in search coordinates.

use super::transform::{bounds, from_search};
use crate::space::Distribution;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// One value of `d`, uniform in its search coordinates (log-uniform on a log scale; each
/// grid value equally likely; each categorical choice equally likely).
pub fn sample(d: &Distribution, rng: &mut ChaCha8Rng) -> f64 {
    match bounds(d) {
        Some((lo, hi)) if hi > lo => from_search(d, rng.gen_range(lo..hi)),
        Some((lo, _)) => from_search(d, lo),
        None => {
            let Distribution::Categorical { choices } = d else {
                return f64::NAN;
            };
            rng.gen_range(0..choices.len()) as f64
        }
    }
}
