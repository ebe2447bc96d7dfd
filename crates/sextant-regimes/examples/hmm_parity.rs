//! The Rust side of `scripts/regimes-parity`: reads `{x, init, n_iter}` as JSON on stdin, runs
//! EM from `init` for exactly `n_iter` iterations (no early stop, a variance floor too small to
//! bind), five times, and prints `{history, model, filtered, fit_seconds, filter_seconds}` as JSON.

use serde::Deserialize;
use sextant_regimes::{GaussianHmm, HmmConfig};
use std::io::Read;
use std::time::Instant;

#[derive(Deserialize)]
struct Input {
    x: Vec<Vec<f64>>,
    init: GaussianHmm,
    n_iter: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let input: Input = serde_json::from_str(&text)?;
    let cfg = HmmConfig {
        states: input.init.n_states(),
        covariance: input.init.covariance,
        max_iter: input.n_iter,
        tol: f64::NEG_INFINITY,
        var_floor: 1e-12,
        ..HmmConfig::default()
    };
    // Best of five timed fits (each from the same start, so each gives the same model), as the
    // Python side times hmmlearn.
    let mut fit_seconds = f64::INFINITY;
    let mut fitted = None;
    for _ in 0..5 {
        let t = Instant::now();
        let out = input.init.refine(&input.x, &cfg)?;
        fit_seconds = fit_seconds.min(t.elapsed().as_secs_f64());
        fitted = Some(out);
    }
    let (model, history, _) = fitted.ok_or("no fit ran")?;
    let mut filter_seconds = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        let flat = model.filter_flat(&input.x)?;
        filter_seconds = filter_seconds.min(t.elapsed().as_secs_f64());
        std::hint::black_box(flat);
    }
    let filtered = model.filter(&input.x)?;
    let out = serde_json::json!({
        "history": history,
        "model": model,
        "filtered": filtered,
        "fit_seconds": fit_seconds,
        "filter_seconds": filter_seconds,
    });
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}
