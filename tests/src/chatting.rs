//! Helpers of the chat tests: channels pointing at test upstreams, and streamed chats read
//! back as SSE events.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::TestServer;
use crate::upstream::{Protocol, Step, Upstream};

/// The key every test channel is created with (tests check it is never shown).
pub const CHANNEL_KEY: &str = "sk-test-secret-key-0001";

/// Adds a channel pointing at `base_url` (one key, no retries on it).
pub async fn add_channel(
    server: &TestServer,
    name: &str,
    kind: &str,
    base_url: &str,
    model: &str,
    priority: i64,
    timeout_ms: u64,
) {
    let (status, body) = server
        .call(
            Method::POST,
            "/api/channels",
            json!({"name": name, "type": kind, "baseUrl": base_url, "apiKey": CHANNEL_KEY,
                   "model": model, "priority": priority, "timeoutMs": timeout_ms, "maxRetries": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// A test upstream of `protocol` and a channel named after the protocol pointing at it.
pub async fn with_upstream(server: &TestServer, protocol: Protocol) -> Upstream {
    let upstream = Upstream::start(protocol).await;
    let kind = protocol.kind();
    add_channel(
        server,
        kind,
        kind,
        &upstream.base_url,
        &upstream.model,
        0,
        1500,
    )
    .await;
    upstream
}

/// The events of an SSE body: `(name, data)`, heartbeats left out.
pub fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|frame| {
            let (name, data) = crate::sse::parse_frame(frame)?;
            Some((name, serde_json::from_str(&data).ok()?))
        })
        .collect()
}

/// The system prompt of the last chat request an OpenAI-protocol upstream received.
pub fn last_system_prompt(upstream: &Upstream) -> String {
    upstream.requests().pop().expect("request").body["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `POST /api/chat` as admin: the status and the body.
pub async fn chat(server: &TestServer, body: Value) -> (StatusCode, Value) {
    server.call(Method::POST, "/api/chat", body).await
}

/// `POST /api/chat/stream` as admin: the status and the events.
pub async fn chat_stream(server: &TestServer, body: Value) -> (StatusCode, Vec<(String, Value)>) {
    let response = server
        .admin(Method::POST, "/api/chat/stream")
        .json(&body)
        .send()
        .await
        .expect("stream request");
    let status = response.status();
    let text = response.text().await.expect("stream body");
    (status, sse_events(&text))
}

/// A model turn that calls `calculator` with `6 * 7` under call id `id`.
pub fn calculator_call(id: &str) -> Step {
    Step::ToolCalls(vec![(
        id.into(),
        "calculator".into(),
        json!({"expression": "6 * 7"}),
    )])
}
