//! The OpenAI-compatible client against the loopback Chat Completions server.

use serde_json::json;
use sextant_genai::{
    collect_stream, ChatRequest, JsonSchemaFormat, LlmError, LlmProvider, Message, OpenAiClient,
    OpenAiConfig, ToolSpec,
};
use sextant_testkit::openai::{OpenAiServer, Reply};
use std::time::Duration;

const KEY: &str = "sk-test-not-a-real-key";

/// Short backoff so retry tests stay quick; the 120 s timeout is only a hang guard.
fn client(server: &OpenAiServer, max_retries: u32) -> OpenAiClient {
    let mut cfg = OpenAiConfig::new(server.base_url(), "gpt-test");
    cfg.api_key = Some(KEY.into());
    cfg.max_retries = max_retries;
    cfg.initial_backoff = Duration::from_millis(10);
    OpenAiClient::new(cfg).expect("client")
}

fn hello() -> ChatRequest {
    ChatRequest::new(vec![
        Message::system("You are terse."),
        Message::user("Say hello to the desk"),
    ])
}

#[tokio::test]
async fn plain_completion_and_usage_accounting() {
    let server = OpenAiServer::start([
        Reply::Text("Hello desk".into()),
        Reply::Text("Hello again desk".into()),
    ])
    .await
    .unwrap();
    let c = client(&server, 0);
    let r = c.complete(&hello()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("Hello desk"));
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.model, "gpt-test");
    // The server counts words: 3 + 5 prompt, 2 completion.
    assert_eq!((r.usage.prompt_tokens, r.usage.completion_tokens), (8, 2));
    assert_eq!(r.usage.total_tokens, 10);
    c.complete(&hello()).await.unwrap();
    let t = c.usage_totals();
    assert_eq!(
        (t.prompt_tokens, t.completion_tokens, t.total_tokens),
        (16, 5, 21)
    );
    assert_eq!(c.request_count(), 2);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].uri, "/v1/chat/completions");
    assert_eq!(
        reqs[0].authorization.as_deref(),
        Some("Bearer sk-test-not-a-real-key")
    );
    assert_eq!(reqs[0].body["model"], "gpt-test");
    assert_eq!(
        reqs[0].body["messages"][1],
        json!({"role": "user", "content": "Say hello to the desk"})
    );
    assert!(reqs[0].body.get("response_format").is_none());
    assert!(reqs[0].body.get("tools").is_none());
}

#[tokio::test]
async fn json_schema_request_shape() {
    let schema = json!({"type": "object", "properties": {"sharpe": {"type": "number"}},
        "required": ["sharpe"], "additionalProperties": false});
    let server = OpenAiServer::start([Reply::Json(json!({"sharpe": 1.25}))])
        .await
        .unwrap();
    let mut req = hello();
    req.response_format = Some(JsonSchemaFormat {
        name: "metrics".into(),
        schema: schema.clone(),
    });
    req.temperature = Some(0.0);
    req.seed = Some(7);
    req.max_tokens = Some(64);
    let r = client(&server, 0).complete(&req).await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(r.content.as_deref().unwrap()).unwrap();
    assert_eq!(parsed, json!({"sharpe": 1.25}));
    let body = &server.requests()[0].body;
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "metrics", "schema": schema, "strict": true}})
    );
    assert_eq!(
        (
            body["temperature"].clone(),
            body["seed"].clone(),
            body["max_tokens"].clone()
        ),
        (json!(0.0), json!(7), json!(64))
    );
}

fn lookup_tool() -> ToolSpec {
    ToolSpec {
        name: "get_metric".into(),
        description: "Look up a backtest metric".into(),
        parameters: json!({"type": "object", "properties": {"metric": {"type": "string"}}}),
    }
}

#[tokio::test]
async fn tool_call_parsing_and_malformed_arguments() {
    let server = OpenAiServer::start([
        Reply::ToolCall {
            name: "get_metric".into(),
            arguments: json!({"metric": "sharpe"}).to_string(),
        },
        Reply::ToolCall {
            name: "get_metric".into(),
            arguments: "{\"metric\": ".into(),
        },
    ])
    .await
    .unwrap();
    let c = client(&server, 0);
    let mut req = hello();
    req.tools = vec![lookup_tool()];
    let r = c.complete(&req).await.unwrap();
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(r.tool_calls[0].name, "get_metric");
    assert_eq!(r.tool_calls[0].arguments, json!({"metric": "sharpe"}));
    assert!(!r.tool_calls[0].id.is_empty());
    assert_eq!(
        server.requests()[0].body["tools"],
        json!([{"type": "function", "function": {"name": "get_metric",
            "description": "Look up a backtest metric",
            "parameters": {"type": "object", "properties": {"metric": {"type": "string"}}}}}])
    );
    let err = c.complete(&req).await.unwrap_err();
    assert!(
        matches!(err, LlmError::MalformedToolArguments { ref name, .. } if name == "get_metric"),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_body_is_malformed_response() {
    let server = OpenAiServer::start([Reply::MalformedJson]).await.unwrap();
    let err = client(&server, 3).complete(&hello()).await.unwrap_err();
    assert!(matches!(err, LlmError::MalformedResponse(_)), "{err:?}");
    assert_eq!(server.requests().len(), 1, "a malformed 200 is not retried");
}

#[tokio::test]
async fn rate_limit_then_success_honours_retry_after() {
    let server = OpenAiServer::start([
        Reply::Status(
            429,
            json!({"error": {"message": "Rate limit reached", "type": "requests"}}).to_string(),
        ),
        Reply::Text("ok".into()),
    ])
    .await
    .unwrap();
    let c = client(&server, 2);
    let started = std::time::Instant::now();
    let r = c.complete(&hello()).await.unwrap();
    assert_eq!(r.content.as_deref(), Some("ok"));
    assert_eq!(server.requests().len(), 2);
    // Retry-After: 1 was honoured instead of the 10 ms backoff (a lower bound, not a timing race).
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn server_errors_exhaust_retries_into_http_error() {
    let replies = (0..3).map(|_| Reply::Status(500, format!("{{\"error\": \"boom {KEY}\"}}")));
    let server = OpenAiServer::start(replies).await.unwrap();
    let err = client(&server, 2).complete(&hello()).await.unwrap_err();
    let LlmError::Http { status, body } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, 500);
    assert!(
        !body.contains(KEY) && !format!("{err} {err:?}").contains(KEY),
        "key leaked: {err:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = OpenAiServer::start([Reply::Status(401, "{\"error\": \"bad key\"}".into())])
        .await
        .unwrap();
    let err = client(&server, 3).complete(&hello()).await.unwrap_err();
    assert!(matches!(err, LlmError::Http { status: 401, .. }), "{err:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn slow_server_is_a_timeout() {
    let server = OpenAiServer::start([Reply::Timeout(Duration::from_secs(5))])
        .await
        .unwrap();
    let mut cfg = OpenAiConfig::new(server.base_url(), "gpt-test");
    cfg.timeout = Duration::from_millis(300);
    cfg.max_retries = 0;
    let err = OpenAiClient::new(cfg)
        .unwrap()
        .complete(&hello())
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Timeout), "{err:?}");
}

#[tokio::test]
async fn streaming_collects_to_the_same_text() {
    let text = "The strategy returned 12.5% with a max drawdown of −8.1% — über steady.";
    let server = OpenAiServer::start([Reply::Text(text.into()), Reply::Text(text.into())])
        .await
        .unwrap();
    let c = client(&server, 0);
    let whole = c.complete(&hello()).await.unwrap();
    let streamed = collect_stream(c.stream(&hello()).await.unwrap(), c.model())
        .await
        .unwrap();
    assert_eq!(streamed.content.as_deref(), Some(text));
    assert_eq!(streamed.content, whole.content);
    assert_eq!(streamed.finish_reason.as_deref(), Some("stop"));
    assert_eq!(streamed.usage, whole.usage);
    assert_eq!(c.usage_totals().total_tokens, 2 * whole.usage.total_tokens);
    let body = &server.requests()[1].body;
    assert_eq!(
        (body["stream"].clone(), body["stream_options"].clone()),
        (json!(true), json!({"include_usage": true}))
    );
}

#[tokio::test]
async fn streaming_tool_call_is_reassembled() {
    let args = json!({"metric": "max_drawdown", "window": 252}).to_string();
    let server = OpenAiServer::start([Reply::ToolCall {
        name: "get_metric".into(),
        arguments: args,
    }])
    .await
    .unwrap();
    let c = client(&server, 0);
    let mut req = hello();
    req.tools = vec![lookup_tool()];
    let r = collect_stream(c.stream(&req).await.unwrap(), c.model())
        .await
        .unwrap();
    assert_eq!(r.tool_calls.len(), 1);
    assert_eq!(
        r.tool_calls[0].arguments,
        json!({"metric": "max_drawdown", "window": 252})
    );
    assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
}

#[tokio::test]
async fn azure_mode_uses_api_key_header_and_version() {
    let server = OpenAiServer::start([Reply::Text("hi".into())])
        .await
        .unwrap();
    let mut cfg = OpenAiConfig::new(server.base_url(), "gpt-test");
    cfg.api_key = Some(KEY.into());
    cfg.azure_api_version = Some("2024-06-01".into());
    assert!(!format!("{cfg:?}").contains(KEY));
    OpenAiClient::new(cfg)
        .unwrap()
        .complete(&hello())
        .await
        .unwrap();
    let r = &server.requests()[0];
    assert_eq!(r.uri, "/v1/chat/completions?api-version=2024-06-01");
    assert_eq!(
        (r.api_key.as_deref(), r.authorization.as_deref()),
        (Some(KEY), None)
    );
}

#[tokio::test]
async fn empty_queue_is_a_server_error() {
    let server = OpenAiServer::start([]).await.unwrap();
    let err = client(&server, 0).complete(&hello()).await.unwrap_err();
    assert!(
        matches!(err, LlmError::Http { status: 500, ref body } if body.contains("queue is empty")),
        "{err:?}"
    );
}
