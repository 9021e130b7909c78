//! Chat over the three LLM protocols against local test upstreams: the tool loop, stored
//! turns, usage, failover, masking, and Gemini's schema subset (`chat_faults.rs`: the fault
//! matrix; `chat_state.rs`: memories, presets, history, concurrent turns).

use chatai_tests::chatting::{
    CHANNEL_KEY as KEY, add_channel, calculator_call, chat, chat_stream, with_upstream,
};
use chatai_tests::upstream::{Protocol, Step, Upstream, WITHOUT_TOOLS, refused_base_url};
use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The tool result the upstream received in its second request, whatever the protocol.
fn tool_result_sent(protocol: Protocol, body: &Value) -> (Option<String>, String) {
    match protocol {
        Protocol::Openai => {
            let message = body["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .find(|m| m["role"] == "tool")
                .expect("a tool message")
                .clone();
            (
                message["tool_call_id"].as_str().map(str::to_owned),
                message["content"].as_str().unwrap_or_default().to_owned(),
            )
        }
        Protocol::Claude => {
            let block = body["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
                .find(|b| b["type"] == "tool_result")
                .expect("a tool_result block");
            (
                block["tool_use_id"].as_str().map(str::to_owned),
                block["content"].as_str().unwrap_or_default().to_owned(),
            )
        }
        Protocol::Gemini => {
            let part = body["contents"]
                .as_array()
                .expect("contents")
                .iter()
                .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
                .find(|p| p.get("functionResponse").is_some())
                .expect("a functionResponse");
            (
                None,
                part["functionResponse"]["response"]["result"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
    }
}

#[tokio::test]
async fn each_protocol_calls_a_tool_and_answers_sync_and_streamed() {
    let server = TestServer::start().await;
    for protocol in Protocol::ALL {
        let upstream = with_upstream(&server, protocol).await;
        for streamed in [false, true] {
            let user = format!("{}-{streamed}", protocol.kind());
            upstream.script(
                [calculator_call("call_abc"), Step::Text("It is 42.".into())],
                Step::Text("?".into()),
            );
            let before = upstream.requests().len();
            let request =
                json!({"message": "what is 6*7?", "userId": user, "channel": protocol.kind()});
            let (content, usage, conversation) = if streamed {
                let (status, events) = chat_stream(&server, request).await;
                assert_eq!(status, StatusCode::OK);
                let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
                assert_eq!(names.first(), Some(&"tool_call"), "{protocol:?}: {names:?}");
                assert!(names.contains(&"tool_result"), "{names:?}");
                assert_eq!(names.last(), Some(&"done"), "{names:?}");
                let result = &events
                    .iter()
                    .find(|(n, _)| n == "tool_result")
                    .expect("tool_result")
                    .1;
                assert_eq!(result["result"], "42");
                assert_eq!(result["isError"], false);
                let text: String = events
                    .iter()
                    .filter(|(n, _)| n == "content")
                    .map(|(_, d)| d["text"].as_str().unwrap_or_default())
                    .collect();
                let done = &events.last().expect("done").1;
                (
                    text,
                    done["usage"].clone(),
                    done["conversationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            } else {
                let (status, body) = chat(&server, request).await;
                assert_eq!(status, StatusCode::OK, "{protocol:?}: {body}");
                let data = &body["data"];
                assert_eq!(data["channel"], protocol.kind());
                assert_eq!(data["model"], upstream.model);
                assert_eq!(data["toolCalls"][0]["name"], "calculator");
                assert_eq!(data["toolCalls"][0]["result"], "42");
                (
                    data["content"].as_str().unwrap_or_default().to_owned(),
                    data["usage"].clone(),
                    data["conversationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            };
            assert_eq!(content, "It is 42.", "{protocol:?} streamed={streamed}");
            // Two upstream calls, each reporting its usage: the turn's usage is their sum.
            let (prompt, completion) = upstream.usage;
            assert_eq!(
                usage,
                json!({"promptTokens": 2 * prompt, "completionTokens": 2 * completion}),
                "{protocol:?}"
            );
            assert_eq!(conversation, format!("user:{user}"));

            // The second request carried the tool's result, answering the same call id.
            let requests = upstream.requests();
            assert_eq!(requests.len(), before + 2);
            let (id, result) = tool_result_sent(protocol, &requests[before + 1].body);
            assert_eq!(result, "42");
            if protocol != Protocol::Gemini {
                assert_eq!(id.as_deref(), Some("call_abc"));
            }

            // Stored: user, assistant (the call, its arguments unchanged), tool, assistant.
            let (status, body) = server
                .get(&format!("/api/conversations/{conversation}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let messages = body["data"]["messages"].as_array().expect("messages");
            let roles: Vec<&str> = messages
                .iter()
                .map(|m| m["role"].as_str().unwrap_or_default())
                .collect();
            assert_eq!(
                roles,
                ["user", "assistant", "tool", "assistant"],
                "{protocol:?}"
            );
            let call = &messages[1]["toolCalls"][0];
            assert_eq!(call["name"], "calculator");
            let arguments: Value =
                serde_json::from_str(call["arguments"].as_str().expect("arguments")).expect("JSON");
            assert_eq!(arguments, json!({"expression": "6 * 7"}));
            assert_eq!(messages[2]["content"], "42");
            assert_eq!(messages[2]["toolCallId"], call["id"]);
            let stored_usage =
                messages
                    .iter()
                    .filter_map(|m| m.get("usage"))
                    .fold((0, 0), |acc, u| {
                        (
                            acc.0 + u["promptTokens"].as_u64().unwrap_or(0),
                            acc.1 + u["completionTokens"].as_u64().unwrap_or(0),
                        )
                    });
            assert_eq!(stored_usage, (2 * prompt, 2 * completion));
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn two_calls_in_one_turn_run_concurrently() {
    let server = TestServer::start_with("[extensions]\ntimeout_ms = 400\n").await;
    server.load_fixture("misbehave").await.expect("fixture");
    let upstream = with_upstream(&server, Protocol::Openai).await;
    upstream.script(
        [Step::ToolCalls(vec![
            ("a".into(), "spin_forever".into(), json!({})),
            ("b".into(), "spin_forever".into(), json!({})),
        ])],
        Step::Text("both timed out".into()),
    );
    let (status, body) = chat(&server, json!({"message": "spin twice", "userId": "u1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let calls = body["data"]["toolCalls"].as_array().expect("calls");
    assert_eq!(calls.len(), 2);
    for call in calls {
        assert_eq!(call["isError"], true);
        assert!(
            call["result"]
                .as_str()
                .unwrap_or_default()
                .starts_with("TOOL_TIMEOUT"),
            "{call}"
        );
    }
    // The call log: each call's [end - duration, end]; the two ranges overlap.
    let mut ranges = Vec::new();
    for _ in 0..100 {
        let (_, logs) = server.get("/api/tools/logs?toolName=spin_forever").await;
        ranges = logs["data"]["items"]
            .as_array()
            .or(logs["data"].as_array())
            .cloned()
            .unwrap_or_default();
        if ranges.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ranges.len(), 2, "two logged calls");
    let span = |log: &Value| {
        let end = chrono_ms(log["timestamp"].as_str().expect("timestamp"));
        let duration = log["durationMs"].as_f64().expect("duration");
        (end - duration, end)
    };
    let (a, b) = (span(&ranges[0]), span(&ranges[1]));
    assert!(a.0 < b.1 && b.0 < a.1, "time ranges overlap: {a:?} {b:?}");
    server.stop().await;
}

/// Milliseconds of an RFC 3339 timestamp.
fn chrono_ms(text: &str) -> f64 {
    chatai_server::api::parse_timestamp_ms(text).expect("RFC 3339") as f64
}

#[tokio::test]
async fn the_loop_stops_at_max_tool_rounds_and_still_answers() {
    let server = TestServer::start_with("[llm]\nmax_tool_rounds = 2\n").await;
    let upstream = with_upstream(&server, Protocol::Claude).await;
    upstream.script([], calculator_call("again"));
    let (status, body) = chat(&server, json!({"message": "loop", "userId": "u2"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["toolCalls"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["data"]["content"], WITHOUT_TOOLS);
    let requests = upstream.requests();
    assert_eq!(requests.len(), 3, "two rounds with tools, then one without");
    assert!(requests[2].body.get("tools").is_none());
    server.stop().await;
}

#[tokio::test]
async fn a_failure_before_content_fails_over_and_after_content_ends_the_stream() {
    let server = TestServer::start().await;
    let first = Upstream::start(Protocol::Gemini).await;
    let second = Upstream::start(Protocol::Openai).await;
    add_channel(
        &server,
        "first",
        "gemini",
        &first.base_url,
        "shared-model",
        0,
        1500,
    )
    .await;
    add_channel(
        &server,
        "second",
        "openai",
        &second.base_url,
        "shared-model",
        1,
        1500,
    )
    .await;
    second.script([], Step::Text("from the second".into()));

    // 500 before content: the client sees one clean answer from the second channel.
    first.script(
        [Step::Status(500, None)],
        Step::Text("from the first".into()),
    );
    let (status, body) = chat(
        &server,
        json!({"message": "hi", "userId": "f1", "model": "shared-model"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["channel"], "second");
    assert_eq!(body["data"]["content"], "from the second");
    let (_, channels) = server.get("/api/channels").await;
    let first_view = channels["data"]
        .as_array()
        .expect("channels")
        .iter()
        .find(|c| c["name"] == "first")
        .expect("first")
        .clone();
    assert_eq!(first_view["status"], "cooldown");
    assert!(
        first_view["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("500")
    );

    // Cut after content on the only channel: an `error` event, and nothing stored.
    let (status, events) = chat_stream(
        &server,
        json!({"message": "hi", "userId": "f2", "channel": "second"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    second.script(
        [Step::CutAfterContent("partial ans".into())],
        Step::Text("from the second".into()),
    );
    let (status, events_cut) = chat_stream(
        &server,
        json!({"message": "hi", "userId": "f3", "channel": "second"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events.last().map(|(n, _)| n.as_str()), Some("done"));
    let names: Vec<&str> = events_cut.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["content", "error"], "{events_cut:?}");
    assert_eq!(events_cut[1].1["code"], "API_ERROR");
    let (status, _) = server.get("/api/conversations/user:f3").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no half turn stored");
    server.stop().await;
}

#[tokio::test]
async fn all_failed_is_502_with_attempts_and_none_usable_is_503() {
    let server = TestServer::start().await;
    let (status, body) = chat(
        &server,
        json!({"message": "hi", "userId": "n1", "model": "m"}),
    )
    .await;
    assert_error(status, &body, 503, "CHANNEL_UNAVAILABLE");

    let refused = refused_base_url().await;
    let broken = Upstream::start(Protocol::Claude).await;
    broken.script([], Step::Malformed);
    add_channel(&server, "refused", "openai", &refused, "m", 0, 1500).await;
    add_channel(&server, "broken", "claude", &broken.base_url, "m", 1, 1500).await;
    let (status, body) = chat(
        &server,
        json!({"message": "hi", "userId": "n1", "model": "m"}),
    )
    .await;
    assert_error(status, &body, 502, "API_ERROR");
    let attempts = body["details"]["attempts"].as_array().expect("attempts");
    let channels: Vec<&str> = attempts
        .iter()
        .map(|a| a["channel"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(channels, ["refused", "broken"]);

    // Both cool down now: 503 with Retry-After, no upstream request.
    let sent = broken.requests().len();
    let response = server
        .admin(Method::POST, "/api/chat")
        .json(&json!({"message": "hi", "userId": "n1", "model": "m"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("retry-after").is_some());
    assert_eq!(broken.requests().len(), sent);

    // Disabled: 503.
    for name in ["refused", "broken"] {
        let (status, _) = server
            .call(
                Method::PUT,
                &format!("/api/channels/{name}"),
                json!({"enabled": false}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = chat(
        &server,
        json!({"message": "hi", "userId": "n1", "model": "m"}),
    )
    .await;
    assert_error(status, &body, 503, "CHANNEL_UNAVAILABLE");
    server.stop().await;
}

#[tokio::test]
async fn keys_are_masked_and_a_masked_key_sent_back_keeps_the_stored_one() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    let (status, body) = server.get("/api/channels").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.to_string();
    assert!(!text.contains(KEY), "{text}");
    let shown = body["data"][0]["apiKey"]
        .as_str()
        .expect("masked key")
        .to_owned();
    assert_eq!(shown, "sk-****0001");
    // Send the channel back as read: the stored key is kept and still works.
    let mut channel = body["data"][0].clone();
    channel["priority"] = json!(5);
    let (status, updated) = server
        .call(Method::PUT, "/api/channels/openai", channel)
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["data"]["priority"], 5);
    let (status, body) = chat(&server, json!({"message": "hi", "userId": "k1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let last = upstream.requests().pop().expect("a request");
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    // The model list and the test prompt go through the same key.
    let (status, models) = server.get("/api/channels/openai/models").await;
    assert_eq!(status, StatusCode::OK, "{models}");
    assert_eq!(models["data"][0], upstream.model);
    let (status, tested) = server
        .call(Method::POST, "/api/channels/openai/test", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(tested["data"]["reply"], "ok");
    server.stop().await;
}

/// Every key of every schema node under `properties`/`items`/`anyOf`.
fn schema_keys(schema: &Value, out: &mut Vec<String>) {
    if let Some(object) = schema.as_object() {
        for (key, value) in object {
            out.push(key.clone());
            if key == "properties" {
                for child in value.as_object().into_iter().flat_map(|m| m.values()) {
                    schema_keys(child, out);
                }
            } else if key == "items" {
                schema_keys(value, out);
            } else if key == "anyOf" {
                for child in value.as_array().into_iter().flatten() {
                    schema_keys(child, out);
                }
            }
        }
    }
}

#[tokio::test]
async fn gemini_receives_tool_schemas_in_its_subset() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Gemini).await;
    let (status, body) = chat(&server, json!({"message": "hi", "userId": "g1"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let request = upstream.requests().pop().expect("a request");
    let declarations = request.body["tools"][0]["functionDeclarations"]
        .as_array()
        .expect("declarations")
        .clone();
    assert!(declarations.len() >= 5, "the builtin tools are offered");
    // What our builtins' schemas carry that Gemini refuses, checked at the source too.
    let (_, tools) = server.get("/api/tools").await;
    let sources = tools["data"].to_string();
    assert!(
        sources.contains("$schema")
            || sources.contains("additionalProperties")
            || sources.contains("format")
    );
    let allowed = [
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "minItems",
        "maxItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "anyOf",
        "propertyOrdering",
        "default",
        "example",
        "items",
    ];
    for declaration in &declarations {
        let mut keys = Vec::new();
        schema_keys(&declaration["parameters"], &mut keys);
        for key in keys {
            assert!(
                allowed.contains(&key.as_str()),
                "{key} in {}",
                declaration["name"]
            );
        }
    }
    server.stop().await;
}
