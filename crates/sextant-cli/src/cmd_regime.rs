//! `sextant regime fit|ls|show|history|alerts|evaluate`: named regime models of a symbol or an
//! equal-weight universe, fitted walk-forward; every label comes from the forward filter of a
//! model fitted on earlier days (no label uses a later day).

use crate::output::table;
use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use sextant_core::regimes::{evaluate, RegimeFeature, RegimeServiceError, RegimeSpec, RegimeState};
use sextant_core::Services;
use sextant_domain::Symbol;
use sextant_regimes::{HmmConfig, ModelKind, WalkConfig};

/// The regime commands.
#[derive(Subcommand)]
pub enum RegimeCmd {
    /// Create or replace a model and fit it walk-forward (labels stored, alerts recorded).
    ///
    /// Example: sextant regime fit big3 --symbol AAPL --symbol IBM --symbol MSFT
    Fit(FitArgs),
    /// Every model: members, family, last label, when it was updated.
    Ls,
    /// A model's regime as of a day (default: the latest), and each regime's statistics.
    ///
    /// Example: sextant regime show big3 --at 2008-10-19
    Show(ShowArgs),
    /// Every day's label with one probability column per regime (`--format csv`: ts, label,
    /// p_<regime>…).
    ///
    /// Example: sextant regime history big3 --from 2008-09-01 --to 2009-03-31 --format csv
    History(HistoryArgs),
    /// Confirmed regime changes, newest first.
    Alerts(AlertsArgs),
    /// A regime_switch strategy out of sample beside the same strategy unconditioned and buy
    /// & hold, with a paired t-test on daily returns and performance by regime.
    ///
    /// Example: sextant regime evaluate --symbol AAPL --params '{"model":"big3","bull":{"fast":10,"slow":30}}'
    Evaluate(EvaluateArgs),
}

/// Output format.
#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// CSV with a header row.
    Csv,
}

/// What to fit.
#[derive(Args)]
pub struct FitArgs {
    /// The model's name (A-Z, a-z, 0-9, _, . and -).
    name: String,
    /// A member (repeat for an equal-weight universe).
    #[arg(long = "symbol", required = true)]
    symbols: Vec<Symbol>,
    /// Model family: hmm, mixture or kmeans.
    #[arg(long, default_value = "hmm")]
    model: ModelKind,
    /// States, 1 to 4.
    #[arg(long, default_value_t = 3)]
    states: usize,
    /// An input (repeat; return first): return, volatility, dispersion, correlation. Default:
    /// return and volatility.
    #[arg(long = "feature")]
    features: Vec<RegimeFeature>,
    /// Days of the first fit.
    #[arg(long, default_value_t = 504)]
    min_fit_rows: usize,
    /// Days between refits.
    #[arg(long, default_value_t = 252)]
    refit_every: usize,
    /// Days a new label must hold before a change is confirmed.
    #[arg(long, default_value_t = 3)]
    confirm: usize,
    /// Seed of the fits' starting points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// URL that receives each new alert as a JSON POST.
    #[arg(long)]
    webhook: Option<String>,
}

/// Which model, as of when.
#[derive(Args)]
pub struct ShowArgs {
    /// A model name, or a symbol (its own model is fitted on first use).
    name: String,
    /// The regime as of this day (the last label on or before it).
    #[arg(long)]
    at: Option<NaiveDate>,
}

/// Which labels.
#[derive(Args)]
pub struct HistoryArgs {
    /// A model name, or a symbol (its own model is fitted on first use).
    name: String,
    /// First day printed.
    #[arg(long)]
    from: Option<NaiveDate>,
    /// Last day printed.
    #[arg(long)]
    to: Option<NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// Which alerts.
#[derive(Args)]
pub struct AlertsArgs {
    /// Only this model's.
    name: Option<String>,
    /// Most alerts printed.
    #[arg(long, default_value_t = 20)]
    limit: usize,
}

/// What to evaluate.
#[derive(Args)]
pub struct EvaluateArgs {
    /// Symbol traded (repeat for several).
    #[arg(long = "symbol", required = true)]
    symbols: Vec<Symbol>,
    /// regime_switch parameters as JSON (`model` required).
    #[arg(long)]
    params: String,
}

/// Runs a regime command.
pub async fn run(cmd: RegimeCmd, s: &Services) -> Result<()> {
    match cmd {
        RegimeCmd::Fit(a) => {
            let spec = RegimeSpec {
                name: a.name,
                symbols: a.symbols,
                features: if a.features.is_empty() {
                    sextant_core::regimes::features::default_features()
                } else {
                    a.features
                },
                walk: WalkConfig {
                    kind: a.model,
                    model: HmmConfig {
                        states: a.states,
                        seed: a.seed,
                        ..HmmConfig::default()
                    },
                    min_fit_rows: a.min_fit_rows,
                    refit_every: a.refit_every,
                },
                confirm_bars: a.confirm,
                webhook: a.webhook,
            };
            let (state, alerts) = s.regimes.fit(spec).await?;
            print_state(&state);
            println!(
                "{} fits ({} new); {} alerts recorded",
                state.segments.len(),
                state.fitted_last_update,
                alerts.len()
            );
            Ok(())
        }
        RegimeCmd::Ls => {
            let rows: Vec<Vec<String>> = s
                .regimes
                .list()
                .await?
                .iter()
                .map(|st| {
                    vec![
                        st.spec.name.clone(),
                        st.spec.walk.kind.to_string(),
                        st.spec.symbols.len().to_string(),
                        format!("{} {}", st.latest.day, st.latest.regime),
                        st.updated_at.clone(),
                    ]
                })
                .collect();
            table(&["model", "kind", "symbols", "latest", "updated"], &rows);
            Ok(())
        }
        RegimeCmd::Show(a) => {
            let name = resolve(s, &a.name).await?;
            let (state, now) = s.regimes.at(&name, a.at).await?;
            println!(
                "{} on {}: {} (model fitted to {})",
                name, now.day, now.regime, now.fitted_to
            );
            let mut p: Vec<_> = now.probabilities.iter().collect();
            p.sort_by(|x, y| x.0.cmp(y.0));
            for (r, v) in p {
                println!("  p({r}) = {v:.4}");
            }
            print_state(&state);
            Ok(())
        }
        RegimeCmd::History(a) => {
            let name = resolve(s, &a.name).await?;
            let (state, rows) = s.regimes.history(&name, a.from, a.to).await?;
            let cols: Vec<String> = state.columns.iter().map(|r| r.to_string()).collect();
            let header: Vec<String> = ["ts".to_string(), "label".to_string()]
                .into_iter()
                .chain(cols.iter().map(|c| format!("p_{c}")))
                .collect();
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    [r.day.to_string(), r.regime.clone()]
                        .into_iter()
                        .chain(cols.iter().map(|c| {
                            format!("{:.6}", r.probabilities.get(c).copied().unwrap_or(0.0))
                        }))
                        .collect()
                })
                .collect();
            match a.format {
                Format::Csv => {
                    println!("{}", header.join(","));
                    for r in body {
                        println!("{}", r.join(","));
                    }
                }
                Format::Table => {
                    let h: Vec<&str> = header.iter().map(String::as_str).collect();
                    table(&h, &body);
                }
            }
            Ok(())
        }
        RegimeCmd::Alerts(a) => {
            let rows: Vec<Vec<String>> = s
                .regimes
                .alerts(a.name.as_deref(), a.limit)
                .await?
                .iter()
                .map(|al| {
                    vec![
                        al.model.clone(),
                        al.day.to_string(),
                        al.began.to_string(),
                        format!("{} -> {}", al.from, al.to),
                        if al.backfill { "backfill" } else { "live" }.to_string(),
                        al.webhook.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            table(
                &["model", "confirmed", "began", "change", "kind", "webhook"],
                &rows,
            );
            Ok(())
        }
        RegimeCmd::Evaluate(a) => {
            let params: serde_json::Value =
                serde_json::from_str(&a.params).context("--params must be a JSON object")?;
            let req = sextant_backtest::run::BacktestRequest {
                strategy: "regime_switch".into(),
                params,
                symbols: a.symbols,
                universe: None,
                resolution: sextant_domain::Resolution::Daily,
                from: None,
                to: None,
                sim: Default::default(),
                seed: 0,
                periods_per_year: None,
                prices: Default::default(),
                risk_free: Default::default(),
            };
            let e = evaluate(&s.backtests, &s.regimes, &s.cache, &req).await?;
            println!("out of sample: {} .. {}", e.from, e.to);
            let arms: Vec<Vec<String>> = [&e.conditioned, &e.unconditioned, &e.buy_and_hold]
                .iter()
                .map(|a| {
                    vec![
                        a.strategy.clone(),
                        format!("{:+.1}%", 100.0 * a.total_return),
                        format!("{:.2}", a.sharpe),
                        format!("{:.1}%", 100.0 * a.max_drawdown),
                        a.run_id.clone(),
                    ]
                })
                .collect();
            table(
                &["strategy", "total return", "sharpe", "max drawdown", "run"],
                &arms,
            );
            for (what, sig) in [
                ("vs unconditioned", &e.vs_unconditioned),
                ("vs buy & hold", &e.vs_buy_and_hold),
            ] {
                println!(
                    "{what}: {:+.4}%/day over {} days, t = {:.2}, p = {:.3}",
                    100.0 * sig.mean_daily_difference,
                    sig.days,
                    sig.t_stat,
                    sig.p_value
                );
            }
            let by: Vec<Vec<String>> = e
                .by_regime
                .iter()
                .map(|r| {
                    vec![
                        r.regime.clone(),
                        r.days.to_string(),
                        format!("{:+.1}%", 100.0 * r.total_return),
                        format!("{:.1}%", 100.0 * r.volatility),
                        format!("{:.2}", r.sharpe),
                        format!("{:.1}%", 100.0 * r.max_drawdown),
                    ]
                })
                .collect();
            table(
                &["regime", "days", "return", "vol", "sharpe", "max drawdown"],
                &by,
            );
            println!("{}", e.verdict);
            Ok(())
        }
    }
}

/// A model name, or a symbol whose own model is fitted on first use.
async fn resolve(s: &Services, name: &str) -> Result<String> {
    match s.regimes.state(name).await {
        Ok(st) => Ok(st.spec.name),
        Err(RegimeServiceError::NotFound(_)) => {
            let sym = Symbol::new(name).with_context(|| format!("no regime model {name:?}"))?;
            Ok(s.regimes.for_symbol(&sym).await?.spec.name)
        }
        Err(e) => Err(e.into()),
    }
}

fn print_state(st: &RegimeState) {
    let rows: Vec<Vec<String>> = st
        .summary
        .iter()
        .map(|r| {
            vec![
                r.regime.to_string(),
                r.days.to_string(),
                format!("{:.1}%", 100.0 * r.share),
                r.mean_return
                    .map_or("-".into(), |m| format!("{:+.3}%", 100.0 * m)),
                r.volatility
                    .map_or("-".into(), |v| format!("{:.1}%", 100.0 * v)),
            ]
        })
        .collect();
    table(
        &[
            "regime",
            "days",
            "share",
            "mean daily return",
            "annualised vol",
        ],
        &rows,
    );
    println!(
        "{} ({}; {} symbols): labelled {} .. {}; fits at {}; {} days before the first fit unlabelled, {} left out",
        st.spec.name,
        st.spec.walk.kind,
        st.spec.symbols.len(),
        st.first_day,
        st.last_day,
        st.fit_days
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        st.days_unlabelled,
        st.days_left_out
    );
}
