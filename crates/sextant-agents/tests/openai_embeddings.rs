//! The OpenAI-compatible `/embeddings` provider against a loopback server speaking the wire
//! format: vectors placed by `index`, normalised, the key sent as a bearer token and never
//! echoed in errors, wrong shapes refused.

use sextant_agents::embed::{Embedder, OpenAiEmbeddings, OpenAiEmbeddingsConfig};
use sextant_testkit::openai::{OpenAiServer, Reply};
use std::time::Duration;

fn client(url: String, dimension: usize) -> OpenAiEmbeddings {
    OpenAiEmbeddings::new(OpenAiEmbeddingsConfig {
        base_url: url,
        model: "text-embedding-3-large".into(),
        api_key: Some("sk-secret-123".into()),
        dimension,
        timeout: Duration::from_secs(10),
    })
    .expect("client")
}

#[tokio::test]
async fn vectors_come_back_in_input_order_and_unit_length() {
    let server = OpenAiServer::start([Reply::Embeddings(vec![vec![3.0, 4.0], vec![0.0, 2.0]])])
        .await
        .expect("server");
    let e = client(server.base_url(), 2);
    let v = e
        .embed(&["first".into(), "second".into()])
        .await
        .expect("embeds");
    assert_eq!(v, vec![vec![0.6, 0.8], vec![0.0, 1.0]]);
    let req = &server.requests()[0];
    assert_eq!(req.body["model"], "text-embedding-3-large");
    assert_eq!(req.body["input"][1], "second");
    assert_eq!(req.authorization.as_deref(), Some("Bearer sk-secret-123"));
    assert!(e.embed(&[]).await.expect("empty").is_empty());
}

#[tokio::test]
async fn errors_are_typed_and_never_carry_the_key() {
    let server = OpenAiServer::start([
        Reply::Status(
            401,
            "{\"error\": {\"message\": \"bad key sk-secret-123\"}}".into(),
        ),
        Reply::Embeddings(vec![vec![1.0, 0.0, 0.0]]),
        Reply::Embeddings(vec![vec![1.0, 0.0]]),
    ])
    .await
    .expect("server");
    let e = client(server.base_url(), 2);
    let err = e.embed(&["x".into()]).await.expect_err("401").to_string();
    assert!(
        err.contains("401") && !err.contains("sk-secret-123"),
        "{err}"
    );
    let err = e
        .embed(&["x".into()])
        .await
        .expect_err("wrong dimension")
        .to_string();
    assert!(err.contains("expected 2"), "{err}");
    let err = e
        .embed(&["x".into(), "y".into()])
        .await
        .expect_err("one vector for two inputs")
        .to_string();
    assert!(err.contains("no vector"), "{err}");
}
