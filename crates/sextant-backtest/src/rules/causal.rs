//! The truncation test every saved definition passes: the strategy run on data cut after bar
//! `n` must place exactly the orders, and mark exactly the equity, of the full run before `n`.
//!
//! The language has no function of the future, so this holds by construction; the test guards
//! the compiler and the runtime (a node reading a later slot, state shared across symbols) and
//! runs on deterministic synthetic bars, so it needs no cache and no network.

use super::compile::Reference;
use super::strategy::RuleStrategy;
use super::Program;
use crate::simulator::{BarSeries, FillTiming, MarketData, SimConfig, TradingSimulator};
use crate::strategy::Strategy;

/// Bars of the synthetic series.
const BARS: usize = 600;

/// What the truncation test found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TruncationReport {
    /// Bars in the full run.
    pub bars: usize,
    /// The cuts checked.
    pub cuts: Vec<usize>,
    /// Orders the full run placed (0 means the test saw no decision to compare).
    pub orders: usize,
    /// Fill timings checked.
    pub fills: Vec<String>,
}

/// A deterministic random walk (xorshift), so the test is reproducible.
struct Walk(u64);

impl Walk {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn synthetic(symbol: &str, seed: u64, references: &[Reference]) -> Result<BarSeries, String> {
    let mut w = Walk(seed);
    let (mut ts, mut open, mut high, mut low, mut close, mut volume) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut c: f64 = 100.0;
    for i in 0..BARS {
        let o = c * (1.0 + 0.01 * (w.uniform() - 0.5));
        c = o * (1.0 + 0.04 * (w.uniform() - 0.5));
        ts.push(946_684_800 + 86_400 * i as i64);
        open.push(o);
        high.push(o.max(c) * (1.0 + 0.01 * w.uniform()));
        low.push(o.min(c) * (1.0 - 0.01 * w.uniform()));
        close.push(c);
        volume.push(1e6 * (0.5 + w.uniform()));
    }
    let mut s =
        BarSeries::new(symbol, ts, open, high, low, close, volume).map_err(|e| e.to_string())?;
    for r in references {
        let values: Vec<f64> = match r {
            Reference::Regime(_) => (0..BARS).map(|i| ((i / 40) % 4) as f64).collect(),
            Reference::RegimeProb { .. } => {
                (0..BARS).map(|i| ((i / 40) % 4) as f64 / 3.0).collect()
            }
            _ => (0..BARS).map(|_| w.uniform()).collect(),
        };
        s = s
            .with_series(r.series_name(), values)
            .map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// Runs the truncation test on `program` (both fill timings, two symbols, cuts through the
/// series); an error names the first divergence.
pub fn truncation_test(program: &Program) -> Result<TruncationReport, String> {
    let refs = program.references();
    let data = MarketData::new(vec![
        synthetic("A", 0x9E37_79B9_7F4A_7C15, refs)?,
        synthetic("B", 0xD1B5_4A32_D192_ED03, refs)?,
    ])
    .map_err(|e| e.to_string())?;
    let cuts = vec![1, 37, 150, 301, 599];
    let mut orders = 0;
    let mut fills = Vec::new();
    for fill in [FillTiming::NextOpen, FillTiming::SignalClose] {
        let sim = TradingSimulator::new(SimConfig {
            fill,
            ..SimConfig::default()
        })
        .map_err(|e| e.to_string())?;
        let run = |d: &MarketData| {
            let mut s = RuleStrategy::new(program.clone());
            sim.run(d, &mut s as &mut dyn Strategy)
        };
        let full = run(&data);
        orders += full.orders.len();
        for &n in &cuts {
            let cut = run(&data.truncated(n));
            if full.equity[..n] != cut.equity[..] {
                return Err(format!(
                    "{fill:?}: equity before bar {n} differs when the data stops at {n}"
                ));
            }
            let placed: Vec<_> = full
                .orders
                .iter()
                .take_while(|o| o.bar < n)
                .map(|o| (o.bar, &o.intent))
                .collect();
            let seen: Vec<_> = cut.orders.iter().map(|o| (o.bar, &o.intent)).collect();
            if placed != seen {
                return Err(format!(
                    "{fill:?}: the orders placed before bar {n} differ when the data stops at {n}"
                ));
            }
        }
        fills.push(format!("{fill:?}"));
    }
    Ok(TruncationReport {
        bars: BARS,
        cuts,
        orders,
        fills,
    })
}
