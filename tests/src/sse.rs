//! Reading an SSE response event by event, as it arrives (for tests that must see an event
//! before the stream ends).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

/// An open SSE response.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

impl SseReader {
    /// Sends `request` and asserts a 200 `text/event-stream` answer.
    pub async fn open(request: reqwest::RequestBuilder) -> Self {
        let response = request.send().await.expect("SSE request");
        assert_eq!(response.status(), StatusCode::OK, "SSE status");
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next named event `(name, data)` within `within` (heartbeats skipped); `None` when
    /// the stream ended.
    pub async fn next(&mut self, within: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                match parse_frame(&frame) {
                    Some((name, data)) => {
                        let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
                        return Some((name, data));
                    }
                    None => continue,
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no SSE event within {within:?}"))
                .expect("SSE body");
            match chunk {
                Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }

    /// Reads events until one named `name` arrives (within `within` in all); returns it and
    /// the events before it.
    pub async fn until(
        &mut self,
        name: &str,
        within: Duration,
    ) -> ((String, Value), Vec<(String, Value)>) {
        let deadline = tokio::time::Instant::now() + within;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self
                .next(left)
                .await
                .unwrap_or_else(|| panic!("the stream ended before `{name}`: {before:?}"));
            if event.0 == name {
                return (event, before);
            }
            before.push(event);
        }
    }
}

/// One SSE frame as `(event name, data text)`; `None` for a frame without a name (a heartbeat
/// comment).
pub fn parse_frame(frame: &str) -> Option<(String, String)> {
    let mut name = None;
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(n) = line.strip_prefix("event:") {
            name = Some(n.trim().to_owned());
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push_str(d.trim_start());
        }
    }
    Some((name?, data))
}
