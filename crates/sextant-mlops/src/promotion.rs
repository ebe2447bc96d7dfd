//! The promotion rule: may a retrained candidate replace the production model?
//!
//! Both models are scored on the candidate's out-of-sample holdout (rows neither saw in
//! training: the caller refuses when production's training overlaps it). Per day, the mean log
//! loss over symbols gives paired series; the candidate is promoted when it is **not worse**
//! than production with significance:
//!
//! * non-inferiority on log loss: the upper end of the 95 % paired-bootstrap interval of
//!   `mean(loss_candidate − loss_production)` is at most `margin` nats (default 0.002), a
//!   one-sided test at 2.5 %. A candidate that is merely noisy-equal and no better does not pass
//!   unless the interval sits inside the margin;
//! * and its AUC on the holdout is at most `max_auc_drop` (default 0.01) below production's.
//!
//! The rule never promotes on too little evidence: fewer than `min_days` (default 20) paired
//! days is a refusal.

use crate::harness::bootstrap_difference;
use crate::MlopsError;
use serde::{Deserialize, Serialize};

/// The rule's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PromotionRule {
    /// Non-inferiority margin on mean log loss, in nats. Default 0.002.
    pub margin: f64,
    /// Largest accepted AUC drop against production. Default 0.01.
    pub max_auc_drop: f64,
    /// Bootstrap resamples. Default 2000.
    pub resamples: usize,
    /// Fewest paired days judged. Default 20.
    pub min_days: usize,
}

impl Default for PromotionRule {
    fn default() -> Self {
        PromotionRule {
            margin: 0.002,
            max_auc_drop: 0.01,
            resamples: 2000,
            min_days: 20,
        }
    }
}

impl PromotionRule {
    /// Refuses negative or non-finite thresholds and fewer than 100 resamples.
    pub fn validate(&self) -> Result<(), MlopsError> {
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        if !unit(self.margin)
            || !unit(self.max_auc_drop)
            || !(100..=100_000).contains(&self.resamples)
            || self.min_days < 3
        {
            return Err(MlopsError::Input(
                "promotion rule: margin and max_auc_drop in [0, 1], resamples 100 to 100000, \
                 min_days at least 3"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// The evidence behind a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Paired days compared.
    pub days: usize,
    /// Mean daily log loss of the candidate.
    pub loss_candidate: f64,
    /// Mean daily log loss of production.
    pub loss_production: f64,
    /// `mean(candidate − production)`: negative is better.
    pub mean_diff: f64,
    /// Its 95 % paired-bootstrap interval.
    pub mean_diff_ci: [f64; 2],
    /// Holdout AUC of the candidate.
    pub auc_candidate: f64,
    /// Holdout AUC of production.
    pub auc_production: f64,
    /// The thresholds applied.
    pub rule: PromotionRule,
    /// The bootstrap seed.
    pub seed: u64,
}

/// The rule's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the candidate may be promoted.
    pub promote: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// The figures, when there were enough days to compute them.
    pub evidence: Option<Evidence>,
}

/// Applies `rule` to paired daily log losses and the two holdout AUCs.
pub fn decide(
    loss_candidate: &[f64],
    loss_production: &[f64],
    auc_candidate: f64,
    auc_production: f64,
    rule: &PromotionRule,
    seed: u64,
) -> Result<Decision, MlopsError> {
    rule.validate()?;
    let days = loss_candidate.len();
    if days != loss_production.len() {
        return Err(MlopsError::Input(format!(
            "paired daily losses needed ({days} and {})",
            loss_production.len()
        )));
    }
    if days < rule.min_days {
        return Ok(Decision {
            promote: false,
            reason: format!(
                "not promoted: {days} paired holdout days, the rule needs {}",
                rule.min_days
            ),
            evidence: None,
        });
    }
    let b = bootstrap_difference(loss_candidate, loss_production, rule.resamples, seed)?;
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let evidence = Evidence {
        days,
        loss_candidate: mean(loss_candidate),
        loss_production: mean(loss_production),
        mean_diff: b.mean_diff,
        mean_diff_ci: b.mean_diff_ci,
        auc_candidate,
        auc_production,
        rule: *rule,
        seed,
    };
    let non_inferior = b.mean_diff_ci[1] <= rule.margin;
    let auc_ok = auc_candidate - auc_production >= -rule.max_auc_drop;
    let reason = match (non_inferior, auc_ok) {
        (true, true) => format!(
            "promoted by rule: holdout log loss {:+.4} nats vs production (95 % CI upper {:.4} \
             <= margin {}), AUC {:.4} vs {:.4}",
            b.mean_diff, b.mean_diff_ci[1], rule.margin, auc_candidate, auc_production
        ),
        (false, _) => format!(
            "not promoted: holdout log loss {:+.4} nats vs production, 95 % CI upper {:.4} \
             above the margin {}",
            b.mean_diff, b.mean_diff_ci[1], rule.margin
        ),
        (true, false) => format!(
            "not promoted: AUC {:.4} is more than {} below production's {:.4}",
            auc_candidate, rule.max_auc_drop, auc_production
        ),
    };
    Ok(Decision {
        promote: non_inferior && auc_ok,
        reason,
        evidence: Some(evidence),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_numeric::SplitMix;

    fn losses(n: usize, level: f64, seed: u64) -> Vec<f64> {
        let mut r = SplitMix::new(seed);
        (0..n)
            .map(|_| level + 0.05 * ((r.next_u64() % 1000) as f64 / 1000.0 - 0.5))
            .collect()
    }

    #[test]
    fn clearly_better_candidate_is_promoted() {
        let prod = losses(120, 0.693, 1);
        let cand: Vec<f64> = prod.iter().map(|l| l - 0.01).collect();
        let d = decide(&cand, &prod, 0.55, 0.54, &PromotionRule::default(), 7).expect("decide");
        assert!(d.promote, "{}", d.reason);
        let e = d.evidence.expect("evidence");
        assert!((e.mean_diff + 0.01).abs() < 1e-12);
        assert!(e.mean_diff_ci[1] < 0.0);
    }

    #[test]
    fn worse_candidate_is_refused() {
        let prod = losses(120, 0.693, 1);
        let noise = losses(120, 0.0, 2);
        let cand: Vec<f64> = prod.iter().zip(&noise).map(|(l, n)| l + 0.01 + n).collect();
        let d = decide(&cand, &prod, 0.55, 0.55, &PromotionRule::default(), 7).expect("decide");
        assert!(!d.promote, "{}", d.reason);
        assert!(d.reason.contains("above the margin"));
    }

    #[test]
    fn equal_losses_but_auc_drop_is_refused() {
        let prod = losses(60, 0.693, 3);
        let d = decide(&prod, &prod, 0.50, 0.56, &PromotionRule::default(), 7).expect("decide");
        assert!(!d.promote);
        assert!(d.reason.contains("AUC"), "{}", d.reason);
    }

    #[test]
    fn too_few_days_is_a_refusal_not_an_error() {
        let d =
            decide(&[0.6; 5], &[0.7; 5], 0.6, 0.5, &PromotionRule::default(), 0).expect("decide");
        assert!(!d.promote && d.evidence.is_none());
        assert!(decide(&[0.6; 5], &[0.7; 4], 0.6, 0.5, &PromotionRule::default(), 0).is_err());
    }
}
