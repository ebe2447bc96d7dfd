//! Chat Completions bodies in OpenAI's exact shapes (completion, chunk, error).

use serde_json::{json, Value};

/// Fixed so that recorded bodies are reproducible.
pub(crate) const CREATED: u64 = 1_700_000_000;

/// What the assistant says in one reply, before it is rendered whole or as chunks.
pub(crate) enum Answer {
    Content(String),
    ToolCall { name: String, arguments: String },
}

/// Whitespace-separated words: a deterministic stand-in for a tokenizer.
pub(crate) fn words(s: &str) -> u64 {
    s.split_whitespace().count() as u64
}

/// Prompt "tokens" of a request: the words of every message's content.
pub(crate) fn prompt_tokens(req: &Value) -> u64 {
    req.get("messages")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("content").and_then(Value::as_str))
                .map(words)
                .sum()
        })
        .unwrap_or(0)
}

fn usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    })
}

fn tool_call_id(n: usize) -> String {
    format!("call_{n:06}")
}

/// A whole `chat.completion` object.
pub(crate) fn completion(n: usize, model: &str, answer: &Answer, prompt: u64) -> Value {
    let (message, finish, completion_tokens) = match answer {
        Answer::Content(text) => (
            json!({"role": "assistant", "content": text, "refusal": null}),
            "stop",
            words(text).max(1),
        ),
        Answer::ToolCall { name, arguments } => (
            json!({
                "role": "assistant",
                "content": null,
                "refusal": null,
                "tool_calls": [{
                    "id": tool_call_id(n),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }],
            }),
            "tool_calls",
            words(arguments).max(1),
        ),
    };
    json!({
        "id": format!("chatcmpl-{n:06}"),
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_sextant_testkit",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage(prompt, completion_tokens),
    })
}

fn chunk(n: usize, model: &str, delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": format!("chatcmpl-{n:06}"),
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_sextant_testkit",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    })
}

/// Splits on char boundaries into pieces of at most `size` chars, so multi-byte text survives.
fn pieces(s: &str, size: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// The server-sent-event body of a streamed answer, `data: [DONE]` included. A final
/// usage-only chunk (empty `choices`) is sent when the request asked for
/// `stream_options.include_usage`, as the real API does.
pub(crate) fn sse(n: usize, model: &str, answer: &Answer, prompt: u64, with_usage: bool) -> String {
    let mut events = vec![chunk(
        n,
        model,
        json!({"role": "assistant", "content": "", "refusal": null}),
        None,
    )];
    let (finish, completion_tokens) = match answer {
        Answer::Content(text) => {
            for p in pieces(text, 7) {
                events.push(chunk(n, model, json!({"content": p}), None));
            }
            ("stop", words(text).max(1))
        }
        Answer::ToolCall { name, arguments } => {
            events.push(chunk(
                n,
                model,
                json!({"tool_calls": [{"index": 0, "id": tool_call_id(n), "type": "function",
                    "function": {"name": name, "arguments": ""}}]}),
                None,
            ));
            for p in pieces(arguments, 7) {
                events.push(chunk(
                    n,
                    model,
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}),
                    None,
                ));
            }
            ("tool_calls", words(arguments).max(1))
        }
    };
    events.push(chunk(n, model, json!({}), Some(finish)));
    if with_usage {
        events.push(json!({
            "id": format!("chatcmpl-{n:06}"),
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "choices": [],
            "usage": usage(prompt, completion_tokens),
        }));
    }
    let mut body = String::new();
    for e in events {
        body.push_str("data: ");
        body.push_str(&e.to_string());
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    body
}

/// OpenAI's error envelope.
pub(crate) fn error(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}
