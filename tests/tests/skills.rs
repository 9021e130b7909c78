//! Skills: the builtin skills against a scripted upstream, a custom skill built from its own
//! crate, steps (whole and streamed), denials, caps and deadlines, and the skills endpoints.

use std::time::{Duration, Instant};

use chatai_tests::chatting::with_upstream;
use chatai_tests::skilling::{logs_of, run, upload_probe};
use chatai_tests::sse::SseReader;
use chatai_tests::upstream::{Protocol, Step};
use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(20);

/// Serves `html` at every path on 127.0.0.1; returns the port.
async fn page_server(html: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

fn kinds(steps: &Value) -> Vec<String> {
    steps
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn summarize_page_fetches_with_web_fetch_and_summarises_with_the_llm() {
    let port = page_server(
        "<html><body><h1>Rust 2026</h1><p>The release adds async closures.</p></body></html>",
    )
    .await;
    let server = TestServer::start_with(&format!(
        "[extensions]\nweb_fetch_origins = [\"http://127.0.0.1:{port}\"]\n\
         [extensions.http]\nallow_private = true\n"
    ))
    .await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    upstream.script(
        [Step::Text("Rust 2026 adds async closures.".into())],
        Step::Text("unexpected second call".into()),
    );
    let url = format!("http://127.0.0.1:{port}/news");
    let (status, body) = run(
        &server,
        "summarize_page",
        json!({"input": {"url": url, "max_words": 30}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(data["result"], "Rust 2026 adds async closures.");
    assert_eq!(data["structured"]["url"], url.as_str());
    assert_eq!(
        kinds(&data["steps"]),
        ["progress", "tool", "progress", "llm", "progress"]
    );
    let fetch = &data["steps"][1];
    assert_eq!(fetch["name"], "web_fetch");
    assert_eq!(fetch["ok"], true, "{fetch}");
    assert!(
        fetch["result"]
            .as_str()
            .unwrap_or_default()
            .contains("async closures"),
        "{fetch}"
    );
    let llm = &data["steps"][3];
    assert_eq!(llm["ok"], true);
    assert_eq!(llm["channel"], "openai");
    assert_eq!(llm["content"], "Rust 2026 adds async closures.");
    assert_eq!(data["usage"]["promptTokens"], 13);
    assert_eq!(data["usage"]["completionTokens"], 7);
    let indexes: Vec<u64> = data["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);

    // What the model was sent: the skill's instructions and the page's text.
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    let sent = requests[0].body["messages"].to_string();
    assert!(sent.contains("at most 30 words"), "{sent}");
    assert!(sent.contains("The release adds async closures"), "{sent}");
    assert!(
        requests[0].body.get("tools").is_none(),
        "a skill's LLM call offers no tools"
    );

    // The run and its tool call are both logged, by source.
    let run_row = &logs_of(&server, "summarize_page", 1).await[0];
    assert_eq!(run_row["source"], "skill");
    assert_eq!(run_row["id"], data["runId"]);
    let fetch_row = &logs_of(&server, "web_fetch", 1).await[0];
    assert_eq!(fetch_row["source"], "builtin");
    assert_eq!(fetch_row["success"], true);
    server.stop().await;
}

#[tokio::test]
async fn step_by_step_plans_runs_the_tools_and_answers() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Claude).await;
    let plan = r#"Here is the plan: {"steps": [{"tool": "calculator", "args": {"expression": "6 * 7"}},
        {"tool": "get_current_time", "args": {"timezone": "UTC"}},
        {"tool": "hash", "args": {"text": "not offered to plans"}}]}"#;
    upstream.script(
        [
            Step::Text(plan.into()),
            Step::Text("6 times 7 is 42.".into()),
        ],
        Step::Text("unexpected third call".into()),
    );
    let (status, body) = run(
        &server,
        "step_by_step",
        json!({"input": {"question": "What is 6 times 7, and what time is it?"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = &body["data"];
    assert_eq!(data["result"], "6 times 7 is 42.");
    assert_eq!(
        kinds(&data["steps"]),
        ["llm", "progress", "tool", "progress", "tool", "llm"]
    );
    assert_eq!(data["steps"][2]["name"], "calculator");
    assert_eq!(data["steps"][2]["result"], "42");
    assert_eq!(data["steps"][4]["name"], "get_current_time");
    assert_eq!(data["steps"][4]["ok"], true);
    assert_eq!(data["structured"]["steps"][0]["result"], "42");
    assert_eq!(data["usage"]["promptTokens"], 26, "two LLM calls");
    let requests = upstream.requests();
    assert_eq!(requests.len(), 2);
    let answer_request = requests[1].body.to_string();
    assert!(
        answer_request.contains("\\\"result\\\":\\\"42\\\""),
        "the tool results go back to the model: {answer_request}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_custom_skill_runs_like_a_builtin_and_its_steps_stream_as_they_happen() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Gemini).await;
    let uploaded = upload_probe(&server, "name = \"skill_probe\"\nversion = \"1.2.0\"\n").await;
    assert_eq!(uploaded["tools"][0]["name"], "probe_skill", "{uploaded}");

    let (status, list) = server.get("/api/skills").await;
    assert_eq!(status, StatusCode::OK);
    let list = list["data"].as_array().expect("skills").clone();
    let names: Vec<&str> = list.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["probe_skill", "step_by_step", "summarize_page"]);
    let probe = &list[0];
    assert_eq!(probe["source"], "custom");
    assert_eq!(probe["extension"], "skill_probe");
    assert_eq!(probe["version"], "1.2.0");
    assert_eq!(probe["enabled"], true);
    assert_eq!(probe["inputSchema"]["type"], "object");
    assert_eq!(list[1]["source"], "builtin");
    let (_, tools) = server.get("/api/tools?source=skill").await;
    assert_eq!(tools["data"].as_array().expect("tools").len(), 3);

    // Streamed: the tool step arrives while the model is still thinking, `skill_done` last.
    upstream.script(
        [Step::After(
            Duration::from_millis(1000),
            Box::new(Step::Text("late answer".into())),
        )],
        Step::Text("unexpected".into()),
    );
    let mut stream = SseReader::open(
        server
            .admin(Method::POST, "/api/skills/probe_skill/run?stream=true")
            .json(&json!({"input": {"progress": 1,
                                    "tools": [{"tool": "calculator", "args": {"expression": "2 + 3"}}],
                                    "ask": "and now?"}})),
    )
    .await;
    let (name, progress) = stream.next(WAIT).await.expect("first event");
    assert_eq!(
        (name.as_str(), progress["kind"].as_str()),
        ("step", Some("progress"))
    );
    let (name, tool) = stream.next(WAIT).await.expect("second event");
    assert_eq!(name, "step");
    assert_eq!(tool["kind"], "tool");
    assert_eq!(tool["result"], "5");
    let tool_seen_at = Instant::now();
    let ((_, done), before) = stream.until("skill_done", WAIT).await;
    let requests = upstream.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        tool_seen_at < requests[0].at + Duration::from_millis(1000),
        "the tool step arrived before the model answered"
    );
    let rest: Vec<&str> = before
        .iter()
        .map(|(_, step)| step["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(rest, ["log", "llm"], "{before:?}");
    assert_eq!(done["result"], "calculator: 5\nllm: late answer", "{done}");
    assert!(done["durationMs"].as_f64().expect("duration") >= 1000.0);
    assert!(
        stream.next(WAIT).await.is_none(),
        "the stream ends after skill_done"
    );

    // A failed run streams its error as `skill_done` too.
    let mut stream = SseReader::open(
        server
            .admin(Method::POST, "/api/skills/probe_skill/run?stream=true")
            .json(&json!({"input": {"tools": [{"tool": "no_such_tool"}]}})),
    )
    .await;
    let ((_, done), _) = stream.until("skill_done", WAIT).await;
    assert_eq!(done["code"], "TOOL_ERROR", "{done}");
    assert!(
        done["error"]
            .as_str()
            .unwrap_or_default()
            .contains("TOOL_NOT_FOUND")
    );
    server.stop().await;
}

#[tokio::test]
async fn denials_caps_depth_and_deadlines_stop_a_skill_with_their_own_errors() {
    let server = TestServer::start_with(
        "[tools]\nadmin_only_tools = [\"calculator\"]\n[skills]\nmax_llm_calls = 2\n",
    )
    .await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    upload_probe(
        &server,
        "name = \"skill_probe\"\n[skill]\nmax_tool_calls = 3\ntimeout_ms = 1000\n",
    )
    .await;
    let (status, detail) = server.get("/api/skills/probe_skill").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        detail["data"]["caps"],
        json!({"timeoutMs": 1000, "maxToolCalls": 3, "maxLlmCalls": 2, "maxTokens": 32000})
    );

    // The caller may not use calculator: the skill gets a denial, and fails with it.
    let (_, key) = server.api_key(&["tools:call"]).await;
    let calc = json!({"input": {"tools": [{"tool": "calculator", "args": {"expression": "1"}}]}});
    let (status, body) = server
        .send(
            server
                .client
                .post(server.url("/api/skills/probe_skill/run"))
                .header("X-API-Key", &key)
                .json(&calc),
        )
        .await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("FORBIDDEN") && message.contains("admin"),
        "{message}"
    );
    let row = &logs_of(&server, "calculator", 1).await[0];
    assert_eq!(row["success"], false, "never a bypass: {row}");
    // The admin may.
    let (status, body) = run(&server, "probe_skill", calc).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A loop of tool calls meets the manifest's cap of 3.
    let (status, body) = run(
        &server,
        "probe_skill",
        json!({"input": {"loop_tools": true}}),
    )
    .await;
    assert_error(status, &body, 422, "SKILL_LIMIT_EXCEEDED");
    assert_eq!(body["details"]["limit"], "tool_calls");
    // A loop of LLM calls meets `skills.max_llm_calls` = 2.
    let (status, body) = run(&server, "probe_skill", json!({"input": {"loop_llm": true}})).await;
    assert_error(status, &body, 422, "SKILL_LIMIT_EXCEEDED");
    assert_eq!(body["details"]["limit"], "llm_calls");
    assert_eq!(upstream.requests().len(), 2, "no third LLM call");

    // A skill inside a skill inside a skill passes `skills.max_depth` = 2.
    let nested = json!({"input": {"tools": [{"tool": "probe_skill",
        "args": {"tools": [{"tool": "probe_skill", "args": {}}]}}]}});
    let (status, body) = run(&server, "probe_skill", nested).await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("SKILL_LIMIT_EXCEEDED"),
        "{body}"
    );

    // The deadline (1 s from the manifest) stops a run waiting on a model that never answers.
    upstream.script([Step::Hang], Step::Text("unexpected".into()));
    let started = Instant::now();
    let (status, body) = run(&server, "probe_skill", json!({"input": {"ask": "hello?"}})).await;
    assert_error(status, &body, 504, "TOOL_TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped while waiting"
    );

    // Every stopped run is logged as failed with its code.
    let rows = logs_of(&server, "probe_skill", 8).await;
    let codes: Vec<String> = rows
        .iter()
        .filter_map(|r| r["error"].as_str())
        .map(|e| e.split(':').next().unwrap_or_default().to_owned())
        .collect();
    for code in ["SKILL_LIMIT_EXCEEDED", "TOOL_TIMEOUT", "TOOL_ERROR"] {
        assert!(codes.iter().any(|c| c == code), "{code} in {codes:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn categories_toggles_stats_and_reload() {
    let server = TestServer::start().await;
    let (status, categories) = server.get("/api/skills/categories").await;
    assert_eq!(status, StatusCode::OK);
    let math = categories["data"]
        .as_array()
        .expect("categories")
        .iter()
        .find(|c| c["name"] == "math")
        .cloned()
        .expect("math");
    assert_eq!(
        math,
        json!({"name": "math", "label": "Math", "enabled": true, "toolCount": 2})
    );

    let (status, _) = server
        .call(
            Method::POST,
            "/api/skills/toggle-category",
            json!({"category": "math", "enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server
        .call_tool("calculator", json!({"expression": "1"}))
        .await;
    assert_error(status, &body, 403, "TOOL_DISABLED");
    let (_, unknown) = server
        .call(
            Method::POST,
            "/api/skills/toggle-category",
            json!({"category": "nope", "enabled": false}),
        )
        .await;
    assert_eq!(unknown["code"], "NOT_FOUND");
    server
        .call(
            Method::POST,
            "/api/skills/toggle-category",
            json!({"category": "math", "enabled": true}),
        )
        .await;
    let (status, _) = server
        .call_tool("calculator", json!({"expression": "1"}))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = server
        .call(
            Method::POST,
            "/api/skills/toggle-tool",
            json!({"toolName": "step_by_step", "enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, skill) = server.get("/api/skills/step_by_step").await;
    assert_eq!(skill["data"]["enabled"], false);
    let (status, body) = run(&server, "step_by_step", json!({"input": {"question": "x"}})).await;
    assert_error(status, &body, 403, "TOOL_DISABLED");

    let (_, stats) = server.get("/api/skills/stats").await;
    let stats = &stats["data"];
    let total = stats["totalTools"].as_u64().expect("total");
    assert_eq!(stats["enabledTools"].as_u64(), Some(total - 1));
    assert_eq!(stats["skills"], 2);
    assert_eq!(stats["mcpServers"], 0);

    let (_, off) = server
        .call(Method::POST, "/api/skills/disable-all", json!({}))
        .await;
    assert_eq!(off["data"]["disabled"].as_u64(), Some(total));
    let (_, stats) = server.get("/api/skills/stats").await;
    assert_eq!(stats["data"]["enabledTools"], 0);
    let (_, on) = server
        .call(Method::POST, "/api/skills/enable-all", json!({}))
        .await;
    assert_eq!(on["data"]["enabled"].as_u64(), Some(total));

    let (status, reload) = server
        .call(Method::POST, "/api/skills/reload", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reload}");
    assert_eq!(reload["data"]["skills"], 2);
    let (status, body) = server.get("/api/skills/no_such_skill").await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let (status, body) = server.get("/api/skills/calculator").await;
    assert_error(status, &body, 404, "NOT_FOUND");
    let (status, aliased) = server.get("/api/skills/mcp/servers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(aliased["data"], json!([]));
    server.stop().await;
}
