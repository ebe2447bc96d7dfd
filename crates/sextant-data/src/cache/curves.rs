//! Backtest equity curves live next to the bars in DuckDB: they are long numeric series that
//! dashboards aggregate, not documents.

use super::Cache;
use crate::Result;
use duckdb::params;
use sextant_domain::EquityPoint;

impl Cache {
    /// Stores (replacing) the equity curve of run `run_id`, in one transaction.
    pub fn put_equity_curve(&self, run_id: &str, points: &[EquityPoint]) -> Result<()> {
        self.write(|conn| {
            conn.execute(
                "DELETE FROM equity_curves WHERE run_id = ?",
                params![run_id],
            )?;
            let mut app = conn.appender("equity_curves")?;
            for p in points {
                app.append_row(params![run_id, p.ts, p.equity, p.cash])?;
            }
            app.flush()?;
            Ok(())
        })
    }

    /// The equity curve of run `run_id`, oldest first (empty when unknown).
    pub fn equity_curve(&self, run_id: &str) -> Result<Vec<EquityPoint>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT ts, equity, cash FROM equity_curves WHERE run_id = ? ORDER BY ts",
        )?;
        let rows = stmt
            .query_map(params![run_id], |r| {
                Ok(EquityPoint {
                    ts: r.get(0)?,
                    equity: r.get(1)?,
                    cash: r.get(2)?,
                })
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
