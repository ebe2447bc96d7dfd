//! The Rust kernels against DuckDB's window SQL (the reference): the same rows, every value
//! equal within 1e-9 (relative) or undefined in both, and the same data snapshot, on the real
//! bundled sample and on generated intraday data with the awkward cases (flat prices, zero
//! volume, splits and dividends, late listings, bars ingested out of order, a series shorter
//! than the windows).

use chrono::NaiveDate;
use sextant_data::Cache;
use sextant_domain::{Bar, Resolution, Source, Symbol};
use sextant_features::{Engine, FeatureStore, FeatureView};
use sextant_quality::QualityConfig;

/// Materialises `view` with both engines (kernels first, then SQL into a renamed copy of the
/// view so both tables exist) and compares every row.
fn assert_engines_agree(cache: &Cache, view: &FeatureView) -> usize {
    assert!(
        sextant_features::kernels::CompiledView::compile(view).is_some(),
        "{} must compile to kernels",
        view.name
    );
    let k = cache
        .materialize_view_with(view, Engine::Auto)
        .expect("kernels");
    let mut sql_view = view.clone();
    sql_view.name = format!("{}_sql", view.name);
    let s = cache
        .materialize_view_with(&sql_view, Engine::Sql)
        .expect("sql");
    assert_eq!(
        (k.rows, k.symbols),
        (s.rows, s.symbols),
        "row and symbol counts"
    );
    assert_eq!(k.data_snapshot, s.data_snapshot, "the data snapshot");
    let a = cache
        .feature_panel(&view.name, None, &[], None, None)
        .expect("kernel panel");
    let b = cache
        .feature_panel(&sql_view.name, None, &[], None, None)
        .expect("sql panel");
    assert_eq!(a.symbols, b.symbols);
    assert_eq!(a.ts, b.ts);
    let mut defined = 0;
    for (j, name) in a.features.iter().enumerate() {
        for i in 0..a.len() {
            let (x, y) = (a.columns[j][i], b.columns[j][i]);
            if x.is_nan() || y.is_nan() {
                assert!(
                    x.is_nan() && y.is_nan(),
                    "{name} at {} {}: kernel {x}, SQL {y}",
                    a.symbols[i],
                    a.ts[i]
                );
                continue;
            }
            defined += 1;
            assert!(
                (x - y).abs() <= 1e-9 * y.abs().max(1e-3),
                "{name} at {} {}: kernel {x}, SQL {y}",
                a.symbols[i],
                a.ts[i]
            );
        }
    }
    defined
}

#[test]
fn kernels_equal_sql_on_the_bundled_sample() {
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    let defined = assert_engines_agree(&cache, &sextant_features::views::technical());
    assert!(defined > 100_000, "{defined} defined values compared");
}

fn bar(sym: &str, ts: chrono::NaiveDateTime, close: f64, volume: f64) -> Bar {
    Bar {
        symbol: Symbol::new(sym).expect("sym"),
        resolution: Resolution::Min1,
        ts,
        tz: "America/New_York".into(),
        open: close * 0.999,
        high: close * 1.002,
        low: close * 0.997,
        close,
        volume,
        adj_close: None,
        dividend: 0.0,
        split_coefficient: 1.0,
        source: Source::File,
        ingested_at: chrono::Utc::now(),
    }
}

#[test]
fn kernels_equal_sql_on_awkward_intraday_data() {
    let day0 = NaiveDate::from_ymd_opt(2021, 3, 1).expect("date");
    let minute = |d: u64, m: u32| {
        (day0 + chrono::Days::new(d))
            .and_hms_opt(14, 30, 0)
            .expect("ts")
            + chrono::Duration::minutes(i64::from(m))
    };
    let mut bars = Vec::new();
    for d in 0..4 {
        for m in 0..390u32 {
            let i = d as u32 * 390 + m;
            let wave = ((i * 7919 % 211) as f64 - 105.0) / 10_000.0;
            // A trending series with a 2:1 split on day 2 and a dividend on day 3.
            let mut b = bar(
                "TREND",
                minute(d, m),
                100.0 * (1.0 + wave) + f64::from(i) * 0.01,
                1e6 + f64::from(i % 17) * 1e4,
            );
            if d >= 2 {
                b.close /= 2.0;
                b.open /= 2.0;
                b.high /= 2.0;
                b.low /= 2.0;
                b.volume *= 2.0;
            }
            if d == 2 && m == 0 {
                b.split_coefficient = 2.0;
            }
            if d == 3 && m == 0 {
                b.dividend = 0.25;
            }
            bars.push(b);
            // Flat prices and zero volume for a stretch (RSI 50, volume z undefined).
            let flat = if (100..200).contains(&m) {
                20.0
            } else {
                20.0 * (1.0 + wave)
            };
            let vol = if (100..200).contains(&m) {
                0.0
            } else {
                5e3 + f64::from(i % 13)
            };
            bars.push(bar("FLAT", minute(d, m), flat, vol));
            // Listed on day 1 only: ranks over two, then three symbols.
            if d >= 1 {
                bars.push(bar(
                    "LATE",
                    minute(d, m),
                    50.0 * (1.0 - wave),
                    2e4 + f64::from(i % 7),
                ));
            }
        }
    }
    // A series shorter than the longest window.
    for m in 0..30 {
        bars.push(bar(
            "SHORT",
            minute(0, m),
            10.0 + f64::from(m) * 0.01,
            100.0,
        ));
    }
    let cache = Cache::open_in_memory()
        .expect("open")
        .with_quality(QualityConfig {
            enabled: false,
            ..QualityConfig::default()
        });
    // Out of order: the later half first, so storage order is not time order.
    let (early, late): (Vec<Bar>, Vec<Bar>) = bars.into_iter().partition(|b| b.ts < minute(2, 0));
    cache
        .ingest_bars(&late, Source::File, "late")
        .expect("ingest late");
    cache
        .ingest_bars(&early, Source::File, "early")
        .expect("ingest early");
    let defined = assert_engines_agree(&cache, &sextant_features::views::technical_intraday());
    assert!(defined > 50_000, "{defined} defined values compared");
}

#[test]
fn a_user_expression_is_computed_by_duckdb() {
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    let mut view = sextant_features::views::technical();
    view.name = "custom".into();
    view.features[0].sql = "r1 * 2".into();
    assert!(sextant_features::kernels::CompiledView::compile(&view).is_none());
    let mv = cache.materialize_view(&view).expect("materialise");
    let p = cache
        .feature_panel("custom", Some(&mv.version), &[], None, None)
        .expect("panel");
    let t = cache
        .materialize_view(&sextant_features::views::technical())
        .expect("technical");
    let q = cache
        .feature_panel("technical", Some(&t.version), &[], None, None)
        .expect("panel");
    for i in 0..p.len() {
        let (x, y) = (p.columns[0][i], q.columns[0][i]);
        assert!(x.is_nan() && y.is_nan() || (x - 2.0 * y).abs() < 1e-12);
    }
}

#[test]
fn the_parallel_write_leaves_nothing_behind() {
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    cache
        .materialize_view(&sextant_features::views::technical())
        .expect("materialise");
    let conn = cache.conn();
    let preserve: bool = conn
        .query_row(
            "SELECT current_setting('preserve_insertion_order')",
            [],
            |r| r.get(0),
        )
        .expect("setting");
    assert!(preserve, "insertion order is relaxed for the insert only");
    // Naming the table function (as a user's SQL could) with a token no write holds finds
    // nothing and fails cleanly (tokens start at 1; other tests may be writing meanwhile).
    for token in [0u64, u64::MAX] {
        let err = conn
            .query_row(
                &format!("SELECT count(*) FROM sextant_feature_rows({token}::UBIGINT)"),
                [],
                |r| r.get::<_, i64>(0),
            )
            .expect_err("no parked rows");
        assert!(err.to_string().contains("no rows are parked"), "{err}");
    }
}
