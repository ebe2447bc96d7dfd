//! A Gaussian mixture: states without memory. A row's label is p(state | that row) only, so it
//! is point in time by construction; what the mixture lacks is the persistence an HMM's
//! transitions give (labels flicker more).

use crate::gaussian::{
    data_covariance, densities, kmeanspp_means, update_gaussians, variance_floor, Rows,
};
use crate::hmm::{best_of_restarts, Covariance, FitReport, HmmConfig};
use crate::RegimeError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// A Gaussian mixture model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianMixture {
    /// Weight of each component (sums to 1).
    pub weights: Vec<f64>,
    /// Mean of each component, `d` features each.
    pub means: Vec<Vec<f64>>,
    /// Covariance of each component, `d × d` row major.
    pub covs: Vec<Vec<f64>>,
    /// The covariance shape the model was fitted with.
    pub covariance: Covariance,
}

impl GaussianMixture {
    /// Fits a mixture of `cfg.states` components on `x` by EM: `restarts` seeded runs from
    /// k-means++ starting means, the best log-likelihood kept. The configuration is the HMM's
    /// (its transition-related meaning does not apply).
    ///
    /// # Errors
    /// As [`crate::GaussianHmm::fit`].
    pub fn fit(
        x: &[Vec<f64>],
        cfg: &HmmConfig,
    ) -> Result<(GaussianMixture, FitReport), RegimeError> {
        cfg.check()?;
        let d = crate::hmm::check_rows(x, 4 * cfg.states)?;
        let floor = variance_floor(x, d, cfg.var_floor);
        let rows = Rows::new(x, d);
        best_of_restarts(cfg, |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let k = cfg.states;
            let mut model = GaussianMixture {
                weights: vec![1.0 / k as f64; k],
                means: kmeanspp_means(x, d, k, &floor, &mut rng),
                covs: vec![data_covariance(x, d, cfg.covariance, &floor); k],
                covariance: cfg.covariance,
            };
            let mut history: Vec<f64> = Vec::new();
            let mut converged = false;
            for _ in 0..cfg.max_iter {
                let (resp, ll) = model.responsibilities(&rows)?;
                let done = history.last().is_some_and(|&prev| ll - prev < cfg.tol);
                history.push(ll);
                if done {
                    converged = true;
                    break;
                }
                let w = update_gaussians(
                    &rows,
                    &resp,
                    model.covariance,
                    &floor,
                    &mut model.means,
                    &mut model.covs,
                )?;
                let total: f64 = w.iter().sum();
                model.weights = w.iter().map(|v| v / total).collect();
            }
            Ok((model, history, converged))
        })
    }

    /// p(component | row) for every row; each row depends on itself only.
    ///
    /// # Errors
    /// [`RegimeError::Data`] for rows that do not match the model or are not finite.
    pub fn posteriors(&self, x: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, RegimeError> {
        let k = self.weights.len();
        let d = crate::hmm::check_rows(x, 1)?;
        if self.means.len() != k || self.covs.len() != k || self.means.iter().any(|m| m.len() != d)
        {
            return Err(RegimeError::Data(format!(
                "the model has {k} components; the rows have {d} features"
            )));
        }
        let (resp, _) = self.responsibilities(&Rows::new(x, d))?;
        Ok(resp.chunks(k).map(<[f64]>::to_vec).collect())
    }

    /// Responsibilities `t × k` and the total log-likelihood.
    fn responsibilities(&self, x: &Rows) -> Result<(Vec<f64>, f64), RegimeError> {
        let k = self.weights.len();
        let dens = densities(&self.means, &self.covs)?;
        let log_w: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        let mut work = vec![0.0; x.d()];
        let mut resp = vec![0.0; x.len() * k];
        let mut ll = 0.0;
        for t in 0..x.len() {
            let row = x.row(t);
            let r = &mut resp[t * k..(t + 1) * k];
            for j in 0..k {
                r[j] = log_w[j] + dens[j].eval(row, &mut work);
            }
            let m = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !m.is_finite() {
                return Err(RegimeError::Data(format!(
                    "row {t} is impossible under every component"
                )));
            }
            let s: f64 = r.iter().map(|v| (v - m).exp()).sum();
            for v in r.iter_mut() {
                *v = (*v - m).exp() / s;
            }
            ll += m + s.ln();
        }
        Ok((resp, ll))
    }
}
