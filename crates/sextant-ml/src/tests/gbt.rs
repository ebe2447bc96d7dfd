use super::synthetic;
use crate::{auc, Dataset, GbtModel, GbtParams, MlError};

fn fast_params() -> GbtParams {
    GbtParams {
        n_trees: 30,
        ..GbtParams::default()
    }
}

#[test]
fn defaults_match_lightgbm() {
    let p = GbtParams::default();
    assert_eq!(
        (
            p.n_trees,
            p.num_leaves,
            p.max_depth,
            p.min_data_in_leaf,
            p.max_bin
        ),
        (100, 31, -1, 20, 255)
    );
    assert_eq!(
        (
            p.learning_rate,
            p.min_sum_hessian_in_leaf,
            p.lambda_l1,
            p.lambda_l2
        ),
        (0.1, 1e-3, 0.0, 0.0)
    );
    assert_eq!(
        (
            p.feature_fraction,
            p.bagging_fraction,
            p.bagging_freq,
            p.seed
        ),
        (1.0, 1.0, 0, 0)
    );
    assert!(p.boost_from_average);
}

#[test]
fn learns_signal_and_beats_chance_out_of_sample() {
    let (train, y) = synthetic(3000, 1);
    let (test, yt) = synthetic(2000, 2);
    let m = GbtModel::fit(&train, &y, None, &fast_params()).unwrap();
    assert_eq!(m.n_trees(), 30);
    let a = auc(&m.predict_proba_dataset(&test), &yt).unwrap();
    assert!(a > 0.75, "auc {a}");
    for t in m.trees() {
        assert!(t.n_leaves() <= 31);
        for (i, &c) in t.count.iter().enumerate() {
            if t.is_leaf(i) {
                assert!(c >= 20);
            }
        }
    }
}

#[test]
fn stump_leaf_values_follow_newton_formula() {
    let ds = Dataset::from_columns(vec!["x".into()], vec![vec![0.0, 1.0, 2.0, 3.0]]).unwrap();
    let p = GbtParams {
        n_trees: 1,
        num_leaves: 2,
        learning_rate: 1.0,
        min_data_in_leaf: 1,
        min_data_in_bin: 1,
        min_sum_hessian_in_leaf: 0.0,
        boost_from_average: false,
        ..GbtParams::default()
    };
    let m = GbtModel::fit(&ds, &[0.0, 0.0, 1.0, 1.0], None, &p).unwrap();
    let t = &m.trees()[0];
    assert!(
        t.threshold[0] > 1.0 && t.threshold[0] < 2.0,
        "{}",
        t.threshold[0]
    );
    // G_left = 2 × 0.5, H_left = 2 × 0.25 → −G/H = −2.
    assert!((m.predict_raw(&[0.0]) + 2.0).abs() < 1e-12);
    assert!((m.predict_raw(&[3.0]) - 2.0).abs() < 1e-12);
    // L2 shrinks: −1/(0.5 + 1).
    let m2 = GbtModel::fit(
        &ds,
        &[0.0, 0.0, 1.0, 1.0],
        None,
        &GbtParams {
            lambda_l2: 1.0,
            ..p
        },
    )
    .unwrap();
    assert!((m2.predict_raw(&[0.0]) + 1.0 / 1.5).abs() < 1e-12);
}

#[test]
fn init_score_is_weighted_log_odds() {
    let (ds, y) = synthetic(400, 3);
    let w: Vec<f64> = y
        .iter()
        .map(|&v| if v == 1.0 { 2.0 } else { 1.0 })
        .collect();
    let m = GbtModel::fit(
        &ds,
        &y,
        Some(&w),
        &GbtParams {
            n_trees: 1,
            ..GbtParams::default()
        },
    )
    .unwrap();
    let pos = y.iter().sum::<f64>();
    let p = 2.0 * pos / (2.0 * pos + (y.len() as f64 - pos));
    assert!((m.init_score() - (p / (1.0 - p)).ln()).abs() < 1e-12);
}

#[test]
fn training_is_deterministic_across_runs_and_thread_counts() {
    // Large enough (rows × features) that histogram construction takes the parallel path.
    let (ds, y) = synthetic(40_000, 4);
    let p = GbtParams {
        n_trees: 8,
        bagging_fraction: 0.7,
        bagging_freq: 1,
        feature_fraction: 0.75,
        seed: 42,
        ..GbtParams::default()
    };
    let a = GbtModel::fit(&ds, &y, None, &p).unwrap().to_bytes();
    let b = GbtModel::fit(&ds, &y, None, &p).unwrap().to_bytes();
    assert_eq!(a, b);
    // One thread, two (the spinning second worker of `gbt::spin`) and three (blocks of
    // features of unequal size), whatever the machine's core count.
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let c = pool.install(|| GbtModel::fit(&ds, &y, None, &p).unwrap().to_bytes());
        assert_eq!(a, c, "{threads} threads");
    }
    let d = GbtModel::fit(&ds, &y, None, &GbtParams { seed: 7, ..p })
        .unwrap()
        .to_bytes();
    assert_ne!(a, d, "seed must matter when sampling");
}

#[test]
fn bytes_round_trip_predicts_identically_and_rejects_garbage() {
    let (ds, y) = synthetic(800, 5);
    let m = GbtModel::fit(&ds, &y, None, &fast_params()).unwrap();
    let back = GbtModel::from_bytes(&m.to_bytes()).unwrap();
    assert_eq!(back, m);
    for i in 0..50 {
        assert_eq!(
            m.predict_raw(&ds.row(i)).to_bits(),
            back.predict_raw(&ds.row(i)).to_bits()
        );
    }
    assert!(matches!(
        GbtModel::from_bytes(b"not json"),
        Err(MlError::InvalidModel(_))
    ));
    let mut v: serde_json::Value = serde_json::from_slice(&m.to_bytes()).unwrap();
    v["trees"][0]["left"][0] = serde_json::json!(0);
    assert!(
        GbtModel::from_bytes(&serde_json::to_vec(&v).unwrap()).is_err(),
        "cycle accepted"
    );
}

#[test]
fn nan_and_short_rows_route_deterministically() {
    let (ds, y) = synthetic(800, 6);
    let m = GbtModel::fit(&ds, &y, None, &fast_params()).unwrap();
    let a = m.predict_proba(&[f64::NAN; 4]);
    assert!(a.is_finite() && a > 0.0 && a < 1.0);
    assert_eq!(a, m.predict_proba(&[f64::NAN; 4]));
    assert_eq!(m.predict_proba(&[]), a, "absent features are missing");
}

#[test]
fn constraints_are_respected() {
    let (ds, y) = synthetic(1000, 7);
    let p = GbtParams {
        n_trees: 5,
        max_depth: 2,
        num_leaves: 31,
        ..GbtParams::default()
    };
    let m = GbtModel::fit(&ds, &y, None, &p).unwrap();
    assert!(m
        .trees()
        .iter()
        .all(|t| t.max_depth() <= 2 && t.n_leaves() <= 4));
    let p = GbtParams {
        n_trees: 5,
        num_leaves: 5,
        min_data_in_leaf: 100,
        ..GbtParams::default()
    };
    let m = GbtModel::fit(&ds, &y, None, &p).unwrap();
    for t in m.trees() {
        assert!(t.n_leaves() <= 5);
        assert!((0..t.len())
            .filter(|&i| t.is_leaf(i))
            .all(|i| t.count[i] >= 100));
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let (ds, y) = synthetic(100, 8);
    let p = fast_params();
    let mut bad = y.clone();
    bad[3] = f64::NAN;
    assert!(matches!(
        GbtModel::fit(&ds, &bad, None, &p),
        Err(MlError::InvalidLabel { row: 3, .. })
    ));
    bad[3] = 2.0;
    assert!(matches!(
        GbtModel::fit(&ds, &bad, None, &p),
        Err(MlError::InvalidLabel { .. })
    ));
    assert!(matches!(
        GbtModel::fit(&ds, &y[1..], None, &p),
        Err(MlError::LengthMismatch { .. })
    ));
    let w = vec![-1.0; 100];
    assert!(matches!(
        GbtModel::fit(&ds, &y, Some(&w), &p),
        Err(MlError::InvalidWeight(_))
    ));
    assert!(matches!(
        GbtModel::fit(&ds, &y, Some(&[0.0; 100]), &p),
        Err(MlError::InvalidWeight(_))
    ));
    let bad_p = GbtParams {
        learning_rate: f64::NAN,
        ..p.clone()
    };
    assert!(matches!(
        GbtModel::fit(&ds, &y, None, &bad_p),
        Err(MlError::InvalidParam(_))
    ));
    assert!(Dataset::from_columns(vec!["a".into()], vec![vec![]]).is_err());
    assert!(Dataset::from_columns(vec!["a".into()], vec![vec![f64::INFINITY]]).is_err());
    assert!(
        Dataset::from_columns(vec!["a".into(), "a".into()], vec![vec![1.0], vec![2.0]]).is_err()
    );
    assert!(Dataset::from_rows(vec!["a".into()], &[vec![1.0, 2.0]]).is_err());
    let mut broken = ds.clone();
    broken.columns[0].pop();
    assert!(GbtModel::fit(&broken, &y, None, &p).is_err());
}

#[test]
fn single_class_labels_train_without_panicking() {
    let (ds, _) = synthetic(100, 9);
    let m = GbtModel::fit(&ds, &[1.0; 100], None, &fast_params()).unwrap();
    assert!(m.predict_proba(&ds.row(0)) > 0.99);
}

#[test]
fn dataset_helpers() {
    let ds = Dataset::from_rows(
        vec!["a".into(), "b".into()],
        &[vec![1.0, 2.0], vec![3.0, f64::NAN]],
    )
    .unwrap();
    assert_eq!(ds.row(0), vec![1.0, 2.0]);
    let s = ds.subset(&[1, 1]).unwrap();
    assert_eq!(s.n_rows, 2);
    assert_eq!(s.columns[0], vec![3.0, 3.0]);
    assert!(ds.subset(&[2]).is_err());
}

#[test]
fn warm_single_row_prediction_is_fast() {
    let (ds, y) = synthetic(3000, 10);
    let m = GbtModel::fit(&ds, &y, None, &GbtParams::default()).unwrap();
    let rows: Vec<Vec<f64>> = (0..200).map(|i| ds.row(i)).collect();
    let mut lat = Vec::new();
    let mut sink = 0.0;
    for r in rows.iter().cycle().take(2000) {
        let t = std::time::Instant::now();
        sink += m.predict_proba(r);
        lat.push(t.elapsed().as_nanos());
    }
    lat.sort_unstable();
    let p99 = lat[lat.len() * 99 / 100];
    assert!(sink.is_finite());
    assert!(p99 < 1_000_000, "p99 {p99} ns");
}

#[test]
fn training_routing_equals_prediction_routing() {
    // Leaf counts are recorded from the binned partition during training; re-routing the raw
    // training rows through the real-valued thresholds (NaNs included) must land identically.
    let (ds, y) = synthetic(1200, 11);
    let m = GbtModel::fit(&ds, &y, None, &fast_params()).unwrap();
    for t in m.trees() {
        let mut counts = vec![0u64; t.len()];
        for i in 0..ds.n_rows {
            counts[t.leaf_index(&ds.row(i))] += 1;
        }
        for leaf in (0..t.len()).filter(|&i| t.is_leaf(i)) {
            assert_eq!(counts[leaf], t.count[leaf]);
        }
    }
}

#[test]
fn missing_values_learn_their_default_direction() {
    // x is informative when present; when missing the label is almost always 1, so NaN must be
    // routed with the high-x side rather than by a fixed rule.
    let n = 2000;
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        match i % 4 {
            0 => {
                x.push(f64::NAN);
                y.push(1.0);
            }
            _ => {
                let v = (i % 100) as f64;
                x.push(v);
                y.push(if v > 70.0 { 1.0 } else { 0.0 });
            }
        }
    }
    let ds = Dataset::from_columns(vec!["x".into()], vec![x]).unwrap();
    let m = GbtModel::fit(&ds, &y, None, &fast_params()).unwrap();
    assert!(
        m.predict_proba(&[f64::NAN]) > 0.8,
        "{}",
        m.predict_proba(&[f64::NAN])
    );
    assert!(m.predict_proba(&[10.0]) < 0.2);
    assert!(m.predict_proba(&[90.0]) > 0.8);
}

/// Every parameter that sizes work or memory is bounded before anything is allocated: a request
/// for a billion trees is an error, not an attempt to allocate 192 GB.
#[test]
fn sizing_parameters_are_bounded() {
    let ok = GbtParams::default();
    assert!(ok.validate().is_ok());
    let cases: Vec<(&str, GbtParams)> = vec![
        (
            "n_trees",
            GbtParams {
                n_trees: 1_000_000_000,
                ..GbtParams::default()
            },
        ),
        (
            "n_trees",
            GbtParams {
                n_trees: 0,
                ..GbtParams::default()
            },
        ),
        (
            "num_leaves",
            GbtParams {
                num_leaves: 1 << 20,
                ..GbtParams::default()
            },
        ),
        (
            "min_data_in_leaf",
            GbtParams {
                min_data_in_leaf: usize::MAX,
                ..GbtParams::default()
            },
        ),
        (
            "max_depth",
            GbtParams {
                max_depth: 10_000,
                ..GbtParams::default()
            },
        ),
        (
            "bagging_freq",
            GbtParams {
                bagging_freq: usize::MAX,
                ..GbtParams::default()
            },
        ),
        (
            "learning_rate",
            GbtParams {
                learning_rate: 1e308,
                ..GbtParams::default()
            },
        ),
    ];
    for (name, p) in cases {
        let err = p.validate().expect_err(name).to_string();
        assert!(err.contains(name), "{name}: {err}");
    }
    let at_max = GbtParams {
        n_trees: crate::gbt::params::MAX_TREES,
        num_leaves: crate::gbt::params::MAX_LEAVES,
        ..GbtParams::default()
    };
    assert!(at_max.validate().is_ok());
    let unknown = serde_json::from_value::<GbtParams>(serde_json::json!({"n_tress": 5}));
    assert!(unknown.is_err(), "a misspelt parameter is refused");
}
