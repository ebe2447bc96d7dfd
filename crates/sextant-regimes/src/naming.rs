//! States named by what they are, and kept named the same across refits.
//!
//! A fitted model's state indices are arbitrary (restarts and refits permute them), so a label
//! is a name derived from the state's statistics: the most volatile state is `high_vol`; the
//! others, ordered by mean return, are `bull` (highest), `bear` (lowest) and `sideways` (in
//! between). With two states the calm one is `bull` or `bear` by the sign of its mean. Up to
//! four states get distinct names; more states repeat `sideways`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A regime name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Rising prices at ordinary volatility.
    Bull,
    /// Falling prices at ordinary volatility.
    Bear,
    /// Neither clearly rising nor falling, at ordinary volatility.
    Sideways,
    /// The most volatile state, whatever its mean.
    HighVol,
}

impl Regime {
    /// The name used in storage, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Regime::Bull => "bull",
            Regime::Bear => "bear",
            Regime::Sideways => "sideways",
            Regime::HighVol => "high_vol",
        }
    }
}

impl fmt::Display for Regime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Names states from each state's mean return and volatility (same index order as the model's
/// states).
pub fn name_states(mean_return: &[f64], volatility: &[f64]) -> Vec<Regime> {
    let k = mean_return.len().min(volatility.len());
    let mut names = vec![Regime::Sideways; k];
    if k == 0 {
        return names;
    }
    if k == 1 {
        return names;
    }
    let high = (0..k)
        .max_by(|&a, &b| volatility[a].total_cmp(&volatility[b]))
        .unwrap_or(0);
    names[high] = Regime::HighVol;
    let mut calm: Vec<usize> = (0..k).filter(|&i| i != high).collect();
    calm.sort_by(|&a, &b| mean_return[a].total_cmp(&mean_return[b]));
    if let [only] = calm[..] {
        names[only] = if mean_return[only] >= 0.0 {
            Regime::Bull
        } else {
            Regime::Bear
        };
        return names;
    }
    if let (Some(&lowest), Some(&highest)) = (calm.first(), calm.last()) {
        names[lowest] = Regime::Bear;
        names[highest] = Regime::Bull;
    }
    names
}

/// The permutation that maps a new fit's states onto a previous fit's: `perm[new] = previous`,
/// minimising the total squared distance between matched means. Exhaustive over permutations
/// (states are at most 8). Both slices must hold the same number of states of equal length.
pub fn match_states(previous: &[Vec<f64>], new: &[Vec<f64>]) -> Vec<usize> {
    let k = previous.len().min(new.len());
    let cost = |p: usize, n: usize| -> f64 {
        previous[p]
            .iter()
            .zip(&new[n])
            .map(|(a, b)| (a - b).powi(2))
            .sum()
    };
    let mut perm: Vec<usize> = (0..k).collect();
    let mut best = perm.clone();
    let mut best_cost = f64::INFINITY;
    permute(&mut perm, 0, &mut |p| {
        let c: f64 = p.iter().enumerate().map(|(n, &prev)| cost(prev, n)).sum();
        if c < best_cost {
            best_cost = c;
            best = p.to_vec();
        }
    });
    best
}

fn permute(v: &mut Vec<usize>, i: usize, visit: &mut dyn FnMut(&[usize])) {
    if i == v.len() {
        visit(v);
        return;
    }
    for j in i..v.len() {
        v.swap(i, j);
        permute(v, i + 1, visit);
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_statistics() {
        // (mean, vol): a calm riser, a crash, a calm faller, a flat.
        let names = name_states(
            &[0.001, -0.004, -0.0005, 0.0001],
            &[0.01, 0.04, 0.012, 0.008],
        );
        assert_eq!(
            names,
            vec![
                Regime::Bull,
                Regime::HighVol,
                Regime::Bear,
                Regime::Sideways
            ]
        );
        assert_eq!(
            name_states(&[0.001, -0.002], &[0.01, 0.03]),
            vec![Regime::Bull, Regime::HighVol]
        );
        assert_eq!(name_states(&[0.0], &[0.01]), vec![Regime::Sideways]);
        assert_eq!(Regime::HighVol.to_string(), "high_vol");
    }

    #[test]
    fn refits_are_matched_to_the_previous_states() {
        let prev = vec![vec![0.0, 1.0], vec![5.0, 5.0], vec![-3.0, 0.0]];
        let new = vec![vec![-2.9, 0.1], vec![0.1, 0.9], vec![5.2, 4.8]];
        assert_eq!(match_states(&prev, &new), vec![2, 0, 1]);
    }
}
