//! Regime changes confirmed with hysteresis: a new label counts only after it has held for `k`
//! consecutive rows, so one noisy day does not raise an alert.

use crate::naming::Regime;
use serde::{Deserialize, Serialize};

/// A confirmed change of regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The row at which the change was confirmed (the `k`-th row of the new label).
    pub confirmed_at: usize,
    /// The first row of the new label's run.
    pub began_at: usize,
    /// The regime confirmed before.
    pub from: Regime,
    /// The regime confirmed now.
    pub to: Regime,
}

/// Every confirmed change in `labels` (`k` ≥ 1). The first run of `k` rows sets the regime
/// without an alert. A change at row `t` depends on labels up to `t` only.
pub fn confirmed_changes(labels: &[Regime], k: usize) -> Vec<Change> {
    let k = k.max(1);
    let mut out = Vec::new();
    let mut confirmed: Option<Regime> = None;
    let mut run: Option<(Regime, usize)> = None;
    for (t, &l) in labels.iter().enumerate() {
        let start = match run {
            Some((r, s)) if r == l => s,
            _ => t,
        };
        run = Some((l, start));
        if t + 1 - start == k && confirmed != Some(l) {
            if let Some(from) = confirmed {
                out.push(Change {
                    confirmed_at: t,
                    began_at: start,
                    from,
                    to: l,
                });
            }
            confirmed = Some(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Regime::*;

    #[test]
    fn a_change_needs_k_rows_and_a_blip_is_ignored() {
        let l = [
            Bull, Bull, Bull, HighVol, Bull, HighVol, HighVol, HighVol, HighVol, Bear,
        ];
        let c = confirmed_changes(&l, 3);
        assert_eq!(
            c,
            vec![Change {
                confirmed_at: 7,
                began_at: 5,
                from: Bull,
                to: HighVol
            }]
        );
        assert_eq!(
            confirmed_changes(&l, 1).len(),
            4,
            "every flip counts at k = 1"
        );
        // Point in time: a prefix's changes are the full run's changes up to it.
        assert_eq!(confirmed_changes(&l[..8], 3), c);
        assert!(confirmed_changes(&l[..7], 3).is_empty());
    }
}
