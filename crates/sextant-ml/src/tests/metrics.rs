use crate::metrics::*;
use crate::MlError;

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} vs {b}");
}

#[test]
fn auc_matches_sklearn_including_ties() {
    close(
        auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 0.0, 1.0, 1.0]).unwrap(),
        0.75,
    );
    close(
        auc(&[0.1, 0.5, 0.5, 0.9], &[0.0, 0.0, 1.0, 1.0]).unwrap(),
        0.875,
    );
    close(auc(&[0.5; 4], &[0.0, 1.0, 0.0, 1.0]).unwrap(), 0.5);
    close(auc(&[3.0, -1.0], &[1.0, 0.0]).unwrap(), 1.0);
    assert!(matches!(
        auc(&[0.1, 0.2], &[1.0, 1.0]),
        Err(MlError::Undefined(_))
    ));
    assert!(auc(&[f64::NAN, 0.2], &[1.0, 0.0]).is_err());
}

#[test]
fn log_loss_brier_accuracy_hand_values() {
    // sklearn's log_loss docstring example.
    close(
        log_loss(&[0.9, 0.1, 0.2, 0.65], &[1.0, 0.0, 0.0, 1.0]).unwrap(),
        0.216_161_874_522_283_8,
    );
    close(log_loss(&[0.0], &[1.0]).unwrap(), -(1e-15f64).ln());
    close(
        brier(&[0.1, 0.9, 0.8, 0.3], &[0.0, 1.0, 1.0, 0.0]).unwrap(),
        0.0375,
    );
    close(
        accuracy(&[0.2, 0.5, 0.51, 0.9], &[0.0, 1.0, 1.0, 0.0]).unwrap(),
        0.5,
    );
}

#[test]
fn calibration_bins_and_ece() {
    let p = [0.05, 0.15, 0.12, 0.95, 1.0];
    let y = [0.0, 1.0, 0.0, 1.0, 1.0];
    let bins = calibration(&p, &y, 10).unwrap();
    assert_eq!(bins.len(), 3);
    assert_eq!((bins[1].count, bins[2].count), (2, 2));
    close(bins[1].mean_pred, 0.135);
    close(bins[1].frac_pos, 0.5);
    close(bins[2].lo, 0.9);
    close(expected_calibration_error(&bins), 0.166);
}

#[test]
fn report_includes_base_rate_baseline() {
    let p = [0.2, 0.7, 0.6, 0.1];
    let y = [0.0, 1.0, 1.0, 0.0];
    let r = ClassificationReport::compute(&p, &y, 0.5).unwrap();
    close(r.baseline_log_loss, std::f64::consts::LN_2);
    close(r.baseline_brier, 0.25);
    close(r.auc, 1.0);
    close(r.accuracy, 1.0);
    assert_eq!(r.n, 4);
    assert!(r.log_loss < r.baseline_log_loss);
    assert!(ClassificationReport::compute(&p, &y, 1.5).is_err());
}

#[test]
fn metric_input_errors() {
    assert!(matches!(log_loss(&[], &[]), Err(MlError::Empty(_))));
    assert!(matches!(
        brier(&[0.1], &[1.0, 0.0]),
        Err(MlError::LengthMismatch { .. })
    ));
    assert!(matches!(
        accuracy(&[f64::NAN], &[1.0]),
        Err(MlError::InvalidPrediction { .. })
    ));
    assert!(matches!(
        brier(&[0.5], &[0.5]),
        Err(MlError::InvalidLabel { .. })
    ));
    assert!(calibration(&[0.5], &[1.0], 0).is_err());
}
