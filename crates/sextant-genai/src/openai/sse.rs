//! Server-sent events to [`Delta`]s: `data:` lines, blank-line separated, ending at `[DONE]`.

use super::{map_reqwest, wire, OpenAiClient};
use crate::{Delta, DeltaStream, LlmError};
use futures::StreamExt;
use std::collections::VecDeque;

struct State {
    resp: reqwest::Response,
    client: OpenAiClient,
    /// Bytes received but not yet ending in a newline (events may span chunks).
    buf: Vec<u8>,
    ready: VecDeque<Result<Delta, LlmError>>,
    done: bool,
}

impl State {
    /// Parses every complete line in `buf`; returns true once `[DONE]` is seen.
    fn drain_lines(&mut self) -> bool {
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            // Comments (`: ping`), `event:`/`id:` fields and blank separators carry no data.
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let data = data.trim_start();
            if data == "[DONE]" {
                return true;
            }
            let parsed = wire::parse_chunk(data);
            if let Ok(Delta { usage: Some(u), .. }) = &parsed {
                self.client.record(u);
            }
            let failed = parsed.is_err();
            self.ready.push_back(parsed);
            if failed {
                return true;
            }
        }
        false
    }
}

pub(crate) fn deltas(resp: reqwest::Response, client: OpenAiClient) -> DeltaStream {
    let state = State {
        resp,
        client,
        buf: Vec::new(),
        ready: VecDeque::new(),
        done: false,
    };
    futures::stream::unfold(state, |mut s| async move {
        loop {
            if let Some(item) = s.ready.pop_front() {
                return Some((item, s));
            }
            if s.done {
                return None;
            }
            match s.resp.chunk().await {
                Ok(Some(bytes)) => {
                    s.buf.extend_from_slice(&bytes);
                    s.done = s.drain_lines();
                }
                Ok(None) => {
                    s.done = true;
                    s.buf.push(b'\n');
                    if !s.drain_lines() {
                        // A stream cut before `[DONE]` is not a complete answer.
                        s.ready.push_back(Err(LlmError::MalformedResponse(
                            "stream ended without [DONE]".into(),
                        )));
                    }
                }
                Err(e) => {
                    s.done = true;
                    s.ready.push_back(Err(map_reqwest(e)));
                }
            }
        }
    })
    .boxed()
}
