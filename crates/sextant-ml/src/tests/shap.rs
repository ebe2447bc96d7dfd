use super::synthetic;
use crate::gbt::Tree;
use crate::{GbtModel, GbtParams};

/// Cover-weighted E[tree(x) | x_S]: follow the row where the split feature is in S, otherwise
/// average both children by training count.
fn cond_expectation(t: &Tree, node: usize, row: &[f64], s: u32) -> f64 {
    if t.is_leaf(node) {
        return t.value[node];
    }
    let f = t.feature[node] as u32;
    if s & (1 << f) != 0 {
        return cond_expectation(t, t.next_node(node, row), row, s);
    }
    let (l, r) = (t.left[node] as usize, t.right[node] as usize);
    let (cl, cr) = (t.count[l] as f64, t.count[r] as f64);
    (cl * cond_expectation(t, l, row, s) + cr * cond_expectation(t, r, row, s)) / (cl + cr)
}

fn brute_force(m: &GbtModel, row: &[f64]) -> Vec<f64> {
    let nf = m.feature_names().len();
    let fact = |k: usize| (1..=k).product::<usize>() as f64;
    let v = |s: u32| {
        m.trees()
            .iter()
            .map(|t| cond_expectation(t, 0, row, s))
            .sum::<f64>()
    };
    (0..nf)
        .map(|i| {
            let mut phi = 0.0;
            for s in 0u32..(1 << nf) {
                if s & (1 << i) != 0 {
                    continue;
                }
                let k = s.count_ones() as usize;
                let w = fact(k) * fact(nf - k - 1) / fact(nf);
                phi += w * (v(s | (1 << i)) - v(s));
            }
            phi
        })
        .collect()
}

fn model(n_trees: usize, num_leaves: usize) -> (GbtModel, crate::Dataset) {
    let (ds, y) = synthetic(1500, 21);
    let p = GbtParams {
        n_trees,
        num_leaves,
        ..GbtParams::default()
    };
    (GbtModel::fit(&ds, &y, None, &p).unwrap(), ds)
}

#[test]
fn shap_values_add_up_to_raw_prediction() {
    let (m, ds) = model(60, 31);
    for i in 0..300 {
        let mut row = ds.row(i);
        if i % 3 == 0 {
            row[i % 4] = f64::NAN;
        }
        let s = m.shap_values(&row);
        let total = s.values.iter().sum::<f64>() + s.expected_value;
        assert!(
            (total - m.predict_raw(&row)).abs() < 1e-9,
            "row {i}: {total} vs {}",
            m.predict_raw(&row)
        );
    }
    let all_nan = m.shap_values(&[f64::NAN; 4]);
    assert!(
        (all_nan.values.iter().sum::<f64>() + all_nan.expected_value
            - m.predict_raw(&[f64::NAN; 4]))
        .abs()
            < 1e-9
    );
}

#[test]
fn shap_matches_brute_force_shapley_values() {
    let (m, ds) = model(8, 12);
    for i in 0..40 {
        let mut row = ds.row(i);
        if i % 4 == 1 {
            row[1] = f64::NAN;
        }
        let fast = m.shap_values(&row).values;
        let slow = brute_force(&m, &row);
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-9, "row {i}: {fast:?} vs {slow:?}");
        }
    }
}

#[test]
fn expected_value_is_cover_weighted_mean_of_training_predictions() {
    // Without bagging every training row reaches exactly one leaf, so the count-weighted mean
    // leaf value equals the mean raw prediction over the training rows.
    let (m, ds) = model(20, 15);
    let mean = (0..ds.n_rows)
        .map(|i| m.predict_raw(&ds.row(i)))
        .sum::<f64>()
        / ds.n_rows as f64;
    assert!((m.expected_value() - mean).abs() < 1e-9);
}

#[test]
fn mean_abs_shap_ranks_noise_last() {
    let (m, ds) = model(30, 15);
    let imp = m.mean_abs_shap(&ds);
    assert_eq!(imp.len(), 4);
    assert_eq!(imp[3].0, "noise", "{imp:?}");
    assert!(imp.windows(2).all(|w| w[0].1 >= w[1].1));
}

#[test]
fn shap_dict_has_the_keys_shap_expects() {
    let (m, _) = model(3, 4);
    let d = m.to_shap_dict_json();
    assert_eq!(d["trees"].as_array().unwrap().len(), 3);
    assert_eq!(d["tree_output"], "log_odds");
    let t = &d["trees"][0];
    for k in [
        "children_left",
        "children_right",
        "children_default",
        "features",
        "thresholds",
        "values",
        "node_sample_weight",
    ] {
        assert_eq!(t[k].as_array().unwrap().len(), m.trees()[0].len(), "{k}");
    }
    let tree = &m.trees()[0];
    let def = t["children_default"][0].as_i64().unwrap() as i32;
    assert_eq!(
        def,
        if tree.default_left[0] {
            tree.left[0]
        } else {
            tree.right[0]
        }
    );
    assert!((t["values"][0][0].as_f64().unwrap() - tree.value[0]).abs() < 1e-15);
}
