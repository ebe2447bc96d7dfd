//! `sextant bench --forecasts`: a 20-asset portfolio's risk forecast, 10,000 paths × 250 days,
//! timed by stage (fits, simulation, summaries) for filtered historical simulation and the
//! stationary bootstrap; the returns and holdings are written for the arch + numpy peer
//! (`scripts/bench-forecasts` runs both in the same run and prints the ratios).

use anyhow::Result;
use rand::SeedableRng;
use rand_distr::{Distribution, StudentT};
use sextant_forecasts::{simulate, summarise, FitConfig, Fitted, ModelKind, Target};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

const ASSETS: usize = 20;
const ROWS: usize = 3_000;
const PATHS: usize = 10_000;
const DAYS: usize = 250;
const REPEATS: usize = 3;

/// Daily log returns (fractions) of `ASSETS` assets following GARCH(1,1)-t with a common
/// factor (correlation about 0.4), seeded.
fn returns() -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let t = StudentT::new(6.0).unwrap_or_else(|_| unreachable!("6 > 0"));
    let scale = (4.0f64 / 6.0).sqrt();
    let mut s2: Vec<f64> = vec![1.5; ASSETS];
    let mut out = Vec::with_capacity(ROWS * ASSETS);
    for _ in 0..ROWS {
        let common = scale * t.sample(&mut rng);
        for v in s2.iter_mut() {
            let z = 0.63 * common + 0.77 * scale * t.sample(&mut rng);
            let e = v.sqrt() * z;
            *v = 0.02 + 0.08 * e * e + 0.9 * *v;
            out.push((0.03 + e) / 100.0);
        }
    }
    out
}

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPEATS / 2]
}

/// Runs the benchmark, writing the peer's inputs and sextant's timings into `dir`.
pub fn run(dir: &Path) -> Result<()> {
    let r = returns();
    let values = vec![50_000.0; ASSETS];
    let target = Target::new(r.clone(), ASSETS, values.clone(), 0.0)?;
    let mut f = std::fs::File::create(dir.join("forecast_returns.csv"))?;
    let header: Vec<String> = (0..ASSETS).map(|i| format!("A{i:02}")).collect();
    writeln!(f, "{}", header.join(","))?;
    for row in r.chunks(ASSETS) {
        let line: Vec<String> = row.iter().map(|v| format!("{:?}", v * 100.0)).collect();
        writeln!(f, "{}", line.join(","))?;
    }
    let mut h = std::fs::File::create(dir.join("forecast_holdings.csv"))?;
    writeln!(h, "asset,market_value")?;
    for (a, v) in header.iter().zip(&values) {
        writeln!(h, "{a},{v}")?;
    }
    println!(
        "sextant forecasts bench: {ASSETS} assets x {ROWS} days, {PATHS} paths x {DAYS} days, {} threads (median of {REPEATS})",
        rayon::current_num_threads()
    );
    let config = FitConfig {
        fit: ROWS,
        ..FitConfig::default()
    };
    let mut timings = serde_json::Map::new();
    for model in [
        ModelKind::Fhs,
        ModelKind::FhsGjr,
        ModelKind::Bootstrap,
        ModelKind::Gjr,
    ] {
        let mut fitted = None;
        let fit_ms = median_ms(|| fitted = Fitted::fit(model, &target, &config, None, None).ok());
        let Some(fitted) = fitted else {
            anyhow::bail!("{model} did not fit the generated returns");
        };
        let mut paths = None;
        let sim_ms = median_ms(|| paths = simulate(&fitted, &target, DAYS, PATHS, 7).ok());
        let Some(paths) = paths else {
            anyhow::bail!("{model} did not simulate");
        };
        let mut summary = None;
        let sum_ms = median_ms(|| summary = Some(summarise(&paths, DAYS, &[0.1, 0.2])));
        let Some(summary) = summary else {
            anyhow::bail!("{model}: no summary");
        };
        let total = fit_ms + sim_ms + sum_ms;
        let var = |days: usize, level: f64| {
            summary
                .var
                .iter()
                .find(|v| v.days == days && v.level == level)
                .map_or(f64::NAN, |v| v.var)
        };
        println!(
            "  {model:<10} fit {fit_ms:8.1} ms  simulate {sim_ms:8.1} ms  summarise {sum_ms:7.1} ms  total {total:8.1} ms   VaR99 1d {:.4} 10d {:.4}  P(dd>10%) {:.4}",
            var(1, 0.99),
            var(10, 0.99),
            summary.drawdown[0].probability
        );
        timings.insert(
            model.to_string(),
            serde_json::json!({"fit_ms": fit_ms, "simulate_ms": sim_ms, "summarise_ms": sum_ms, "total_ms": total,
                "var99_1d": var(1, 0.99), "var99_10d": var(10, 0.99)}),
        );
    }
    std::fs::write(
        dir.join("sextant_timings.json"),
        serde_json::to_string_pretty(&timings)?,
    )?;
    Ok(())
}
