//! Feature-materialisation benchmark (the sextant side; `scripts/bench-features` runs it and then
//! `scripts/bench/features_polars.py` and `features_pandas.py` on the same files).
//!
//! 1. The bundled daily sample into a fresh on-disk cache, `technical()` materialised (best of 3)
//!    by the Rust kernels (the default engine) and by DuckDB's window SQL (the reference).
//! 2. A generated N-row 1-minute file (10 symbols, exchange sessions only, a random walk) into
//!    another fresh cache, `technical_intraday()` materialised the same two ways (best of 3 up to
//!    2M rows, else once). A materialisation is durable: computed, written and committed, with
//!    the data snapshot hashed.
//!
//! Writes into `--out DIR`: the input CSVs (`daily.csv.gz`, `intraday.csv`), the Rust panels
//! (`rust_daily.csv`, all rows; `rust_intraday_sample.csv`, 1% of the rows plus each symbol's first
//! 60 rows for the warm-up edges) and `rust_results.jsonl` (one JSON line per measurement, also
//! printed). Ingest runs with the quality checks off and is not part of the measured time.
//!
//! `cargo run --release -p sextant-data --example bench_features -- --rows 10000000 --out DIR`

use sextant_data::cache::{FileOptions, Slice};
use sextant_data::Cache;
use sextant_domain::Resolution;
use sextant_features::views::{technical, technical_intraday};
use sextant_features::{Engine, FeatureStore};
use sextant_features::{FeaturePanel, FeatureView};
use sextant_quality::QualityConfig;
use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn Error>>;

struct Args {
    rows: u64,
    out: PathBuf,
}

fn parse_args() -> Res<Args> {
    let mut rows = 10_000_000u64;
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rows" => {
                let v = it.next().ok_or("--rows needs a value")?;
                rows = v.replace('_', "").parse()?;
            }
            "--out" => out = Some(PathBuf::from(it.next().ok_or("--out needs a value")?)),
            "-h" | "--help" => {
                println!("bench_features [--rows N (default 10000000)] --out DIR");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    if rows == 0 {
        return Err("--rows must be positive".into());
    }
    Ok(Args { rows, out })
}

fn main() -> Res<()> {
    sextant_data::process::tune_allocator();
    let args = parse_args()?;
    // RUST_LOG=sextant_features=debug shows where a materialisation spends its time.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    std::fs::create_dir_all(&args.out)?;
    let results = args.out.join("rust_results.jsonl");
    let mut log = std::fs::File::create(&results)?;
    let no_checks = QualityConfig {
        enabled: false,
        ..Default::default()
    };

    // 1. Daily: the bundled sample.
    let daily = args.out.join("daily.csv.gz");
    std::fs::write(&daily, sextant_data::providers::sample::BYTES)?;
    let path = args.out.join("daily.duckdb");
    remove_db(&path)?;
    let cache = Cache::open(&path)?.with_quality(no_checks.clone());
    let s = cache.ingest_file(&daily, &FileOptions::default())?;
    println!(
        "daily: ingested {} rows from {}",
        s.rows_in,
        daily.display()
    );
    let view = technical();
    measure(&cache, &view, Engine::Sql, Resolution::Daily, 3, &mut log)?;
    measure(&cache, &view, Engine::Auto, Resolution::Daily, 3, &mut log)?;
    let panel = cache.feature_panel(&view.name, Some(&view.version()), &[], None, None)?;
    let n = write_panel(&panel, &args.out.join("rust_daily.csv"), |_, _| true)?;
    println!("daily: wrote {n} panel rows to rust_daily.csv");
    drop(panel);
    drop(cache);
    remove_db(&path)?;

    // 2. Intraday: a generated 1-minute file.
    let intraday = args.out.join("intraday.csv");
    let t = Instant::now();
    generate_intraday(&intraday, args.rows)?;
    println!(
        "intraday: generated {} rows ({:.0} MB) in {:.1} s",
        args.rows,
        std::fs::metadata(&intraday)?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let path = args.out.join("intraday.duckdb");
    remove_db(&path)?;
    let cache = Cache::open(&path)?.with_quality(no_checks);
    let t = Instant::now();
    let s = cache.ingest_file(&intraday, &FileOptions::default())?;
    println!(
        "intraday: ingested {} rows in {:.1} s (not measured)",
        s.rows_in,
        t.elapsed().as_secs_f64()
    );
    let view = technical_intraday();
    let repeats = if args.rows <= 2_000_000 { 3 } else { 1 };
    measure(
        &cache,
        &view,
        Engine::Sql,
        Resolution::Min1,
        repeats,
        &mut log,
    )?;
    measure(
        &cache,
        &view,
        Engine::Auto,
        Resolution::Min1,
        repeats,
        &mut log,
    )?;
    let panel = cache.feature_panel(&view.name, Some(&view.version()), &[], None, None)?;
    // Each symbol's first 60 rows (warm-up edges) and a deterministic pseudo-random 1%.
    let n = write_panel(
        &panel,
        &args.out.join("rust_intraday_sample.csv"),
        |i, k| k < 60 || (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32 < (1u64 << 32) / 100,
    )?;
    println!(
        "intraday: wrote {n} of {} panel rows to rust_intraday_sample.csv",
        panel.len()
    );
    drop(panel);
    drop(cache);
    remove_db(&path)?;
    println!("results in {}", results.display());
    Ok(())
}

fn remove_db(path: &Path) -> Res<()> {
    for p in [path.to_path_buf(), path.with_extension("duckdb.wal")] {
        if p.exists() {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Materialises `view` with `engine` `repeats` times and reports the best; also times the
/// data-snapshot hash as DuckDB computes it (the SQL engine's share; the kernels hash the rows
/// they read on a second core).
fn measure(
    cache: &Cache,
    view: &FeatureView,
    engine: Engine,
    res: Resolution,
    repeats: usize,
    log: &mut std::fs::File,
) -> Res<()> {
    let mut best = f64::INFINITY;
    let mut rows = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        let mv = cache.materialize_view_with(view, engine)?;
        best = best.min(t.elapsed().as_secs_f64());
        rows = mv.rows;
    }
    let t = Instant::now();
    std::hint::black_box(cache.snapshot_hash(&Slice {
        resolution: Some(res),
        ..Slice::default()
    })?);
    let hash_s = t.elapsed().as_secs_f64();
    if engine == Engine::Auto {
        if let Some(p) = sextant_features::kernels::profile(cache, view)? {
            println!(
                "kernels    in memory   {:<16} {:>10} rows: compute {:.3} s = {:.0} rows/s (read {:.3} s, snapshot hash {:.3} s, not included)",
                view.name,
                p.rows,
                p.compute_seconds,
                p.rows as f64 / p.compute_seconds,
                p.read_seconds,
                p.hash_seconds
            );
            let line = serde_json::json!({
                "engine": "kernels_in_memory",
                "view": view.name,
                "rows": p.rows,
                "seconds": p.compute_seconds,
                "repeats": 1,
                "rows_per_s": p.rows as f64 / p.compute_seconds,
                "read_seconds": p.read_seconds,
                "snapshot_hash_seconds": p.hash_seconds,
            })
            .to_string();
            println!("{line}");
            writeln!(log, "{line}")?;
        }
    }
    let label = match engine {
        Engine::Auto => "kernels",
        Engine::Sql => "duckdb_sql",
    };
    println!(
        "{label:<10} materialise {:<16} {rows:>10} rows in {best:>8.3} s = {:>12.0} rows/s (best of {repeats}; DuckDB's snapshot hash alone {hash_s:.3} s)",
        view.name,
        rows as f64 / best
    );
    let line = serde_json::json!({
        "engine": label,
        "view": view.name,
        "rows": rows,
        "seconds": best,
        "repeats": repeats,
        "rows_per_s": rows as f64 / best,
        "snapshot_hash_seconds": hash_s,
    })
    .to_string();
    println!("{line}");
    writeln!(log, "{line}")?;
    Ok(())
}

/// Writes the panel rows `keep(row, row_within_symbol)` selects as CSV: symbol, ts (UTC), then
/// every feature (shortest round-trip decimal, `NaN` where undefined).
fn write_panel(p: &FeaturePanel, path: &Path, keep: impl Fn(usize, usize) -> bool) -> Res<u64> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    write!(w, "symbol,ts")?;
    for f in &p.features {
        write!(w, ",{f}")?;
    }
    writeln!(w)?;
    let (mut n, mut k) = (0u64, 0usize);
    for i in 0..p.len() {
        k = if i > 0 && p.symbols[i] == p.symbols[i - 1] {
            k + 1
        } else {
            0
        };
        if !keep(i, k) {
            continue;
        }
        write!(
            w,
            "{},{}",
            p.symbols[i],
            p.ts[i].format("%Y-%m-%d %H:%M:%S")
        )?;
        for c in &p.columns {
            write!(w, ",{}", c[i])?;
        }
        writeln!(w)?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}

/// Writes `rows` one-minute bars: 10 symbols, 390 regular-session bars (09:30-15:59 exchange
/// time) on every weekday that is not an exchange holiday from 2020-01-02, in (symbol, time)
/// order. The close is a geometric random walk (a window sum of hash-based log increments of up
/// to ±0.1%), the open the previous close with a little jitter, high ≥ max(open, close),
/// low ≤ min(open, close). DuckDB itself writes the file, so generation is fast.
fn generate_intraday(path: &Path, rows: u64) -> Res<()> {
    let conn = duckdb::Connection::open_in_memory()?;
    let holidays = (2020..2060)
        .flat_map(sextant_quality::calendar::holidays)
        .map(|d| format!("DATE '{d}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let days = rows.div_ceil(10 * 390);
    let lit = path.to_string_lossy().replace('\'', "''");
    conn.execute_batch(&format!(
        "COPY (
           WITH days AS (
             SELECT d::DATE AS d FROM range(DATE '2020-01-02', DATE '2020-01-02' + INTERVAL ({days} * 2) DAY, INTERVAL 1 DAY) t(d)
             WHERE dayofweek(d) BETWEEN 1 AND 5 AND d::DATE NOT IN ({holidays}) ORDER BY d LIMIT {days}),
           syms AS (SELECT 'SYM' || lpad(i::VARCHAR, 2, '0') AS s, i FROM range(10) t(i)),
           mins AS (SELECT m FROM range(390) t(m)),
           steps AS (
             SELECT s, i, d + INTERVAL 570 MINUTE + to_minutes(m) AS t,
                    ((hash(s, d, m) % 2001)::DOUBLE - 1000) / 1e6 AS dr,
                    ((hash(d, m, s) % 1001)::DOUBLE - 500) / 5e5 * 3e-4 AS dj,
                    (hash(m, s, d) % 1000)::DOUBLE / 1e3 * 2e-3 AS up,
                    (hash(m, d, s) % 1000)::DOUBLE / 1e3 * 2e-3 AS down,
                    1000 + hash(s, m, d) % 5000 AS vol
             FROM syms, days, mins),
           walk AS (
             SELECT *, ln(50 + 10 * i) + sum(dr) OVER (PARTITION BY s ORDER BY t ROWS UNBOUNDED PRECEDING) AS lc
             FROM steps),
           px AS (SELECT s, t, vol, up, down, exp(lc) AS c, exp(lc - dr + dj) AS o FROM walk)
           SELECT s AS Ticker, strftime(t, '%Y-%m-%d %H:%M:%S') AS Datetime,
                  round(o, 4) AS Open, round(greatest(o, c) * (1 + up), 4) AS High,
                  round(least(o, c) * (1 - down), 4) AS Low, round(c, 4) AS Close, vol AS Volume
           FROM px ORDER BY Ticker, Datetime LIMIT {rows}
         ) TO '{lit}' (HEADER, DELIMITER ',')"
    ))?;
    Ok(())
}
