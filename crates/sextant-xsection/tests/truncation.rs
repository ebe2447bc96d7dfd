//! Point in time: cutting the prices and the factor after row `T` changes no figure of a date
//! whose longest forward window ends by `T` (the evaluation reads no price past a label's own
//! horizon), on the real panels of the alphalens golden.

use crate::common;

use common::{golden, panel};
use sextant_xsection::{clean, quantize, rank_autocorrelation, rank_ic};

#[test]
fn figures_before_the_cut_do_not_change() {
    let g = golden();
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
