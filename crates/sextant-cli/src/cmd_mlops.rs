//! `sextant mlops`: a model's drift, the tracked runs and their MLflow export, retraining
//! schedules, retrains judged by the promotion rule, and the promotion records.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use sextant_core::mlops::{RetrainParams, ScheduleInput};
use sextant_core::Services;
use sextant_mlops::drift::Bands;
use sextant_mlops::schedule::Trigger;
use sextant_mlops::tracking::RunKind;
use std::sync::Arc;

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
    /// Retraining and drift-check schedules (fired by `sextant serve`, in UTC).
    #[command(subcommand)]
    Schedule(ScheduleCmd),
    /// Retrain a model now: train on data up to --as-of (default: the newest data) with a
    /// holdout at the end; the candidate lands in staging and the promotion rule judges it
    /// against production (non-inferior holdout log loss by a paired bootstrap, AUC not more
    /// than 0.01 lower). The decision is recorded either way.
    ///
    /// Example: sextant mlops retrain up --trigger drift:alert --as-of 2009-02-27
    Retrain {
        /// A model name or id.
        model: String,
        /// every (default), drift:warn, drift:alert or age:DAYS.
        #[arg(long, default_value = "every")]
        trigger: String,
        /// Last day of data (default: the newest day with features for every symbol).
        #[arg(long)]
        as_of: Option<NaiveDate>,
        /// Holdout in calendar days (default 182).
        #[arg(long)]
        holdout_days: Option<u32>,
        /// Drift window in calendar days (default 182).
        #[arg(long)]
        window_days: Option<u32>,
    },
    /// Promotion records, newest first: stage changes by hand (who, why) and every decision of
    /// the promotion rule.
    Promotions {
        /// Only this model name.
        #[arg(long)]
        model: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
}

#[derive(Subcommand)]
pub enum ScheduleCmd {
    /// Add a schedule.
    ///
    /// Example: sextant mlops schedule add weekly-up --model up --cron "0 6 * * MON" --trigger drift:alert
    Add {
        /// A unique name.
        name: String,
        /// The model's registry name.
        #[arg(long)]
        model: String,
        /// Five-field cron pattern in UTC, or an alias such as @weekly.
        #[arg(long)]
        cron: String,
        /// every (default), drift:warn, drift:alert or age:DAYS.
        #[arg(long, default_value = "every")]
        trigger: String,
        /// retrain (default) or drift_check.
        #[arg(long, default_value = "retrain")]
        action: sextant_mlops::schedule::Action,
    },
    /// List schedules.
    Ls,
    /// Delete a schedule by id or name.
    Rm { id: String },
}

/// `every`, `drift:warn`, `drift:alert` or `age:DAYS` as a trigger.
fn trigger(text: &str) -> Result<Trigger> {
    let t = match text.split_once(':') {
        None if text == "every" => Trigger::Every,
        Some(("drift", band)) => Trigger::Drift {
            band: serde_json::from_value(serde_json::json!(band))
                .with_context(|| format!("drift band {band:?}: use warn or alert"))?,
        },
        Some(("age", days)) => Trigger::Age {
            max_days: days
                .parse()
                .with_context(|| format!("age:{days}: give whole days"))?,
        },
        _ => anyhow::bail!("trigger {text:?}: use every, drift:warn, drift:alert or age:DAYS"),
    };
    t.validate()?;
    Ok(t)
}

fn ms_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

async fn schedule(cmd: ScheduleCmd, s: &Services) -> Result<()> {
    match cmd {
        ScheduleCmd::Add {
            name,
            model,
            cron,
            trigger: t,
            action,
        } => {
            let input = ScheduleInput {
                name,
                model,
                cron,
                trigger: trigger(&t)?,
                action,
                window_days: None,
                holdout_days: None,
                rule: None,
            };
            let now = chrono::Utc::now().timestamp_millis();
            let sch = s.mlops.create_schedule(input, "local", now).await?;
            println!(
                "{} {}: {} ({}), next {}",
                sch.id,
                sch.spec.name,
                sch.spec.cron,
                sch.describe,
                ms_text(sch.next_run_ms)
            );
        }
        ScheduleCmd::Ls => {
            let rows: Vec<Vec<String>> = s
                .mlops
                .schedules(None)
                .await?
                .iter()
                .map(|x| {
                    vec![
                        x.id.clone(),
                        x.spec.name.clone(),
                        x.spec.model.clone(),
                        x.spec.cron.clone(),
                        serde_json::to_string(&x.spec.trigger).unwrap_or_default(),
                        x.spec.action.to_string(),
                        ms_text(x.next_run_ms),
                        x.last_job_id.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            crate::output::table(
                &[
                    "id", "name", "model", "cron", "trigger", "action", "next", "last job",
                ],
                &rows,
            );
        }
        ScheduleCmd::Rm { id } => {
            s.mlops.delete_schedule(&id, None).await?;
            println!("deleted {id}");
        }
    }
    Ok(())
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
        MlopsCmd::Schedule(cmd) => schedule(cmd, s).await?,
        MlopsCmd::Retrain {
            model,
            trigger: t,
            as_of,
            holdout_days,
            window_days,
        } => {
            let p = RetrainParams {
                model,
                trigger: trigger(&t)?,
                as_of,
                window_days,
                holdout_days,
                rule: None,
                schedule: None,
            };
            let out = s.mlops.retrain(&p, Arc::new(|| false), None).await?;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        MlopsCmd::Promotions { model, limit } => {
            let rows: Vec<Vec<String>> = s
                .mlops
                .promotions(model.as_deref(), limit)
                .await?
                .iter()
                .map(|p| {
                    vec![
                        p.at.format("%Y-%m-%d %H:%M").to_string(),
                        format!("{} v{}", p.model_name, p.model_version),
                        format!("{} -> {}", p.from_stage, p.to_stage),
                        if p.applied { "yes" } else { "no" }.into(),
                        serde_json::to_string(&p.actor).unwrap_or_default(),
                        p.reason.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            crate::output::table(&["at", "model", "stage", "applied", "by", "reason"], &rows);
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
