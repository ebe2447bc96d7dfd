//! `sextant eval`: the evaluation harness from the command line.

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{json, Map, Value};
use sextant_core::mlops::{EvalRequest, WindowSpec};
use sextant_core::Services;
use sextant_domain::Symbol;

/// Replay a strategy over named crises and custom windows beside buy & hold, the same rule
/// untuned and random entries with its own exposure (PSR, bootstrap intervals); an ml_signal
/// strategy also gets its model's SHAP summary and counterfactuals. The report is stored and
/// tracked; --html writes the page.
///
/// Example: sextant eval --strategy sma_cross --param fast=10 --param slow=40 --symbol MSFT
///   --window gfc --window dotcom --window q4:2008-10-01:2008-12-31 --html gfc.html
#[derive(Args)]
pub struct EvalArgs {
    /// Strategy name (see `sextant strategies`).
    #[arg(long)]
    strategy: String,
    /// Parameter NAME=VALUE (repeatable).
    #[arg(long = "param", value_parser = crate::cmd_backtest::parse_kv)]
    params: Vec<(String, Value)>,
    /// The one symbol replayed.
    #[arg(long)]
    symbol: Symbol,
    /// A named window (dotcom, gfc, flash_crash, us_downgrade, china_deval, volmageddon,
    /// covid, bear_2022) or NAME:FROM:TO (repeatable); default every named window.
    #[arg(long = "window")]
    windows: Vec<String>,
    /// Random-entry simulations per window.
    #[arg(long, default_value_t = 1000)]
    simulations: usize,
    /// Seed of the random entries and bootstraps.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the HTML report here.
    #[arg(long)]
    html: Option<std::path::PathBuf>,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
}

fn window(text: &str) -> Result<WindowSpec> {
    let parts: Vec<&str> = text.split(':').collect();
    Ok(match parts.as_slice() {
        [name] => WindowSpec::Named(name.to_string()),
        [name, from, to] => WindowSpec::Custom {
            name: name.to_string(),
            from: from
                .parse()
                .with_context(|| format!("window {text}: FROM"))?,
            to: to.parse().with_context(|| format!("window {text}: TO"))?,
        },
        _ => anyhow::bail!("window {text:?}: a name or NAME:FROM:TO"),
    })
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{:+.1}%", 100.0 * v))
}

pub async fn run(a: EvalArgs, s: &Services) -> Result<()> {
    let params: Map<String, Value> = a.params.into_iter().collect();
    let req: EvalRequest = serde_json::from_value(json!({
        "backtest": {"strategy": a.strategy, "params": params, "symbols": [a.symbol]},
        "simulations": a.simulations,
        "seed": a.seed,
    }))?;
    let req = EvalRequest {
        windows: a.windows.iter().map(|w| window(w)).collect::<Result<_>>()?,
        ..req
    };
    let r = s.mlops.evaluate(&req, "local").await?;
    if let Some(path) = &a.html {
        std::fs::write(path, sextant_mlops::eval::render_html(&r))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "evaluation {} (tracked run {})",
        r.id,
        r.tracked_run.as_deref().unwrap_or("-")
    );
    let mut rows = Vec::new();
    for w in &r.windows {
        if let Some(why) = &w.skipped {
            rows.push(vec![w.window.name.clone(), "skipped".into(), why.clone()]);
            continue;
        }
        for arm in &w.arms {
            let detail = match &arm.error {
                Some(e) => format!("not run: {e}"),
                None => format!(
                    "return {} Sharpe {} maxDD {} PSR(0) {} PSR(B&H) {}",
                    pct(arm.total_return),
                    arm.sharpe.map_or("-".into(), |x| format!("{x:.2}")),
                    pct(arm.max_drawdown.map(|d| -d)),
                    arm.psr
                        .as_ref()
                        .map_or("-".into(), |p| format!("{:.3}", p.psr_zero)),
                    arm.psr
                        .as_ref()
                        .and_then(|p| p.psr_benchmark)
                        .map_or("-".into(), |x| format!("{x:.3}")),
                ),
            };
            rows.push(vec![w.window.name.clone(), arm.arm.clone(), detail]);
        }
        let random = match (&w.random_entries, &w.random_entries_note) {
            (Some(t), _) => format!(
                "strategy {} on its exposure (close to close) vs random median {} [{}, {}], p = {:.3}",
                pct(Some(t.strategy_total)),
                pct(Some(t.median)),
                pct(Some(t.p05)),
                pct(Some(t.p95)),
                t.p_value
            ),
            (None, Some(n)) => n.clone(),
            (None, None) => "-".into(),
        };
        rows.push(vec![w.window.name.clone(), "random entries".into(), random]);
    }
    crate::output::table(&["window", "arm", "figures"], &rows);
    Ok(())
}
