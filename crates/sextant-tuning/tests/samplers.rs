//! Samplers find the optimum of standard test functions, reproducibly.

use sextant_tuning::functions::TestFunction;
use sextant_tuning::runner::{run, RunConfig};
use sextant_tuning::{Direction, PrunerKind, SamplerKind, Study, StudySpec};

fn best(
    f: TestFunction,
    sampler: SamplerKind,
    seed: u64,
    trials: u32,
    batch: usize,
) -> (f64, Vec<Vec<(String, f64)>>) {
    let spec = StudySpec {
        space: f.space(),
        directions: vec![Direction::Minimize],
        sampler,
        pruner: PrunerKind::None,
        seed,
    };
    let mut study = Study::new(spec).expect("valid study");
    let cfg = RunConfig {
        n_trials: trials,
        batch,
        fixed: Default::default(),
    };
    run::<()>(
        &mut study,
        &f,
        &cfg,
        &mut |_| Ok(()),
        &mut |_| Ok(()),
        &|| false,
    )
    .expect("runs");
    let b = study.ranked()[0].values[0];
    let params = study
        .trials()
        .iter()
        .map(|t| t.params.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .collect();
    (b, params)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0
}

#[test]
fn tpe_and_cmaes_beat_random_search_on_branin() {
    let seeds = 0..8;
    let tpe = median(
        seeds
            .clone()
            .map(|s| best(TestFunction::Branin, SamplerKind::Tpe, s, 100, 1).0)
            .collect(),
    );
    let cma = median(
        seeds
            .clone()
            .map(|s| best(TestFunction::Branin, SamplerKind::Cmaes, s, 100, 1).0)
            .collect(),
    );
    let rnd = median(
        seeds
            .map(|s| best(TestFunction::Branin, SamplerKind::Random, s, 100, 1).0)
            .collect(),
    );
    // Optuna 5.1's medians over 20 seeds x 100 trials (scripts/tuning, same run conditions):
    // TPE 0.4167, CMA-ES 0.4113. Random search's is well above both.
    assert!(tpe < rnd && cma < rnd, "tpe {tpe} cma {cma} random {rnd}");
    assert!(tpe < 0.6 && cma < 0.6, "tpe {tpe} cma {cma}");
}

#[test]
fn same_seed_same_trials_and_batches_are_reproducible() {
    for s in [
        SamplerKind::Tpe,
        SamplerKind::Cmaes,
        SamplerKind::Nsga2,
        SamplerKind::Random,
    ] {
        let a = best(TestFunction::Hartmann6, s, 7, 60, 4);
        let b = best(TestFunction::Hartmann6, s, 7, 60, 4);
        assert_eq!(a, b, "{s}");
        let c = best(TestFunction::Hartmann6, s, 8, 60, 4);
        assert_ne!(a.1, c.1, "{s}: another seed proposes other trials");
    }
}

#[test]
fn conditional_parameters_appear_only_under_their_condition() {
    use serde_json::json;
    use sextant_tuning::runner::Objective;
    use sextant_tuning::{Outcome, SearchSpace};
    struct Quad;
    impl Objective for Quad {
        fn evaluate(&self, p: &serde_json::Value, _: &(dyn Fn(&[f64]) -> bool + Sync)) -> Outcome {
            let x = p["x"].as_f64().unwrap_or(0.0);
            let k = p
                .get("k")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(0.0);
            let bonus = if p["mode"] == json!("b") { 1.0 } else { 0.0 };
            Outcome::Complete {
                values: vec![(x - 0.3).powi(2) + (k - 2.0).powi(2) * bonus - bonus],
                intermediate: Vec::new(),
            }
        }
    }
    let space: SearchSpace = serde_json::from_value(json!({"params": [
        {"name": "x", "distribution": {"type": "float", "low": 0.0, "high": 1.0}},
        {"name": "mode", "distribution": {"type": "categorical", "choices": ["a", "b"]}},
        {"name": "k", "distribution": {"type": "int", "low": 0, "high": 5},
         "if": {"parent": "mode", "values": ["b"]}}
    ]}))
    .expect("space");
    for sampler in [
        SamplerKind::Tpe,
        SamplerKind::Cmaes,
        SamplerKind::Nsga2,
        SamplerKind::Random,
    ] {
        let spec = StudySpec {
            space: space.clone(),
            directions: vec![Direction::Minimize],
            sampler,
            pruner: PrunerKind::None,
            seed: 1,
        };
        let mut study = Study::new(spec).expect("study");
        let cfg = RunConfig {
            n_trials: 80,
            batch: 4,
            fixed: Default::default(),
        };
        run::<()>(
            &mut study,
            &Quad,
            &cfg,
            &mut |_| Ok(()),
            &mut |_| Ok(()),
            &|| false,
        )
        .expect("runs");
        for t in study.trials() {
            assert_eq!(
                t.params.contains_key("k"),
                t.params["mode"] == 1.0,
                "{sampler}: {:?}",
                t.params
            );
        }
        // The model-based samplers find the better branch (mode b, k = 2).
        if sampler == SamplerKind::Tpe {
            let best = study.ranked()[0];
            assert_eq!(best.params["mode"], 1.0, "{:?}", best.params);
            assert_eq!(best.params.get("k"), Some(&2.0), "{:?}", best.params);
        }
    }
}

#[test]
fn long_tpe_studies_resume_to_the_same_trials() {
    // Past 512 trials TPE keeps its kernels sorted across asks and windows its densities:
    // a resumed sampler (built from the stored trials) must propose exactly what the
    // uninterrupted one did.
    let f = TestFunction::Branin;
    let spec = StudySpec {
        space: f.space(),
        directions: vec![Direction::Minimize],
        sampler: SamplerKind::Tpe,
        pruner: PrunerKind::None,
        seed: 9,
    };
    let cfg = |n| RunConfig {
        n_trials: n,
        batch: 8,
        fixed: Default::default(),
    };
    let mut whole = Study::new(spec.clone()).expect("study");
    run::<()>(
        &mut whole,
        &f,
        &cfg(720),
        &mut |_| Ok(()),
        &mut |_| Ok(()),
        &|| false,
    )
    .expect("runs");
    let mut first = Study::new(spec.clone()).expect("study");
    run::<()>(
        &mut first,
        &f,
        &cfg(600),
        &mut |_| Ok(()),
        &mut |_| Ok(()),
        &|| false,
    )
    .expect("runs");
    let mut resumed = Study::resume(spec, first.trials().to_vec()).expect("resume");
    run::<()>(
        &mut resumed,
        &f,
        &cfg(720),
        &mut |_| Ok(()),
        &mut |_| Ok(()),
        &|| false,
    )
    .expect("runs");
    let params = |s: &Study| -> Vec<Vec<f64>> {
        s.trials()
            .iter()
            .map(|t| t.params.values().copied().collect())
            .collect()
    };
    assert_eq!(params(&whole), params(&resumed));
}
