//! The Gaussian HMM on data drawn from a known two-regime model: it recovers the regimes, EM
//! never lowers the likelihood, the filter never looks ahead (truncation), smoothing does, and
//! the same seed gives the same model bit for bit.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_regimes::{Covariance, GaussianHmm, HmmConfig, RegimeError};

/// Draws `n` rows from a two-state model: a calm state (mean 0.05, sd 0.5) and a turbulent
/// one (mean −0.2, sd 2.0) on the first feature, with a second feature that tracks the
/// state's volatility. Returns the rows and the true states.
fn two_regimes(n: usize, seed: u64) -> (Vec<Vec<f64>>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || -> f64 {
        // Box–Muller from two uniforms.
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut rng2 = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37);
    let mut s = 0usize;
    let mut rows = Vec::with_capacity(n);
    let mut states = Vec::with_capacity(n);
    for _ in 0..n {
        let stay = if s == 0 { 0.98 } else { 0.95 };
        if rng2.gen::<f64>() > stay {
            s = 1 - s;
        }
        let (mu, sd, vol) = if s == 0 {
            (0.05, 0.5, 1.0)
        } else {
            (-0.2, 2.0, 3.0)
        };
        rows.push(vec![mu + sd * normal(), vol + 0.3 * normal()]);
        states.push(s);
    }
    (rows, states)
}

fn cfg(states: usize) -> HmmConfig {
    HmmConfig {
        states,
        restarts: 3,
        seed: 11,
        ..HmmConfig::default()
    }
}

#[test]
fn recovers_two_known_regimes() {
    let (x, truth) = two_regimes(3000, 1);
    let (model, report) = GaussianHmm::fit(&x, &cfg(2)).expect("fit");
    assert!(report.converged, "{report:?}");
    // EM never lowers the likelihood.
    assert!(
        report.history.windows(2).all(|w| w[1] >= w[0] - 1e-9),
        "{:?}",
        report.history
    );
    // The turbulent state is the one with the larger variance of the first feature.
    let turbulent = if model.covs[0][0] > model.covs[1][0] {
        0
    } else {
        1
    };
    let m = &model.means[turbulent];
    assert!(
        (m[0] + 0.2).abs() < 0.2 && (m[1] - 3.0).abs() < 0.1,
        "{model:?}"
    );
    assert!(
        (model.covs[turbulent][0].sqrt() - 2.0).abs() < 0.2,
        "{model:?}"
    );
    let calm = 1 - turbulent;
    assert!((model.covs[calm][0].sqrt() - 0.5).abs() < 0.05, "{model:?}");
    assert!(model.trans[calm * 2 + calm] > 0.95, "{:?}", model.trans);
    // Filtered labels alone (no look-ahead) find the true regime almost always.
    let labels = model.filter_states(&x).expect("filter");
    let hits = labels
        .iter()
        .zip(&truth)
        .filter(|(l, t)| (**l == turbulent) == (**t == 1))
        .count();
    assert!(hits as f64 / x.len() as f64 > 0.95, "{hits} of {}", x.len());
}

#[test]
fn the_filter_never_looks_ahead_and_smoothing_does() {
    let (x, _) = two_regimes(2000, 2);
    let (model, _) = GaussianHmm::fit(&x[..1000], &cfg(2)).expect("fit");
    let full = model.filter(&x).expect("filter");
    let full_smooth = model.smooth(&x).expect("smooth");
    let mut smooth_changed = 0;
    for cut in [1, 2, 10, 500, 999, 1000, 1500, 1999] {
        let part = model.filter(&x[..cut]).expect("filter");
        // Bit for bit: appending rows changes no earlier probability.
        for (t, p) in part.iter().enumerate() {
            let same = p
                .iter()
                .zip(&full[t])
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "cut {cut}, row {t}: {p:?} vs {:?}", full[t]);
        }
        let part_smooth = model.smooth(&x[..cut]).expect("smooth");
        smooth_changed += part_smooth
            .iter()
            .zip(&full_smooth)
            .filter(|(a, b)| a.iter().zip(b.iter()).any(|(u, v)| (u - v).abs() > 1e-6))
            .count();
    }
    assert!(
        smooth_changed > 0,
        "smoothing uses later rows, so cutting them must change some smoothed probability"
    );
}

#[test]
fn same_seed_same_model_bit_for_bit() {
    let (x, _) = two_regimes(1500, 3);
    for cov in [Covariance::Full, Covariance::Diagonal] {
        let c = HmmConfig {
            covariance: cov,
            ..cfg(3)
        };
        let (a, ra) = GaussianHmm::fit(&x, &c).expect("fit");
        let (b, rb) = GaussianHmm::fit(&x, &c).expect("fit");
        assert_eq!(
            serde_json::to_string(&a).expect("json"),
            serde_json::to_string(&b).expect("json")
        );
        assert_eq!(ra.history.len(), rb.history.len());
        if cov == Covariance::Diagonal {
            assert!(a.covs.iter().all(|m| m[1] == 0.0 && m[2] == 0.0), "{a:?}");
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let (x, _) = two_regimes(100, 4);
    assert!(matches!(
        GaussianHmm::fit(&x[..5], &cfg(2)),
        Err(RegimeError::Data(_))
    ));
    let mut ragged = x.clone();
    ragged[7].push(1.0);
    assert!(matches!(
        GaussianHmm::fit(&ragged, &cfg(2)),
        Err(RegimeError::Data(_))
    ));
    let mut nan = x.clone();
    nan[3][0] = f64::NAN;
    assert!(matches!(
        GaussianHmm::fit(&nan, &cfg(2)),
        Err(RegimeError::Data(_))
    ));
    assert!(matches!(
        GaussianHmm::fit(&x, &cfg(9)),
        Err(RegimeError::Config(_))
    ));
    let (model, _) = GaussianHmm::fit(&x, &cfg(2)).expect("fit");
    assert!(matches!(
        model.filter(&[vec![1.0]]),
        Err(RegimeError::Data(_))
    ));
}
