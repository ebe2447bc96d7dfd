//! `sextant mlops`: a model's drift, the tracked runs and their MLflow export.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use sextant_core::Services;
use sextant_mlops::drift::Bands;
use sextant_mlops::tracking::RunKind;

#[derive(Subcommand)]
pub enum MlopsCmd {
    /// Check a model's drift on a window: PSI per feature and on the predictions against its
    /// training rows (bands from `[mlops]`, default warn 0.1, alert 0.25), exact KS beside it.
    ///
    /// Example: sextant mlops drift up --from 2008-09-01 --to 2009-02-27
    Drift {
        /// A model id or name (its production model, else its newest version).
        model: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Tracked runs, newest first.
    Runs {
        /// training, tuning, forecast_eval or evaluation.
        #[arg(long)]
        kind: Option<RunKind>,
        /// A subject id (a model id…).
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// Retry every pending or failed MLflow export (needs `SEXTANT_MLFLOW_URI`).
    Sync,
}

pub async fn run(cmd: MlopsCmd, s: &Services) -> Result<()> {
    match cmd {
        MlopsCmd::Drift {
            model,
            from,
            to,
            json,
        } => {
            let rec = s.signals.resolve(&model).await?;
            let bands = Bands::new(s.config.mlops.drift_warn, s.config.mlops.drift_alert)?;
            let d = s.signals.drift(&rec.id, from, to, bands).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
                return Ok(());
            }
            println!(
                "{} v{} ({}): {} rows {from}..{to} against {} training rows; band {}{}",
                d.model_name,
                d.model_version,
                d.model_id,
                d.current_rows,
                d.reference_rows,
                d.report.band,
                if d.report.judged {
                    ""
                } else {
                    " (too few rows to judge)"
                }
            );
            let rows: Vec<Vec<String>> = d
                .report
                .features
                .iter()
                .chain(d.report.prediction.as_ref())
                .map(|f| {
                    vec![
                        f.feature.clone(),
                        format!("{:.4}", f.psi),
                        format!("{:.4}", f.null_psi),
                        f.band.to_string(),
                        format!("{:.3}", f.ks.d),
                        format!("{:.2e}", f.ks.p),
                    ]
                })
                .collect();
            crate::output::table(
                &["feature", "PSI", "null PSI", "band", "KS D", "KS p"],
                &rows,
            );
            for (f, why) in &d.report.excluded {
                println!("excluded {f}: {why}");
            }
        }
        MlopsCmd::Runs {
            kind,
            subject,
            limit,
        } => {
            let runs = s.tracker.list(kind, subject.as_deref(), limit).await?;
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|r| {
                    vec![
                        r.id.clone(),
                        r.kind.to_string(),
                        r.name.clone(),
                        r.subject.clone(),
                        r.metrics.len().to_string(),
                        r.artifacts.len().to_string(),
                        r.mlflow.state.to_string(),
                        r.mlflow.run_id.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            crate::output::table(
                &[
                    "id",
                    "kind",
                    "name",
                    "subject",
                    "metrics",
                    "artifacts",
                    "mlflow",
                    "mlflow run",
                ],
                &rows,
            );
        }
        MlopsCmd::Sync => {
            if s.tracker.mlflow().is_none() {
                anyhow::bail!("no MLflow server configured: set SEXTANT_MLFLOW_URI");
            }
            let n = s.tracker.sync_pending().await.context("MLflow sync")?;
            println!("{n} run(s) exported");
        }
    }
    Ok(())
}
