//! Honest evaluation of a regime-conditioned strategy: over the days the regime model labels
//! out of sample only (walk-forward), the `regime_switch` run beside the same strategy without
//! conditioning and beside buy & hold, with a paired significance test on daily returns and the
//! conditioned run's performance in each regime. No claim of skill without the test.

use super::service::RegimeService;
use super::RegimeServiceError;
use crate::backtest::BacktestService;
use serde::Serialize;
use serde_json::{json, Value};
use sextant_backtest::run::BacktestRequest;
use sextant_data::Cache;
use std::collections::HashMap;

/// One of the three runs.
#[derive(Debug, Clone, Serialize)]
pub struct Arm {
    /// What ran (`regime_switch`, the inner strategy, `buy_and_hold`).
    pub strategy: String,
    /// The stored run.
    pub run_id: String,
    /// Total return over the period (fraction).
    pub total_return: f64,
    /// Annualised Sharpe ratio of daily returns (risk-free 0).
    pub sharpe: f64,
    /// Maximum drawdown (fraction, positive).
    pub max_drawdown: f64,
}

/// A paired test of daily returns: conditioned minus the other arm.
#[derive(Debug, Clone, Serialize)]
pub struct Significance {
    /// Days compared.
    pub days: usize,
    /// Mean daily return difference.
    pub mean_daily_difference: f64,
    /// t statistic of the mean difference.
    pub t_stat: f64,
    /// Two-sided p-value (normal approximation; days are in the thousands).
    pub p_value: f64,
}

/// The conditioned run's days in one regime.
#[derive(Debug, Clone, Serialize)]
pub struct RegimeSlice {
    /// The regime label of the day.
    pub regime: String,
    /// Days labelled with it.
    pub days: usize,
    /// Compounded return over those days.
    pub total_return: f64,
    /// Annualised volatility of those days' returns.
    pub volatility: f64,
    /// Annualised Sharpe ratio of those days' returns.
    pub sharpe: f64,
    /// Maximum drawdown of the equity compounded over those days only.
    pub max_drawdown: f64,
}

/// The evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// First and last day compared (the regime model's labelled days within the request).
    pub from: chrono::NaiveDate,
    /// Last day compared.
    pub to: chrono::NaiveDate,
    /// The `regime_switch` run.
    pub conditioned: Arm,
    /// The inner strategy with the bull parameters on every day.
    pub unconditioned: Arm,
    /// Buy and hold.
    pub buy_and_hold: Arm,
    /// Conditioned minus unconditioned.
    pub vs_unconditioned: Significance,
    /// Conditioned minus buy and hold.
    pub vs_buy_and_hold: Significance,
    /// The conditioned run in each regime.
    pub by_regime: Vec<RegimeSlice>,
    /// One sentence: whether the difference is significant at 5 %.
    pub verdict: String,
}

/// Runs `req` (a `regime_switch` request), its unconditioned twin and buy & hold over the
/// regime model's labelled days, and compares them.
///
/// # Errors
/// [`RegimeServiceError::Invalid`] for a request that is not `regime_switch` or a run that
/// fails; `NotFound` for an unknown regime model.
pub async fn evaluate(
    backtests: &BacktestService,
    regimes: &RegimeService,
    cache: &Cache,
    req: &BacktestRequest,
) -> Result<Evaluation, RegimeServiceError> {
    if req.strategy != "regime_switch" {
        return Err(RegimeServiceError::Invalid(
            "evaluate needs a regime_switch request".into(),
        ));
    }
    let model = req
        .params
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| RegimeServiceError::Invalid("params.model is required".into()))?;
    let (state, labels) = regimes.history(model, None, None).await?;
    let from = req.from.map_or(state.first_day, |f| f.max(state.first_day));
    let inner = req
        .params
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("sma_cross")
        .to_string();
    // The unconditioned twin runs the bull parameters on every day; without them there is no
    // twin to compare against (the inner strategy's defaults are not what the user chose).
    let inner_params =
        match req.params.get("bull") {
            Some(v @ Value::Object(_)) => v.clone(),
            _ => return Err(RegimeServiceError::Invalid(
                "params.bull is required: the unconditioned comparison runs the bull parameters \
                 on every day"
                    .into(),
            )),
        };
    let mut runs = Vec::new();
    for (strategy, params) in [
        ("regime_switch".to_string(), req.params.clone()),
        (inner, inner_params),
        ("buy_and_hold".to_string(), json!({})),
    ] {
        let r = BacktestRequest {
            strategy: strategy.clone(),
            params,
            from: Some(from),
            ..req.clone()
        };
        let run = backtests
            .run(&r)
            .await
            .map_err(|e| RegimeServiceError::Invalid(format!("{strategy}: {e}")))?;
        let curve = cache.equity_curve(&run.id)?;
        runs.push((strategy, run.id, curve));
    }
    let returns: Vec<Vec<(chrono::NaiveDate, f64)>> = runs
        .iter()
        .map(|(_, _, c)| {
            c.windows(2)
                .map(|w| (w[1].ts.date(), w[1].equity / w[0].equity - 1.0))
                .collect()
        })
        .collect();
    let arm = |i: usize| -> Arm {
        let (strategy, run_id, _) = &runs[i];
        let r: Vec<f64> = returns[i].iter().map(|x| x.1).collect();
        Arm {
            strategy: strategy.clone(),
            run_id: run_id.clone(),
            total_return: compound(&r),
            sharpe: sharpe(&r),
            max_drawdown: drawdown(&r),
        }
    };
    let label_of: HashMap<chrono::NaiveDate, String> =
        labels.into_iter().map(|l| (l.day, l.regime)).collect();
    let by_regime = slices(&returns[0], &label_of);
    let vs_unconditioned = paired(&returns[0], &returns[1]);
    let vs_buy_and_hold = paired(&returns[0], &returns[2]);
    let verdict = match (vs_unconditioned.p_value < 0.05, vs_unconditioned.mean_daily_difference > 0.0) {
        (true, true) => format!(
            "conditioning beats the unconditioned strategy at p = {:.3}",
            vs_unconditioned.p_value
        ),
        (true, false) => format!(
            "conditioning does worse than the unconditioned strategy at p = {:.3}",
            vs_unconditioned.p_value
        ),
        (false, _) => format!(
            "no significant difference from the unconditioned strategy (p = {:.2}): no evidence of skill",
            vs_unconditioned.p_value
        ),
    };
    let to = returns[0].last().map_or(from, |x| x.0);
    Ok(Evaluation {
        from,
        to,
        conditioned: arm(0),
        unconditioned: arm(1),
        buy_and_hold: arm(2),
        vs_unconditioned,
        vs_buy_and_hold,
        by_regime,
        verdict,
    })
}

/// The performance of stored run `run_id` in each regime of model `name`: its daily returns
/// (from the equity curve) grouped by the label of the day. Days without a label (before the
/// model's first fit) are left out; the slices say how many days each covers.
///
/// # Errors
/// `NotFound` for an unknown model or a run without an equity curve; `Data` when the cache
/// fails.
pub async fn performance_by_regime(
    cache: &Cache,
    regimes: &RegimeService,
    run_id: &str,
    name: &str,
) -> Result<Vec<RegimeSlice>, RegimeServiceError> {
    let curve = cache.equity_curve(run_id)?;
    if curve.len() < 2 {
        return Err(RegimeServiceError::NotFound(format!(
            "equity curve of run {run_id}"
        )));
    }
    let (_, labels) = regimes.history(name, None, None).await?;
    let label_of: HashMap<chrono::NaiveDate, String> =
        labels.into_iter().map(|l| (l.day, l.regime)).collect();
    let returns: Vec<(chrono::NaiveDate, f64)> = curve
        .windows(2)
        .map(|w| (w[1].ts.date(), w[1].equity / w[0].equity - 1.0))
        .collect();
    Ok(slices(&returns, &label_of))
}

/// Daily returns grouped by the label of their day, in label order.
fn slices(
    returns: &[(chrono::NaiveDate, f64)],
    label_of: &HashMap<chrono::NaiveDate, String>,
) -> Vec<RegimeSlice> {
    let mut groups: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for (day, r) in returns {
        if let Some(l) = label_of.get(day) {
            groups.entry(l.clone()).or_default().push(*r);
        }
    }
    groups
        .into_iter()
        .map(|(regime, r)| RegimeSlice {
            regime,
            days: r.len(),
            total_return: compound(&r),
            volatility: std(&r) * 252f64.sqrt(),
            sharpe: sharpe(&r),
            max_drawdown: drawdown(&r),
        })
        .collect()
}

fn compound(r: &[f64]) -> f64 {
    r.iter().fold(1.0, |e, x| e * (1.0 + x)) - 1.0
}

fn mean(r: &[f64]) -> f64 {
    r.iter().sum::<f64>() / r.len().max(1) as f64
}

fn std(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return f64::NAN;
    }
    let m = mean(r);
    (r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (r.len() - 1) as f64).sqrt()
}

fn sharpe(r: &[f64]) -> f64 {
    let s = std(r);
    if s > 0.0 {
        mean(r) / s * 252f64.sqrt()
    } else {
        f64::NAN
    }
}

fn drawdown(r: &[f64]) -> f64 {
    let (mut e, mut peak, mut worst) = (1.0f64, 1.0f64, 0.0f64);
    for x in r {
        e *= 1.0 + x;
        peak = peak.max(e);
        worst = worst.max(1.0 - e / peak);
    }
    worst
}

/// Paired test on the days both series have.
fn paired(a: &[(chrono::NaiveDate, f64)], b: &[(chrono::NaiveDate, f64)]) -> Significance {
    let bmap: HashMap<_, _> = b.iter().copied().collect();
    let d: Vec<f64> = a
        .iter()
        .filter_map(|(day, x)| bmap.get(day).map(|y| x - y))
        .collect();
    let m = mean(&d);
    let s = std(&d);
    let t = if s > 0.0 {
        m / s * (d.len() as f64).sqrt()
    } else {
        0.0
    };
    Significance {
        days: d.len(),
        mean_daily_difference: m,
        t_stat: t,
        p_value: erfc(t.abs() / std::f64::consts::SQRT_2),
    }
}

/// Complementary error function (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        // p = 0.05 two-sided at |t| = 1.959964.
        assert!((erfc(1.959_964 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-6);
        assert!((drawdown(&[0.1, -0.5, 0.2]) - 0.5).abs() < 1e-12);
    }
}
