//! The feature store: point in time (truncating the future leaves every past value of every
//! view unchanged, bit for bit), versioning, and quarantined bars never reaching a feature.

use chrono::NaiveDate;
use sextant_data::cache::FileOptions;
use sextant_data::Cache;
use sextant_domain::{Resolution, Source, Symbol};
use sextant_features::{FeatureStore, FeatureView};
use std::path::Path;

fn sample_csv(dir: &Path) -> String {
    let gz = sextant_test_support::sample_file(dir);
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    let out = dir.join("sample.csv");
    conn.execute_batch(&format!(
        "COPY (SELECT * FROM read_csv('{}', header = true)) TO '{}' (HEADER)",
        gz.display(),
        out.display()
    ))
    .expect("decompress");
    std::fs::read_to_string(out).expect("read")
}

/// Deterministic economic series for the macro view over the sample's years: a daily 3-month
/// yield on every weekday and a monthly CPI. With `known_at`, only the observations released
/// by that date (their `available_from`), as a cache filled on that day would hold.
fn store_macro(cache: &Cache, known_at: Option<NaiveDate>) {
    use sextant_domain::{EconomicSeries, Observation, SeriesKey};
    let keep = |key: &SeriesKey, d: NaiveDate| known_at.is_none_or(|k| key.available_from(d) <= k);
    let rate = SeriesKey::risk_free_default();
    let mut obs = Vec::new();
    let mut d = NaiveDate::from_ymd_opt(1999, 1, 4).expect("start");
    let mut i = 0u32;
    while d <= NaiveDate::from_ymd_opt(2014, 1, 31).expect("end") {
        use chrono::Datelike;
        if d.weekday().num_days_from_monday() < 5 && keep(&rate, d) {
            // A holiday-like gap every 97th weekday, as the vendor's "." (missing) days.
            let value = (!i.is_multiple_of(97)).then(|| 1.0 + f64::from(i % 500) / 100.0);
            obs.push(Observation { date: d, value });
            i += 1;
        }
        d = d.succ_opt().expect("next day");
    }
    let series = |key: SeriesKey, observations| EconomicSeries {
        key,
        name: "test".into(),
        unit: "test".into(),
        observations,
    };
    cache
        .store_economic(&series(rate, obs), "test")
        .expect("store rate");
    let cpi = SeriesKey::parse_id("cpi_monthly").expect("cpi");
    let mut obs = Vec::new();
    for k in 0..16 * 12 {
        let d = NaiveDate::from_ymd_opt(1998 + k / 12, (k % 12) as u32 + 1, 1).expect("month");
        if keep(&cpi, d) {
            let value = 160.0 * 1.002f64.powi(k) + f64::from(k % 7) * 0.1;
            obs.push(Observation {
                date: d,
                value: Some(value),
            });
        }
    }
    cache
        .store_economic(&series(cpi, obs), "test")
        .expect("store cpi");
}

/// The macro view uses an observation only from its release date: the yield dated a day is
/// seen from the next day, December's CPI (released by January 20) not before then.
#[test]
fn macro_features_wait_for_the_release() {
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    store_macro(&cache, None);
    let view = sextant_features::views::macro_view();
    cache.materialize_view(&view).expect("materialise");
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    let at = |s: &str| day(s).and_hms_opt(0, 0, 0).expect("ts");
    let panel = cache
        .feature_panel(
            &view.name,
            None,
            &[Symbol::new("AAPL").expect("s")],
            None,
            None,
        )
        .expect("panel");
    let col = |name: &str| {
        panel
            .features
            .iter()
            .position(|f| f == name)
            .expect("feature")
    };
    let value = |name: &str, ts: &str| {
        let i = panel.ts.iter().position(|t| *t == at(ts)).expect("bar");
        panel.columns[col(name)][i]
    };
    let rate = cache
        .economic(&sextant_domain::SeriesKey::risk_free_default())
        .expect("rate");
    let obs = |d: &str| rate.iter().find(|o| o.date == day(d)).and_then(|o| o.value);
    // Tuesday 2010-03-09 sees Monday's yield, not its own.
    assert_eq!(
        value("rate_3m", "2010-03-09"),
        obs("2010-03-08").expect("monday")
    );
    assert_ne!(obs("2010-03-08"), obs("2010-03-09"));
    let cpi = cache
        .economic(&sextant_domain::SeriesKey::parse_id("cpi_monthly").expect("cpi"))
        .expect("cpi");
    let month = |d: &str| {
        cpi.iter()
            .find(|o| o.date == day(d))
            .and_then(|o| o.value)
            .expect("m")
    };
    // On 2010-01-19 December 2009 is not yet published: inflation is November's over November.
    let nov = (month("2009-11-01") / month("2008-11-01")).ln();
    let dec = (month("2009-12-01") / month("2008-12-01")).ln();
    assert!((value("cpi_yoy", "2010-01-19") - nov).abs() < 1e-12);
    assert!((value("cpi_yoy", "2010-01-20") - dec).abs() < 1e-12);
    // Without the series the view refuses to materialise rather than fill NULLs.
    let bare = Cache::open_in_memory().expect("open");
    bare.ingest_sample().expect("sample");
    let err = bare.materialize_view(&view).expect_err("no macro data");
    assert!(
        err.to_string().contains("treasury_yield_3month_daily"),
        "{err}"
    );
}

fn ingest_text(text: &str, dir: &Path, name: &str) -> Cache {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    let cache = Cache::open_in_memory().expect("open");
    let opts = FileOptions {
        resolution: Some(Resolution::Daily),
        source: Source::File,
        ..FileOptions::default()
    };
    cache.ingest_file(&path, &opts).expect("ingest");
    cache
}

/// Every daily view: materialised on all the data and on the data cut at `cut`, the values at
/// or before the cut are identical (NaN where both are undefined).
#[test]
fn every_view_is_point_in_time() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = sample_csv(dir.path());
    let full = ingest_text(&text, dir.path(), "full.csv");
    for cut in ["2004-08-19", "2008-06-30", "2012-05-18"] {
        let truncated_text: String = text
            .lines()
            .enumerate()
            .filter(|(i, l)| *i == 0 || l.split(',').nth(1).is_some_and(|d| d <= cut))
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let cut_cache = ingest_text(&truncated_text, dir.path(), "cut.csv");
        let cut_date = NaiveDate::parse_from_str(cut, "%Y-%m-%d").expect("date");
        let cut_ts = cut_date.and_hms_opt(0, 0, 0).expect("ts");
        // The economy as known at the cut: only observations released by then.
        store_macro(&full, None);
        store_macro(&cut_cache, Some(cut_date));
        for view in sextant_features::builtin()
            .into_iter()
            .filter(|v| v.resolution == Resolution::Daily)
        {
            full.materialize_view(&view).expect("materialise full");
            cut_cache.materialize_view(&view).expect("materialise cut");
            let a = full
                .feature_panel(&view.name, None, &[], None, Some(cut_ts))
                .expect("panel");
            let b = cut_cache
                .feature_panel(&view.name, None, &[], None, None)
                .expect("panel");
            assert_eq!(a.len(), b.len(), "{} rows up to {cut}", view.name);
            assert_eq!(a.symbols, b.symbols);
            assert_eq!(a.ts, b.ts);
            for (j, name) in a.features.iter().enumerate() {
                for i in 0..a.len() {
                    let (x, y) = (a.columns[j][i], b.columns[j][i]);
                    assert!(
                        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                        "{}.{name} at {} {} changed when the future after {cut} was removed: {x} vs {y}",
                        view.name,
                        a.symbols[i],
                        a.ts[i]
                    );
                }
            }
        }
    }
}

#[test]
fn a_changed_definition_is_a_new_version_and_the_old_stays_readable() {
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    let v1 = sextant_features::views::technical();
    let mut v2: FeatureView = v1.clone();
    v2.features[0].sql = "r1 * 2".into();
    assert_ne!(v1.version(), v2.version());
    assert_eq!(v1.version(), sextant_features::views::technical().version());
    let m1 = cache.materialize_view(&v1).expect("v1");
    let m2 = cache.materialize_view(&v2).expect("v2");
    let p1 = cache
        .feature_panel("technical", Some(&m1.version), &[], None, None)
        .expect("old version readable");
    let p2 = cache
        .feature_panel("technical", Some(&m2.version), &[], None, None)
        .expect("new version");
    let i = 100;
    assert_eq!(p2.columns[0][i], 2.0 * p1.columns[0][i]);
    let stored = cache
        .view_definition("technical", &m1.version)
        .expect("definition")
        .expect("stored");
    assert_eq!(stored, v1);
    assert_eq!(m1.data_snapshot, m2.data_snapshot);
    // Re-materialising the same version gives the same values (reproducible).
    cache.materialize_view(&v1).expect("again");
    let again = cache
        .feature_panel("technical", Some(&m1.version), &[], None, None)
        .expect("again");
    assert_eq!(format!("{:?}", again.columns), format!("{:?}", p1.columns));
}

#[test]
fn unknown_view_is_a_typed_error() {
    let cache = Cache::open_in_memory().expect("open");
    let e = cache
        .feature_panel("nope", None, &[], None, None)
        .expect_err("no such view");
    assert!(
        e.to_string().contains("sextant features materialize"),
        "{e}"
    );
}

#[test]
fn features_match_an_independent_computation() {
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    cache
        .materialize_view(&sextant_features::views::technical())
        .expect("materialise");
    let msft = Symbol::new("MSFT").expect("sym");
    let p = cache
        .feature_panel("technical", None, std::slice::from_ref(&msft), None, None)
        .expect("panel");
    let bars = cache
        .bars(&msft, Resolution::Daily, None, None)
        .expect("bars");
    assert_eq!(bars.len(), p.len());
    let adj: Vec<f64> = bars
        .iter()
        .map(|b| b.adj_close.unwrap_or(b.close))
        .collect();
    let col = |n: &str| p.features.iter().position(|f| f == n).expect("feature");
    let (r5, vol20, range) = (col("ret_5"), col("vol_20"), col("range"));
    for i in 25..bars.len() {
        let want = (adj[i] / adj[i - 5]).ln();
        assert!((p.columns[r5][i] - want).abs() < 1e-12, "ret_5 at {i}");
        let r: Vec<f64> = (i - 19..=i).map(|k| (adj[k] / adj[k - 1]).ln()).collect();
        let m = r.iter().sum::<f64>() / 20.0;
        let sd = (r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 19.0).sqrt();
        assert!((p.columns[vol20][i] - sd).abs() < 1e-12, "vol_20 at {i}");
        let b = &bars[i];
        let want_range = (b.high - b.low) / b.close;
        assert!(
            (p.columns[range][i] - want_range).abs() < 1e-12,
            "range at {i}"
        );
    }
    // Warm-up: undefined, not zero.
    assert!(p.columns[vol20][5].is_nan());
}

/// Held and rejected bars never reach a feature: every quarantined key of a corrupted ingest is
/// absent from the materialised panel, before and after the reviewer rejects it.
#[test]
fn quarantined_and_rejected_bars_never_reach_a_feature() {
    use sextant_data::cache::{Decision, QuarantineQuery};
    let dir = tempfile::tempdir().expect("tmp");
    let src = sextant_test_support::sample_file(dir.path());
    let out = dir.path().join("corrupt.csv");
    sextant_bench::quality::inject(&src, &out, 10, 11).expect("inject");
    let cache = Cache::open_in_memory().expect("open");
    cache
        .ingest_file(&out, &FileOptions::default())
        .expect("ingest");
    let (held, total) = cache
        .quarantined(&QuarantineQuery {
            limit: 1000,
            ..QuarantineQuery::default()
        })
        .expect("held");
    assert!(total >= 40, "{total} held");
    for b in held.iter().take(5) {
        cache
            .review(b.id, Decision::Reject, "test", Some("bad print"))
            .expect("reject");
    }
    cache
        .materialize_view(&sextant_features::views::technical())
        .expect("materialise");
    let p = cache
        .feature_panel("technical", None, &[], None, None)
        .expect("panel");
    let keys: std::collections::HashSet<(String, chrono::NaiveDateTime)> = p
        .symbols
        .iter()
        .cloned()
        .zip(p.ts.iter().copied())
        .collect();
    for b in &held {
        assert!(
            !keys.contains(&(b.symbol.clone(), b.ts)),
            "held bar {} {} ({}) reached the feature panel",
            b.symbol,
            b.ts,
            b.status
        );
    }
}

/// The intraday view too: one-minute bars of three symbols over five sessions, cut in the middle
/// of a session; every value up to the cut is unchanged, bit for bit.
#[test]
fn intraday_view_is_point_in_time() {
    use sextant_domain::Bar;
    use sextant_quality::QualityConfig;
    let day0 = NaiveDate::from_ymd_opt(2021, 3, 1).expect("date");
    let mut bars = Vec::new();
    for (k, sym) in ["AAA", "BBB", "CCC"].iter().enumerate() {
        let mut price = 50.0 + 10.0 * k as f64;
        for d in 0..5 {
            let day = day0 + chrono::Days::new(d);
            for m in 0..390u32 {
                // 09:30 New York (EST) is 14:30 UTC.
                let ts = day.and_hms_opt(14, 30, 0).expect("ts")
                    + chrono::Duration::minutes(i64::from(m));
                let step = (((m as usize * 7919 + k * 104_729 + d as usize * 31) % 201) as f64
                    - 100.0)
                    / 20_000.0;
                let open = price;
                price *= 1.0 + step;
                bars.push(Bar {
                    symbol: Symbol::new(sym).expect("sym"),
                    resolution: Resolution::Min1,
                    ts,
                    tz: "America/New_York".into(),
                    open,
                    high: open.max(price) * 1.0005,
                    low: open.min(price) * 0.9995,
                    close: price,
                    volume: 1000.0 + f64::from((m * 37 + k as u32 * 11) % 500),
                    adj_close: None,
                    dividend: 0.0,
                    split_coefficient: 1.0,
                    source: Source::File,
                    ingested_at: chrono::Utc::now(),
                });
            }
        }
    }
    let cut = day0.and_hms_opt(0, 0, 0).expect("t")
        + chrono::Duration::days(2)
        + chrono::Duration::hours(17);
    let load = |rows: Vec<Bar>| {
        let cache = Cache::open_in_memory()
            .expect("open")
            .with_quality(QualityConfig {
                enabled: false,
                ..QualityConfig::default()
            });
        cache
            .ingest_bars(&rows, Source::File, "test")
            .expect("ingest");
        cache
            .materialize_view(&sextant_features::views::technical_intraday())
            .expect("materialise");
        cache
    };
    let full = load(bars.clone());
    let part = load(bars.into_iter().filter(|b| b.ts <= cut).collect());
    let a = full
        .feature_panel("technical_1min", None, &[], None, Some(cut))
        .expect("panel");
    let b = part
        .feature_panel("technical_1min", None, &[], None, None)
        .expect("panel");
    assert_eq!((a.len(), &a.ts, &a.symbols), (b.len(), &b.ts, &b.symbols));
    assert!(a.len() > 2000);
    for j in 0..a.features.len() {
        for i in 0..a.len() {
            let (x, y) = (a.columns[j][i], b.columns[j][i]);
            assert!(
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                "{} at {} {}: {x} vs {y}",
                a.features[j],
                a.symbols[i],
                a.ts[i]
            );
        }
    }
}
