//! The builder's LLM path over the evaluation set: every request goes to a real Chat
//! Completions server on loopback that replays scripted model answers
//! (`tests/eval/llm_replay.jsonl`, from `scripts/golden/make_builder_llm_replay.py`: expected
//! answers mixed with invalid specs, malformed JSON, wrong answers and injected text). Checks
//! that no invalid config comes out, that invalid answers get exactly one repair turn and are
//! rejected after it, and reports exact-config accuracy.

use crate::common;

use common::{eval_set, index, minilm, Item, ML_MODEL, REGIME_MODEL};
use serde::Deserialize;
use serde_json::Value;
use sextant_agents::builder::offline::ClarifyReason;
use sextant_agents::builder::spec::BuildSpec;
use sextant_agents::builder::{BuildAnswer, BuildRequest, BuildStatus, Builder};
use sextant_backtest::strategy::build_strategy;
use sextant_genai::{LlmProvider, OpenAiClient, OpenAiConfig, PromptRegistry};
use sextant_testkit::openai::{OpenAiServer, Reply};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Deserialize)]
struct Replay {
    id: String,
    mode: String,
    replies: Vec<Value>,
}

fn replays() -> Vec<Replay> {
    let path = &format!(
        "{}/tests/eval/llm_replay.jsonl",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    );
    std::fs::read_to_string(path)
        .expect("replay file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("replay line"))
        .collect()
}

fn correct(item: &Item, answer: &BuildAnswer) -> bool {
    if let Some(reason) = item.expect.get("clarify").and_then(Value::as_str) {
        let want = if reason == "unsupported" {
            ClarifyReason::Unsupported
        } else {
            ClarifyReason::Ambiguous
        };
        return answer.status == BuildStatus::Clarify && answer.reason == Some(want);
    }
    let expected: BuildSpec = serde_json::from_value(item.expect.clone()).expect("expected spec");
    answer.status == BuildStatus::Built
        && answer.spec.as_ref().and_then(|s| s.normalised().ok())
            == Some(expected.normalised().expect("normalises"))
}

#[tokio::test(flavor = "multi_thread")]
async fn llm_builder_validates_repairs_and_rejects_scripted_answers() {
    let items = eval_set();
    let replays = replays();
    assert_eq!(items.len(), replays.len());
    let mut queue = Vec::new();
    for (item, r) in items.iter().zip(&replays) {
        assert_eq!(item.id, r.id, "replay order follows the evaluation set");
        for reply in &r.replies {
            queue.push(match reply {
                Value::String(raw) => Reply::Text(raw.clone()),
                v => Reply::Json(v.clone()),
            });
        }
    }
    let server = OpenAiServer::start(queue).await.expect("loopback server");
    let mut cfg = OpenAiConfig::new(server.base_url(), "scripted-model");
    cfg.max_retries = 0;
    let llm: Arc<dyn LlmProvider> = Arc::new(OpenAiClient::new(cfg).expect("client"));
    let prompt = PromptRegistry::load_builtin()
        .expect("prompts")
        .latest("strategy_builder")
        .expect("builder prompt")
        .clone();
    let m = minilm();
    let builder = Builder::new(index(&m).await, Arc::new(m), Some((llm, prompt)));

    let mut ok_by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut built, mut rejected, mut repaired) = (0, 0, 0);
    for (item, r) in items.iter().zip(&replays) {
        let req = BuildRequest {
            text: item.request.clone(),
            regime_model: Some(REGIME_MODEL.into()),
            ml_model: Some(ML_MODEL.into()),
        };
        let a = builder.build(&req).await.expect("answers");
        assert_eq!(
            a.provenance.mode, "llm",
            "{}: {:?}",
            item.id, a.provenance.fallback
        );
        assert_eq!(
            a.provenance
                .prompt
                .as_ref()
                .map(|p| p.to_string())
                .as_deref(),
            Some("strategy_builder@1")
        );
        match a.status {
            BuildStatus::Built => {
                built += 1;
                let c = a.config.as_ref().expect("a built answer has a config");
                build_strategy(&c.strategy, &c.params).expect("never an invalid config");
            }
            BuildStatus::Rejected => {
                rejected += 1;
                assert!(a.config.is_none() && a.spec.is_none());
            }
            BuildStatus::Clarify => assert!(a.config.is_none()),
        }
        if a.provenance.attempts == 2 {
            repaired += 1;
        }
        let expect_attempts = if r.replies.len() == 2 { 2 } else { 1 };
        assert_eq!(
            a.provenance.attempts, expect_attempts,
            "{} ({})",
            item.id, r.mode
        );
        if r.mode == "invalid_twice" {
            assert_eq!(a.status, BuildStatus::Rejected, "{}", item.id);
        }
        if r.mode == "injected_explanation" {
            // The injected line is data: the config is the expected one, costs untouched.
            assert!(
                correct(item, &a),
                "{}: injected text changed the answer",
                item.id
            );
        }
        for key in [r.mode.clone(), "ALL".to_string()] {
            let e = ok_by.entry(key).or_default();
            e.0 += usize::from(correct(item, &a));
            e.1 += 1;
        }
    }
    assert_eq!(server.remaining(), 0, "every scripted reply was consumed");
    // The grounding reached the model: catalog entries in the system prompt, the JSON schema
    // as structured output, and the repair turn carries the engine's error.
    let reqs = server.requests();
    let first = &reqs[0].body;
    assert!(first["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .contains("strategy."));
    assert_eq!(
        first["response_format"]["json_schema"]["name"],
        "build_answer"
    );
    assert!(reqs.iter().any(
        |r| r.body["messages"].as_array().is_some_and(|m| m.len() == 4
            && m[3]["content"]
                .as_str()
                .unwrap_or("")
                .contains("rejected by validation"))
    ));
    for (mode, (ok, n)) in &ok_by {
        println!(
            "{mode:26} {ok:3}/{n:3} = {:.1}%",
            100.0 * *ok as f64 / *n as f64
        );
    }
    println!(
        "built {built}, rejected {rejected}, repair turns {repaired}, invalid configs returned 0"
    );
    let (ok, n) = ok_by["ALL"];
    assert!(ok as f64 / n as f64 >= 0.85, "LLM-mode accuracy {ok}/{n}");
}
