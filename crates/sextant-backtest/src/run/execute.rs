//! Running a request on loaded data: pure computation, no storage.

use super::RiskFreeUsed;
use super::{
    BacktestRequest, BacktestRun, LoadedData, Relative, RunError, RunManifest, TradeRecord,
    ENGINE_VERSION,
};
use crate::metrics::{self as relative, Metrics, MetricsConfig, MetricsInput, TradeStats};
use crate::simulator::{BacktestResult, Trade, TradingSimulator};
use crate::strategy::build_strategy;
use chrono::{DateTime, Utc};
use sextant_domain::{EquityPoint, SessionModel};

/// Runs a request on loaded data: pure computation, no storage.
pub fn execute(
    req: &BacktestRequest,
    data: &LoadedData,
) -> Result<(BacktestRun, Vec<TradeRecord>, Vec<EquityPoint>), RunError> {
    let mut strategy = build_strategy(&req.strategy, &req.params)?;
    let sim = TradingSimulator::new(req.sim)?;
    let result = sim.run(&data.market, strategy.as_mut());
    if let Some(i) = result.equity.iter().position(|e| !e.is_finite()) {
        // Stored, it could never be read back (JSON has no infinity): refuse it now.
        return Err(RunError::Invalid(format!(
            "the run's equity stops being a finite number at bar {i}: lower sim.initial_cash or the position size"
        )));
    }
    let ppy = req
        .periods_per_year
        .unwrap_or_else(|| data.session.periods_per_year(req.resolution));
    let rf = data.risk_free.as_ref().map(|r| r.per_period(ppy));
    if let Some(rf) = &rf {
        if rf.len() != result.ts.len() {
            return Err(RunError::Invalid(format!(
                "the risk-free series has {} values for {} bars",
                rf.len(),
                result.ts.len()
            )));
        }
    }
    let metrics = compute_metrics(&result, ppy, rf.as_deref())?;
    let risk_free = match &data.risk_free {
        Some(r) => r.used.clone(),
        None => RiskFreeUsed::zero(&data.risk_free_reason),
    };
    let manifest = RunManifest {
        request: req.clone(),
        data_snapshot: data.snapshot.clone(),
        engine_version: ENGINE_VERSION.to_string(),
        seed: req.seed,
        prices: req.prices,
        excluded: data.excluded.clone(),
        inputs: data.inputs.clone(),
        risk_free: data.risk_free.as_ref().map(|r| r.used.clone()),
        session: (data.session != SessionModel::Xnys).then_some(data.session),
    };
    let trades = trade_records(&result)?;
    let curve = result
        .ts
        .iter()
        .zip(result.equity.iter().zip(&result.cash))
        .map(|(&ts, (&equity, &cash))| {
            let t = to_utc(ts)
                .ok_or_else(|| RunError::Invalid(format!("bar timestamp {ts} is out of range")))?;
            Ok(EquityPoint {
                ts: t.naive_utc(),
                equity,
                cash,
            })
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    let run = BacktestRun {
        id: manifest.run_id()?,
        metrics,
        final_equity: result.final_equity(),
        initial_cash: result.initial_cash,
        bars: result.ts.len(),
        first_ts: result.ts.first().and_then(|&t| to_utc(t)),
        last_ts: result.ts.last().and_then(|&t| to_utc(t)),
        trade_count: result.trades.len(),
        created_at: Utc::now(),
        relative: relative_to_universe(req, data, &result, ppy, rf.as_deref())?,
        risk_free,
        manifest,
    };
    Ok((run, trades, curve))
}

/// The benchmark a run is judged against: buy and hold for single-symbol strategies; for a
/// portfolio strategy, its universe bought in equal weights and held
/// ([`crate::strategy::equal_weight_benchmark`]). Same symbols, range, costs and prices.
pub fn benchmark_request(req: &BacktestRequest) -> BacktestRequest {
    let mut bench = req.clone();
    if crate::strategy::PORTFOLIO_STRATEGIES.contains(&req.strategy.as_str()) {
        let (strategy, params) = crate::strategy::equal_weight_benchmark(req.symbols.len());
        bench.strategy = strategy;
        bench.params = params;
    } else {
        bench.strategy = "buy_and_hold".into();
        bench.params = serde_json::json!({});
    }
    bench
}

/// A portfolio strategy's figures against [`benchmark_request`] on the same data.
fn relative_to_universe(
    req: &BacktestRequest,
    data: &LoadedData,
    result: &BacktestResult,
    ppy: f64,
    rf: Option<&[f64]>,
) -> Result<Option<Relative>, RunError> {
    if !crate::strategy::PORTFOLIO_STRATEGIES.contains(&req.strategy.as_str()) {
        return Ok(None);
    }
    let bench = benchmark_request(req);
    let mut strategy = build_strategy(&bench.strategy, &bench.params)?;
    let b = TradingSimulator::new(req.sim)?.run(&data.market, strategy.as_mut());
    let (r, br) = (result.returns(), b.returns());
    let some = |v: f64| v.is_finite().then_some(v);
    let total = |x: &BacktestResult| x.final_equity() / x.initial_cash - 1.0;
    Ok(Some(Relative {
        benchmark:
            "the universe in equal weights, bought on the first bar with a price history and held"
                .into(),
        benchmark_total_return: some(total(&b)),
        excess_return: some(total(result) - total(&b)),
        beta: some(relative::beta(&r, &br)),
        // Alpha takes one rate: the mean of the run's per-period risk-free series.
        alpha: some(relative::alpha(&r, &br, mean_rate(rf), ppy)),
        tracking_error: some(relative::tracking_error(&r, &br, ppy)),
        information_ratio: some(relative::information_ratio(&r, &br, ppy)),
    }))
}

fn to_utc(ts: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(ts, 0)
}

/// Metrics of a simulator result, with positions and traded value per bar.
pub fn compute_metrics(
    result: &BacktestResult,
    periods_per_year: f64,
    risk_free: Option<&[f64]>,
) -> Result<Metrics, RunError> {
    let returns = result.returns();
    let trades: Vec<TradeStats> = result
        .trades
        .iter()
        .filter(|t| !t.open)
        .map(|t| TradeStats::new(t.pnl, t.ret, t.exit_bar.saturating_sub(t.entry_bar)))
        .collect();
    let mut traded = vec![0.0; result.ts.len()];
    for f in &result.fills {
        if let Some(slot) = traded.get_mut(f.bar) {
            *slot += (f.qty * f.price).abs();
        }
    }
    let input = MetricsInput {
        returns: &returns,
        trades: &trades,
        positions: Some(&result.exposure),
        traded_notional: Some(&traded),
        equity: Some(&result.equity),
        risk_free,
    };
    Ok(Metrics::compute(
        &input,
        &MetricsConfig::new(periods_per_year)?,
    )?)
}

fn trade_records(result: &BacktestResult) -> Result<Vec<TradeRecord>, RunError> {
    result
        .trades
        .iter()
        .map(|t: &Trade| {
            let symbol = result.symbols.get(t.symbol).cloned().ok_or_else(|| {
                RunError::Invalid(format!(
                    "a trade names symbol #{} of {}",
                    t.symbol,
                    result.symbols.len()
                ))
            })?;
            Ok(TradeRecord {
                symbol,
                long: t.long,
                size: t.size,
                entry_ts: to_utc(t.entry_ts),
                entry_price: t.entry_price,
                exit_ts: if t.open { None } else { to_utc(t.exit_ts) },
                exit_price: t.exit_price,
                pnl: t.pnl,
                return_pct: t.ret,
                commission: t.entry_commission + t.exit_commission,
                open: t.open,
            })
        })
        .collect()
}

/// The mean of a per-period rate series, zero without one.
fn mean_rate(rf: Option<&[f64]>) -> f64 {
    match rf {
        Some(v) if !v.is_empty() => v.iter().sum::<f64>() / v.len() as f64,
        _ => 0.0,
    }
}
