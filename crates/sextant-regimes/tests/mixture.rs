//! The Gaussian mixture on rows drawn from a known two-component mixture.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_regimes::{Covariance, GaussianMixture, HmmConfig, RegimeError};

fn draws(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let normal = |rng: &mut ChaCha8Rng| -> f64 {
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    (0..n)
        .map(|_| {
            if rng.gen::<f64>() < 0.7 {
                vec![normal(&mut rng) * 0.5, 1.0 + 0.2 * normal(&mut rng)]
            } else {
                vec![-1.0 + 2.0 * normal(&mut rng), 3.0 + 0.2 * normal(&mut rng)]
            }
        })
        .collect()
}

fn cfg() -> HmmConfig {
    HmmConfig {
        states: 2,
        restarts: 3,
        seed: 5,
        ..HmmConfig::default()
    }
}

#[test]
fn recovers_a_known_mixture_and_labels_each_row_by_itself() {
    let x = draws(4000, 1);
    let (m, report) = GaussianMixture::fit(&x, &cfg()).expect("fit");
    assert!(report.converged, "{report:?}");
    assert!(report.history.windows(2).all(|w| w[1] >= w[0] - 1e-9));
    let wide = if m.means[0][1] > m.means[1][1] { 0 } else { 1 };
    assert!((m.weights[wide] - 0.3).abs() < 0.03, "{m:?}");
    assert!((m.means[wide][0] + 1.0).abs() < 0.15 && (m.covs[wide][0].sqrt() - 2.0).abs() < 0.15);
    // A row's posterior depends on that row only: cutting or reordering others changes nothing.
    let all = m.posteriors(&x).expect("posteriors");
    let part = m.posteriors(&x[1000..1010]).expect("posteriors");
    for (i, p) in part.iter().enumerate() {
        assert!(p
            .iter()
            .zip(&all[1000 + i])
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

#[test]
fn reproducible_and_typed_errors() {
    let x = draws(800, 2);
    let c = HmmConfig {
        covariance: Covariance::Diagonal,
        ..cfg()
    };
    let (a, _) = GaussianMixture::fit(&x, &c).expect("fit");
    let (b, _) = GaussianMixture::fit(&x, &c).expect("fit");
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&b).expect("json")
    );
    assert!(matches!(
        GaussianMixture::fit(&x[..3], &c),
        Err(RegimeError::Data(_))
    ));
    assert!(matches!(
        a.posteriors(&[vec![f64::INFINITY, 1.0]]),
        Err(RegimeError::Data(_))
    ));
}
