//! Point in time: cutting the prices and the factor after row `T` changes no figure of a date
//! whose longest forward window ends by `T` (the evaluation reads no price past a label's own
//! horizon), on the real panels of the alphalens golden.

use serde_json::Value;
use sextant_xsection::{clean, quantize, rank_autocorrelation, rank_ic, Panel};

fn panel(g: &Value, key: &str, rows: usize) -> Panel {
    let dates: Vec<i64> = g["dates"]
        .as_array()
        .expect("dates")
        .iter()
        .take(rows)
        .filter_map(Value::as_i64)
        .collect();
    let assets: Vec<String> = g["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let values: Vec<f64> = g[key]
        .as_array()
        .expect("rows")
        .iter()
        .take(rows)
        .flat_map(|r| {
            r.as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_f64().unwrap_or(f64::NAN))
        })
        .collect();
    Panel::new(dates, assets, values).expect("panel")
}

#[test]
fn figures_before_the_cut_do_not_change() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/alphalens.json");
    let g: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("golden")).expect("json");
    let rows = g["dates"].as_array().expect("dates").len();
    let periods = [1usize, 5, 10];
    let full = clean(
        &panel(&g, "factor", rows),
        &panel(&g, "prices", rows),
        &periods,
    )
    .expect("full");
    let (ic_full, q_full, ac_full) = (
        rank_ic(&full),
        quantize(&full, 5),
        rank_autocorrelation(&full, 1),
    );
    for cut in [500usize, 1234, 2500] {
        let part = clean(
            &panel(&g, "factor", cut),
            &panel(&g, "prices", cut),
            &periods,
        )
        .expect("part");
        let last_safe = g["dates"][cut - 1 - 10].as_i64().expect("date");
        let (ic, q, ac) = (
            rank_ic(&part),
            quantize(&part, 5),
            rank_autocorrelation(&part, 1),
        );
        // The same dates survive up to the last date whose 10-row window fits before the cut:
        // a window reaching one row further would lose that date in the cut panel.
        let before = |dates: &[i64]| {
            dates
                .iter()
                .copied()
                .filter(|d| *d <= last_safe)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            before(&part.dates),
            before(&full.dates),
            "kept dates at cut {cut}"
        );
        let mut compared = 0;
        for (i, d) in part
            .dates
            .iter()
            .enumerate()
            .filter(|(_, d)| **d <= last_safe)
        {
            let j = full
                .dates
                .iter()
                .position(|x| x == d)
                .expect("date in full");
            assert_eq!(part.cells[i], full.cells[j], "cells at {d}");
            assert_eq!(ic[i], ic_full[j], "IC at {d}");
            assert_eq!(q[i], q_full[j], "quantiles at {d}");
            compared += 1;
        }
        assert!(compared > cut / 2, "{compared} dates compared at cut {cut}");
        for (a, b) in ac
            .iter()
            .zip(&ac_full)
            .filter(|((d, _), _)| *d <= last_safe)
        {
            assert!(
                a.0 == b.0 && (a.1 == b.1 || (a.1.is_nan() && b.1.is_nan())),
                "autocorrelation at {}",
                a.0
            );
        }
    }
}
