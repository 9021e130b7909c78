//! QUALITY.md §2 "Extensions cannot hurt the host", with the fixture components.

use std::time::{Duration, Instant};

use chatai_tests::{TestServer, assert_error, progress_of};
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
    // A longer deadline than the other tests: the normal calls must all be served while the
    // spinners still run, even on a loaded machine.
    let server = TestServer::start_with("[extensions]\ntimeout_ms = 4000\n").await;
    server.load_fixture("misbehave").await.expect("misbehave");
    let mut events = server.events();
    let mut spinners = Vec::new();
    for _ in 0..8 {
        let request = server
            .admin(Method::POST, "/api/tools/call")
            .json(&json!({"name": "spin_forever", "args": {}}));
        spinners.push(tokio::spawn(async move {
            request.send().await.expect("spinner").status()
        }));
    }
    // Once all 8 spin (each reports it first), normal calls keep succeeding.
    progress_of(&mut events, "spin_forever", 8).await;
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
    // They were served while the spinners were still running, not after them.
    assert!(
        spinners.iter().all(|s| !s.is_finished()),
        "normal calls waited for the spinners"
    );
    for spinner in spinners {
        assert_eq!(spinner.await.expect("task"), StatusCode::GATEWAY_TIMEOUT);
    }
    server.stop().await;
}

#[tokio::test]
async fn guest_logs_are_captured_and_capped() {
    let server = server().await;
    let (status, body) = call(&server, "chatty").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut logs = Vec::new();
    for _ in 0..50 {
        let (_, body) = server.get("/api/tools/logs?toolName=chatty").await;
        if let Some(entry) = body["data"].as_array().and_then(|l| l.first()) {
            logs = entry["logs"].as_array().cloned().unwrap_or_default();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // 1,000 host.log lines kept of 2,000, a note of the rest, then stdout.
    assert_eq!(logs.len(), 1002, "{:?}", logs.last());
    assert_eq!(logs[0], "info: line 0");
    assert_eq!(logs[999], "info: line 999");
    assert_eq!(logs[1000], "stdout: to stdout");
    assert_eq!(logs[1001], "… 1000 more lines dropped");
    server.stop().await;
}

#[tokio::test]
async fn a_failed_call_keeps_the_guest_output_in_its_log() {
    let server = server().await;
    let (status, body) = call(&server, "panic").await;
    assert_error(status, &body, 500, "TOOL_TRAPPED");
    let mut entry = Value::Null;
    for _ in 0..50 {
        let (_, body) = server.get("/api/tools/logs?toolName=panic").await;
        if let Some(first) = body["data"].as_array().and_then(|l| l.first()) {
            entry = first.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(entry["success"], false, "{entry}");
    let logs = entry["logs"].as_array().cloned().unwrap_or_default();
    assert!(
        logs.iter().any(|line| {
            line.as_str().is_some_and(|l| {
                l.starts_with("stderr: ") && l.contains("this fixture always panics")
            })
        }),
        "the panic message on stderr is kept: {entry}"
    );
    server.stop().await;
}

#[tokio::test]
async fn over_the_concurrency_cap_is_tool_busy() {
    let server = TestServer::start_with(
        "[extensions]\ntimeout_ms = 1000\nmemory_mb = 32\nmax_concurrency = 2\n",
    )
    .await;
    server.load_fixture("misbehave").await.expect("misbehave");
    let (_, config) = server.get("/api/config").await;
    assert_eq!(config["data"]["extensions"]["max_concurrency"], 2);
    let mut events = server.events();
    let mut spinners = Vec::new();
    for _ in 0..2 {
        let request = server
            .admin(Method::POST, "/api/tools/call")
            .json(&json!({"name": "spin_forever", "args": {}}));
        spinners.push(tokio::spawn(async move {
            request.send().await.expect("spinner").status()
        }));
    }
    progress_of(&mut events, "spin_forever", 2).await;
    let response = server
        .admin(Method::POST, "/api/tools/call")
        .json(&json!({"name": "panic", "args": {}}))
        .send()
        .await
        .expect("third call");
    let status = response.status();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: Value = response.json().await.expect("json");
    assert_error(status, &body, 503, "TOOL_BUSY");
    assert_eq!(retry_after.expect("Retry-After"), "1");
    for spinner in spinners {
        assert_eq!(spinner.await.expect("task"), StatusCode::GATEWAY_TIMEOUT);
    }
    // Other extensions are not affected by this one's cap.
    still_healthy(&server).await;
    server.stop().await;
}
