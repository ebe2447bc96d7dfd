//! Fact sheets of every library strategy (default parameters) on the bundled MSFT, AAPL, IBM
//! and GOOG data, built once per test binary.

use sextant_backtest::strategy::strategy_library;
use sextant_core::backtest::{execute, BacktestService};
use sextant_narrative::{benchmark_run, FactSheet};
use std::sync::OnceLock;

pub const SYMBOLS: [&str; 4] = ["MSFT", "AAPL", "IBM", "GOOG"];

/// (label, sheet) for every strategy × symbol that runs on bars alone.
pub fn library_sheets() -> &'static [(String, FactSheet)] {
    static SHEETS: OnceLock<Vec<(String, FactSheet)>> = OnceLock::new();
    SHEETS.get_or_init(build)
}

fn build() -> Vec<(String, FactSheet)> {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let services = rt.block_on(sextant_test_support::services());
    let mut out = Vec::new();
    for sym in SYMBOLS {
        for info in strategy_library() {
            if info.name == "ml_signal" || info.name == "regime_switch" {
                // Trade a trained model's probabilities or a fitted regime model's labels:
                // covered by the signals tests and by the regime service test (whose
                // regime_switch narrative passes validation with its regime section).
                continue;
            }
            let mut req = sextant_test_support::request(info.name, &[sym]);
            if info.name == sextant_backtest::rules::RULES {
                // A user-defined strategy: the library's SMA cross written in the language.
                let defs = sextant_backtest::rules::library_definitions();
                let (_, sma) = defs
                    .iter()
                    .find(|(n, _)| *n == "sma_cross")
                    .expect("sma_cross");
                req.params = serde_json::json!({"definition": sma});
            }
            let data = BacktestService::load(services.cache.as_ref(), &req).expect("load");
            let (run, trades, curve) = match execute(&req, &data) {
                Ok(r) => r,
                // `series_threshold` needs an external series (an ML signal) the sample lacks.
                Err(e) if info.name == "series_threshold" => {
                    eprintln!("{sym} {}: skipped: {e}", info.name);
                    continue;
                }
                Err(e) => panic!("{sym} {}: {e}", info.name),
            };
            let bench = benchmark_run(&req, &data).expect("benchmark");
            let sheet = FactSheet::build(&run, &trades, &curve, &bench);
            out.push((format!("{} on {sym}", info.name), sheet));
        }
    }
    assert!(
        out.len() >= 4 * 8,
        "every bar-only strategy ran on every symbol"
    );
    out
}
