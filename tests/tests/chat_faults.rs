//! The upstream fault matrix: each fault × each protocol is its own test. A fault before any
//! content fails over to the next channel and the client sees one clean stream; a fault after
//! content ends the stream with `error` and stores nothing. And a failed channel comes back
//! by itself after its cooldown.

use std::time::Duration;

use chatai_tests::TestServer;
use chatai_tests::chatting::{add_channel, chat, sse_events};
use chatai_tests::upstream::{Protocol, Step, Upstream, refused_base_url};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy)]
enum Fault {
    Refused,
    Status500,
    RateLimited,
    Malformed,
    Hang,
    CutBeforeContent,
    CutAfterContent,
}

/// The first channel's first-byte timeout (the hang cell waits this long).
const TIMEOUT_MS: u64 = 400;

async fn stream(server: &TestServer, user: &str) -> Vec<(String, Value)> {
    let response = server
        .admin(Method::POST, "/api/chat/stream")
        .json(&json!({"message": "hello", "userId": user, "model": "m", "tools": false}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    sse_events(&response.text().await.expect("body"))
}

async fn cell(protocol: Protocol, fault: Fault) {
    let server = TestServer::start().await;
    let faulty = Upstream::start(protocol).await;
    let backup = Upstream::start(Protocol::Openai).await;
    backup.script([], Step::Text("backup answer".into()));
    let base = match fault {
        Fault::Refused => refused_base_url().await,
        _ => faulty.base_url.clone(),
    };
    add_channel(&server, "first", protocol.kind(), &base, "m", 0, TIMEOUT_MS).await;
    add_channel(
        &server,
        "second",
        "openai",
        &backup.base_url,
        "m",
        1,
        TIMEOUT_MS,
    )
    .await;
    let step = match fault {
        Fault::Refused | Fault::Status500 => Step::Status(500, None),
        Fault::RateLimited => Step::Status(429, Some(7)),
        Fault::Malformed => Step::Malformed,
        Fault::Hang => Step::Hang,
        Fault::CutBeforeContent => Step::CutBeforeContent,
        Fault::CutAfterContent => Step::CutAfterContent("half an ans".into()),
    };
    faulty.script([step], Step::Text("first answer".into()));

    let events = stream(&server, "cell").await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let text: String = events
        .iter()
        .filter(|(n, _)| n == "content")
        .map(|(_, d)| d["text"].as_str().unwrap_or_default())
        .collect();
    if let Fault::CutAfterContent = fault {
        assert_eq!(names.last(), Some(&"error"), "{protocol:?}: {events:?}");
        assert_eq!(text, "half an ans");
        assert!(!names.contains(&"done"));
        assert!(backup.requests().is_empty(), "no failover after content");
        let (status, _) = server.get("/api/conversations/user:cell").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "no half turn stored");
    } else {
        assert!(
            !names.contains(&"error"),
            "{protocol:?} {fault:?}: {events:?}"
        );
        assert_eq!(names.iter().filter(|n| **n == "done").count(), 1);
        assert_eq!(
            text, "backup answer",
            "{protocol:?} {fault:?}: one clean stream"
        );
        let (status, stored) = server.get("/api/conversations/user:cell").await;
        assert_eq!(status, StatusCode::OK);
        let messages = stored["data"]["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[1]["channel"], "second");
        // The failed channel cools down, and says why.
        let (_, channels) = server.get("/api/channels").await;
        let first = channels["data"]
            .as_array()
            .expect("channels")
            .iter()
            .find(|c| c["name"] == "first")
            .expect("first")
            .clone();
        assert_eq!(first["status"], "cooldown", "{first}");
        if let Fault::RateLimited = fault {
            let wait = first["retryInMs"].as_u64().unwrap_or(0);
            assert!(
                (5_000..=7_000).contains(&wait),
                "Retry-After honoured: {wait}"
            );
        }
    }
    server.stop().await;
}

macro_rules! cells {
    ($($name:ident: $protocol:ident, $fault:ident;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                cell(Protocol::$protocol, Fault::$fault).await;
            }
        )*
    };
}

cells! {
    openai_refused: Openai, Refused;
    openai_500: Openai, Status500;
    openai_429_retry_after: Openai, RateLimited;
    openai_malformed: Openai, Malformed;
    openai_hang: Openai, Hang;
    openai_cut_before_content: Openai, CutBeforeContent;
    openai_cut_after_content: Openai, CutAfterContent;
    claude_refused: Claude, Refused;
    claude_500: Claude, Status500;
    claude_429_retry_after: Claude, RateLimited;
    claude_malformed: Claude, Malformed;
    claude_hang: Claude, Hang;
    claude_cut_before_content: Claude, CutBeforeContent;
    claude_cut_after_content: Claude, CutAfterContent;
    gemini_refused: Gemini, Refused;
    gemini_500: Gemini, Status500;
    gemini_429_retry_after: Gemini, RateLimited;
    gemini_malformed: Gemini, Malformed;
    gemini_hang: Gemini, Hang;
    gemini_cut_before_content: Gemini, CutBeforeContent;
    gemini_cut_after_content: Gemini, CutAfterContent;
}

#[tokio::test]
async fn a_cooled_down_channel_is_skipped_then_probed_back_by_itself() {
    let server = TestServer::start().await;
    let first = Upstream::start(Protocol::Claude).await;
    let second = Upstream::start(Protocol::Gemini).await;
    add_channel(
        &server,
        "first",
        "claude",
        &first.base_url,
        "m",
        0,
        TIMEOUT_MS,
    )
    .await;
    add_channel(
        &server,
        "second",
        "gemini",
        &second.base_url,
        "m",
        1,
        TIMEOUT_MS,
    )
    .await;
    first.script(
        [Step::Status(429, Some(1))],
        Step::Text("first is back".into()),
    );
    second.script([], Step::Text("second".into()));
    let chat = |user: &'static str| {
        let server = &server;
        async move {
            let (status, body) = chat(
                server,
                json!({"message": "hi", "userId": user, "model": "m"}),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["data"]["channel"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    assert_eq!(chat("a").await, "second");
    // During the cooldown the first channel is not even asked.
    let asked = first.requests().len();
    assert_eq!(chat("b").await, "second");
    assert_eq!(first.requests().len(), asked);
    // After it, one probe goes through; its success restores the channel.
    let mut back = false;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, channels) = server.get("/api/channels").await;
        if channels["data"][0]["retryInMs"].is_null() {
            back = true;
            break;
        }
    }
    assert!(back, "the cooldown ends");
    assert_eq!(chat("c").await, "first");
    let (_, channels) = server.get("/api/channels").await;
    assert_eq!(channels["data"][0]["status"], "ok");
    server.stop().await;
}
