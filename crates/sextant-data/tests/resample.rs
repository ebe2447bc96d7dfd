//! Weekly and monthly bars from the cache's resampler equal an independent computation on the
//! daily bars: a different DuckDB database reading the raw sample file, grouping by ISO year-week
//! (`strftime('%G-%V')`) or year-month and using window functions instead of arg_min/arg_max.

use sextant_data::Cache;
use sextant_domain::{Resolution, Symbol};

const INDEPENDENT: &str = r#"
WITH d AS (
  SELECT Ticker AS symbol, CAST(Date AS DATE) AS day, Open, High, Low, Close, Volume
  FROM read_csv('{path}', header = true) WHERE Ticker = '{sym}'),
g AS (SELECT *, {key} AS k FROM d),
w AS (
  SELECT k, day,
    first_value(Open) OVER (PARTITION BY k ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS o,
    last_value(Close) OVER (PARTITION BY k ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS c,
    max(High) OVER (PARTITION BY k) AS h, min(Low) OVER (PARTITION BY k) AS l,
    sum(Volume) OVER (PARTITION BY k) AS v,
    max(day) OVER (PARTITION BY k) AS last_day
  FROM g)
SELECT DISTINCT last_day, o, h, l, c, v FROM w ORDER BY last_day
"#;

fn independent(sym: &str, key: &str) -> Vec<(chrono::NaiveDate, [f64; 5])> {
    let path = &format!(
        "{}/../../data/sample/us-equities-daily-2000-2013.csv.gz",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    );
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    let sql = INDEPENDENT
        .replace("{path}", path)
        .replace("{sym}", sym)
        .replace("{key}", key);
    let mut stmt = conn.prepare(&sql).expect("prepare");
    stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            [
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, f64>(5)?,
            ],
        ))
    })
    .expect("query")
    .collect::<Result<Vec<_>, _>>()
    .expect("rows")
}

fn check(cache: &Cache, sym: &str, res: Resolution, key: &str) {
    let symbol = Symbol::new(sym).expect("sym");
    let ours = cache.bars(&symbol, res, None, None).expect("bars");
    let theirs = independent(sym, key);
    assert_eq!(ours.len(), theirs.len(), "{sym} {res}: bar count");
    for (b, (day, v)) in ours.iter().zip(&theirs) {
        assert_eq!(b.ts.date(), *day, "{sym} {res}: label");
        assert_eq!(
            [b.open, b.high, b.low, b.close, b.volume],
            *v,
            "{sym} {res} {day}"
        );
    }
}

#[test]
fn weekly_and_monthly_match_independent_sql() {
    let cache = Cache::open_in_memory().expect("open");
    cache.ingest_sample().expect("sample");
    for sym in ["AAPL", "MSFT", "GOOG", "FB"] {
        // Derived on the fly (nothing weekly/monthly is stored yet) ...
        check(&cache, sym, Resolution::Weekly, "strftime(day, '%G-%V')");
        check(&cache, sym, Resolution::Monthly, "strftime(day, '%Y-%m')");
    }
    // ... and materialised, which must give the same bars and be idempotent.
    let msft = Symbol::new("MSFT").expect("sym");
    let first = cache
        .resample(&msft, Resolution::Daily, Resolution::Weekly)
        .expect("resample");
    assert_eq!(first.inserted, first.rows_in);
    let again = cache
        .resample(&msft, Resolution::Daily, Resolution::Weekly)
        .expect("resample");
    assert_eq!((again.inserted, again.updated), (0, 0));
    check(&cache, "MSFT", Resolution::Weekly, "strftime(day, '%G-%V')");
    assert!(cache
        .resample(&msft, Resolution::Weekly, Resolution::Daily)
        .is_err());
}

#[test]
fn intraday_to_hourly_and_daily_keeps_sessions() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("m.csv");
    // Two sessions of 5-minute bars around the 2024 DST switch (Mar 8 EST, Mar 11 EDT).
    let mut csv = String::from("Datetime,Open,High,Low,Close,Volume\n");
    for day in ["2024-03-08", "2024-03-11"] {
        for i in 0..78 {
            let mins = 9 * 60 + 30 + 5 * i;
            let p = 100.0 + f64::from(i);
            csv.push_str(&format!(
                "{day} {:02}:{:02}:00,{p},{},{},{},{}\n",
                mins / 60,
                mins % 60,
                p + 1.0,
                p - 1.0,
                p + 0.5,
                10 * (i + 1)
            ));
        }
    }
    std::fs::write(&path, csv).expect("write");
    let cache = Cache::open_in_memory().expect("open");
    let opts = sextant_data::cache::FileOptions {
        symbol: Some(Symbol::new("TEST").expect("sym")),
        ..Default::default()
    };
    let s = cache.ingest_file(&path, &opts).expect("ingest");
    assert_eq!(s.series[0].resolution, Resolution::Min5);
    let sym = Symbol::new("TEST").expect("sym");
    let bars = cache
        .bars(&sym, Resolution::Min5, None, None)
        .expect("bars");
    // 09:30 New York is 14:30 UTC in winter and 13:30 UTC in summer time.
    assert_eq!(bars[0].ts.to_string(), "2024-03-08 14:30:00");
    assert_eq!(bars[78].ts.to_string(), "2024-03-11 13:30:00");
    let daily = cache
        .bars(&sym, Resolution::Daily, None, None)
        .expect("daily");
    assert_eq!(daily.len(), 2);
    assert_eq!(daily[0].open, 100.0);
    assert_eq!(daily[0].close, 177.5);
    assert_eq!(
        daily[0].volume,
        (1..=78).map(|i| 10.0 * f64::from(i)).sum::<f64>()
    );
    let hourly = cache
        .bars(&sym, Resolution::Min60, None, None)
        .expect("hourly");
    // 09:30-16:00 spans the clock hours 9..15: 7 buckets a session, the first one half an hour.
    assert_eq!(hourly.len(), 14);
    assert_eq!(hourly[0].open, 100.0);
    assert_eq!(hourly[0].close, 105.5);
}
