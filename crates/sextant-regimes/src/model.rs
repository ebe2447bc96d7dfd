//! One type over the three model families, so walk-forward, naming and storage handle them
//! alike.

use crate::hmm::{Covariance, HmmConfig};
use crate::kmeans::PcaKMeans;
use crate::{GaussianHmm, GaussianMixture, RegimeError};
use serde::{Deserialize, Serialize};

/// Which model family labels the regimes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ModelKind {
    /// Gaussian hidden Markov model, labels from the forward filter (persistent regimes).
    #[default]
    Hmm,
    /// Gaussian mixture: each row labelled by itself.
    Mixture,
    /// k-means on the leading two principal components: hard labels, each row by itself.
    Kmeans,
}

/// Principal components k-means clusters on.
pub const KMEANS_COMPONENTS: usize = 2;

/// A fitted model of any family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegimeModel {
    /// A Gaussian HMM.
    Hmm(GaussianHmm),
    /// A Gaussian mixture.
    Mixture(GaussianMixture),
    /// k-means on PCA-reduced features.
    Kmeans(PcaKMeans),
}

impl RegimeModel {
    /// Fits a model of `kind` on `x` with `cfg` (restarts, seed, iterations; `covariance` and
    /// `var_floor` do not apply to k-means).
    ///
    /// # Errors
    /// As [`GaussianHmm::fit`].
    pub fn fit(
        kind: ModelKind,
        x: &[Vec<f64>],
        cfg: &HmmConfig,
    ) -> Result<(RegimeModel, f64), RegimeError> {
        Ok(match kind {
            ModelKind::Hmm => {
                let (m, r) = GaussianHmm::fit(x, cfg)?;
                (RegimeModel::Hmm(m), r.log_likelihood)
            }
            ModelKind::Mixture => {
                let (m, r) = GaussianMixture::fit(x, cfg)?;
                (RegimeModel::Mixture(m), r.log_likelihood)
            }
            ModelKind::Kmeans => {
                let (m, sse) = PcaKMeans::fit(x, cfg, KMEANS_COMPONENTS)?;
                (RegimeModel::Kmeans(m), -sse)
            }
        })
    }

    /// A refit that may start from this model: the HMM runs EM from this model's parameters
    /// besides one fresh seeded start and keeps the better, which converges in a fraction of
    /// the iterations of a cold fit; the other families refit cold.
    ///
    /// # Errors
    /// As [`Self::fit`].
    pub fn refit(
        &self,
        x: &[Vec<f64>],
        cfg: &HmmConfig,
    ) -> Result<(RegimeModel, f64), RegimeError> {
        match self {
            RegimeModel::Hmm(prev) => {
                let one = HmmConfig {
                    restarts: 1,
                    ..cfg.clone()
                };
                let (cold, cold_ll) = RegimeModel::fit(ModelKind::Hmm, x, &one)?;
                match prev.refine(x, cfg) {
                    Ok((warm, hist, _)) => {
                        let warm_ll = hist.last().copied().unwrap_or(f64::NEG_INFINITY);
                        if warm_ll > cold_ll {
                            Ok((RegimeModel::Hmm(warm), warm_ll))
                        } else {
                            Ok((cold, cold_ll))
                        }
                    }
                    // The previous parameters may not fit the new rows (a state with no support
                    // left); the cold start stands.
                    Err(_) => Ok((cold, cold_ll)),
                }
            }
            RegimeModel::Mixture(_) => RegimeModel::fit(ModelKind::Mixture, x, cfg),
            RegimeModel::Kmeans(_) => RegimeModel::fit(ModelKind::Kmeans, x, cfg),
        }
    }

    /// The family.
    pub fn kind(&self) -> ModelKind {
        match self {
            RegimeModel::Hmm(_) => ModelKind::Hmm,
            RegimeModel::Mixture(_) => ModelKind::Mixture,
            RegimeModel::Kmeans(_) => ModelKind::Kmeans,
        }
    }

    /// Number of states.
    pub fn n_states(&self) -> usize {
        match self {
            RegimeModel::Hmm(m) => m.n_states(),
            RegimeModel::Mixture(m) => m.weights.len(),
            RegimeModel::Kmeans(m) => m.centroids.len(),
        }
    }

    /// Point-in-time state probabilities of every row, `t × k` row major: the HMM's forward
    /// filter, the mixture's per-row posteriors, k-means' one-hot assignment. Row `t` depends
    /// on rows `0..=t` only.
    ///
    /// # Errors
    /// [`RegimeError::Data`] for rows that do not match the model or are not finite.
    pub fn probabilities(&self, x: &[Vec<f64>]) -> Result<Vec<f64>, RegimeError> {
        match self {
            RegimeModel::Hmm(m) => m.filter_flat(x),
            RegimeModel::Mixture(m) => Ok(m.posteriors(x)?.concat()),
            RegimeModel::Kmeans(m) => {
                let k = m.centroids.len();
                let mut out = vec![0.0; x.len() * k];
                for (t, s) in m.assign(x)?.into_iter().enumerate() {
                    out[t * k + s] = 1.0;
                }
                Ok(out)
            }
        }
    }

    /// The covariance shape, for the Gaussian families.
    pub fn covariance(&self) -> Option<Covariance> {
        match self {
            RegimeModel::Hmm(m) => Some(m.covariance),
            RegimeModel::Mixture(m) => Some(m.covariance),
            RegimeModel::Kmeans(_) => None,
        }
    }
}
