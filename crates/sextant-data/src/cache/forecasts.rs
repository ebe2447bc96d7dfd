//! Forecasts live next to the bars in DuckDB: each forecast's quantiles per horizon day, with
//! what produced it (model, spec, fitted parameters, data snapshot), so past forecasts can be
//! scored against the bars that followed.

use super::Cache;
use crate::Result;
use chrono::{NaiveDate, NaiveDateTime};
use duckdb::params;

/// One stored forecast (its quantiles are [`ForecastQuantile`] rows).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredForecast {
    /// Content hash of the target, the request and the data snapshot.
    pub id: String,
    /// `symbol`, `portfolio` or `backtest`.
    pub target_kind: String,
    /// The symbol, portfolio id or run id.
    pub target: String,
    /// The model (`fhs`, `garch`, …).
    pub model: String,
    /// The origin: the last session the forecast saw.
    pub as_of: NaiveDate,
    /// Trading days ahead.
    pub horizon: u32,
    /// Simulated paths.
    pub paths: u32,
    /// The paths' seed.
    pub seed: u64,
    /// The value at the origin the relative quantiles multiply.
    pub start_value: f64,
    /// Hash of the history the model saw.
    pub snapshot: String,
    /// The request, JSON.
    pub spec: String,
    /// What the model learnt, JSON.
    pub fit: String,
    /// VaR, CVaR and drawdown probabilities, JSON.
    pub risk: String,
    /// When it was stored (UTC).
    pub created_at: NaiveDateTime,
}

/// One quantile of a stored forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastQuantile {
    /// Trading days after the origin.
    pub day: u32,
    /// The probability level (0.05 = 5 %).
    pub quantile: f64,
    /// The value (currency) at that quantile.
    pub value: f64,
}

impl Cache {
    /// Stores a forecast and its quantiles in one transaction, replacing one with the same id
    /// (bars are untouched, so cached bar responses stay valid).
    pub fn put_forecast(&self, f: &StoredForecast, quantiles: &[ForecastQuantile]) -> Result<()> {
        self.write_unversioned(|conn| {
            conn.execute("DELETE FROM forecasts WHERE id = ?", params![f.id])?;
            conn.execute("DELETE FROM forecast_quantiles WHERE id = ?", params![f.id])?;
            conn.execute(
                "INSERT INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    f.id,
                    f.target_kind,
                    f.target,
                    f.model,
                    f.as_of,
                    f.horizon,
                    f.paths,
                    f.seed,
                    f.start_value,
                    f.snapshot,
                    f.spec,
                    f.fit,
                    f.risk,
                    f.created_at
                ],
            )?;
            let mut app = conn.appender("forecast_quantiles")?;
            for q in quantiles {
                app.append_row(params![f.id, q.day, q.quantile, q.value])?;
            }
            app.flush()?;
            Ok(())
        })
    }

    /// A stored forecast and its quantiles (by day, then level); `None` when unknown.
    pub fn forecast(&self, id: &str) -> Result<Option<(StoredForecast, Vec<ForecastQuantile>)>> {
        let Some(f) = self.forecasts_where("id = ?", id)?.into_iter().next() else {
            return Ok(None);
        };
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, quantile, value FROM forecast_quantiles WHERE id = ? ORDER BY day, quantile",
        )?;
        let q = stmt
            .query_map(params![id], |r| {
                Ok(ForecastQuantile {
                    day: r.get(0)?,
                    quantile: r.get(1)?,
                    value: r.get(2)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Some((f, q)))
    }

    /// The stored forecasts of one target (`kind:target`, e.g. `symbol:AAPL`), newest origin
    /// first.
    pub fn forecasts_of(&self, kind: &str, target: &str) -> Result<Vec<StoredForecast>> {
        self.forecasts_where(
            "target_kind || ':' || target = ?",
            &format!("{kind}:{target}"),
        )
    }

    /// The quantiles of every stored forecast of one target, by forecast id (one query).
    pub fn forecast_quantiles_of(
        &self,
        kind: &str,
        target: &str,
    ) -> Result<std::collections::HashMap<String, Vec<ForecastQuantile>>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT q.id, q.day, q.quantile, q.value FROM forecast_quantiles q \
             JOIN forecasts f ON f.id = q.id WHERE f.target_kind = ? AND f.target = ? \
             ORDER BY q.id, q.day, q.quantile",
        )?;
        let rows = stmt
            .query_map(params![kind, target], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ForecastQuantile {
                        day: r.get(1)?,
                        quantile: r.get(2)?,
                        value: r.get(3)?,
                    },
                ))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out: std::collections::HashMap<String, Vec<ForecastQuantile>> =
            std::collections::HashMap::new();
        for (id, q) in rows {
            out.entry(id).or_default().push(q);
        }
        Ok(out)
    }

    fn forecasts_where(&self, cond: &str, arg: &str) -> Result<Vec<StoredForecast>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, target_kind, target, model, as_of, horizon, paths, seed, start_value, \
             snapshot, spec, fit, risk, created_at FROM forecasts WHERE {cond} \
             ORDER BY as_of DESC, created_at DESC"
        ))?;
        let rows = stmt
            .query_map(params![arg], |r| {
                Ok(StoredForecast {
                    id: r.get(0)?,
                    target_kind: r.get(1)?,
                    target: r.get(2)?,
                    model: r.get(3)?,
                    as_of: r.get(4)?,
                    horizon: r.get(5)?,
                    paths: r.get(6)?,
                    seed: r.get(7)?,
                    start_value: r.get(8)?,
                    snapshot: r.get(9)?,
                    spec: r.get(10)?,
                    fit: r.get(11)?,
                    risk: r.get(12)?,
                    created_at: r.get(13)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
