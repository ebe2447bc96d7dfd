//! Walk-forward regimes for every model family: appending rows leaves every earlier label and
//! probability bit identical (truncation), a rerun reuses the unchanged models and gives the
//! same bits, names follow the statistics and stay put across refits.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_regimes::{walk_forward, HmmConfig, ModelKind, Regime, WalkConfig};

/// Rows of (return, volatility) from a calm rising regime and a turbulent falling one, the
/// turbulent one in blocks of 60 rows every 300.
fn rows(n: usize) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut normal = move || -> f64 {
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    (0..n)
        .map(|t| {
            let turbulent = t % 300 >= 240;
            let (mu, sd, vol) = if turbulent {
                (-0.003, 0.03, 0.45)
            } else {
                (0.0008, 0.008, 0.13)
            };
            vec![mu + sd * normal(), vol + 0.02 * normal()]
        })
        .collect()
}

fn cfg(kind: ModelKind) -> WalkConfig {
    WalkConfig {
        kind,
        model: HmmConfig {
            states: 2,
            restarts: 2,
            seed: 3,
            ..HmmConfig::default()
        },
        min_fit_rows: 400,
        refit_every: 150,
    }
}

#[test]
fn appending_rows_never_changes_an_earlier_label_for_any_model() {
    let x = rows(1200);
    for kind in [ModelKind::Hmm, ModelKind::Mixture, ModelKind::Kmeans] {
        let full = walk_forward(&x, &cfg(kind), &[]).expect("full");
        assert_eq!(full.first_labelled, 399);
        assert_eq!(full.labels.len(), 1200 - 399);
        assert_eq!(full.segments.len(), 6, "fits at rows 399, 549, …, 1149");
        for cut in [400, 777, 1000, 1150] {
            let part = walk_forward(&x[..cut], &cfg(kind), &[]).expect("part");
            let m = cut - 399;
            assert_eq!(
                part.labels[..],
                full.labels[..m],
                "{kind} labels, cut {cut}"
            );
            let w = full.columns.len();
            let (a, b) = (&part.probabilities, &full.probabilities[..m * w]);
            assert!(
                a.iter().zip(b).all(|(u, v)| u.to_bits() == v.to_bits()),
                "{kind} probabilities, cut {cut}"
            );
        }
        // The turbulent blocks are the high-volatility regime from the filter alone.
        let hits = (399..1200)
            .filter(|t| t % 300 >= 250)
            .filter(|&t| full.labels[t - 399] == Regime::HighVol)
            .count();
        let total = (399..1200).filter(|t| t % 300 >= 250).count();
        assert!(
            hits * 10 >= total * 9,
            "{kind}: {hits}/{total} turbulent rows high_vol"
        );
        assert!(full.columns.contains(&Regime::Bull) && full.columns.contains(&Regime::HighVol));
    }
}

#[test]
fn a_rerun_reuses_unchanged_models_and_gives_the_same_bits() {
    let x = rows(1200);
    let c = cfg(ModelKind::Hmm);
    let first = walk_forward(&x[..1100], &c, &[]).expect("first");
    assert_eq!(first.fitted, first.segments.len());
    let again = walk_forward(&x, &c, &first.segments).expect("again");
    assert_eq!(again.fitted, 1, "only the refit at row 1149 is new");
    let cold = walk_forward(&x, &c, &[]).expect("cold");
    assert_eq!(again.labels, cold.labels);
    assert_eq!(again.probabilities, cold.probabilities);
    // Changed history invalidates the models fitted on it.
    let mut revised = x.clone();
    revised[10][0] += 0.01;
    let r = walk_forward(&revised, &c, &first.segments).expect("revised");
    assert_eq!(r.fitted, r.segments.len());
}

#[test]
fn names_stay_with_the_same_state_across_refits() {
    let x = rows(1200);
    let w = walk_forward(&x, &cfg(ModelKind::Hmm), &[]).expect("walk");
    for s in &w.segments {
        let hv = s
            .states
            .iter()
            .find(|st| st.regime == Regime::HighVol)
            .expect("a high_vol state in every fit");
        let calm = s
            .states
            .iter()
            .find(|st| st.regime != Regime::HighVol)
            .expect("calm");
        assert!(
            hv.mean[1] > calm.mean[1] && hv.std_first > calm.std_first,
            "{s:?}"
        );
    }
}

#[test]
fn bad_configurations_are_typed_errors() {
    let x = rows(500);
    let mut c = cfg(ModelKind::Hmm);
    c.refit_every = 0;
    assert!(walk_forward(&x, &c, &[]).is_err());
    let c = cfg(ModelKind::Hmm);
    assert!(
        walk_forward(&x[..300], &c, &[]).is_err(),
        "fewer rows than the first fit"
    );
}
