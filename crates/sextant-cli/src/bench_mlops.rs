//! `sextant bench --mlops DIR`: the model-operations statistics on generated inputs, timed, and
//! the same inputs written to `DIR` for `scripts/mlops/bench_peer.py` (Evidently's drift report
//! and the numpy/scipy computations a user would write), so `scripts/bench-mlops` prints both
//! from one run.
//!
//! * drift: 20 features, 10,000 reference rows, 2,500 current rows, the first 4 features shifted
//!   by 0.25, 0.5, 1 and 2 standard deviations: PSI per feature with the exact KS test;
//! * random entries: 40 trades on 2,500 return slots, 10,000 simulations;
//! * paired bootstrap: 2,500 periods, 10,000 resamples.

use anyhow::Result;
use serde_json::json;
use sextant_mlops::drift::Bands;
use sextant_mlops::harness::{bootstrap_difference, random_entries, Held};
use sextant_mlops::SplitMix;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

const FEATURES: usize = 20;
const REFERENCE_ROWS: usize = 10_000;
const CURRENT_ROWS: usize = 2_500;
const SLOTS: usize = 2_500;
const TRADES: usize = 40;
const SIMULATIONS: usize = 10_000;
const RESAMPLES: usize = 10_000;
/// Shifts of the first features, in standard deviations.
const SHIFTS: [f64; 4] = [0.25, 0.5, 1.0, 2.0];

struct Normal(SplitMix);

impl Normal {
    fn next(&mut self) -> f64 {
        let u = |r: &mut SplitMix| ((r.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (a, b) = (u(&mut self.0), u(&mut self.0));
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }
}

fn write_csv(path: &Path, rows: &[Vec<f64>]) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..FEATURES).map(|j| format!("f{j}")).collect();
    writeln!(f, "{}", header.join(","))?;
    for r in rows {
        let line: Vec<String> = r.iter().map(|v| format!("{v:?}")).collect();
        writeln!(f, "{}", line.join(","))?;
    }
    Ok(())
}

/// Median wall time of `reps` runs of `f`, in milliseconds.
fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Runs the benchmark; inputs are written to `dir`.
pub fn run(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut n = Normal(SplitMix::new(2026));
    let reference: Vec<Vec<f64>> = (0..REFERENCE_ROWS)
        .map(|_| (0..FEATURES).map(|_| n.next()).collect())
        .collect();
    let current: Vec<Vec<f64>> = (0..CURRENT_ROWS)
        .map(|_| {
            (0..FEATURES)
                .map(|j| n.next() + SHIFTS.get(j).copied().unwrap_or(0.0))
                .collect()
        })
        .collect();
    write_csv(&dir.join("drift_reference.csv"), &reference)?;
    write_csv(&dir.join("drift_current.csv"), &current)?;
    let names: Vec<String> = (0..FEATURES).map(|j| format!("f{j}")).collect();
    let compare = || {
        sextant_mlops::monitor::compare(&names, &reference, &current, None, Bands::default(), &[])
    };
    let report = compare()?;
    let drift_ms = median_ms(5, || {
        let _ = compare();
    });
    let psi: Vec<f64> = report.features.iter().map(|f| f.psi).collect();
    let ks_p: Vec<f64> = report.features.iter().map(|f| f.ks.p).collect();
    println!(
        "{}",
        json!({"bench": "drift", "features": FEATURES, "reference_rows": REFERENCE_ROWS,
            "current_rows": CURRENT_ROWS, "sextant_ms": drift_ms, "alerting": report.alerting,
            "psi": psi, "ks_p": ks_p})
    );

    // Returns and non-overlapping trades for the random-entry test and the bootstrap.
    let returns: Vec<f64> = (0..SLOTS).map(|_| 0.0003 + 0.012 * n.next()).collect();
    let mut rng = SplitMix::new(7);
    let mut held = Vec::with_capacity(TRADES);
    let span = SLOTS / TRADES;
    for k in 0..TRADES {
        let start = k * span + rng.below(span / 2);
        let len = 1 + rng.below(span / 2 - 1);
        held.push(Held {
            entry: start,
            exit: start + len,
        });
    }
    let trades: Vec<(usize, usize)> = held.iter().map(|h| (h.entry, h.exit)).collect();
    std::fs::write(
        dir.join("random_entries.json"),
        serde_json::to_vec(&json!({"returns": returns, "trades": trades, "cost": 0.001,
            "simulations": SIMULATIONS, "seed": 42, "resamples": RESAMPLES}))?,
    )?;
    let test = random_entries(&returns, &held, 0.001, SIMULATIONS, 42)?;
    let re_ms = median_ms(3, || {
        let _ = random_entries(&returns, &held, 0.001, SIMULATIONS, 42);
    });
    println!(
        "{}",
        json!({"bench": "random_entries", "slots": SLOTS, "trades": TRADES,
            "simulations": SIMULATIONS, "sextant_ms": re_ms, "p_value": test.p_value,
            "median": test.median})
    );
    let mut exposed = vec![0.0; SLOTS];
    for h in &held {
        exposed[h.entry..h.exit].copy_from_slice(&returns[h.entry..h.exit]);
    }
    let b = bootstrap_difference(&exposed, &returns, RESAMPLES, 7)?;
    let bs_ms = median_ms(3, || {
        let _ = bootstrap_difference(&exposed, &returns, RESAMPLES, 7);
    });
    println!(
        "{}",
        json!({"bench": "bootstrap", "periods": SLOTS, "resamples": RESAMPLES,
            "sextant_ms": bs_ms, "sharpe_diff_ci": b.sharpe_diff_ci})
    );
    Ok(())
}
