//! Error paths the retry loop must classify without a scripted reply queue.

use sextant_genai::{ChatRequest, LlmError, LlmProvider, Message, OpenAiClient, OpenAiConfig};
use sextant_testkit::openai::{OpenAiServer, Reply};
use std::time::Duration;

fn request() -> ChatRequest {
    ChatRequest::new(vec![Message::user("hello")])
}

#[tokio::test]
async fn rate_limit_without_retries_reports_retry_after() {
    let server = OpenAiServer::start([Reply::Status(429, "{}".into())])
        .await
        .unwrap();
    let mut cfg = OpenAiConfig::new(server.base_url(), "m");
    cfg.max_retries = 0;
    let err = OpenAiClient::new(cfg)
        .unwrap()
        .complete(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(1)),
        "{err:?}"
    );
}

#[tokio::test]
async fn refused_connection_is_a_transport_error_after_retries() {
    // A port that was just free: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1"), "m");
    cfg.max_retries = 2;
    cfg.initial_backoff = Duration::from_millis(5);
    let err = OpenAiClient::new(cfg)
        .unwrap()
        .complete(&request())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Transport(_)), "{err:?}");
}

#[test]
fn invalid_base_url_is_rejected_up_front() {
    let err = OpenAiClient::new(OpenAiConfig::new("not a url", "m")).unwrap_err();
    assert!(matches!(err, LlmError::InvalidRequest(_)), "{err:?}");
}
