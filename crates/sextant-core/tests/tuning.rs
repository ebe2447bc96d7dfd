//! Tuning studies through the services: reproducible, resumable without re-running finished
//! trials, extendable, and always analysed (DSR, PBO, out-of-sample beside buy and hold).

use serde_json::{json, Value};
use sextant_core::tuning::{OptimizeRequest, StudyState, TuningServiceError};
use sextant_core::Services;
use sextant_test_support::{services, services_with};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn req(trials: u32, sampler: &str) -> OptimizeRequest {
    serde_json::from_value(json!({
        "backtest": {"strategy": "sma_cross", "symbols": ["GOOG"]},
        "search": [
            {"name": "fast", "distribution": {"type": "int", "low": 5, "high": 50}},
            {"name": "slow", "distribution": {"type": "int", "low": 20, "high": 200}}
        ],
        "sampler": sampler,
        "trials": trials,
        "batch": 4,
        "seed": 11,
        "validation": {"kind": "walk_forward", "train_bars": 504, "test_bars": 252}
    }))
    .expect("request parses")
}

/// Runs `r`, counting evaluations, stopping after `stop_after` of them (if given).
async fn run(
    s: &Services,
    r: &OptimizeRequest,
    stop_after: Option<usize>,
) -> (
    Result<sextant_core::tuning::StudyRecord, TuningServiceError>,
    usize,
) {
    let n = Arc::new(AtomicUsize::new(0));
    let (a, b) = (n.clone(), n.clone());
    let out = s
        .tuning
        .optimize(
            r,
            Some("key1"),
            Arc::new(move |_, _| {
                a.fetch_add(1, Ordering::SeqCst);
            }),
            Arc::new(move || stop_after.is_some_and(|k| b.load(Ordering::SeqCst) >= k)),
        )
        .await;
    (out, n.load(Ordering::SeqCst))
}

fn trial_params(s: &Services, id: &str) -> Vec<(u32, Value, Vec<f64>)> {
    let rt = tokio::runtime::Handle::current();
    let recs = tokio::task::block_in_place(|| {
        rt.block_on(s.tuning.trials_as(
            id,
            sextant_core::common::Actor {
                key: "key1",
                admin: false,
            },
            0,
            10_000,
        ))
    })
    .expect("trials")
    .1;
    recs.into_iter()
        .map(|t| (t.number, t.params, t.values))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_study_resumes_without_rerunning_and_matches_an_uninterrupted_one() {
    for sampler in ["tpe", "cmaes", "nsga2"] {
        let whole = services().await;
        let (done, ran) = run(&whole.services, &req(60, sampler), None).await;
        let done = done.expect("study runs");
        assert_eq!(ran, 60);
        assert_eq!(done.state, StudyState::Complete);

        let cut = services().await;
        let (stopped, ran_first) = run(&cut.services, &req(60, sampler), Some(20)).await;
        assert!(
            matches!(stopped, Err(TuningServiceError::Cancelled)),
            "{sampler}"
        );
        let mid = cut
            .services
            .tuning
            .get(&done.id)
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(mid.state, StudyState::Cancelled);
        let finished = mid.counts.complete + mid.counts.failed + mid.counts.pruned;
        assert!((20..60).contains(&finished), "{sampler}: {:?}", mid.counts);
        let (resumed, ran_again) = run(&cut.services, &req(60, sampler), None).await;
        let resumed = resumed.expect("resumes");
        // Finished trials are not evaluated again: only the rest (and any left running).
        assert_eq!(ran_again, 60 - finished, "{sampler}: first run {ran_first}");
        assert_eq!(resumed.id, done.id, "same request, same bars: same study");
        assert_eq!(
            trial_params(&cut.services, &done.id),
            trial_params(&whole.services, &done.id),
            "{sampler}: the same trials as without the interruption"
        );
        assert_eq!(resumed.best, done.best);
        assert_eq!(resumed.analysis, done.analysis);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn studies_are_analysed_extended_and_found_again() {
    let t = services().await;
    let s = &t.services;
    let (rec, ran) = run(s, &req(40, "tpe"), None).await;
    let rec = rec.expect("runs");
    assert_eq!(ran, 40);
    let a = rec.analysis.clone().expect("analysis");
    // Every leaderboard carries the statistics that discount it.
    let dsr = a["deflated_sharpe"]["dsr"].as_f64().expect("dsr");
    assert!((0.0..=1.0).contains(&dsr));
    let pbo = a["pbo"]["pbo"].as_f64().expect("pbo");
    assert!((0.0..=1.0).contains(&pbo));
    let oos = &a["out_of_sample"];
    assert_eq!(oos["folds"].as_array().map(Vec::len), Some(7), "{oos}");
    assert_eq!(
        oos["ts"].as_array().map(Vec::len),
        oos["equity"].as_array().map(Vec::len)
    );
    assert!(oos["baseline_sharpe"].as_f64().is_some());
    // The stitched test windows are the bars after the first training window.
    assert_eq!(oos["ts"].as_array().map(Vec::len), Some(2148 - 504));
    assert!(a["leaderboard"][0]["params"]["fast"].is_i64());
    assert_eq!(
        rec.best.as_ref().map(|b| &b.params),
        Some(&a["leaderboard"][0]["params"])
    );
    // The dashboard shows it, never the best trial without DSR and PBO.
    let o = s.dashboard.overview("key1").await.expect("overview");
    let card = o
        .studies
        .iter()
        .find(|c| c.study_id == rec.id)
        .expect("on the dashboard");
    assert_eq!(
        card.best_params,
        rec.best.as_ref().map(|b| b.params.clone())
    );
    assert_eq!(card.deflated_sharpe, Some(dsr));
    assert_eq!(card.pbo, Some(pbo));
    assert!(card.out_of_sample_sharpe.is_some() && card.baseline_sharpe.is_some());
    let other = s.dashboard.overview("key2").await.expect("overview");
    assert!(
        other.studies.iter().all(|c| c.study_id != rec.id),
        "another key's study"
    );
    // The study is a tracked run: the objective of every complete trial, stepped by trial
    // number, with DSR and PBO beside it.
    let runs = s
        .tracker
        .list(
            Some(sextant_mlops::tracking::RunKind::Tuning),
            Some(&rec.id),
            5,
        )
        .await
        .expect("runs");
    assert_eq!(runs.len(), 1);
    let steps = runs[0]
        .metrics
        .iter()
        .filter(|m| m.key == "objective")
        .count();
    assert_eq!(steps, rec.counts.complete);
    let tracked_dsr = runs[0]
        .metrics
        .iter()
        .find(|m| m.key == "dsr")
        .and_then(|m| m.value);
    assert_eq!(tracked_dsr, Some(dsr));
    // Asked again: answered from the store, nothing runs.
    let (again, ran) = run(s, &req(40, "tpe"), None).await;
    assert_eq!(ran, 0);
    assert_eq!(again.expect("stored").analysis, rec.analysis);
    // More trials extend it with what a longer first run would have made.
    let (more, ran) = run(s, &req(50, "tpe"), None).await;
    assert_eq!(ran, 10);
    let more = more.expect("extends");
    assert_eq!(more.counts.complete + more.counts.failed, 50);
    let longer = services().await;
    let (direct, _) = run(&longer.services, &req(50, "tpe"), None).await;
    assert_eq!(direct.expect("runs").best, more.best);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_any_bar_is_read() {
    let t = services_with(|_| {}).await;
    let mut r = req(10, "tpe");
    r.search[0].name = "wealth".into();
    let e = t
        .services
        .tuning
        .study_id(&r)
        .await
        .expect_err("unknown parameter");
    assert!(
        matches!(e, TuningServiceError::Invalid { ref field, .. } if field == "search"),
        "{e}"
    );
    let mut r = req(10, "tpe");
    r.objectives = vec!["sharpe*calmar".into()];
    assert!(t.services.tuning.study_id(&r).await.is_err());
    let mut r = req(10, "tpe");
    r.validation = serde_json::from_value(
        json!({"kind": "walk_forward", "train_bars": 5000, "test_bars": 10}),
    )
    .unwrap();
    let (e, _) = run(&t.services, &r, None).await;
    assert!(
        matches!(e, Err(TuningServiceError::Invalid { ref field, .. }) if field == "validation")
    );
}

/// A process killed while it stored a batch's asks leaves the batch's head only: the resumed
/// study asks the tail with the head in place, so it is the study an uninterrupted run makes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_asks_were_cut_short_is_completed_before_it_runs() {
    use sextant_core::tuning::{TrialRecord, TRIALS};
    let r = req(24, "tpe"); // batches of 4
    let whole = services().await;
    let done = run(&whole.services, &r, None).await.0.expect("study runs");
    let reference = trial_params(&whole.services, &done.id);
    let all = whole
        .tuning
        .trials_as(
            &done.id,
            sextant_core::common::Actor {
                key: "key1",
                admin: true,
            },
            0,
            100,
        )
        .await
        .expect("trials")
        .1;

    // Another store: trials 0..12 ended, then only two of batch 12..16 asked (running).
    let cut = services().await;
    for t in all.iter().take(12) {
        let doc = serde_json::to_value(t).expect("doc");
        cut.meta
            .upsert(TRIALS, &TrialRecord::key(&t.study, t.number), doc)
            .await
            .expect("store");
    }
    for t in all.iter().skip(12).take(2) {
        let mut head = t.clone();
        head.state = sextant_tuning::TrialState::Running;
        head.values.clear();
        head.intermediate.clear();
        head.batch = Some([12, 4]);
        let doc = serde_json::to_value(&head).expect("doc");
        cut.meta
            .upsert(TRIALS, &TrialRecord::key(&head.study, head.number), doc)
            .await
            .expect("store");
    }
    let resumed = run(&cut.services, &r, None).await.0.expect("study resumes");
    assert_eq!(resumed.id, done.id);
    assert_eq!(trial_params(&cut.services, &done.id), reference);
}
