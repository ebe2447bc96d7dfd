//! `sextant bench --regimes N`: regime labels for N symbols × 20 years of daily bars. Generates
//! the bars (a seeded regime-switching market plus idiosyncratic noise), ingests them, fits one
//! walk-forward HMM per symbol (the defaults: 3 states, first fit on 504 days, refit every 252),
//! then appends a day to every symbol and times the refresh that relabels them all. Writes the
//! features of the first symbols to CSV for the hmmlearn peer (`scripts/bench-regimes`).

use anyhow::Result;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use futures::StreamExt;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_core::regimes::RegimeSpec;
use sextant_core::{Config, Services};
use sextant_domain::{Bar, Resolution, Source, Symbol};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Sessions in 20 years of daily bars.
const DAYS: usize = 5040;

fn sessions(n: usize) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(n);
    let mut d = NaiveDate::from_ymd_opt(2005, 1, 3).unwrap_or_default();
    while out.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

/// Bars of `symbols` symbols over `days` sessions: a shared two-state market (calm: +0.04 %,
/// 0.9 % a day; turbulent: −0.1 %, 2.8 %; switching with p 0.01 / 0.04) plus idiosyncratic
/// noise of 1.2 % a day.
pub(crate) fn generate(symbols: usize, days: usize, seed: u64) -> (Vec<Symbol>, Vec<Vec<Bar>>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = move || -> f64 {
        let (u1, u2): (f64, f64) = (rng.gen::<f64>().max(1e-300), rng.gen());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut state = 0;
    let mut flip = ChaCha8Rng::seed_from_u64(seed ^ 0xfeed);
    let market: Vec<f64> = (0..days)
        .map(|_| {
            let p = if state == 0 { 0.01 } else { 0.04 };
            if flip.gen::<f64>() < p {
                state = 1 - state;
            }
            let (mu, sd) = if state == 0 {
                (0.0004, 0.009)
            } else {
                (-0.001, 0.028)
            };
            mu + sd * normal()
        })
        .collect();
    let dates = sessions(days);
    let names: Vec<Symbol> = (0..symbols)
        .filter_map(|i| Symbol::new(&format!("S{i:04}")).ok())
        .collect();
    let bars = names
        .iter()
        .map(|sym| {
            let mut close = 50.0;
            dates
                .iter()
                .zip(&market)
                .map(|(d, m)| {
                    let open = close;
                    close = open * (m + 0.012 * normal()).exp();
                    Bar {
                        symbol: sym.clone(),
                        resolution: Resolution::Daily,
                        ts: d.and_hms_opt(0, 0, 0).unwrap_or_default(),
                        tz: "America/New_York".into(),
                        open,
                        high: open.max(close) * 1.004,
                        low: open.min(close) * 0.996,
                        close,
                        volume: 1e6,
                        adj_close: Some(close),
                        dividend: 0.0,
                        split_coefficient: 1.0,
                        source: Source::File,
                        ingested_at: chrono::Utc::now(),
                    }
                })
                .collect()
        })
        .collect();
    (names, bars)
}

/// Runs the regimes benchmark on `n` symbols in `dir`.
pub async fn run(dir: &Path, n: usize, peer_symbols: usize) -> Result<()> {
    // Quality checks off: the generated turbulent regime has moves the outlier checks would
    // hold for review, and the benchmark measures the regime path on complete series.
    let mut config = Config {
        data_dir: dir.join("regimes"),
        load_sample: false,
        ..Config::default()
    };
    config.quality.enabled = false;
    let s = Services::build(config).await?;
    let (names, bars) = generate(n, DAYS + 1, 42);
    let t = Instant::now();
    let all: Vec<Bar> = bars
        .iter()
        .flat_map(|b| b[..DAYS].iter().cloned())
        .collect();
    s.cache.ingest_bars(&all, Source::File, "bench")?;
    crate::bench::report(
        &format!("ingest {n} symbols x {DAYS} daily bars"),
        all.len() as u64,
        t.elapsed().as_secs_f64(),
    );
    let parallel = std::thread::available_parallelism().map_or(1, |p| p.get());
    let t = Instant::now();
    let results: Vec<_> = futures::stream::iter(names.iter().cloned())
        .map(|sym| {
            let svc = s.regimes.clone();
            async move { svc.fit(RegimeSpec::for_symbol(&sym)).await }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let cold = t.elapsed().as_secs_f64();
    let mut fits = 0;
    let mut labels = 0;
    for r in &results {
        let (state, _) = r.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
        fits += state.segments.len();
        labels += 1 + state
            .last_day
            .signed_duration_since(state.first_day)
            .num_days() as usize
            * 5
            / 7;
    }
    println!(
        "regimes, cold: {n} symbols x 20 years, {fits} walk-forward HMM fits, ~{labels} labels in {cold:.1} s ({:.0} ms per symbol, {parallel} threads)",
        1e3 * cold / n as f64
    );
    // One more session for every symbol, then the refresh an ingest job runs.
    let day: Vec<Bar> = bars.iter().map(|b| b[DAYS].clone()).collect();
    s.cache.ingest_bars(&day, Source::File, "bench")?;
    let t = Instant::now();
    let out = s.regimes.refresh_touching(&names).await;
    let warm = t.elapsed().as_secs_f64();
    let refit: usize = out
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .map(|(st, _)| st.fitted_last_update)
        .sum();
    let failed = out.iter().filter(|(_, r)| r.is_err()).count();
    println!(
        "regimes, after a one-day refresh: {} models relabelled ({refit} refits due, {failed} failed) in {warm:.2} s ({:.1} ms per symbol)",
        out.len(),
        1e3 * warm / out.len().max(1) as f64
    );
    // Features of the first symbols, for the hmmlearn peer.
    let path = dir.join("regime_features.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(f, "symbol,day,ret,vol")?;
    for sym in names.iter().take(peer_symbols) {
        let (rows, _) = sextant_core::regimes::features::features(
            s.cache.as_ref(),
            std::slice::from_ref(sym),
            &sextant_core::regimes::features::default_features(),
        )?;
        for r in rows {
            writeln!(f, "{sym},{},{},{}", r.date, r.values[0], r.values[1])?;
        }
    }
    f.flush()?;
    println!(
        "features of {peer_symbols} symbols for the peer: {}",
        path.display()
    );
    Ok(())
}
