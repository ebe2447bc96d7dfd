//! Regimes of the bundled universe (AAPL, IBM, MSFT, total-return prices): a model fitted on
//! 2000–2007 only, labelling 2008–2013 by the forward filter alone, puts the 2008 crash in its
//! high-volatility regime; the smoothed labels the look-ahead trap would give differ from the
//! filtered ones on a measurable share of days; and no label changes when later days exist.

use chrono::NaiveDate;
use sextant_core::regimes::{history, universe_features};
use sextant_regimes::Regime;
use sextant_test_support::{d, sym};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_2008_crash_is_high_vol_from_filtered_labels_alone() {
    let s = sextant_test_support::services().await;
    let universe = [sym("AAPL"), sym("IBM"), sym("MSFT")];
    let h = history(s.cache.as_ref(), &universe, 3, Some(d("2007-12-31")), 7).expect("history");
    assert_eq!(h.fitted_to, d("2007-12-31"));
    let in_crash = |day: NaiveDate| day >= d("2008-09-01") && day <= d("2009-03-31");
    let crash: Vec<Regime> = h
        .rows
        .iter()
        .filter(|r| in_crash(r.date))
        .map(|r| r.regime)
        .collect();
    let high = crash.iter().filter(|r| **r == Regime::HighVol).count();
    let share = high as f64 / crash.len() as f64;
    let after: Vec<&sextant_core::regimes::RegimeRow> =
        h.rows.iter().filter(|r| r.date > h.fitted_to).collect();
    for (j, name) in h.states.iter().enumerate() {
        let n = after.iter().filter(|r| r.regime == *name).count();
        eprintln!(
            "{name}: {:.1}% of days after the fit; mean daily return {:+.4}%, daily vol {:.3}%, \
             mean realised vol {:.1}%, p(stay) {:.3}",
            100.0 * n as f64 / after.len() as f64,
            100.0 * h.model.means[j][0],
            100.0 * h.model.covs[j][0].sqrt(),
            100.0 * h.model.means[j][1],
            h.model.trans[j * h.states.len() + j]
        );
    }
    // The look-ahead trap, measured: smoothing sees later days.
    let (rows, _) = universe_features(s.cache.as_ref(), &universe).expect("features");
    let x: Vec<Vec<f64>> = rows.iter().map(|r| r.values.clone()).collect();
    let smoothed = h.model.smooth(&x).expect("smooth");
    let disagree = h
        .rows
        .iter()
        .zip(&smoothed)
        .filter(|(r, p)| {
            let best = (0..p.len())
                .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                .unwrap_or(0);
            h.states[best] != r.regime
        })
        .count();
    eprintln!(
        "2008-09..2009-03: {high} of {} days high_vol ({:.1}%) from filtered labels; smoothed \
         labels disagree with filtered ones on {disagree} of {} days ({:.1}%)",
        crash.len(),
        100.0 * share,
        h.rows.len(),
        100.0 * disagree as f64 / h.rows.len() as f64
    );
    assert!(share > 0.5, "high_vol covers {share:.3} of the crash");
    assert!(
        disagree > 0,
        "smoothing (which sees later days) changed no label"
    );
}
