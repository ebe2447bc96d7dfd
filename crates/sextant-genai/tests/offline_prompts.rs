//! The offline provider and the prompt registry.

use serde_json::{json, Value};
use sextant_genai::{
    collect_stream, ChatRequest, LlmError, LlmProvider, Message, OfflineProvider, PromptError,
    PromptRegistry, OFFLINE_MODEL,
};
use std::collections::BTreeMap;
use std::sync::Arc;

fn facts_request(facts: &Value) -> ChatRequest {
    ChatRequest::new(vec![
        Message::system("Write a narrative."),
        Message::user(format!("Here you go:\n<facts>\n{facts}\n</facts>\nThanks.")),
    ])
}

#[tokio::test]
async fn offline_renderer_is_deterministic() {
    let renderer = Arc::new(|f: &Value| format!("## Summary\nTotal return {}.", f["total_return"]));
    let p = OfflineProvider::with_renderer(renderer);
    assert_eq!((p.name(), p.model()), ("offline", OFFLINE_MODEL));
    let req = facts_request(&json!({"total_return": 0.125, "trades": 4}));
    let a = p.complete(&req).await.unwrap();
    let b = p.complete(&req).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.content.as_deref(),
        Some("## Summary\nTotal return 0.125.")
    );
    assert_eq!(a.model, OFFLINE_MODEL);
    let streamed = collect_stream(p.stream(&req).await.unwrap(), p.model())
        .await
        .unwrap();
    assert_eq!(streamed, a);
}

#[tokio::test]
async fn offline_without_renderer_echoes_a_fixed_summary() {
    let p = OfflineProvider::new();
    let r = p
        .complete(&facts_request(&json!({"b": 1, "a": 2})))
        .await
        .unwrap();
    assert_eq!(
        r.content.as_deref(),
        Some("Offline summary: 2 facts received (a, b). No language model was used.")
    );
    let none = p
        .complete(&ChatRequest::new(vec![Message::user("hi")]))
        .await
        .unwrap();
    assert!(none.content.unwrap().contains("no facts"));
    let bad = ChatRequest::new(vec![Message::user("<facts>{nope</facts>")]);
    assert!(matches!(
        p.complete(&bad).await,
        Err(LlmError::InvalidRequest(_))
    ));
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn builtin_prompt_renders_with_facts_markers() {
    let reg = PromptRegistry::load_builtin().unwrap();
    let p = reg.latest("backtest_narrative").unwrap();
    assert_eq!(p.reference.version, 1);
    assert_eq!(
        reg.get("backtest_narrative", 1).unwrap().reference,
        p.reference
    );
    let facts = json!({"total_return": 0.125}).to_string();
    let text = reg
        .render(
            "backtest_narrative@1",
            &vars(&[("strategy", "sma_cross"), ("facts", &facts)]),
        )
        .unwrap();
    for section in [
        "## Summary",
        "## Performance",
        "## Risk",
        "## Trades",
        "## Caveats",
    ] {
        assert!(text.contains(section), "{section}");
    }
    assert!(text.contains(&format!("<facts>\n{facts}\n</facts>")));
    assert!(text.contains("\"sma_cross\"") && !text.contains("{{"));
    // The rendered prompt is exactly what the offline provider needs.
    let req = ChatRequest::new(vec![Message::user(text)]);
    assert_eq!(
        OfflineProvider::extract_facts(&req).unwrap(),
        Some(json!({"total_return": 0.125}))
    );
}

#[test]
fn render_rejects_missing_and_undeclared_variables() {
    let reg = PromptRegistry::load_builtin().unwrap();
    let missing = reg
        .render("backtest_narrative@1", &vars(&[("facts", "{}")]))
        .unwrap_err();
    assert!(
        matches!(missing, PromptError::MissingVariable { ref variable, .. } if variable == "strategy")
    );
    let extra = vars(&[("facts", "{}"), ("strategy", "x"), ("tone", "excited")]);
    let undeclared = reg.render("backtest_narrative@1", &extra).unwrap_err();
    assert!(
        matches!(undeclared, PromptError::UndeclaredVariable { ref variable, .. } if variable == "tone")
    );
    assert!(matches!(
        reg.render("backtest_narrative@9", &extra),
        Err(PromptError::Unknown(_))
    ));
    let bad = PromptRegistry::from_files([("x@1.md", "---\nvariables: [a]\n---\n{{a}} {{b}}")]);
    assert!(matches!(bad, Err(PromptError::Invalid { .. })));
}

#[test]
fn latest_picks_the_highest_version() {
    let reg = PromptRegistry::from_files([
        ("p@2.md", "---\nvariables: [a]\n---\ntwo {{a}}"),
        ("p@10.md", "---\nvariables: []\n---\nten"),
        ("q@1.md", "---\nvariables: []\n---\nq"),
    ])
    .unwrap();
    assert_eq!(reg.latest("p").unwrap().reference.version, 10);
    assert_eq!(
        reg.render("p@2", &vars(&[("a", "{{a}}")])).unwrap(),
        "two {{a}}"
    );
    assert!(reg.latest("r").is_none());
}

/// Editing a builtin prompt without bumping its version fails here: add a new
/// `<name>@<version+1>.md` and its line in `prompts/LOCK` instead.
#[test]
fn prompt_lock_pins_every_builtin_hash() {
    let reg = PromptRegistry::load_builtin().unwrap();
    reg.verify_lock(include_str!("../prompts/LOCK")).unwrap();
    let edited = PromptRegistry::from_files([(
        "backtest_narrative@1.md",
        "---\nvariables: []\n---\nsilently edited",
    )])
    .unwrap();
    assert!(matches!(
        edited.verify_lock(include_str!("../prompts/LOCK")),
        Err(PromptError::HashMismatch { .. })
    ));
}
