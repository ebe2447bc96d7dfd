//! `sextant features`, `sextant train signal`, `sextant models` and `sextant signal`.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};
use sextant_core::signals::{LabelSpec, PortfolioSpec, Timing, TrainRequest, Validation};
use sextant_core::Services;
use sextant_domain::Symbol;
use sextant_features::FeatureStore;

#[derive(Subcommand)]
pub enum FeaturesCmd {
    /// Built-in views with their versions, and what is materialised.
    Ls,
    /// Compute a view on the current bars and store it (e.g. `technical`).
    Materialize { name: String },
    /// Print a feature panel as CSV.
    Show {
        name: String,
        #[arg(long, required = true)]
        symbol: Vec<Symbol>,
        #[arg(long)]
        from: Option<NaiveDate>,
        #[arg(long)]
        to: Option<NaiveDate>,
    },
}

#[derive(Subcommand)]
pub enum TrainCmd {
    /// Train a buy/sell signal model (gradient-boosted trees) and register it.
    ///
    /// Example: sextant train signal --name up5 --symbol MSFT --symbol AAPL --train-to 2009-12-31 --test-from 2010-01-01
    Signal(TrainArgs),
    /// Walk-forward ML backtest: retrain before each test window on labels known by then,
    /// score the window, and trade the stitched probabilities (`--test-from` starts the first
    /// window; `--windows` splits the test span).
    ///
    /// Example: sextant train walk-forward --name wf --symbol MSFT --symbol IBM --test-from 2010-01-01 --windows 4
    WalkForward {
        #[command(flatten)]
        train: TrainArgs,
        #[arg(long, default_value_t = 4)]
        windows: usize,
        /// Exit (or short) below this probability.
        #[arg(long, default_value_t = 0.5)]
        lower: f64,
        /// Go long above this probability.
        #[arg(long, default_value_t = 0.55)]
        upper: f64,
        /// Trade the probabilities as a cross-sectional portfolio: topk_dropout,
        /// topk_weighted or long_short (its parameters with --portfolio-param).
        #[arg(long)]
        portfolio: Option<String>,
        /// A portfolio parameter NAME=VALUE (repeatable), e.g. topk=20.
        #[arg(long = "portfolio-param", value_parser = crate::cmd_backtest::parse_kv)]
        portfolio_params: Vec<(String, serde_json::Value)>,
        /// Cash, commission and slippage of the backtest.
        #[command(flatten)]
        costs: crate::cmd_backtest::CostArgs,
    },
}

#[derive(Args)]
pub struct TrainArgs {
    #[arg(long)]
    name: String,
    #[arg(long, required_unless_present = "universe")]
    symbol: Vec<Symbol>,
    /// Pool the samples of a universe's members (those with cached bars) instead of --symbol.
    #[arg(long, conflicts_with = "symbol")]
    universe: Option<String>,
    #[arg(long, default_value = "technical")]
    view: String,
    /// next_return, triple_barrier or abs_return_above_median.
    #[arg(long, default_value = "next_return")]
    label: String,
    /// Label horizon in bars.
    #[arg(long, default_value_t = 1)]
    horizon: usize,
    /// Returns within ±this are not labelled (next_return).
    #[arg(long, default_value_t = 0.0)]
    dead_zone: f64,
    /// Label from close to close instead of next open to next open.
    #[arg(long)]
    close_to_close: bool,
    #[arg(long)]
    train_from: Option<NaiveDate>,
    #[arg(long)]
    train_to: Option<NaiveDate>,
    #[arg(long)]
    test_from: Option<NaiveDate>,
    #[arg(long)]
    test_to: Option<NaiveDate>,
    /// purged_kfold, walk_forward or none.
    #[arg(long, default_value = "purged_kfold")]
    validation: String,
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Embargo in bars after each test fold.
    #[arg(long, default_value_t = 5)]
    embargo: usize,
    #[arg(long, default_value_t = 100)]
    trees: usize,
    #[arg(long, default_value_t = 31)]
    leaves: usize,
    #[arg(long, default_value_t = 0.1)]
    learning_rate: f64,
    #[arg(long, default_value_t = 20)]
    min_data_in_leaf: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Subcommand)]
pub enum ModelsCmd {
    /// Registered models, newest first.
    Ls {
        #[arg(long)]
        name: Option<String>,
    },
    /// One model's record as JSON.
    Show { id: String },
    /// Move a model to staging, production or archived.
    Promote {
        id: String,
        stage: String,
        /// Why: kept in the promotion record (`sextant mlops promotions`).
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Args)]
pub struct SignalArgs {
    symbol: Symbol,
    /// A model id or name.
    #[arg(long)]
    model: String,
    /// Show each feature's SHAP contribution.
    #[arg(long)]
    explain: bool,
}

pub async fn features(cmd: FeaturesCmd, s: &Services) -> Result<()> {
    match cmd {
        FeaturesCmd::Ls => {
            for v in sextant_features::builtin() {
                println!(
                    "{} @ {} ({}): {}",
                    v.name,
                    v.version(),
                    v.resolution,
                    v.feature_names().join(", ")
                );
            }
            let rows: Vec<Vec<String>> = s
                .cache
                .materialized_views()?
                .iter()
                .map(|m| {
                    vec![
                        m.name.clone(),
                        m.version.clone(),
                        m.rows.to_string(),
                        m.symbols.to_string(),
                        m.materialized_at.to_string(),
                        crate::output::short_hash(&m.data_snapshot).to_string(),
                    ]
                })
                .collect();
            println!();
            crate::output::table(
                &[
                    "view",
                    "version",
                    "rows",
                    "symbols",
                    "materialised",
                    "snapshot",
                ],
                &rows,
            );
        }
        FeaturesCmd::Materialize { name } => {
            let view = sextant_features::find(&name).with_context(|| {
                format!("no built-in view {name:?} (see `sextant features ls`)")
            })?;
            let t = std::time::Instant::now();
            let m = s.cache.materialize_view(&view)?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "{} @ {}: {} rows, {} symbols in {secs:.2} s ({:.0} rows/s), table {}",
                m.name,
                m.version,
                m.rows,
                m.symbols,
                m.rows as f64 / secs.max(1e-9),
                m.table_name
            );
        }
        FeaturesCmd::Show {
            name,
            symbol,
            from,
            to,
        } => {
            let p = s
                .market_data
                .feature_panel(&name, None, &symbol, from, to)?;
            println!("symbol,ts,{}", p.features.join(","));
            for i in 0..p.len() {
                let vals: Vec<String> = p
                    .row(i)
                    .iter()
                    .map(|v| {
                        if v.is_nan() {
                            String::new()
                        } else {
                            format!("{v}")
                        }
                    })
                    .collect();
                println!("{},{},{}", p.symbols[i], p.ts[i], vals.join(","));
            }
            // Held bars have no feature row: say so (on stderr, so the CSV stays clean).
            if let Some(view) = sextant_features::find(&name) {
                let res = view.resolution;
                let held = s.market_data.held_bars(&symbol, res, from, to)?;
                if !held.is_empty() {
                    eprintln!(
                        "note: {} bar(s) in this range are held by the quality checks and have no row: {}",
                        held.len(),
                        held.iter()
                            .take(10)
                            .map(|h| format!("{} {}", h.symbol, h.ts.date()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
    }
    Ok(())
}

fn label(a: &TrainArgs) -> Result<LabelSpec> {
    Ok(match a.label.as_str() {
        "next_return" => LabelSpec::NextReturn {
            timing: if a.close_to_close {
                Timing::CloseToClose
            } else {
                Timing::NextOpen
            },
            horizon: a.horizon,
            dead_zone: a.dead_zone,
        },
        "triple_barrier" => LabelSpec::TripleBarrier {
            horizon: a.horizon.max(2),
            upper: 1.0,
            lower: 1.0,
            vol_window: 20,
        },
        "abs_return_above_median" => LabelSpec::AbsReturnAboveMedian { window: 250 },
        other => anyhow::bail!(
            "unknown label {other:?}: next_return, triple_barrier or abs_return_above_median"
        ),
    })
}

pub async fn train(cmd: TrainCmd, s: &Services) -> Result<()> {
    let (a, walk) = match cmd {
        TrainCmd::Signal(a) => (a, None),
        TrainCmd::WalkForward {
            train,
            windows,
            lower,
            upper,
            portfolio,
            portfolio_params,
            costs,
        } => {
            let portfolio = portfolio.map(|strategy| PortfolioSpec {
                strategy,
                params: serde_json::Value::Object(portfolio_params.into_iter().collect()),
            });
            let sim = crate::cmd_backtest::sim_config(&costs, Default::default());
            (train, Some((windows, lower, upper, portfolio, sim)))
        }
    };
    let symbols = match &a.universe {
        None => a.symbol.clone(),
        Some(u) => {
            s.universes
                .members_with_bars(u, sextant_domain::Resolution::Daily)
                .await?
        }
    };
    let validation = match a.validation.as_str() {
        "purged_kfold" => Validation::PurgedKfold {
            k: a.folds,
            embargo: a.embargo,
        },
        "walk_forward" => Validation::WalkForward {
            splits: a.folds,
            embargo: a.embargo,
        },
        "none" => Validation::None,
        other => anyhow::bail!("unknown validation {other:?}: purged_kfold, walk_forward or none"),
    };
    // The seed goes in the request (the service sets `params.seed` from it).
    let params = sextant_ml::GbtParams {
        n_trees: a.trees,
        num_leaves: a.leaves,
        learning_rate: a.learning_rate,
        min_data_in_leaf: a.min_data_in_leaf,
        ..Default::default()
    };
    let req = TrainRequest {
        name: a.name.clone(),
        symbols,
        view: a.view.clone(),
        label: label(&a)?,
        train_from: a.train_from,
        train_to: a.train_to,
        test_from: a.test_from,
        test_to: a.test_to,
        validation,
        params,
        seed: a.seed,
    };
    if let Some((windows, lower, upper, portfolio, sim)) = walk {
        return walk_forward(req, (windows, lower, upper), (portfolio, sim), s).await;
    }
    let t = std::time::Instant::now();
    let rec = s.signals.train(req).await?;
    println!(
        "model {} ({} v{}, {}) trained in {:.1} s",
        rec.id,
        rec.name,
        rec.version,
        rec.stage,
        t.elapsed().as_secs_f64()
    );
    let m = &rec.metrics;
    let mut rows = vec![report_row("in-sample", &m.in_sample)];
    if let Some(cv) = &m.cross_validation {
        rows.push(report_row("cross-validated (OOS)", &cv.report));
    }
    if let Some(h) = &m.holdout {
        rows.push(report_row("holdout (OOS)", h));
    }
    crate::output::table(
        &[
            "evaluation",
            "n",
            "AUC",
            "log loss",
            "baseline LL",
            "Brier",
            "baseline Brier",
            "accuracy",
            "base rate",
            "ECE",
        ],
        &rows,
    );
    println!("top features (mean |SHAP|, log-odds):");
    for (f, v) in m.importance.iter().take(8) {
        println!("  {f:<18} {v:.4}");
    }
    crate::cmd_backtest::print_excluded(&rec.excluded);
    println!(
        "view {} @ {}, data snapshot {}, {}",
        rec.view,
        rec.view_version,
        crate::output::short_hash(&rec.data_snapshot),
        rec.code_version
    );
    Ok(())
}

async fn walk_forward(
    req: TrainRequest,
    (windows, lower, upper): (usize, f64, f64),
    (portfolio, sim): (
        Option<PortfolioSpec>,
        sextant_backtest::simulator::SimConfig,
    ),
    s: &Services,
) -> Result<()> {
    let test_from = req
        .test_from
        .context("--test-from starts the first test window")?;
    let wf = sextant_core::signals::MlWalkForwardRequest {
        test_to: req.test_to,
        train: req,
        test_from,
        windows,
        lower,
        upper,
        allow_short: false,
        sim,
        portfolio,
    };
    let out = s.signals.walk_forward(wf, &s.backtests).await?;
    let rows: Vec<Vec<String>> = out
        .windows
        .iter()
        .map(|w| {
            vec![
                w.from.to_string(),
                w.to.to_string(),
                w.train_samples.to_string(),
                w.train_label_end
                    .map_or("-".into(), |t| t.date().to_string()),
                w.test_samples.to_string(),
                w.oos
                    .as_ref()
                    .map_or("-".into(), |r| format!("{:.4}", r.auc)),
                w.oos
                    .as_ref()
                    .map_or("-".into(), |r| format!("{:.4}", r.base_rate)),
            ]
        })
        .collect();
    crate::output::table(
        &[
            "test from",
            "test to",
            "train n",
            "last label end",
            "test n",
            "OOS AUC",
            "base rate",
        ],
        &rows,
    );
    if let Some(r) = &out.oos {
        println!(
            "all windows: OOS AUC {:.4}, log loss {:.4} (baseline {:.4})",
            r.auc, r.log_loss, r.baseline_log_loss
        );
    }
    if let Some(f) = &out.factor {
        println!("cross-sectional evaluation of the stitched probabilities (next-open returns):");
        for (h, sp) in f.ic.iter().zip(&f.spread) {
            println!(
                "  {:>2}-bar: rank IC {:.4} (ICIR {:.3}, t {:.2}, {} dates), top-bottom quintile {:.3}% (t {:.2})",
                h.period, h.summary.mean, h.summary.icir, h.summary.t_stat, h.summary.n,
                sp.mean * 100.0, sp.t_stat
            );
        }
        println!(
            "  turnover top {:.1}%, rank autocorrelation {:.3}",
            f.top_turnover * 100.0,
            f.rank_autocorrelation
        );
    }
    let m = &out.backtest.metrics;
    println!(
        "backtest {} ({}) on the stitched out-of-sample probabilities: final equity {:.2}, {} trades; stored",
        out.backtest.id, out.backtest.manifest.request.strategy, out.backtest.final_equity, out.backtest.trade_count
    );
    println!("{}", serde_json::to_string_pretty(m)?);
    Ok(())
}

fn report_row(name: &str, r: &sextant_ml::ClassificationReport) -> Vec<String> {
    vec![
        name.to_string(),
        r.n.to_string(),
        format!("{:.4}", r.auc),
        format!("{:.4}", r.log_loss),
        format!("{:.4}", r.baseline_log_loss),
        format!("{:.4}", r.brier),
        format!("{:.4}", r.baseline_brier),
        format!("{:.4}", r.accuracy),
        format!("{:.4}", r.base_rate),
        format!("{:.4}", r.ece),
    ]
}

pub async fn models(cmd: ModelsCmd, s: &Services) -> Result<()> {
    match cmd {
        ModelsCmd::Ls { name } => {
            let rows: Vec<Vec<String>> = s
                .signals
                .list(name.as_deref())
                .await?
                .iter()
                .map(|m| {
                    vec![
                        m.id.clone(),
                        m.name.clone(),
                        m.version.to_string(),
                        m.stage.to_string(),
                        m.metrics
                            .holdout
                            .as_ref()
                            .map_or("-".into(), |h| format!("{:.4}", h.auc)),
                        m.metrics
                            .cross_validation
                            .as_ref()
                            .map_or("-".into(), |c| format!("{:.4}", c.report.auc)),
                        m.created_at.format("%Y-%m-%d %H:%M").to_string(),
                    ]
                })
                .collect();
            crate::output::table(
                &[
                    "id",
                    "name",
                    "version",
                    "stage",
                    "holdout AUC",
                    "CV AUC",
                    "created",
                ],
                &rows,
            );
        }
        ModelsCmd::Show { id } => println!(
            "{}",
            serde_json::to_string_pretty(&s.signals.get(&id).await?)?
        ),
        ModelsCmd::Promote { id, stage, reason } => {
            let m = s
                .mlops
                .promote_local(&id, &stage, reason.as_deref())
                .await?;
            println!("{} ({} v{}) is now {}", m.id, m.name, m.version, m.stage);
        }
    }
    Ok(())
}

pub async fn signal(a: SignalArgs, s: &Services) -> Result<()> {
    let sig = s.signals.score(&a.symbol, &a.model, a.explain).await?;
    println!(
        "{} {}: P(up) = {:.4} (model {})",
        sig.symbol, sig.ts, sig.probability, sig.model_id
    );
    let shap: std::collections::HashMap<String, f64> =
        sig.shap.clone().unwrap_or_default().into_iter().collect();
    for (f, v) in &sig.features {
        match shap.get(f) {
            Some(c) => println!("  {f:<18} {v:>12.6}   SHAP {c:+.4}"),
            None => println!("  {f:<18} {v:>12.6}"),
        }
    }
    if let Some(ev) = sig.expected_value {
        println!("  expected value (log-odds) {ev:+.4}");
    }
    Ok(())
}
