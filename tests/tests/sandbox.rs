//! QUALITY.md §2 "Extensions cannot hurt the host", with the fixture components.

use std::time::{Duration, Instant};

use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Short deadline and small memory so that the misbehaving calls end quickly.
const LIMITS: &str = "[extensions]\ntimeout_ms = 1000\nmemory_mb = 32\n";

async fn server() -> TestServer {
    let server = TestServer::start_with(LIMITS).await;
    for fixture in ["misbehave", "counter", "raw"] {
        server.load_fixture(fixture).await.expect(fixture);
    }
    server
}

async fn call(server: &TestServer, name: &str) -> (StatusCode, Value) {
    server
        .call(
            Method::POST,
            "/api/tools/call",
            json!({ "name": name, "args": {} }),
        )
        .await
}

/// The server is fine: health is ok and a well-behaved tool answers.
async fn still_healthy(server: &TestServer) {
    let (status, body) = server
        .call(
            Method::POST,
            "/api/tools/call",
            json!({"name": "calculator", "args": {"expression": "1 + 1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "2");
    let (status, _) = server
        .send(server.client.get(server.url("/api/system/health")))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn each_misbehaviour_gets_its_own_code() {
    let server = server().await;

    let started = Instant::now();
    let (status, body) = call(&server, "spin_forever").await;
    let elapsed = started.elapsed();
    assert_error(status, &body, 504, "TOOL_TIMEOUT");
    // Generous margin: the benchmark reports the real overshoot.
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    still_healthy(&server).await;

    for (tool, reason) in [
        ("allocate_forever", "memory_limit"),
        ("recurse_forever", "stack_overflow"),
        ("panic", "panic"),
    ] {
        let (status, body) = call(&server, tool).await;
        assert_error(status, &body, 500, "TOOL_TRAPPED");
        assert_eq!(body["details"]["reason"], reason, "{tool}: {body}");
        still_healthy(&server).await;
    }

    let (status, body) = call(&server, "return_10_mib").await;
    assert_error(status, &body, 502, "TOOL_RESULT_TOO_LARGE");
    still_healthy(&server).await;

    let (status, body) = call(&server, "invalid_json").await;
    assert_error(status, &body, 502, "TOOL_INVALID_OUTPUT");
    still_healthy(&server).await;

    // The raw component would answer any name; the host only routes names it listed.
    let (status, body) = call(&server, "echo_name").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&server, "ghost_tool").await;
    assert_error(status, &body, 404, "TOOL_NOT_FOUND");
    server.stop().await;
}

#[tokio::test]
async fn sockets_names_files_and_env_are_refused_inside_the_guest() {
    let server = server().await;
    let (status, body) = call(&server, "escape_sandbox").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = body["data"]["result"].as_str().expect("report");
    assert!(!report.contains("OPENED"), "{report}");
    assert!(report.contains("tcp=refused"), "{report}");
    assert!(report.contains("dns=refused"), "{report}");
    assert!(report.contains("file=refused"), "{report}");
    assert!(report.ends_with("env=0"), "{report}");
    still_healthy(&server).await;
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_import_is_refused_at_load_by_name() {
    let server = server().await;
    let err = server
        .load_fixture("bogus_import")
        .await
        .expect_err("must be refused");
    assert!(err.contains("fixture:bogus/telepathy"), "{err}");
    let (status, body) = call(&server, "mind_reader").await;
    assert_error(status, &body, 404, "TOOL_NOT_FOUND");
    server.stop().await;
}

#[tokio::test]
async fn calls_never_share_state() {
    let server = server().await;
    for _ in 0..5 {
        let (status, body) = call(&server, "count_calls").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["result"], "1");
    }
    server.stop().await;
}

#[tokio::test]
async fn spinning_tools_do_not_stop_other_callers() {
    let server = server().await;
    let mut spinners = Vec::new();
    for _ in 0..8 {
        let request = server
            .admin(Method::POST, "/api/tools/call")
            .json(&json!({"name": "spin_forever", "args": {}}));
        spinners.push(tokio::spawn(async move {
            request.send().await.expect("spinner").status()
        }));
    }
    // While they spin, normal calls keep succeeding.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for n in 0..20 {
        let (status, body) = server
            .call(
                Method::POST,
                "/api/tools/call",
                json!({"name": "calculator", "args": {"expression": format!("{n} + 1")}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["result"], (n + 1).to_string());
    }
    for spinner in spinners {
        assert_eq!(spinner.await.expect("task"), StatusCode::GATEWAY_TIMEOUT);
    }
    server.stop().await;
}
