//! The out-of-sample analysis never looks ahead: changing every bar after a fold's training
//! window leaves that fold's choice (and every earlier fold's test result) unchanged.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, Normal};
use serde_json::json;
use sextant_backtest::simulator::{BarSeries, MarketData, SimConfig};
use sextant_tuning::backtest::analysis::FoldSearch;
use sextant_tuning::backtest::{
    analyse, BacktestObjective, Constraints, Metric, ObjectiveExpr, Validation,
};
use sextant_tuning::runner::{run, RunConfig};
use sextant_tuning::{Direction, PrunerKind, SamplerKind, SearchSpace, Study, StudySpec};
use std::sync::Arc;

/// A random walk of `n` daily bars; after bar `cut` the walk continues from a second seed.
fn walk(n: usize, cut: usize, seed_after: u64) -> MarketData {
    let step = Normal::new(0.0003, 0.015).expect("normal");
    let (mut a, mut b) = (
        ChaCha8Rng::seed_from_u64(1),
        ChaCha8Rng::seed_from_u64(seed_after),
    );
    let mut close = Vec::with_capacity(n);
    let mut p = 100.0f64;
    for t in 0..n {
        let z: f64 = if t < cut {
            step.sample(&mut a)
        } else {
            step.sample(&mut b)
        };
        p *= z.exp();
        close.push(p);
    }
    let open: Vec<f64> = (0..n)
        .map(|t| if t == 0 { close[0] } else { close[t - 1] })
        .collect();
    let high: Vec<f64> = open
        .iter()
        .zip(&close)
        .map(|(o, c)| o.max(*c) * 1.002)
        .collect();
    let low: Vec<f64> = open
        .iter()
        .zip(&close)
        .map(|(o, c)| o.min(*c) * 0.998)
        .collect();
    let ts: Vec<i64> = (0..n as i64).map(|d| 1_000_000_000 + d * 86_400).collect();
    let s = BarSeries::new("RW", ts, open, high, low, close, vec![1e6; n]).expect("series");
    MarketData::single(s).expect("data")
}

fn analysis_on(md: MarketData) -> sextant_tuning::backtest::Analysis {
    let obj = BacktestObjective::new(
        "sma_cross",
        Arc::new(md),
        SimConfig::default(),
        Validation::WalkForward {
            train_bars: 300,
            test_bars: 100,
            anchored: false,
        },
        vec![ObjectiveExpr::metric(Metric::Sharpe)],
        Constraints {
            min_trades: Some(1),
            max_drawdown: None,
        },
        252.0,
    )
    .expect("objective");
    let space: SearchSpace = serde_json::from_value(json!({"params": [
        {"name": "fast", "distribution": {"type": "int", "low": 2, "high": 30}},
        {"name": "slow", "distribution": {"type": "int", "low": 10, "high": 120}}
    ]}))
    .expect("space");
    let spec = StudySpec {
        space,
        directions: vec![Direction::Maximize],
        sampler: SamplerKind::Tpe,
        pruner: PrunerKind::None,
        seed: 5,
    };
    let mut study = Study::new(spec).expect("study");
    let cfg = RunConfig {
        n_trials: 40,
        batch: 4,
        fixed: Default::default(),
    };
    run::<()>(
        &mut study,
        &obj,
        &cfg,
        &mut |_| Ok(()),
        &mut |_| Ok(()),
        &|| false,
    )
    .expect("run");
    let search = FoldSearch {
        trials: 40,
        batch: 4,
    };
    analyse(&study, &obj, &Default::default(), 10, 10_000.0, &search)
}

#[test]
fn fold_choices_do_not_see_later_bars() {
    let cut = 1_000;
    let a = analysis_on(walk(1_600, cut, 2)).out_of_sample.expect("oos");
    let b = analysis_on(walk(1_600, cut, 3)).out_of_sample.expect("oos");
    let mut compared = 0;
    for (fa, fb) in a.folds.iter().zip(&b.folds) {
        if fa.fold.train_end <= cut {
            assert_eq!(
                fa.params, fb.params,
                "fold at {} chose differently",
                fa.fold.train_end
            );
            assert_eq!(fa.train_score.to_bits(), fb.train_score.to_bits());
            compared += 1;
        }
        if fa.fold.test_end <= cut {
            assert_eq!(fa.test_return.to_bits(), fb.test_return.to_bits());
        }
    }
    assert!(compared >= 3, "{compared}");
    // The later folds did see different bars, so the test can tell.
    assert_ne!(a.equity.last(), b.equity.last());
}
