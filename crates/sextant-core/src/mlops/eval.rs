//! The evaluation harness: a strategy replayed over named crises and custom windows, each beside
//! its baselines (buy & hold, the same rule untuned, random entries with the strategy's own
//! exposure) with significance (PSR, paired bootstrap), and for model-driven strategies the
//! model's SHAP summary and counterfactuals. Reports are stored ([`EVALS`]), tracked as runs
//! with the HTML page and the explanations as artifacts, and served by the API.

use super::{from_doc, to_doc, MlopsService, OpsError};
use crate::backtest::BacktestRequest;
use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_domain::Resolution;
use sextant_meta::{Filter, Query};
use sextant_mlops::eval::{named_window, Arm, EvalReport, Window, WindowResult, NAMED_WINDOWS};
use sextant_mlops::harness::{bootstrap_difference, psr_report, random_entries, Held};

/// Collection of evaluation reports.
pub const EVALS: &str = "mlops_evals";
/// Most windows in one evaluation.
pub const MAX_WINDOWS: usize = 20;
/// Parameters that name a strategy's inputs rather than tune it: the untuned arm keeps them.
const INPUT_PARAMS: [&str; 4] = ["model", "series", "definition", "strategy"];

/// A window by name (`gfc`) or a custom `{name, from, to}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WindowSpec {
    /// One of [`NAMED_WINDOWS`].
    Named(String),
    /// A custom window.
    Custom {
        /// Its name.
        name: String,
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
}

/// What to evaluate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalRequest {
    /// The strategy: one symbol, daily bars (its `from` and `to` are replaced per window).
    pub backtest: BacktestRequest,
    /// Windows, in order. Default: every named window.
    #[serde(default)]
    pub windows: Vec<WindowSpec>,
    /// Random-entry simulations per window, 100 to 20000. Default 1000.
    #[serde(default)]
    pub simulations: Option<usize>,
    /// Bootstrap resamples, 100 to 20000. Default 2000.
    #[serde(default)]
    pub resamples: Option<usize>,
    /// Seed of the random entries and the bootstraps. Default 0.
    #[serde(default)]
    pub seed: u64,
}

impl EvalRequest {
    fn windows(&self) -> Result<Vec<Window>, OpsError> {
        if self.windows.len() > MAX_WINDOWS {
            return Err(OpsError::Invalid(format!("at most {MAX_WINDOWS} windows")));
        }
        if self.windows.is_empty() {
            return Ok(NAMED_WINDOWS
                .iter()
                .filter_map(|w| named_window(w.0))
                .collect());
        }
        self.windows
            .iter()
            .map(|w| match w {
                WindowSpec::Named(n) => named_window(n).ok_or_else(|| {
                    let names: Vec<&str> = NAMED_WINDOWS.iter().map(|w| w.0).collect();
                    OpsError::Invalid(format!(
                        "unknown window {n:?}: use one of {} or {{name, from, to}}",
                        names.join(", ")
                    ))
                }),
                WindowSpec::Custom { name, from, to } if from < to => {
                    crate::signals::clean_name(name)?;
                    Ok(Window {
                        name: name.clone(),
                        from: *from,
                        to: *to,
                        about: None,
                    })
                }
                WindowSpec::Custom { name, .. } => Err(OpsError::Invalid(format!(
                    "window {name:?} ends before it starts"
                ))),
            })
            .collect()
    }

    fn validate(&self) -> Result<(usize, usize), OpsError> {
        let b = &self.backtest;
        if b.symbols.len() != 1 || b.universe.is_some() || b.resolution != Resolution::Daily {
            return Err(OpsError::Invalid(
                "the harness replays one symbol on daily bars (portfolios and intraday are not \
                 supported yet)"
                    .into(),
            ));
        }
        let bounded = |v: Option<usize>, d: usize, what: &str| match v.unwrap_or(d) {
            n @ 100..=20_000 => Ok(n),
            n => Err(OpsError::Invalid(format!(
                "{what} must be 100 to 20000, not {n}"
            ))),
        };
        Ok((
            bounded(self.simulations, 1000, "simulations")?,
            bounded(self.resamples, 2000, "resamples")?,
        ))
    }
}

fn returns(curve: &[(NaiveDate, f64)]) -> Vec<f64> {
    curve.windows(2).map(|w| w[1].1 / w[0].1 - 1.0).collect()
}

fn max_drawdown(curve: &[(NaiveDate, f64)]) -> f64 {
    let mut peak = f64::NEG_INFINITY;
    curve.iter().fold(0.0, |dd: f64, p| {
        peak = peak.max(p.1);
        dd.max(1.0 - p.1 / peak)
    })
}

fn sharpe(r: &[f64]) -> f64 {
    let n = r.len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let m = r.iter().sum::<f64>() / n;
    let sd = (r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt();
    m / sd * 252f64.sqrt()
}

impl MlopsService {
    /// Runs an evaluation, stores it, tracks it (artifacts: `report.html`, `eval.json`,
    /// `shap_summary.json`, `counterfactuals.json`) and returns it.
    pub async fn evaluate(&self, req: &EvalRequest, owner: &str) -> Result<EvalReport, OpsError> {
        let (simulations, resamples) = req.validate()?;
        let windows = req.windows()?;
        let started = Utc::now();
        let mut results = Vec::with_capacity(windows.len());
        for (k, w) in windows.into_iter().enumerate() {
            let seed = req.seed.wrapping_add(k as u64);
            results.push(self.replay(req, w, simulations, resamples, seed).await?);
        }
        let snapshot = {
            let mut whole = req.backtest.clone();
            whole.from = None;
            whole.to = None;
            crate::backtest::BacktestService::snapshot(self.cache.as_ref(), &whole)
                .map_err(|e| OpsError::Invalid(e.to_string()))?
        };
        let mut report = EvalReport {
            id: format!("evl_{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
            request: serde_json::to_value(&req.backtest)
                .map_err(|e| OpsError::Corrupt(e.to_string()))?,
            seed: req.seed,
            simulations,
            resamples,
            windows: results,
            data_snapshot: snapshot,
            code_version: crate::signals::registry::code_version(),
            owner: owner.to_string(),
            created_at: Utc::now(),
            tracked_run: None,
        };
        report.tracked_run = self.track_eval(&report, started).await;
        self.meta.insert(EVALS, to_doc(&report)?).await?;
        Ok(report)
    }

    /// Stored evaluations, newest first (their equity points and random totals included).
    pub async fn evals(
        &self,
        owner: Option<&str>,
        limit: u64,
    ) -> Result<Vec<EvalReport>, OpsError> {
        let mut f = Filter::new();
        if let Some(o) = owner {
            f = f.eq("owner", o);
        }
        let q = Query::new()
            .filter(f)
            .sort_desc("created_at")
            .limit(limit.clamp(1, 100));
        self.meta
            .find(EVALS, &q)
            .await?
            .into_iter()
            .map(from_doc)
            .collect()
    }

    /// One stored evaluation, if `owner` (none: anyone) may see it.
    pub async fn eval(&self, id: &str, owner: Option<&str>) -> Result<EvalReport, OpsError> {
        let r: EvalReport = from_doc(
            self.meta
                .get(EVALS, id)
                .await?
                .ok_or_else(|| OpsError::NotFound(format!("evaluation {id}")))?,
        )?;
        if owner.is_some_and(|o| o != r.owner) {
            return Err(OpsError::NotFound(format!("evaluation {id}")));
        }
        Ok(r)
    }

    async fn replay(
        &self,
        req: &EvalRequest,
        window: Window,
        simulations: usize,
        resamples: usize,
        seed: u64,
    ) -> Result<WindowResult, OpsError> {
        let b = &req.backtest;
        let symbol = &b.symbols[0];
        let bars = self
            .cache
            .bars_on(
                symbol,
                Resolution::Daily,
                Some(window.from),
                Some(window.to),
                b.prices,
            )
            .map_err(|e| OpsError::Invalid(e.to_string()))?;
        let mut out = WindowResult {
            window: window.clone(),
            skipped: None,
            bars: bars.len(),
            arms: Vec::new(),
            random_entries: None,
            random_entries_note: None,
            explanation: None,
            explanation_note: None,
        };
        let slack = Duration::days(7);
        let covered = bars
            .first()
            .is_some_and(|f| f.ts.date() <= window.from + slack)
            && bars
                .last()
                .is_some_and(|l| l.ts.date() >= window.to - slack);
        if !covered || bars.len() < 10 {
            let have = match (bars.first(), bars.last()) {
                (Some(f), Some(l)) => format!("{} to {}", f.ts.date(), l.ts.date()),
                _ => "nothing".into(),
            };
            out.skipped = Some(format!(
                "the cache's {symbol} bars in the window cover {have}, not the whole window"
            ));
            return Ok(out);
        }
        let mut arms = vec![("strategy", b.strategy.clone(), b.params.clone())];
        arms.push(("buy_and_hold", "buy_and_hold".into(), json!({})));
        // The same strategy at its defaults. What names its inputs (a model, a series, a
        // definition) is not tuning and stays: without it the strategy does not run.
        let untuned: serde_json::Map<String, Value> = b
            .params
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| INPUT_PARAMS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let untuned = Value::Object(untuned);
        if untuned != b.params && b.strategy != "buy_and_hold" {
            arms.push(("untuned", b.strategy.clone(), untuned));
        }
        let mut strategy_trades = Vec::new();
        let mut curves = Vec::new();
        for (arm, strategy, params) in arms {
            let r = BacktestRequest {
                strategy: strategy.clone(),
                params: params.clone(),
                from: Some(window.from),
                to: Some(window.to),
                ..b.clone()
            };
            let label = format!("{strategy} {params}");
            match self.backtests.run(&r).await {
                Ok(run) => {
                    let curve: Vec<(NaiveDate, f64)> = self
                        .backtests
                        .equity_curve(&run.id)
                        .map_err(|e| OpsError::Invalid(e.to_string()))?
                        .iter()
                        .map(|p| (p.ts.date(), p.equity / run.initial_cash))
                        .collect();
                    if arm == "strategy" {
                        strategy_trades = self
                            .backtests
                            .trades(&run.id)
                            .await
                            .map_err(|e| OpsError::Invalid(e.to_string()))?;
                    }
                    curves.push(returns(&curve));
                    out.arms.push(Arm {
                        arm: arm.into(),
                        label,
                        run_id: Some(run.id.clone()),
                        total_return: curve
                            .last()
                            .map(|p| p.1 / curve[0].1 - 1.0)
                            .filter(|x| x.is_finite()),
                        sharpe: Some(sharpe(curves.last().map_or(&[][..], |v| v.as_slice())))
                            .filter(|x| x.is_finite()),
                        max_drawdown: Some(max_drawdown(&curve)).filter(|x| x.is_finite()),
                        trades: run.trade_count,
                        psr: None,
                        vs_buy_and_hold: None,
                        equity: curve,
                        error: None,
                    });
                }
                Err(e) => {
                    curves.push(Vec::new());
                    out.arms.push(Arm {
                        arm: arm.into(),
                        label,
                        run_id: None,
                        total_return: None,
                        sharpe: None,
                        max_drawdown: None,
                        trades: 0,
                        psr: None,
                        vs_buy_and_hold: None,
                        equity: Vec::new(),
                        error: Some(e.to_string()),
                    });
                }
            }
        }
        // Significance against buy & hold (index 1), on the same bars.
        let bh = curves.get(1).cloned().unwrap_or_default();
        for (a, r) in out.arms.iter_mut().zip(&curves) {
            if r.len() < 3 {
                continue;
            }
            let bench = (!bh.is_empty() && a.arm != "buy_and_hold").then_some(bh.as_slice());
            // Undefined statistics (flat equity: zero variance) are left out, not stored as NaN.
            a.psr = psr_report(r, bench).ok().filter(|p| {
                [p.sharpe, p.skew, p.kurtosis, p.psr_zero]
                    .into_iter()
                    .chain(p.benchmark_sharpe)
                    .chain(p.psr_benchmark)
                    .all(f64::is_finite)
            });
            if let Some(bench) = bench.filter(|b| b.len() == r.len()) {
                a.vs_buy_and_hold =
                    bootstrap_difference(r, bench, resamples, seed)
                        .ok()
                        .filter(|b| {
                            [b.mean_diff, b.sharpe_diff, b.share_sharpe_not_better]
                                .into_iter()
                                .chain(b.mean_diff_ci)
                                .chain(b.sharpe_diff_ci)
                                .all(f64::is_finite)
                        });
            }
        }
        self.random_baseline(&mut out, &bars, &strategy_trades, b, simulations, seed);
        self.explain(&mut out, b, &window).await;
        Ok(out)
    }

    /// The random-entry baseline on the window's total-return closes.
    fn random_baseline(
        &self,
        out: &mut WindowResult,
        bars: &[sextant_domain::Bar],
        trades: &[crate::backtest::TradeRecord],
        b: &BacktestRequest,
        simulations: usize,
        seed: u64,
    ) {
        let note = |out: &mut WindowResult, s: String| out.random_entries_note = Some(s);
        if trades.is_empty() {
            return note(out, "the strategy made no trade in the window".into());
        }
        if trades.iter().any(|t| !t.long) {
            return note(
                out,
                "short trades: random entries are long-only so far".into(),
            );
        }
        let closes: Vec<f64> = bars.iter().map(|x| x.close).collect();
        let ts: Vec<NaiveDateTime> = bars.iter().map(|x| x.ts).collect();
        let r: Vec<f64> = closes.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let index = |t: Option<chrono::DateTime<Utc>>| {
            t.and_then(|t| ts.binary_search(&t.naive_utc()).ok())
        };
        let mut held = Vec::new();
        for t in trades {
            let entry = index(t.entry_ts);
            let exit = if t.open {
                Some(ts.len() - 1)
            } else {
                index(t.exit_ts)
            };
            match (entry, exit) {
                (Some(e), Some(x)) if x > e => held.push(Held { entry: e, exit: x }),
                (Some(_), Some(_)) => {}
                _ => {
                    return note(
                        out,
                        "a trade falls on a bar outside the window's bars".into(),
                    )
                }
            }
        }
        let cost = b.sim.costs.commission_pct + b.sim.costs.slippage_bps / 10_000.0;
        match random_entries(&r, &held, cost, simulations, seed) {
            Ok(mut t) => {
                // The draws are reproducible from the seed; the stored report keeps the summary.
                t.totals.clear();
                out.random_entries = Some(t);
            }
            Err(e) => note(out, e.to_string()),
        }
    }

    /// SHAP summary and counterfactuals when the strategy trades a model's signal.
    async fn explain(&self, out: &mut WindowResult, b: &BacktestRequest, w: &Window) {
        if b.strategy != "ml_signal" {
            return;
        }
        let Some(model) = b.params.get("model").and_then(Value::as_str) else {
            return;
        };
        // The threshold the strategy traded at: the request's, else the strategy's own default
        // (its schema), never a constant of this function.
        let threshold = b.params.get("upper").and_then(Value::as_f64).or_else(|| {
            sextant_backtest::strategy::schema_for(&b.strategy, &b.params)
                .and_then(|s| s["properties"]["upper"]["default"].as_f64())
        });
        let Some(threshold) = threshold else {
            out.explanation_note = Some(format!("{}: no `upper` threshold", b.strategy));
            return;
        };
        let r = match self.signals.resolve(model).await {
            Ok(rec) => self.signals.explain_window(&rec, w.from, w.to, threshold),
            Err(e) => Err(e),
        };
        match r {
            Ok(e) => out.explanation = Some(e),
            Err(e) => out.explanation_note = Some(format!("model {model}: {e}")),
        }
    }

    /// Tracks the evaluation as a run; the run id, or none when tracking failed (logged).
    async fn track_eval(&self, r: &EvalReport, started: chrono::DateTime<Utc>) -> Option<String> {
        let mut metrics = Vec::new();
        for w in r.windows.iter().filter(|w| w.skipped.is_none()) {
            for a in w.arms.iter().filter(|a| a.error.is_none()) {
                let key = |m: &str| format!("{}_{}_{m}", w.window.name, a.arm);
                for (m, v) in [("return", a.total_return), ("sharpe", a.sharpe)] {
                    if let Some(v) = v {
                        metrics.push((key(m), v, 0));
                    }
                }
                if let Some(p) = &a.psr {
                    metrics.push((key("psr0"), p.psr_zero, 0));
                }
            }
            if let Some(t) = &w.random_entries {
                metrics.push((format!("{}_random_entry_p", w.window.name), t.p_value, 0));
            }
        }
        let shap: Vec<_> = r
            .windows
            .iter()
            .filter_map(|w| {
                w.explanation
                    .as_ref()
                    .map(|e| json!({"window": w.window.name, "model": e.model_id, "shap": e.shap}))
            })
            .collect();
        let cfs: Vec<_> = r
            .windows
            .iter()
            .filter_map(|w| w.explanation.as_ref().map(|e| json!({"window": w.window.name, "model": e.model_id, "threshold": e.threshold, "counterfactuals": e.counterfactuals, "unflippable": e.unflippable})))
            .collect();
        let mut artifacts = vec![(
            "report.html".to_string(),
            sextant_mlops::eval::render_html(r).into_bytes(),
        )];
        let mut add = |path: &str, v: serde_json::Result<Vec<u8>>| match v {
            Ok(b) => artifacts.push((path.to_string(), b)),
            Err(e) => tracing::warn!(eval = %r.id, path, error = %e, "artifact not serialised"),
        };
        add("eval.json", serde_json::to_vec_pretty(r));
        if !shap.is_empty() {
            add("shap_summary.json", serde_json::to_vec_pretty(&shap));
            add("counterfactuals.json", serde_json::to_vec_pretty(&cfs));
        }
        let run = sextant_mlops::tracking::NewRun {
            name: format!(
                "eval {} {}",
                r.request["strategy"].as_str().unwrap_or("?"),
                r.id
            ),
            subject: r.id.clone(),
            started_ms: started.timestamp_millis(),
            ended_ms: Utc::now().timestamp_millis(),
            params: vec![
                ("strategy".into(), r.request["strategy"].to_string()),
                ("params".into(), r.request["params"].to_string()),
                ("symbols".into(), r.request["symbols"].to_string()),
                ("seed".into(), r.seed.to_string()),
                ("simulations".into(), r.simulations.to_string()),
                (
                    "windows".into(),
                    r.windows
                        .iter()
                        .map(|w| w.window.name.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ],
            tags: vec![("sextant.eval_id".into(), r.id.clone())],
            metrics,
            artifacts,
            data_snapshot: Some(r.data_snapshot.clone()),
            code_version: r.code_version.clone(),
            owner: r.owner.clone(),
            registration: None,
        };
        match self
            .tracker
            .record(sextant_mlops::tracking::RunKind::Evaluation, run)
            .await
        {
            Ok(t) => Some(t.id),
            Err(e) => {
                tracing::warn!(eval = %r.id, error = %e, "evaluation not tracked");
                None
            }
        }
    }
}
