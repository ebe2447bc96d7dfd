//! The builder's evaluation: 240 requests (dev and holdout) against their expected specs or
//! clarifying questions, offline. Prints accuracy by split and kind; every built answer must be
//! a config the engine accepts.

use crate::common;

use common::{eval_set, index, minilm, Item, ML_MODEL, REGIME_MODEL};
use serde_json::Value;
use sextant_agents::builder::offline::ClarifyReason;
use sextant_agents::builder::spec::BuildSpec;
use sextant_agents::builder::{BuildAnswer, BuildRequest, BuildStatus, Builder};
use sextant_backtest::strategy::build_strategy;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Whether `answer` is what `item` expects.
pub fn correct(item: &Item, answer: &BuildAnswer) -> bool {
    if let Some(reason) = item.expect.get("clarify").and_then(Value::as_str) {
        let want = if reason == "unsupported" {
            ClarifyReason::Unsupported
        } else {
            ClarifyReason::Ambiguous
        };
        return answer.status == BuildStatus::Clarify && answer.reason == Some(want);
    }
    let expected: BuildSpec =
        serde_json::from_value(item.expect.clone()).expect("expected spec parses");
    match &answer.spec {
        Some(got) if answer.status == BuildStatus::Built => {
            got.normalised().ok() == Some(expected.normalised().expect("expected spec normalises"))
        }
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_builder_accuracy_on_the_evaluation_set() {
    let m = minilm();
    let idx = index(&m).await;
    let builder = Builder::new(idx, Arc::new(m), None);
    let items = eval_set();
    assert!(
        items.len() >= 200,
        "the evaluation set has {} requests",
        items.len()
    );
    let mut by: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    for item in &items {
        let req = BuildRequest {
            text: item.request.clone(),
            regime_model: Some(REGIME_MODEL.into()),
            ml_model: Some(ML_MODEL.into()),
        };
        let answer = builder.build(&req).await.expect("builds");
        if let Some(c) = &answer.config {
            // Nothing invalid: every config the builder returns runs in the engine.
            build_strategy(&c.strategy, &c.params).expect("a built config is valid");
        }
        let ok = correct(item, &answer);
        for key in [
            (item.split.clone(), item.kind.clone()),
            (item.split.clone(), "ALL".into()),
        ] {
            let e = by.entry(key).or_default();
            e.0 += usize::from(ok);
            e.1 += 1;
        }
        if !ok && item.split == "dev" {
            failures.push(format!(
                "{} [{}] {}\n   expected {}\n   got {} {}",
                item.id,
                item.kind,
                item.request,
                item.expect,
                answer.status,
                answer.spec.as_ref().map_or_else(
                    || answer.question.clone().unwrap_or_default(),
                    |s| serde_json::to_string(s).unwrap_or_default()
                )
            ));
        }
    }
    let per_request = started.elapsed() / items.len() as u32;
    for ((split, kind), (ok, n)) in &by {
        println!(
            "{split:8} {kind:12} {ok:3}/{n:3} = {:.1}%",
            100.0 * *ok as f64 / *n as f64
        );
    }
    println!("mean latency per request (embedding + parse + validation): {per_request:?}");
    if std::env::var_os("BUILDER_EVAL_VERBOSE").is_some() {
        for f in &failures {
            println!("{f}");
        }
    }
    let acc = |split: &str| {
        let (ok, n) = by[&(split.to_string(), "ALL".to_string())];
        ok as f64 / n as f64
    };
    println!("dev {:.3} holdout {:.3}", acc("dev"), acc("holdout"));
    // Floors a little under the measured figures (dev 1.000, holdout 0.724 when the parser was
    // written), so a regression fails; the holdout was never read while writing the parser.
    assert!(acc("dev") >= 0.97, "dev accuracy {:.3}", acc("dev"));
    assert!(
        acc("holdout") >= 0.70,
        "holdout accuracy {:.3}",
        acc("holdout")
    );
}
