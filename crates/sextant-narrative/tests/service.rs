//! The report service end to end: a real fact sheet, an embedded metadata store and a scripted
//! OpenAI-compatible server, so retries, fallbacks and provenance are tested on the wire.

use crate::common;

use serde_json::Value;
use sextant_genai::{LlmProvider, OpenAiClient, OpenAiConfig, PromptRegistry};
use sextant_meta::{open_store, Filter, MetaConfig, MetaStore};
use sextant_narrative::service::{fallback_note, Outcome, PROMPT_VERSIONS};
use sextant_narrative::{
    offline_provider, render_template, validate, validate_with, FactSheet, Report,
    ReportGenerationService, ValidatorConfig,
};
use sextant_testkit::openai::{OpenAiServer, Reply};
use std::sync::Arc;
use std::time::Duration;

const MAX_ATTEMPTS: usize = 3;

/// The MSFT sheets; the tests run their own runtime because the sheets are built on one.
fn msft() -> Vec<&'static (String, FactSheet)> {
    common::library_sheets()
        .iter()
        .filter(|(label, _)| label.ends_with(" on MSFT"))
        .collect()
}

/// An MSFT sheet whose template makes a directional return claim (so it can be flipped).
fn sheet() -> &'static FactSheet {
    msft()
        .into_iter()
        .map(|(_, s)| s)
        .find(|s| render_template(s).contains("outperformed"))
        .expect("a run that beat buy and hold")
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    // Built first: building the sheets starts a runtime of its own, which cannot nest.
    sheet();
    tokio::runtime::Runtime::new().expect("runtime").block_on(f)
}

/// A client with short timeouts so error paths stay fast.
fn client(server: &OpenAiServer, retries: u32, timeout: Duration) -> Arc<dyn LlmProvider> {
    let mut cfg = OpenAiConfig::new(server.base_url(), "gpt-test");
    cfg.timeout = timeout;
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.max_retries = retries;
    cfg.initial_backoff = Duration::from_millis(10);
    cfg.max_backoff = Duration::from_millis(20);
    Arc::new(OpenAiClient::new(cfg).expect("client"))
}

async fn service(
    provider: Arc<dyn LlmProvider>,
) -> (
    ReportGenerationService,
    Arc<dyn MetaStore>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let meta = open_store(&MetaConfig::embedded(dir.path().join("meta.sqlite")))
        .await
        .expect("meta");
    let prompts = PromptRegistry::load_builtin().expect("prompts");
    let svc = ReportGenerationService::new(provider, meta.clone(), prompts, MAX_ATTEMPTS);
    (svc, meta, dir)
}

/// Runs the service once against a server scripted with `replies`.
async fn scripted(replies: Vec<Reply>, retries: u32, timeout: Duration) -> (Report, OpenAiServer) {
    let server = OpenAiServer::start(replies).await.expect("server");
    let (svc, _meta, _dir) = service(client(&server, retries, timeout)).await;
    let report = svc.report(sheet(), "bt_test").await.expect("report");
    (report, server)
}

fn outcomes(r: &Report) -> Vec<Outcome> {
    r.attempts.iter().map(|a| a.outcome).collect()
}

fn assert_fallback(r: &Report) {
    assert!(r.fallback);
    assert!(
        r.markdown.starts_with(&fallback_note(MAX_ATTEMPTS)),
        "{}",
        r.markdown
    );
    assert!(r.validation.ok, "{:#?}", r.validation.violations);
    let cfg = ValidatorConfig {
        allowed_numbers: vec![MAX_ATTEMPTS as f64],
        ..ValidatorConfig::default()
    };
    assert!(validate_with(&r.markdown, sheet(), &cfg).ok);
}

fn good() -> Reply {
    Reply::Text(render_template(sheet()))
}

fn short() -> Duration {
    Duration::from_secs(2)
}

#[test]
fn a_correct_narrative_is_accepted_recorded_and_cached() {
    run(async {
        let server = OpenAiServer::start([good()]).await.expect("server");
        let (svc, meta, _dir) = service(client(&server, 0, short())).await;
        let first = svc.report(sheet(), "bt_test").await.expect("report");
        assert_eq!(outcomes(&first), [Outcome::Accepted]);
        assert!(!first.fallback && !first.cached && first.validation.ok);
        assert_eq!(first.markdown, render_template(sheet()));
        assert_eq!(
            (first.model.as_str(), first.provider.as_str()),
            ("gpt-test", "openai")
        );
        assert_eq!(first.prompt.name, "backtest_narrative");
        // Lineage: the fact sheet's hash, the only input besides the prompt and the model.
        let facts = serde_json::to_vec(sheet()).expect("facts");
        assert_eq!(
            first.inputs_sha256,
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&facts))
        );

        let body = &server.requests()[0].body;
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["seed"], 0);
        let user = body["messages"][1]["content"].as_str().expect("user");
        assert!(user.contains("<facts>") && user.contains(&sheet().strategy));

        let second = svc.report(sheet(), "bt_test").await.expect("cached");
        assert!(second.cached);
        assert_eq!(second.markdown, first.markdown);
        assert_eq!(second.attempts, first.attempts);
        assert_eq!(server.requests().len(), 1, "served from the cache");

        let versions = meta
            .count(PROMPT_VERSIONS, &Filter::new())
            .await
            .expect("count");
        assert_eq!(versions, 1);
        let entry: Value = meta
            .find_one(PROMPT_VERSIONS, &Default::default())
            .await
            .expect("find")
            .expect("entry");
        assert_eq!(entry["sha256"], first.prompt.sha256);
        assert_eq!(entry["model"], "gpt-test");
    });
}

#[test]
fn a_hallucinated_number_is_rejected_then_corrected() {
    run(async {
        let bad = render_template(sheet()).replacen(
            "## Summary\n\n",
            "## Summary\n\nThe strategy ran 4242 simulations. ",
            1,
        );
        let (r, server) = scripted(vec![Reply::Text(bad), good()], 0, short()).await;
        assert_eq!(outcomes(&r), [Outcome::Rejected, Outcome::Accepted]);
        assert!(!r.fallback);
        assert!(r.attempts[0].violations.iter().any(|v| v.contains("4242")));
        let reqs = server.requests();
        assert_eq!(reqs.len(), 2);
        let msgs = reqs[1].body["messages"]
            .as_array()
            .expect("messages")
            .clone();
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[2]["role"], "assistant");
        let last = msgs[3]["content"].as_str().expect("content");
        assert!(
            last.contains("4242") && last.contains("corrected"),
            "{last}"
        );
    });
}

#[test]
fn a_wrong_direction_every_time_falls_back_to_the_template() {
    run(async {
        let flipped = render_template(sheet())
            .replace("outperformed", "\u{0}")
            .replace("underperformed", "outperformed")
            .replace('\u{0}', "underperformed");
        let replies = vec![Reply::Text(flipped); MAX_ATTEMPTS];
        let (r, server) = scripted(replies, 0, short()).await;
        assert_eq!(outcomes(&r), [Outcome::Rejected; MAX_ATTEMPTS]);
        assert!(r.attempts.iter().all(|a| !a.violations.is_empty()));
        assert_fallback(&r);
        assert_eq!(server.requests().len(), MAX_ATTEMPTS);
    });
}

#[test]
fn a_missing_section_is_rejected() {
    run(async {
        let bad = render_template(sheet()).replace("## Risk", "Risk");
        let (r, _server) = scripted(vec![Reply::Text(bad), good()], 0, short()).await;
        assert_eq!(outcomes(&r), [Outcome::Rejected, Outcome::Accepted]);
        let v = &r.attempts[0].violations;
        assert!(v.iter().any(|v| v.contains("MissingSection")), "{v:?}");
    });
}

#[test]
fn an_advice_phrase_is_rejected() {
    run(async {
        let bad = format!(
            "{}\nYou should buy this strategy now.\n",
            render_template(sheet())
        );
        let (r, _server) = scripted(vec![Reply::Text(bad), good()], 0, short()).await;
        assert_eq!(outcomes(&r), [Outcome::Rejected, Outcome::Accepted]);
        let v = &r.attempts[0].violations;
        assert!(v.iter().any(|v| v.contains("Advice")), "{v:?}");
    });
}

#[test]
fn a_malformed_body_is_a_failed_attempt() {
    run(async {
        let (r, _server) = scripted(vec![Reply::MalformedJson, good()], 0, short()).await;
        assert_eq!(outcomes(&r), [Outcome::Error, Outcome::Accepted]);
        let err = r.attempts[0].error.as_deref().expect("error");
        assert!(err.contains("malformed"), "{err}");
    });
}

#[test]
fn a_timeout_is_a_failed_attempt() {
    run(async {
        let slow = Reply::Timeout(Duration::from_secs(2));
        let timeout = Duration::from_millis(300);
        let (r, _server) = scripted(vec![slow, good()], 0, timeout).await;
        assert_eq!(outcomes(&r), [Outcome::Error, Outcome::Accepted]);
        let err = r.attempts[0].error.as_deref().expect("error");
        assert!(err.contains("timed out"), "{err}");
    });
}

#[test]
fn a_rate_limit_is_retried_by_the_client() {
    run(async {
        let limited = Reply::Status(429, r#"{"error":{"message":"slow down"}}"#.into());
        let (r, server) = scripted(vec![limited, good()], 2, short()).await;
        assert_eq!(outcomes(&r), [Outcome::Accepted]);
        assert!(!r.fallback);
        assert_eq!(server.requests().len(), 2);
    });
}

#[test]
fn server_errors_every_time_fall_back_to_the_template() {
    run(async {
        // An empty script answers every request with 500.
        let (r, server) = scripted(Vec::new(), 1, short()).await;
        assert_eq!(outcomes(&r), [Outcome::Error; MAX_ATTEMPTS]);
        assert!(r.attempts.iter().all(|a| a.error.is_some()));
        assert_fallback(&r);
        assert_eq!(
            server.requests().len(),
            2 * MAX_ATTEMPTS,
            "one client retry each"
        );
    });
}

#[test]
fn the_offline_provider_is_accepted_for_every_strategy() {
    let sheets = msft();
    assert!(sheets.len() >= 8);
    run(async {
        let (svc, _meta, _dir) = service(Arc::new(offline_provider())).await;
        for (label, sheet) in sheets {
            let r = svc.report(sheet, label).await.expect("report");
            assert_eq!(
                outcomes(&r),
                [Outcome::Accepted],
                "{label}: {:#?}",
                r.attempts
            );
            assert!(!r.fallback && validate(&r.markdown, sheet).ok, "{label}");
            assert_eq!(r.provider, "offline");
        }
    });
}
