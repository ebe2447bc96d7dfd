//! `sextant bench`: throughput and latency figures measured on this machine (never a timed test).

use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use sextant_data::cache::{CsvReader, FileOptions};
use sextant_data::Cache;
use sextant_domain::{Resolution, Symbol};
use sextant_quality::QualityConfig;
use std::path::Path;
use std::time::Instant;

#[derive(Args)]
pub struct BenchArgs {
    /// Rows in the generated intraday file.
    #[arg(long, default_value_t = 1_000_000)]
    intraday_rows: u64,
    /// Query repetitions for the latency figures.
    #[arg(long, default_value_t = 500)]
    queries: usize,
    /// Run only the regimes benchmark, on this many generated symbols × 20 years.
    #[arg(long)]
    regimes: Option<usize>,
    /// Symbols whose regime features are written for the hmmlearn peer (with `--regimes`).
    #[arg(long, default_value_t = 20)]
    regimes_peer: usize,
    /// Run only the forecasts benchmark: a 20-asset portfolio, 10,000 paths x 250 days (the
    /// returns and holdings are written for the arch + numpy peer).
    #[arg(long)]
    forecasts: bool,
    /// Run only the tuning benchmark (samplers against Optuna's on test functions and the
    /// SMA cross on the bundled GOOG; sampler overhead; trials/s); writes `sextant.json`.
    #[arg(long)]
    tuning: bool,
    /// Seeds per sampler and study (with `--tuning`).
    #[arg(long, default_value_t = 20)]
    tuning_seeds: u64,
    /// Trials per study (with `--tuning`).
    #[arg(long, default_value_t = 100)]
    tuning_trials: u32,
    /// Run only the cross-sectional benchmark on this many generated symbols × 20 years
    /// (top-k backtests, factor evaluation; panels written for the alphalens peer).
    #[arg(long)]
    xsection: Option<usize>,
    /// Run only the model-operations benchmark (drift report, random entries, paired
    /// bootstrap; inputs written for the Evidently and numpy/scipy peers).
    #[arg(long)]
    mlops: bool,
    /// Run only the file-ingest figures (the generated 1-minute file is kept in `--dir` for
    /// the Polars and DuckDB peers of `scripts/bench-ingest`).
    #[arg(long)]
    ingest: bool,
    /// Only write the generated universe of `scripts/bench-scale` (Parquet shards) into `--dir`.
    #[arg(long, requires = "dir")]
    scale_generate: bool,
    /// Symbols with 20 years of daily bars (with `--scale-generate`).
    #[arg(long, default_value_t = 10_000)]
    scale_daily_symbols: u64,
    /// Symbols with 5 years of 1-minute bars (with `--scale-generate`).
    #[arg(long, default_value_t = 100)]
    scale_intraday_symbols: u64,
    /// Keep the benchmark's files in this directory (default: a temporary one).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

pub async fn run(args: BenchArgs) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    if args.forecasts {
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        std::fs::create_dir_all(&dir)?;
        return crate::bench_forecasts::run(&dir);
    }
    if args.mlops {
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        return crate::bench_mlops::run(&dir);
    }
    if args.tuning {
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        std::fs::create_dir_all(&dir)?;
        return crate::bench_tuning::run_bench(&dir, args.tuning_seeds, args.tuning_trials);
    }
    if let Some(n) = args.xsection {
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        std::fs::create_dir_all(&dir)?;
        return crate::bench_xsection::run(&dir, n).await;
    }
    if let Some(n) = args.regimes {
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        std::fs::create_dir_all(&dir)?;
        return crate::bench_regimes::run(&dir, n, args.regimes_peer).await;
    }
    if args.scale_generate {
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        std::fs::create_dir_all(&dir)?;
        let spec = crate::bench_scale::ScaleSpec {
            daily_symbols: args.scale_daily_symbols,
            daily_years: 20,
            intraday_symbols: args.scale_intraday_symbols,
            intraday_years: 5,
            shard_symbols: 1000,
        };
        let t = Instant::now();
        let (daily, intraday) = crate::bench_scale::generate(&dir, &spec)?;
        println!(
            "generated {daily} daily and {intraday} 1-minute bars in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if args.ingest {
        let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
        std::fs::create_dir_all(&dir)?;
        let sample = dir.join(sextant_data::providers::sample::FILE_NAME);
        std::fs::write(&sample, sextant_data::providers::sample::BYTES)?;
        let intraday = dir.join("intraday.csv");
        generate_intraday(&intraday, args.intraday_rows)?;
        let secs = quality_throughput(&dir, &sample, &intraday)?;
        return ingest_sums(&dir, &intraday, secs);
    }
    let dir = tmp;
    println!("sextant bench (cache files in {})", dir.path().display());

    // 1. The bundled file, into a fresh on-disk cache.
    let sample = dir.path().join(sextant_data::providers::sample::FILE_NAME);
    std::fs::write(&sample, sextant_data::providers::sample::BYTES)?;
    let cache = Cache::open(&dir.path().join("bench.duckdb"))?;
    let t = Instant::now();
    let s = cache.ingest_file(&sample, &FileOptions::default())?;
    report(
        "ingest bundled file (csv.gz, daily)",
        s.rows_in,
        t.elapsed().as_secs_f64(),
    );
    let t = Instant::now();
    let s2 = cache.ingest_file(&sample, &FileOptions::default())?;
    report(
        "re-ingest same file (all unchanged)",
        s2.rows_in,
        t.elapsed().as_secs_f64(),
    );

    // 2. A generated intraday file.
    let intraday = dir.path().join("intraday.csv");
    generate_intraday(&intraday, args.intraday_rows)?;
    let size = std::fs::metadata(&intraday)?.len();
    let t = Instant::now();
    let s = cache.ingest_file(&intraday, &FileOptions::default())?;
    report(
        &format!(
            "ingest generated 1min file ({:.0} MB csv)",
            size as f64 / 1e6
        ),
        s.rows_in,
        t.elapsed().as_secs_f64(),
    );
    println!(
        "{:<48} {} flags, {} quarantined, {} gaps",
        "  quality checks on the generated file", s.quality.flags, s.quarantined, s.quality.gaps
    );
    quality_throughput(dir.path(), &sample, &intraday)?;
    quality_benchmark(dir.path(), &sample)?;
    crate::bench_ml::run(dir.path(), args.queries).await?;

    // 3. Warm query latency: 10 years of one symbol's daily bars.
    let msft = Symbol::new("MSFT")?;
    let (from, to) = (
        NaiveDate::from_ymd_opt(2003, 1, 1),
        NaiveDate::from_ymd_opt(2012, 12, 31),
    );
    let n = cache.bars(&msft, Resolution::Daily, from, to)?.len();
    let mut lat = Vec::with_capacity(args.queries);
    for _ in 0..args.queries {
        let t = Instant::now();
        let bars = cache.bars(&msft, Resolution::Daily, from, to)?;
        lat.push(t.elapsed().as_secs_f64() * 1e6);
        std::hint::black_box(bars);
    }
    latency(
        &format!("warm query, MSFT daily 2003-2012 ({n} bars)"),
        lat,
        "queries",
    );
    Ok(())
}

/// Prints p50, p99 and max of latencies in microseconds.
pub(crate) fn latency(what: &str, mut lat: Vec<f64>, unit: &str) {
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{what:<48} p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} {unit})",
        pct(0.5),
        pct(0.99),
        pct(1.0),
        lat.len()
    );
}

/// Ingest throughput with the quality checks on and off (and off through DuckDB's `read_csv`,
/// the reader the fast one replaces), each into a fresh cache (best of 3); returns the
/// generated file's best times, checks on and off.
fn quality_throughput(dir: &Path, sample: &Path, intraday: &Path) -> Result<[f64; 2]> {
    let mut last = [f64::NAN; 2];
    let variants = [
        (true, CsvReader::Auto),
        (false, CsvReader::Auto),
        (false, CsvReader::DuckDb),
    ];
    for (name, file) in [("bundled daily", sample), ("generated 1min", intraday)] {
        let mut best = [f64::INFINITY; 3];
        // The close of the best round, for the report.
        let mut close = [f64::NAN; 3];
        let mut rows = 0;
        for round in 0..3 {
            for (k, (enabled, reader)) in variants.into_iter().enumerate() {
                let path = dir.join(format!("q-{round}-{k}-{}.duckdb", name.len()));
                let quality = QualityConfig {
                    enabled,
                    ..QualityConfig::default()
                };
                let cache = Cache::open(&path)?.with_quality(quality);
                let opts = FileOptions {
                    reader,
                    ..FileOptions::default()
                };
                let t = Instant::now();
                let s = cache.ingest_file(file, &opts)?;
                // Closing included: DuckDB checkpoints on close, and the DuckDB peer's time
                // (scripts/bench/ingest_peers.py) includes its close too.
                let committed = t.elapsed().as_secs_f64();
                drop(cache);
                let total = t.elapsed().as_secs_f64();
                if total < best[k] {
                    best[k] = total;
                    close[k] = total - committed;
                }
                rows = s.rows_in;
                std::fs::remove_file(&path)?;
            }
        }
        report(&format!("ingest {name}, checks on"), rows, best[0]);
        report(&format!("ingest {name}, checks off"), rows, best[1]);
        report(
            &format!("ingest {name}, checks off, DuckDB read_csv"),
            rows,
            best[2],
        );
        println!(
            "{:<48} {:.3} s on, {:.3} s off (included above)",
            "  of which closing the cache (DuckDB checkpoint)", close[0], close[1]
        );
        // Issue 22's goal: ≥ 1M rows/s with the checks off and ≥ 0.6 of that with them on,
        // which reads both as 0.6 of the 1M rows/s goal and as 0.6 of the checks-off rate;
        // both are printed.
        let per_s = |secs: f64| rows as f64 / secs;
        println!(
            "{:<48} {:.2} on, {:.2} off (goals ≥ 0.6 and ≥ 1, issue 22)",
            "  throughput / 1M rows/s",
            per_s(best[0]) / 1e6,
            per_s(best[1]) / 1e6
        );
        println!(
            "{:<48} {:.2} (goal ≥ 0.6, issue 22)",
            "  throughput with checks / without",
            best[1] / best[0]
        );
        last = [best[0], best[1]];
    }
    Ok(last)
}

/// Ingests `file` once more (checks on) and writes, per symbol, the stored rows and the sums of
/// close and volume to `dir/sextant-ingest.json` with the best times, for checking the peers' loads against.
fn ingest_sums(dir: &Path, file: &Path, secs: [f64; 2]) -> Result<()> {
    let path = dir.join("sums.duckdb");
    let cache = Cache::open(&path)?;
    cache.ingest_file(file, &FileOptions::default())?;
    let mut sums = Vec::new();
    for info in cache.symbols()? {
        let symbol = Symbol::new(&info.symbol)?;
        let bars = cache.bars(&symbol, Resolution::Min1, None, None)?;
        let close: f64 = bars.iter().map(|b| b.close).sum();
        let volume: f64 = bars.iter().map(|b| b.volume).sum();
        sums.push(serde_json::json!([info.symbol, bars.len(), close, volume]));
    }
    let out =
        serde_json::json!({"checks_on_secs": secs[0], "checks_off_secs": secs[1], "sums": sums});
    std::fs::write(dir.join("sextant-ingest.json"), serde_json::to_vec(&out)?)?;
    drop(cache);
    std::fs::remove_file(&path)?;
    Ok(())
}

/// Known corruptions injected into the real bundled data (25 of each kind, three seeds),
/// precision and recall per kind and overall, and the flag rate on the untouched data.
fn quality_benchmark(dir: &Path, sample: &Path) -> Result<()> {
    use sextant_bench::quality as bench;
    let clean = Cache::open_in_memory()?;
    let s = clean.ingest_file(sample, &FileOptions::default())?;
    let flagged: std::collections::HashSet<_> = clean
        .quality_flags(None, usize::MAX >> 1)?
        .into_iter()
        .map(|f| (f.symbol, f.ts))
        .collect();
    let splits = bench::REAL_SPLITS
        .iter()
        .filter(|(sym, (y, m, d))| {
            flagged
                .iter()
                .any(|(fs, ts)| fs == sym && NaiveDate::from_ymd_opt(*y, *m, *d) == Some(ts.date()))
        })
        .count();
    println!(
        "quality on the untouched real data: {} of {} bars flagged ({:.3}%), {} quarantined; real splits flagged: {splits} of {}",
        flagged.len(),
        s.rows_in,
        100.0 * flagged.len() as f64 / s.rows_in as f64,
        s.quarantined,
        bench::REAL_SPLITS.len()
    );
    for policy in sextant_quality::QualityPolicy::ALL {
        injected_faults(sample, dir, policy)?;
    }
    Ok(())
}

/// The injected-fault benchmark under one policy: detection (a flag of any severity, or a gap)
/// and what the policy held, per fault, structural faults first.
fn injected_faults(
    sample: &Path,
    dir: &Path,
    policy: sextant_quality::QualityPolicy,
) -> Result<()> {
    use sextant_bench::quality as bench;
    // fault -> (injected, detected, held)
    let mut per: std::collections::BTreeMap<String, (u64, u64, u64)> = Default::default();
    let (mut items, mut true_items, mut held_real) = (0, 0, 0);
    for seed in 1..=3u64 {
        let out = dir.join(format!("corrupt-{seed}.csv"));
        let truth = bench::inject(sample, &out, 25, seed)?;
        let (score, _) = bench::ingest_and_score_with(&out, &truth, policy)?;
        for (k, (n, d)) in &score.injected {
            let e = per.entry(k.clone()).or_default();
            e.0 += n;
            e.1 += d;
            e.2 += score.held.get(k).copied().unwrap_or(0);
        }
        items += score.items;
        true_items += score.true_items;
        held_real += score.held_real;
    }
    println!(
        "quality on injected faults, policy {} (3 seeds):",
        policy.as_str()
    );
    for structural in [true, false] {
        let (mut n_all, mut d_all) = (0, 0);
        for f in bench::Fault::ALL
            .iter()
            .filter(|f| f.is_structural() == structural)
        {
            let (n, d, h) = per.get(f.as_str()).copied().unwrap_or_default();
            n_all += n;
            d_all += d;
            println!(
                "  {:<11} {:<18} detected {:.3} ({d}/{n}), held {:.3} ({h}/{n})",
                if structural {
                    "structural"
                } else {
                    "statistical"
                },
                f.as_str(),
                d as f64 / n.max(1) as f64,
                h as f64 / n.max(1) as f64
            );
        }
        println!(
            "  {} recall {:.3} ({d_all}/{n_all}){}",
            if structural {
                "structural"
            } else {
                "statistical"
            },
            d_all as f64 / n_all.max(1) as f64,
            if structural { " (goal 0.95)" } else { "" }
        );
    }
    println!(
        "  precision {:.3} ({true_items}/{items}); untouched real bars held: {held_real}",
        true_items as f64 / items.max(1) as f64
    );
    Ok(())
}

pub(crate) fn report(what: &str, rows: u64, secs: f64) {
    println!(
        "{what:<48} {rows:>9} rows in {secs:>7.3} s = {:>12.0} rows/s",
        rows as f64 / secs
    );
}

/// Writes `rows` one-minute bars (10 symbols, 390 regular-session bars a day, sessions from
/// 2020-01-02) with a deterministic random walk, using DuckDB itself so generation is fast.
fn generate_intraday(path: &Path, rows: u64) -> Result<()> {
    let conn = duckdb::Connection::open_in_memory()?;
    // Exchange holidays are not sessions: leave them out, as a vendor would.
    let holidays = (2020..2040)
        .flat_map(sextant_quality::calendar::holidays)
        .map(|d| format!("DATE '{d}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let per_symbol_days = rows.div_ceil(10 * 390);
    let lit = path.to_string_lossy().replace('\'', "''");
    conn.execute_batch(&format!(
        "COPY (
           WITH days AS (
             SELECT d::DATE AS d FROM range(DATE '2020-01-02', DATE '2020-01-02' + INTERVAL ({per_symbol_days} * 2) DAY, INTERVAL 1 DAY) t(d)
             WHERE dayofweek(d) BETWEEN 1 AND 5 AND d NOT IN ({holidays}) LIMIT {per_symbol_days}),
           syms AS (SELECT 'SYM' || lpad(i::VARCHAR, 2, '0') AS s, i FROM range(10) t(i)),
           mins AS (SELECT m FROM range(390) t(m)),
           raw AS (
             SELECT s AS Ticker, d + INTERVAL 570 MINUTE + to_minutes(m) AS Datetime,
                    100 + i + ((hash(s, d, m) % 2001)::DOUBLE - 1000) / 1000 AS base,
                    (hash(d, m, s) % 500)::DOUBLE / 1000 AS spread,
                    1000 + hash(m, s, d) % 5000 AS Volume
             FROM syms, days, mins)
           SELECT Ticker, strftime(Datetime, '%Y-%m-%d %H:%M:%S') AS Datetime,
                  round(base, 4) AS Open, round(base + spread, 4) AS High, round(base - spread, 4) AS Low,
                  round(base + spread / 2, 4) AS Close, Volume
           FROM raw ORDER BY Ticker, Datetime LIMIT {rows}
         ) TO '{lit}' (HEADER, DELIMITER ',')"
    ))?;
    Ok(())
}
