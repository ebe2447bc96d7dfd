//! Fits GARCH(1,1)-t (or, with a second argument `gjr`, GJR-GARCH(1,1,1)-t) to the percent
//! returns in a file (one per line) and prints the parameters, the log-likelihood, the
//! stationary bootstrap's block length and the fit time as one JSON object. Used by
//! `scripts/forecasts-parity` to compare with the `arch` package.

use sextant_forecasts::blocklen::stationary_block_length;
use sextant_forecasts::GarchT;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: garch_parity RETURNS_FILE [garch|gjr]")?;
    let gjr = match std::env::args().nth(2).as_deref() {
        None | Some("garch") => false,
        Some("gjr") => true,
        Some(other) => return Err(format!("unknown variant {other:?}").into()),
    };
    let text = std::fs::read_to_string(&path)?;
    let y: Vec<f64> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().parse::<f64>())
        .collect::<Result<_, _>>()?;
    let t0 = Instant::now();
    let fit = if gjr {
        GarchT::fit_gjr(&y, None)?
    } else {
        GarchT::fit(&y, None)?
    };
    let fit_ms = t0.elapsed().as_secs_f64() * 1e3;
    let p = fit.params;
    println!(
        "{}",
        serde_json::json!({
            "mu": p.mu, "omega": p.omega, "alpha": p.alpha, "gamma": p.gamma,
            "beta": p.beta, "nu": p.nu,
            "loglik": fit.loglik, "nobs": fit.nobs, "iterations": fit.iterations,
            "converged": fit.converged, "block_length": stationary_block_length(&y),
            "fit_ms": fit_ms,
        })
    );
    Ok(())
}
