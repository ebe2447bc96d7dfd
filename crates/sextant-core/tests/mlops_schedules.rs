//! Retraining schedules and the promotion rule, end to end on the bundled real data:
//! a schedule survives a crash and a restart and fires exactly once per slot (a second
//! scheduler on the same store fires nothing, missed slots collapse into one run, a claim whose
//! job was never submitted is submitted by the next start); a drift-triggered retrain lands in
//! staging and only the rule moves it, with every decision recorded with who and why.

use serde_json::json;
use sextant_core::jobs::handlers::default_handlers;
use sextant_core::jobs::{JobConfig, JobManager, JobStatus};
use sextant_core::mlops::schedules::SCHEDULES;
use sextant_core::mlops::{PromotionActor, ScheduleInput, Scheduler};
use sextant_core::signals::{ModelStage, TrainRequest};
use sextant_core::Services;
use std::time::Duration;

use crate::common;
use common::services;

const WEEK_MS: i64 = 7 * 24 * 3600 * 1000;

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("time")
        .timestamp_millis()
}

fn request(symbols: &[&str]) -> TrainRequest {
    serde_json::from_value(json!({
        "name": "up",
        "symbols": symbols,
        "train_from": "2004-01-01",
        "train_to": "2006-12-31",
        "test_from": "2007-01-01",
        "test_to": "2007-12-31",
        "validation": {"kind": "purged_kfold", "k": 3, "embargo": 5},
        "params": {"n_trees": 20},
        "seed": 3
    }))
    .expect("request")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn a_schedule_survives_a_restart_and_fires_once_per_slot() {
    let dir = tempfile::tempdir().expect("tmp");
    // 2026-12-06 is a Sunday; the first slot of "every Monday 06:00 UTC" is the next morning.
    let created_at = ms("2026-12-06T08:00:00Z");
    let first_slot = ms("2026-12-07T06:00:00Z");

    // First life: train a model, schedule its weekly retrain, then crash (runtime and every
    // service dropped without a shutdown).
    let rt = runtime();
    let id = rt.block_on(async {
        let s = services(dir.path()).await;
        s.signals.train(request(&["AAPL"])).await.expect("train");
        let input: ScheduleInput = serde_json::from_value(json!({
            "name": "weekly-up", "model": "up", "cron": "0 6 * * MON"
        }))
        .expect("input");
        let sch = s
            .mlops
            .create_schedule(input.clone(), "alice", created_at)
            .await
            .expect("schedule");
        assert_eq!(sch.next_run_ms, first_slot);
        let dup = s.mlops.create_schedule(input, "alice", created_at).await;
        assert!(
            dup.is_err(),
            "a second schedule of the same name was stored"
        );
        sch.id
    });
    drop(rt);

    // Second life on the same data directory.
    let rt = runtime();
    rt.block_on(async {
        let s: Services = services(dir.path()).await;
        let stored = s.mlops.schedule(&id, None).await.expect("survived");
        assert_eq!(stored.next_run_ms, first_slot);
        assert_eq!(stored.spec.cron, "0 6 * * MON");
        let jobs = JobManager::new(s.meta.clone(), default_handlers(&s), JobConfig::default());
        let a = Scheduler::new(s.meta.clone(), jobs.clone());
        let b = Scheduler::new(s.meta.clone(), jobs.clone());

        assert!(a.tick(first_slot - 1).await.expect("tick").is_empty());
        let fired = a.tick(first_slot + 1).await.expect("tick");
        assert_eq!(fired.len(), 1);
        let job = jobs.get(&fired[0].job_id).await.expect("job");
        assert_eq!(job.kind, "retrain_model");
        assert_eq!(job.owner, "alice");
        assert_eq!(job.params["model"], "up");
        assert_eq!(job.params["schedule"], json!(id));
        // The same instant on another scheduler (another process, a restart): nothing.
        assert!(b.tick(first_slot + 1).await.expect("tick").is_empty());
        let after = s.mlops.schedule(&id, None).await.expect("schedule");
        assert_eq!(after.next_run_ms, first_slot + WEEK_MS);
        assert_eq!(after.last_job_id.as_deref(), Some(fired[0].job_id.as_str()));
        assert_eq!(after.pending_at_ms, None);

        // Down for a month: the missed Mondays collapse into one catch-up run.
        let month_later = first_slot + 30 * 24 * 3600 * 1000;
        let caught_up = b.tick(month_later).await.expect("tick");
        assert_eq!(caught_up.len(), 1);
        let next = s
            .mlops
            .schedule(&id, None)
            .await
            .expect("schedule")
            .next_run_ms;
        assert!(next > month_later && next <= month_later + WEEK_MS);

        // A claim whose job was never submitted (the process died in between) is submitted
        // by a later tick, once.
        s.meta
            .update_fields(SCHEDULES, &id, json!({ "pending_at_ms": month_later }))
            .await
            .expect("strand");
        assert!(a.tick(month_later + 1_000).await.expect("tick").is_empty());
        let again = a.tick(month_later + 61_000).await.expect("tick");
        assert_eq!(again.len(), 1);
        assert!(again[0].resubmitted);
        assert!(b
            .tick(month_later + 122_000)
            .await
            .expect("tick")
            .is_empty());

        // Deleted, it fires no more.
        s.mlops
            .delete_schedule("weekly-up", None)
            .await
            .expect("delete");
        assert!(a.tick(next + 1).await.expect("tick").is_empty());
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drift_triggered_retrain_lands_in_staging_and_only_the_rule_promotes() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = services(dir.path()).await;
    let first = s
        .signals
        .train(request(&["AAPL", "MSFT"]))
        .await
        .expect("train");
    let prod = s
        .mlops
        .promote_local(&first.id, "production", Some("validated by hand on 2007"))
        .await
        .expect("promote");
    assert_eq!(prod.stage, ModelStage::Production);
    let manual = s.mlops.promotions(Some("up"), 10).await.expect("records");
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0].actor, PromotionActor::Local);
    assert_eq!(
        manual[0].reason.as_deref(),
        Some("validated by hand on 2007")
    );
    assert_eq!(manual[0].from_stage, ModelStage::Staging);
    assert!(manual[0].applied);

    let jobs = JobManager::new(s.meta.clone(), default_handlers(&s), JobConfig::default());
    jobs.start().await.expect("start");
    let run = |params: serde_json::Value| {
        let jobs = jobs.clone();
        async move {
            let j = jobs
                .submit("retrain_model", params, "ops")
                .await
                .expect("submit");
            let poll = async {
                loop {
                    let r = jobs.get(&j.id).await.expect("get");
                    if r.status.is_terminal() {
                        return r;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            tokio::time::timeout(Duration::from_secs(600), poll)
                .await
                .expect("job finished")
        }
    };

    // An age trigger the model does not meet: nothing is trained.
    let young = run(json!({"model": "up", "trigger": {"kind": "age", "max_days": 3650}})).await;
    assert_eq!(young.status, JobStatus::Succeeded, "{:?}", young.error);
    let young = young.result.expect("result");
    assert_eq!(young["retrained"], false);
    assert_eq!(s.signals.list(Some("up")).await.expect("list").len(), 1);

    // The 2008 crash as the drift window: vol_20 and the predictions alert (see tests/mlops.rs),
    // so the retrain fires on data up to 2009-02-27 with a 182-day holdout.
    let job = run(json!({
        "model": "up", "trigger": {"kind": "drift", "band": "alert"}, "as_of": "2009-02-27"
    }))
    .await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error);
    let out = job.result.expect("result");
    assert_eq!(out["retrained"], true, "{out:#}");
    assert_eq!(out["drift_band"], "alert");
    let cand_id = out["candidate"].as_str().expect("candidate").to_string();
    let cand = s.signals.get(&cand_id).await.expect("candidate");
    assert_eq!(cand.request.train_to, Some(common::d("2008-08-29")));
    assert_eq!(cand.request.test_to, Some(common::d("2009-02-27")));
    let decision = &out["decision"];
    let promoted = decision["promote"].as_bool().expect("decision");
    let evidence = &decision["evidence"];
    assert!(
        evidence["days"].as_u64().expect("days") >= 100,
        "{decision:#}"
    );
    let ci = evidence["mean_diff_ci"].as_array().expect("ci");
    assert_eq!(
        promoted,
        ci[1].as_f64().expect("upper") <= 0.002
            && evidence["auc_candidate"].as_f64().expect("auc")
                - evidence["auc_production"].as_f64().expect("auc")
                >= -0.01
    );

    // The candidate went through staging; production changed if and only if the rule said so.
    let now_prod = s.signals.resolve("up").await.expect("resolve");
    if promoted {
        assert_eq!(cand.stage, ModelStage::Production);
        assert_eq!(now_prod.id, cand_id);
        assert_eq!(
            s.signals.get(&first.id).await.expect("first").stage,
            ModelStage::Archived
        );
    } else {
        assert_eq!(cand.stage, ModelStage::Staging);
        assert_eq!(now_prod.id, first.id);
    }
    let records = s.mlops.promotions(Some("up"), 10).await.expect("records");
    assert_eq!(records.len(), 2);
    let rule = &records[0];
    assert_eq!(rule.model_id, cand_id);
    assert_eq!(rule.from_stage, ModelStage::Staging);
    assert_eq!(rule.applied, promoted);
    assert_eq!(rule.compared_with.as_deref(), Some(first.id.as_str()));
    assert!(matches!(&rule.actor, PromotionActor::Rule { job: Some(j), .. } if *j == job.id));
    assert!(rule
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("log loss")));
    println!("rule decision on the 2008 retrain: {}", decision["reason"]);
    jobs.shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
}
