//! The tool hub: a backend that is not WASM runs through the same executor (policy, schema
//! validation, deadline, logs, metrics, error codes) as the extensions do, and tool progress
//! reaches the event bus.

use std::sync::Arc;

use chatai_server::events::Event;
use chatai_server::tools::{
    CallContext, ContentPart, Provider, Ran, RunFuture, Source, ToolBackend, ToolError, ToolKind,
    ToolOutput, ToolSpec,
};
use chatai_tests::{TestServer, assert_error, progress_of};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An in-process backend, as an MCP server or a skill will be: no WASM involved.
struct Local;

impl ToolBackend for Local {
    fn run<'a>(
        &'a self,
        spec: &'a ToolSpec,
        args: &'a Value,
        call: &'a CallContext<'a>,
    ) -> RunFuture<'a> {
        Box::pin(async move {
            let result = match spec.name.as_str() {
                "local_echo" | "local_danger" => {
                    call.progress.report(1, Some(1), "echoing".into());
                    Ok(ToolOutput {
                        content: vec![ContentPart::Text(
                            args["text"].as_str().unwrap_or_default().to_owned(),
                        )],
                        structured: Some(json!({
                            "caller": call.invocation.caller_id,
                            "userId": call.invocation.user_id,
                        })),
                    })
                }
                "local_fail" => Err(ToolError::Failed("the local tool failed".into())),
                // Ignores its deadline: the executor must stop it.
                _ => std::future::pending().await,
            };
            Ran {
                result,
                logs: vec![format!("ran {}", spec.name)],
            }
        })
    }
}

fn spec(name: &str, dangerous: bool) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: format!("in-process test tool {name}"),
        input_schema: json!({
            "type": "object",
            "properties": {"text": {"type": "string", "maxLength": 10}},
        }),
        output_schema: None,
        category: Some("test".into()),
        dangerous,
    }
}

async fn server_with_local_backend() -> TestServer {
    let server = TestServer::start().await;
    server
        .running()
        .state
        .tools
        .registry
        .register(Provider {
            name: "local".into(),
            source: Source::Mcp,
            version: Some("9.9.9".into()),
            tools: vec![
                spec("local_echo", false),
                spec("local_fail", false),
                spec("local_hang", false),
                spec("local_danger", true),
            ],
            backend: Arc::new(Local),
            enabled: true,
            kind: ToolKind::Tool,
        })
        .expect("register");
    server
}

#[tokio::test]
async fn a_non_wasm_backend_runs_through_the_same_executor() {
    let server = server_with_local_backend().await;
    let mut events = server.events();

    // Listed like any tool, with its provider's own version.
    let (status, tool) = server.get("/api/tools/local_echo").await;
    assert_eq!(status, StatusCode::OK, "{tool}");
    assert_eq!(tool["data"]["source"], "mcp");
    assert_eq!(
        tool["data"]["extension"],
        json!({"name": "local", "version": "9.9.9"})
    );
    assert_eq!(tool["data"]["server"], "local");

    // Runs, with the invocation the REST caller made.
    let (status, body) = server.call_tool("local_echo", json!({"text": "hi"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "hi");
    assert_eq!(body["data"]["structured"]["caller"], "admin");
    let call_id = body["data"]["callId"].as_str().expect("callId").to_owned();
    let progress = progress_of(&mut events, "local_echo", 1).await;
    assert_eq!(progress[0].call_id, call_id);
    assert_eq!(progress[0].message, "echoing");

    // Schema validation and the argument shape, before the backend sees anything.
    let (status, body) = server
        .call_tool("local_echo", json!({"text": "far too long a text"}))
        .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");
    assert!(body["details"]["errors"][0].as_str().is_some(), "{body}");
    let (status, body) = server.call_tool("local_echo", json!("text")).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");

    // The backend's own failure, and policy.
    let (status, body) = server.call_tool("local_fail", json!({})).await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    let (status, body) = server.call_tool("local_danger", json!({})).await;
    assert_error(status, &body, 403, "TOOL_DANGEROUS");
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/builtin/config",
            json!({"enabledCategories": null, "disabledTools": ["local_echo"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.call_tool("local_echo", json!({})).await;
    assert_error(status, &body, 403, "TOOL_DISABLED");
    server
        .call(
            Method::PUT,
            "/api/tools/builtin/config",
            json!({"enabledCategories": null, "disabledTools": []}),
        )
        .await;
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/dangerous",
            json!({"allowDangerous": false, "dangerousTools": [], "adminOnlyTools": ["local_echo"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, key) = server.api_key(&["tools:call"]).await;
    let response = server
        .client
        .post(server.url("/api/tools/call"))
        .header("x-api-key", &key)
        .json(&json!({"name": "local_echo", "args": {}}))
        .send()
        .await
        .expect("call");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_error(status, &body, 403, "FORBIDDEN");

    // A backend that never answers is stopped at the executor's deadline.
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "tools.call_timeout_ms", "value": 300}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["restartRequired"], false, "{body}");
    let (status, body) = server.call_tool("local_hang", json!({})).await;
    assert_error(status, &body, 504, "TOOL_TIMEOUT");

    // Logged like any call: source, caller, the backend's log lines, the code of a failure.
    let mut rows = Vec::new();
    for _ in 0..100 {
        let (_, body) = server.get("/api/tools/logs?toolName=local_fail").await;
        rows = body["data"].as_array().cloned().unwrap_or_default();
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let row = rows.first().expect("a log row of local_fail within 5 s");
    assert_eq!(row["source"], "mcp");
    assert_eq!(row["caller"], "admin");
    assert_eq!(row["logs"], json!(["ran local_fail"]));
    assert!(
        row["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("TOOL_ERROR")),
        "{row}"
    );

    // Counted like any call, under the registered name.
    let (_, metrics_key) = server.api_key(&["read"]).await;
    let text = server
        .client
        .get(server.url("/metrics"))
        .header("x-api-key", &metrics_key)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for (tool, outcome) in [
        ("local_echo", "ok"),
        ("local_fail", "TOOL_ERROR"),
        ("local_hang", "TOOL_TIMEOUT"),
        ("local_danger", "TOOL_DANGEROUS"),
    ] {
        assert!(
            text.lines()
                .any(|line| line.starts_with("chatai_tool_calls_total")
                    && line.contains(&format!("tool=\"{tool}\""))
                    && line.contains(&format!("outcome=\"{outcome}\""))),
            "no series for {tool} {outcome}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn guest_progress_reaches_the_bus_in_order_and_a_stuck_listener_is_dropped() {
    let server = TestServer::start().await;
    server.load_fixture("misbehave").await.expect("misbehave");

    // Room for every event of the test: this listener must not be the one that falls behind.
    let mut listener = server.running().state.events.subscribe_with(10_000);
    let (status, body) = server.call_tool("report_progress", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let call_id = body["data"]["callId"].as_str().expect("callId");
    let steps = progress_of(&mut listener, "report_progress", 5).await;
    let done: Vec<u32> = steps.iter().map(|p| p.done).collect();
    assert_eq!(done, [1, 2, 3, 4, 5]);
    assert!(
        steps
            .iter()
            .all(|p| p.call_id == call_id && p.total == Some(5))
    );
    assert_eq!(steps[2].message, "step 3");

    // A subscriber that never reads: the calls are not held up (publishing never waits), the
    // subscriber is dropped once its queue is full, and other listeners miss nothing.
    let stuck = server.running().state.events.subscribe();
    let bus = &server.running().state.events;
    let before = bus.subscriber_count();
    let server = Arc::new(server);
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let server = server.clone();
        calls.spawn(async move {
            for _ in 0..125 {
                let (status, body) = server.call_tool("report_progress", json!({})).await;
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        });
    }
    let mut received = 0;
    // 1,000 calls × 5 steps, each within 10 s of the one before (a lost event fails the test
    // instead of hanging it).
    while received < 5_000 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(10), listener.recv())
            .await
            .unwrap_or_else(|_| panic!("only {received} of 5,000 progress events arrived"));
        match event.as_deref() {
            Some(Event::ToolProgress(p)) if p.tool == "report_progress" => received += 1,
            Some(_) => {}
            None => panic!("the reading listener was dropped"),
        }
    }
    calls.join_all().await;
    let bus = &server.running().state.events;
    assert_eq!(bus.subscriber_count(), before - 1, "the stuck one is gone");
    drop(stuck);
    Arc::into_inner(server).expect("one owner").stop().await;
}

#[tokio::test]
async fn a_timeout_change_applies_to_the_next_call_without_restart() {
    let server = TestServer::start().await;
    server.load_fixture("misbehave").await.expect("misbehave");
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "extensions.timeout_ms", "value": 300}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["restartRequired"], false, "{body}");
    let (status, body) = server.call_tool("spin_forever", json!({})).await;
    assert_error(status, &body, 504, "TOOL_TIMEOUT");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("300ms")),
        "the new deadline: {body}"
    );

    // What the running server cannot apply says so.
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "extensions.pool_instances", "value": 64}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["restartRequired"], true, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn events_stream_as_sse_and_a_client_that_leaves_is_forgotten() {
    let server = server_with_local_backend().await;
    let bus = &server.running().state.events;
    let before = bus.subscriber_count();

    // EventSource cannot send headers: the session token goes in the query, on this route.
    let url = server.url(&format!(
        "/api/system/events?types=tool_update&token={}",
        server.admin
    ));
    let mut response = server.client.get(&url).send().await.expect("events");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("type"),
        "text/event-stream"
    );
    assert_eq!(bus.subscriber_count(), before + 1);
    let registry = &server.running().state.tools.registry;
    let provider = |name: &str| Provider {
        name: name.into(),
        source: Source::Mcp,
        version: None,
        tools: vec![spec(&format!("{name}_tool"), false)],
        backend: Arc::new(Local),
        enabled: true,
        kind: ToolKind::Tool,
    };
    registry.register(provider("late")).expect("register");
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), response.chunk())
            .await
            .expect("an event within 10 s")
            .expect("chunk")
            .expect("the stream is open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.starts_with("event: tool_update\ndata: {"), "{text:?}");
    let data: Value = serde_json::from_str(
        text.lines()
            .find_map(|l| l.strip_prefix("data: "))
            .expect("data line"),
    )
    .expect("JSON data");
    assert_eq!(
        data,
        json!({"source": "mcp", "provider": "late", "tools": ["late_tool"], "enabled": true})
    );

    // The query token is for event streams only.
    let response_elsewhere = server
        .client
        .get(server.url(&format!("/api/tools?token={}", server.admin)))
        .send()
        .await
        .expect("tools");
    assert_eq!(response_elsewhere.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = server.get("/api/system/events?types=nope").await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // The client leaves: its subscription goes with the response body, nothing stays behind.
    drop(response);
    let mut round = 0;
    while bus.subscriber_count() > before {
        round += 1;
        assert!(
            round < 100,
            "the stream of a client that left is still subscribed"
        );
        registry
            .replace("late", Source::Mcp, Some(provider("late")))
            .expect("replace");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await;
}
