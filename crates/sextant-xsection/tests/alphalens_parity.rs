//! alphalens-reloaded 0.5.1 parity on real prices (golden written by
//! `scripts/golden/make_alphalens_golden.py`): the clean cells, rank IC per date and horizon,
//! mean demeaned return by quantile, quantile turnover and factor rank autocorrelation, to
//! 1e-9 relative (1e-12 absolute).

mod common;

use common::{golden, num, panel};
use serde_json::Value;
use sextant_xsection::{
    clean, mean_return_by_quantile, quantile_turnover, quantize, rank_autocorrelation, rank_ic,
};

fn close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    (a - b).abs() <= 1e-12 || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

#[test]
fn signal_evaluation_equals_alphalens() {
    let g = golden();
    let rows = g["dates"].as_array().expect("dates").len();
    let (factor, prices) = (panel(&g, "factor", rows), panel(&g, "prices", rows));
    let data = clean(&factor, &prices, &[1, 5, 10]).expect("aligned");
    let cells: usize = data.cells.iter().map(Vec::len).sum();
    assert_eq!(
        cells as u64,
        g["clean_cells"].as_u64().expect("count"),
        "clean cells"
    );

    let ic = rank_ic(&data);
    let want_dates: Vec<i64> = g["ic_dates"]
        .as_array()
        .expect("ic dates")
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(data.dates, want_dates);
    for (t, (ours, theirs)) in ic.iter().zip(g["ic"].as_array().expect("ic")).enumerate() {
        for (k, (a, b)) in ours.iter().zip(theirs.as_array().expect("row")).enumerate() {
            assert!(
                close(*a, num(b)),
                "IC date {t} horizon {k}: {a} vs {}",
                num(b)
            );
        }
    }

    let q = quantize(&data, 5);
    let mean = mean_return_by_quantile(&data, &q, 5);
    for (i, (ours, theirs)) in mean
        .iter()
        .zip(g["mean_return_by_quantile"].as_array().expect("mean"))
        .enumerate()
    {
        for (k, (a, b)) in ours.iter().zip(theirs.as_array().expect("row")).enumerate() {
            assert!(
                close(*a, num(b)),
                "quantile {} horizon {k}: {a} vs {}",
                i + 1,
                num(b)
            );
        }
    }

    for quantile in [1usize, 5] {
        let ours = quantile_turnover(&data, &q, quantile, 1);
        let theirs = g["turnover"][quantile.to_string()]
            .as_array()
            .expect("turnover");
        assert_eq!(
            ours.len(),
            theirs.len(),
            "turnover dates, quantile {quantile}"
        );
        for ((d, a), t) in ours.iter().zip(theirs) {
            assert_eq!(*d, t[0].as_i64().expect("date"));
            assert!(
                close(*a, num(&t[1])),
                "turnover q{quantile} {d}: {a} vs {}",
                num(&t[1])
            );
        }
    }

    let ours: Vec<(i64, f64)> = rank_autocorrelation(&data, 1)
        .into_iter()
        .filter(|(_, v)| !v.is_nan())
        .collect();
    let theirs = g["rank_autocorrelation"].as_array().expect("autocorr");
    assert_eq!(ours.len(), theirs.len(), "autocorrelation dates");
    for ((d, a), t) in ours.iter().zip(theirs) {
        assert_eq!(*d, t[0].as_i64().expect("date"));
        assert!(
            close(*a, num(&t[1])),
            "autocorrelation {d}: {a} vs {}",
            num(&t[1])
        );
    }
}
