//! Regimes of the bundled universe (AAPL, IBM, MSFT, total-return prices): a model fitted on
//! 2000–2007 only, labelling 2008–2013 by the forward filter alone, puts the 2008 crash in
//! its high-volatility regime; and the smoothed labels the look-ahead trap would give differ
//! from the filtered ones on a measurable share of days.

use chrono::NaiveDate;
use sextant_data::Cache;
use sextant_domain::{PriceBasis, Resolution, Symbol};
use sextant_regimes::{name_states, GaussianHmm, HmmConfig, Regime};
use std::collections::BTreeMap;

const UNIVERSE: [&str; 3] = ["AAPL", "IBM", "MSFT"];
/// Trading days in the realised-volatility window.
const VOL_WINDOW: usize = 21;

/// (date, [equal-weight daily log return, trailing 21-day realised volatility, annualised]),
/// each row computed from closes up to its own date.
fn features() -> Vec<(NaiveDate, Vec<f64>)> {
    let cache = Cache::open_in_memory().expect("cache");
    cache.ingest_sample().expect("sample");
    let mut by_day: BTreeMap<NaiveDate, Vec<f64>> = BTreeMap::new();
    for s in UNIVERSE {
        let sym = Symbol::new(s).expect("symbol");
        let bars = cache
            .bars_on(&sym, Resolution::Daily, None, None, PriceBasis::TotalReturn)
            .expect("bars");
        for w in bars.windows(2) {
            by_day
                .entry(w[1].ts.date())
                .or_default()
                .push((w[1].close / w[0].close).ln());
        }
    }
    let days: Vec<(NaiveDate, f64)> = by_day
        .into_iter()
        .filter(|(_, r)| r.len() == UNIVERSE.len())
        .map(|(d, r)| (d, r.iter().sum::<f64>() / r.len() as f64))
        .collect();
    (VOL_WINDOW..days.len())
        .map(|i| {
            let window = &days[i + 1 - VOL_WINDOW..=i];
            let mean = window.iter().map(|d| d.1).sum::<f64>() / VOL_WINDOW as f64;
            let var =
                window.iter().map(|d| (d.1 - mean).powi(2)).sum::<f64>() / (VOL_WINDOW - 1) as f64;
            (days[i].0, vec![days[i].1, (var * 252.0).sqrt()])
        })
        .collect()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[test]
fn the_2008_crash_is_high_vol_from_filtered_labels_alone() {
    let rows = features();
    let fit_end = d("2007-12-31");
    let fit: Vec<Vec<f64>> = rows
        .iter()
        .filter(|(day, _)| *day <= fit_end)
        .map(|(_, x)| x.clone())
        .collect();
    let cfg = HmmConfig {
        states: 3,
        seed: 7,
        ..HmmConfig::default()
    };
    let (model, report) = GaussianHmm::fit(&fit, &cfg).expect("fit");
    assert!(report.converged, "{report:?}");
    let mean_return: Vec<f64> = model.means.iter().map(|m| m[0]).collect();
    let vol: Vec<f64> = model.covs.iter().map(|c| c[0].sqrt()).collect();
    let names = name_states(&mean_return, &vol);

    let x: Vec<Vec<f64>> = rows.iter().map(|(_, x)| x.clone()).collect();
    let filtered = model.filter_states(&x).expect("filter");
    let smoothed: Vec<usize> = model
        .smooth(&x)
        .expect("smooth")
        .iter()
        .map(|p| {
            (0..p.len())
                .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                .unwrap_or(0)
        })
        .collect();

    let in_crash = |day: &NaiveDate| *day >= d("2008-09-01") && *day <= d("2009-03-31");
    let crash: Vec<Regime> = rows
        .iter()
        .zip(&filtered)
        .filter(|((day, _), _)| in_crash(day))
        .map(|(_, &s)| names[s])
        .collect();
    let high = crash.iter().filter(|r| **r == Regime::HighVol).count();
    let share = high as f64 / crash.len() as f64;

    // Each regime's share of days after the fit date and its statistics, for the record.
    let after: Vec<usize> = rows
        .iter()
        .zip(&filtered)
        .filter(|((day, _), _)| *day > fit_end)
        .map(|(_, &s)| s)
        .collect();
    for (j, name) in names.iter().enumerate() {
        let n = after.iter().filter(|&&s| s == j).count();
        eprintln!(
            "{name}: {:.1}% of days after the fit; mean daily return {:+.4}%, daily vol {:.3}%, \
             mean realised vol {:.1}%, p(stay) {:.3}",
            100.0 * n as f64 / after.len() as f64,
            100.0 * model.means[j][0],
            100.0 * vol[j],
            100.0 * model.means[j][1],
            model.trans[j * 3 + j]
        );
    }
    let disagree = filtered
        .iter()
        .zip(&smoothed)
        .filter(|(f, s)| f != s)
        .count();
    eprintln!(
        "2008-09..2009-03: {high} of {} days high_vol ({:.1}%) from filtered labels; \
         smoothed labels disagree with filtered ones on {disagree} of {} days ({:.1}%)",
        crash.len(),
        100.0 * share,
        x.len(),
        100.0 * disagree as f64 / x.len() as f64
    );
    assert!(share > 0.5, "high_vol covers {share:.3} of the crash");
    assert!(
        disagree > 0,
        "smoothing (which sees later days) changed no label"
    );
}
