//! The forecasting crate end to end on simulated data whose truth is known.

use rand::SeedableRng;
use rand_distr::{Distribution, StudentT};
use sextant_forecasts::evaluate::{evaluate, EvalSpec};
use sextant_forecasts::{forecast, ForecastSpec, GarchT, ModelKind, Target};

/// Two assets whose returns follow GARCH(1,1)-t with correlated shocks (log returns, fractions).
fn garch_pair(n: usize, seed: u64) -> Vec<f64> {
    let p = GarchT {
        mu: 0.03,
        omega: 0.02,
        alpha: 0.08,
        gamma: 0.0,
        beta: 0.9,
        nu: 6.0,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let t = StudentT::new(p.nu).expect("nu");
    let scale = ((p.nu - 2.0) / p.nu).sqrt();
    let (mut s2a, mut s2b): (f64, f64) = (1.0, 1.0);
    let mut out = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let common = scale * t.sample(&mut rng);
        let own = scale * t.sample(&mut rng);
        let za = common;
        let zb = 0.6 * common + 0.8 * own;
        let (ea, eb) = (s2a.sqrt() * za, s2b.sqrt() * zb);
        s2a = p.omega + p.alpha * ea * ea + p.beta * s2a;
        s2b = p.omega + p.alpha * eb * eb + p.beta * s2b;
        out.push((p.mu + ea) / 100.0);
        out.push((p.mu + eb) / 100.0);
    }
    out
}

#[test]
fn same_seed_same_bits_and_more_paths_do_not_change_the_first() {
    let target = Target::new(garch_pair(1500, 1), 2, vec![60.0, 40.0], 0.0).expect("target");
    for model in [
        ModelKind::Fhs,
        ModelKind::Bootstrap,
        ModelKind::Garch,
        ModelKind::Naive,
        ModelKind::Historical,
    ] {
        let spec = ForecastSpec {
            model,
            horizon: 20,
            paths: 3000,
            ..ForecastSpec::default()
        };
        let a = forecast(&target, &spec, None).expect("forecast");
        let b = forecast(&target, &spec, None).expect("forecast");
        assert_eq!(
            serde_json::to_string(&a).expect("json"),
            serde_json::to_string(&b).expect("json")
        );
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        let c = pool
            .install(|| forecast(&target, &spec, None))
            .expect("forecast");
        assert_eq!(a, c, "{model}: one thread gave other paths");
        let fan = &a.summary.fan;
        assert_eq!(fan.len(), 20);
        for d in fan {
            assert!(
                d.quantiles.windows(2).all(|w| w[0] <= w[1]),
                "{model}: quantiles not ordered"
            );
        }
        // Wider with the horizon.
        let width = |d: &sextant_forecasts::FanDay| d.quantiles[7] - d.quantiles[1];
        assert!(width(&fan[19]) > 2.0 * width(&fan[0]), "{model}");
    }
}

#[test]
fn a_forecast_made_at_t_ignores_every_later_row() {
    let rows = garch_pair(1500, 2);
    let t = 1200;
    let full = Target::new(rows.clone(), 2, vec![1.0, 1.0], 0.5).expect("target");
    let cut = Target::new(rows[..2 * t].to_vec(), 2, vec![1.0, 1.0], 0.5).expect("target");
    let spec = EvalSpec {
        paths: 500,
        min_history: t,
        step: 1,
        ..EvalSpec::default()
    };
    let short = EvalSpec {
        min_history: t,
        ..spec.clone()
    };
    // The evaluation's first origin is row t; its forecasts must equal those made from the
    // truncated history (the evaluation on `cut` needs outcomes, so compare the forecasts).
    let on_full = evaluate(&full, None, &spec).expect("eval");
    for model in [ModelKind::Fhs, ModelKind::Garch, ModelKind::Bootstrap] {
        let rec = on_full
            .records
            .iter()
            .find(|r| r.origin == t && r.model == model && r.horizon == 1)
            .expect("record");
        let fitted =
            sextant_forecasts::Fitted::fit(model, &cut.window(0, t), &short.config, None, None)
                .expect("fit");
        let seed = short.seed ^ (t as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let paths = sextant_forecasts::simulate(&fitted, &cut, 10, short.paths, seed).expect("sim");
        let sorted = paths.sorted_day(0);
        let q = sextant_forecasts::stats::quantile_sorted(&sorted, 0.05);
        assert_eq!(
            rec.quantiles[1], q,
            "{model}: the forecast at {t} saw later rows"
        );
    }
}

#[test]
fn garch_based_bands_cover_what_they_claim_on_garch_data() {
    let target = Target::new(garch_pair(3000, 3), 2, vec![50.0, 50.0], 0.0).expect("target");
    let spec = EvalSpec {
        models: vec![ModelKind::Naive, ModelKind::Fhs, ModelKind::Garch],
        horizons: vec![1],
        paths: 1000,
        step: 2,
        min_history: 1000,
        ..EvalSpec::default()
    };
    let e = evaluate(&target, None, &spec).expect("eval");
    for m in &e.models {
        let h = &m.horizons[0];
        let c90 = h.bands[2].coverage;
        if m.model != ModelKind::Naive {
            assert!(
                (0.86..=0.94).contains(&c90),
                "{:?}: 90 % band covered {c90}",
                m.model
            );
        }
    }
    let crps = |k: ModelKind| e.models.iter().find(|m| m.model == k).expect("m").horizons[0].crps;
    assert!(
        crps(ModelKind::Fhs) < crps(ModelKind::Naive),
        "FHS should beat the naive normal on GARCH data"
    );
}

#[test]
fn regime_model_without_labels_is_listed_with_its_reason() {
    let target =
        Target::single(garch_pair(700, 4).into_iter().step_by(2).collect(), 100.0).expect("target");
    let spec = EvalSpec {
        models: vec![ModelKind::Naive, ModelKind::Regime],
        horizons: vec![1],
        paths: 200,
        step: 20,
        min_history: 300,
        ..EvalSpec::default()
    };
    let e = evaluate(&target, None, &spec).expect("eval");
    assert_eq!(e.models.len(), 2);
    assert!(e.models[1]
        .error
        .as_deref()
        .is_some_and(|m| m.contains("labels")));
}

#[test]
fn regime_conditioned_draws_follow_the_labels() {
    // Calm days in regime 0 and wild days in regime 1; starting in regime 1 with a sticky
    // chain must give a wider one-day fan than starting in regime 0.
    let n = 1000;
    let mut r = Vec::new();
    let mut labels = Vec::new();
    for t in 0..n {
        let wild = (t / 100) % 2 == 1;
        let sign = if t % 2 == 0 { 1.0 } else { -1.0 };
        r.push(sign * if wild { 0.04 } else { 0.005 });
        labels.push(Some(usize::from(wild)));
    }
    let spec = ForecastSpec {
        model: ModelKind::Regime,
        horizon: 1,
        paths: 2000,
        ..ForecastSpec::default()
    };
    let wide = forecast(
        &Target::single(r.clone(), 1.0).expect("t"),
        &spec,
        Some(&labels[..]),
    )
    .expect("f");
    let mut calm_labels = labels.clone();
    calm_labels[n - 1] = Some(0);
    let calm = forecast(
        &Target::single(r, 1.0).expect("t"),
        &spec,
        Some(&calm_labels[..]),
    )
    .expect("f");
    let spread = |f: &sextant_forecasts::model::FitSummary, s: &sextant_forecasts::Summary| {
        let _ = f;
        s.fan[0].quantiles[8] - s.fan[0].quantiles[0]
    };
    assert!(spread(&wide.fit, &wide.summary) > 4.0 * spread(&calm.fit, &calm.summary));
}

#[test]
fn a_repeated_horizon_is_scored_once() {
    let target =
        Target::single(garch_pair(900, 5).into_iter().step_by(2).collect(), 100.0).expect("target");
    let base = EvalSpec {
        models: vec![ModelKind::Fhs],
        paths: 200,
        step: 7,
        min_history: 500,
        ..EvalSpec::default()
    };
    let once = evaluate(
        &target,
        None,
        &EvalSpec {
            horizons: vec![1, 10],
            ..base.clone()
        },
    )
    .expect("eval");
    let twice = evaluate(
        &target,
        None,
        &EvalSpec {
            horizons: vec![10, 1, 1, 10],
            ..base
        },
    )
    .expect("eval");
    assert_eq!(
        once.models, twice.models,
        "duplicates must not double-count forecasts or breaches"
    );
    assert_eq!(once.records.len(), twice.records.len());
}

#[test]
fn zero_drift_removes_the_drift_of_every_model() {
    // A steady climb: +0.2 % a day on average, with noise.
    let r: Vec<f64> = garch_pair(1500, 6)
        .into_iter()
        .step_by(2)
        .map(|x| x + 0.002)
        .collect();
    let target = Target::single(r, 1.0).expect("target");
    for model in [
        ModelKind::Fhs,
        ModelKind::FhsGjr,
        ModelKind::Garch,
        ModelKind::Bootstrap,
        ModelKind::Historical,
    ] {
        let median_at = |drift: sextant_forecasts::Drift| {
            let spec = ForecastSpec {
                model,
                horizon: 100,
                paths: 4000,
                config: sextant_forecasts::FitConfig {
                    drift,
                    ..Default::default()
                },
                ..ForecastSpec::default()
            };
            let f = forecast(&target, &spec, None).expect("forecast");
            f.summary.fan[99].quantiles[4].ln()
        };
        let estimated = median_at(sextant_forecasts::Drift::Estimated);
        let zero = median_at(sextant_forecasts::Drift::Zero);
        // 100 days of +0.2 % is +20 % in logs; without drift the median stays near 0 (a
        // little below: the median of a sum of zero-mean log returns with volatility drag).
        assert!(
            estimated > 0.12,
            "{model}: estimated drift gave {estimated}"
        );
        assert!(zero.abs() < 0.04, "{model}: zero drift gave {zero}");
    }
}
