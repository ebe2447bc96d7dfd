//! The ChatOps agent's offline router on 80 operator questions written without seeing the
//! tools' example phrasings (`agents_routing.jsonl`): the tool picked (or none) and the
//! arguments read, with the real embedding model and the real tools' definitions.

use serde_json::Value;
use sextant_agents::chat::{Agent, Caller, Route, ToolGate};
use sextant_agents::embed::MiniLm;
use sextant_core::agents::{CoreTools, MetaAudit};
use sextant_core::jobs::handlers::default_handlers;
use sextant_core::jobs::{JobConfig, JobManager};
use sextant_domain::Role;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread")]
async fn offline_router_on_unseen_operator_questions() {
    let t = sextant_test_support::services().await;
    let services = t.services.clone();
    let jobs = JobManager::new(
        services.meta.clone(),
        default_handlers(&services),
        JobConfig::default(),
    );
    let gate = Arc::new(ToolGate::new(
        Arc::new(CoreTools::new(&services, jobs)),
        Arc::new(MetaAudit::new(services.meta.clone())),
    ));
    let m = MiniLm::load(MiniLm::default_dir()).unwrap_or_else(|e| panic!("{e}"));
    let agent = Agent::new(gate, Arc::new(m), None).await.expect("agent");
    let admin = Caller {
        id: "eval".into(),
        role: Role::Admin,
        channel: "test".into(),
    };
    let set = std::fs::read_to_string(format!(
        "{}/tests/agents_routing.jsonl",
        std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR, set by cargo test")
    ))
    .expect("set");
    let (mut tool_ok, mut args_ok, mut n) = (0, 0, 0);
    let mut misses = Vec::new();
    for line in set.lines().filter(|l| !l.trim().is_empty()) {
        let item: Value = serde_json::from_str(line).expect("line");
        let msg = item["message"].as_str().expect("message");
        let want = item["tool"].as_str().expect("tool");
        n += 1;
        let (got, args) = match agent.route(&admin, msg).await.expect("routes") {
            Route::Nothing => ("none".to_string(), Ok(serde_json::json!({}))),
            Route::AboveRole(t, _) => (t, Err("above role".to_string())),
            Route::Tool(t, _, a) => (t, a),
        };
        if got == want {
            tool_ok += 1;
            let args_match = match (&args, want) {
                (_, "none") => true,
                (Ok(a), _) => {
                    a == &item["args"]
                        || item["args"].as_object().is_some_and(|w| {
                            w.iter().all(|(k, v)| {
                                a.get(k).is_some_and(|g| {
                                    g == v || g.as_str() == v.as_str().or(Some(&v.to_string()))
                                })
                            })
                        })
                }
                (Err(_), _) => false,
            };
            args_ok += usize::from(args_match);
            if !args_match {
                misses.push(format!("args {msg:?}: want {} got {args:?}", item["args"]));
            }
        } else {
            misses.push(format!("tool {msg:?}: want {want} got {got}"));
        }
    }
    for m in &misses {
        println!("{m}");
    }
    println!("routing: tool {tool_ok}/{n}, tool and arguments {args_ok}/{n}");
    // Floors under the figures measured when the set was added (see the closing note).
    assert!(
        tool_ok as f64 / n as f64 >= 0.70,
        "tool accuracy {tool_ok}/{n}"
    );
}
