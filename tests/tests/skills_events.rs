//! Skills live: the chat loop running a skill as a tool, `skills.mode`, and the skills event
//! stream (what it carries, a listener that stops reading, idle listeners' cost).

use std::time::{Duration, Instant};

use chatai_tests::chatting::with_upstream;
use chatai_tests::skilling::{logs_of, run, upload_probe};
use chatai_tests::sse::SseReader;
use chatai_tests::upstream::{Protocol, Step};
use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const WAIT: Duration = Duration::from_secs(20);

/// `POST /api/chat/stream` as admin: the events, in order.
async fn chat_events(server: &TestServer, body: Value) -> Vec<(String, Value)> {
    let (status, events) = chatai_tests::chatting::chat_stream(server, body).await;
    assert_eq!(status, StatusCode::OK);
    events
}

#[tokio::test]
async fn the_chat_loop_runs_a_skill_as_a_tool_and_streams_its_progress() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    upload_probe(&server, "name = \"skill_probe\"\n").await;
    let args = json!({"progress": 2, "tools": [{"tool": "calculator", "args": {"expression": "6 * 7"}}],
                      "ask": "inner question"});
    upstream.script(
        [
            Step::ToolCalls(vec![("c1".into(), "probe_skill".into(), args)]),
            Step::Text("inner answer".into()),
            Step::Text("final answer".into()),
        ],
        Step::Text("unexpected".into()),
    );
    let events = chat_events(&server, json!({"message": "go", "userId": "u1"})).await;
    let mut names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    names.dedup_by(|a, b| *a == "content" && *b == "content");
    assert_eq!(
        names,
        [
            "tool_call",
            "tool_progress",
            "tool_progress",
            "tool_progress",
            "tool_progress",
            "tool_progress",
            "tool_result",
            "content",
            "done"
        ],
        "{events:?}"
    );
    let steps: Vec<&str> = events[1..6]
        .iter()
        .map(|(_, data)| {
            assert_eq!(data["id"], "c1");
            assert_eq!(data["name"], "probe_skill");
            data["step"]["kind"].as_str().unwrap_or_default()
        })
        .collect();
    assert_eq!(steps, ["progress", "progress", "tool", "log", "llm"]);
    assert_eq!(events[3].1["step"]["name"], "calculator");
    assert_eq!(events[6].1["result"], "calculator: 42\nllm: inner answer");
    assert_eq!(events[6].1["isError"], false);
    // The skill's tokens count to the turn: three answers of 13 + 7.
    let (_, done) = events.last().expect("done");
    assert_eq!(done["usage"]["promptTokens"], 39, "{done}");
    assert_eq!(done["usage"]["completionTokens"], 21);
    // The skill's tool call ran as the chat user.
    let row = &logs_of(&server, "calculator", 1).await[0];
    assert_eq!(row["userId"], "u1");
    assert_eq!(row["caller"], "chat:u1");
    server.stop().await;
}

/// The tool names the upstream's latest request offered.
fn offered(upstream: &chatai_tests::upstream::Upstream) -> Vec<String> {
    let requests = upstream.requests();
    let last = requests.last().expect("a request");
    last.body["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn skills_mode_decides_which_sources_the_chat_offers() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    chatai_tests::mcp::add_server(
        &server,
        json!({"name": "probe", "type": "stdio", "command": env!("CARGO_BIN_EXE_mcp-test-server"),
               "args": ["--mode", "normal"]}),
    )
    .await;
    chatai_tests::mcp::wait_status(&server, "probe", "connected", WAIT).await;
    let mut seen = Vec::new();
    for mode in ["hybrid", "skills-only", "mcp-only"] {
        let (status, body) = server
            .call(
                Method::PUT,
                "/api/config",
                json!({"path": "skills.mode", "value": mode}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) =
            chatai_tests::chatting::chat(&server, json!({"message": "hi", "userId": "u"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        seen.push((mode, offered(&upstream)));
    }
    let has = |tools: &[String], name: &str| tools.iter().any(|t| t == name);
    let (_, hybrid) = &seen[0];
    assert!(has(hybrid, "echo") && has(hybrid, "calculator") && has(hybrid, "step_by_step"));
    let (_, skills_only) = &seen[1];
    assert!(!has(skills_only, "echo") && has(skills_only, "calculator"));
    assert!(has(skills_only, "summarize_page"));
    let (_, mcp_only) = &seen[2];
    assert!(has(mcp_only, "echo") && has(mcp_only, "add"));
    assert!(!has(mcp_only, "calculator") && !has(mcp_only, "step_by_step"));
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "skills.mode", "value": "tools-only"}),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    server.stop().await;
}

#[tokio::test]
async fn the_skills_stream_carries_tool_updates_toggles_server_status_and_runs() {
    let server = TestServer::start().await;
    let mut stream = SseReader::open(server.admin(Method::GET, "/api/skills/sse")).await;
    upload_probe(&server, "name = \"skill_probe\"\n").await;
    let ((_, update), _) = stream.until("tool_update", WAIT).await;
    assert_eq!(update["provider"], "skill_probe");
    assert_eq!(update["source"], "skill");
    assert_eq!(update["tools"], json!(["probe_skill"]));

    server
        .call(
            Method::POST,
            "/api/skills/toggle-category",
            json!({"category": "text", "enabled": false}),
        )
        .await;
    let ((_, toggle), _) = stream.until("category_toggle", WAIT).await;
    assert_eq!(toggle, json!({"category": "text", "enabled": false}));

    chatai_tests::mcp::add_server(
        &server,
        json!({"name": "probe", "type": "stdio", "command": env!("CARGO_BIN_EXE_mcp-test-server"),
               "args": ["--mode", "normal"]}),
    )
    .await;
    let ((_, status), _) = stream.until("server_status", WAIT).await;
    assert_eq!(status["server"], "probe");
    assert_eq!(status["status"], "connected", "{status}");

    let (code, _) = run(&server, "probe_skill", json!({"input": {"progress": 1}})).await;
    assert_eq!(code, StatusCode::OK);
    let ((_, done), before) = stream.until("skill_done", WAIT).await;
    let progress: Vec<&Value> = before
        .iter()
        .filter(|(name, _)| name == "skill_progress")
        .map(|(_, data)| data)
        .collect();
    assert_eq!(progress.len(), 1, "{before:?}");
    assert_eq!(progress[0]["skill"], "probe_skill");
    assert_eq!(progress[0]["step"]["kind"], "progress");
    assert_eq!(done["success"], true);
    assert_eq!(done["steps"], 1);
    assert_eq!(done["runId"], progress[0]["runId"]);
    server.stop().await;
}

#[tokio::test]
async fn a_listener_that_stops_reading_is_dropped_and_slows_nobody() {
    let server = TestServer::start().await;
    upload_probe(&server, "name = \"skill_probe\"\n").await;
    let bus = server.running().state.events.clone();
    let before = bus.subscriber_count();
    // A reader that keeps up, counting runs.
    let mut reader = SseReader::open(server.admin(Method::GET, "/api/skills/sse")).await;
    // A client that never reads, with a small receive window.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let addr = server
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let mut stuck = socket.connect(addr).await.expect("connect");
    let request = format!(
        "GET /api/skills/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
        server.admin
    );
    stuck.write_all(request.as_bytes()).await.expect("request");
    let started = Instant::now();
    while bus.subscriber_count() < before + 2 {
        assert!(started.elapsed() < WAIT, "both listeners subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut runs = 0;
    while bus.subscriber_count() > before + 1 {
        assert!(runs < 300, "the stuck listener was never dropped");
        let (status, body) = run(&server, "probe_skill", json!({"input": {"progress": 200}})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        runs += 1;
        let ((_, done), steps) = reader.until("skill_done", WAIT).await;
        assert_eq!(done["steps"], 200);
        assert_eq!(steps.len(), 200, "the reader got every step of run {runs}");
    }
    assert!(runs > 0);
    // Publishing went on: the next run reaches the reader whole.
    let (status, _) = run(&server, "probe_skill", json!({"input": {"progress": 3}})).await;
    assert_eq!(status, StatusCode::OK);
    let ((_, done), _) = reader.until("skill_done", WAIT).await;
    assert_eq!(done["steps"], 3);
    drop(stuck);
    server.stop().await;
}

/// User + system CPU time of a process, in clock ticks.
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("comm")
        .1
        .split_whitespace()
        .collect();
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[tokio::test]
async fn two_hundred_idle_listeners_cost_no_cpu() {
    let (_dir, cwd) = chatai_tests::binary::workdir();
    let process = chatai_tests::binary::Process::start(
        chatai_tests::chatai_binary!(),
        &cwd,
        &[
            ("CHATAI_SERVER__PORT", "0"),
            ("CHATAI_RATE_LIMIT__PER_MINUTE", "100000"),
        ],
    );
    let client = reqwest::Client::new();
    let token = chatai_tests::login_token_of(&process.login_url);
    let login: Value = client
        .post(format!("{}/api/auth/login", process.base))
        .json(&json!({"token": token}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let jwt = login["data"]["token"].as_str().expect("jwt").to_owned();
    let pid = process.pid().to_string();
    let window = Duration::from_secs(3);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = cpu_ticks(&pid);
    tokio::time::sleep(window).await;
    let idle = cpu_ticks(&pid) - idle;

    let mut listeners = Vec::new();
    for _ in 0..200 {
        let response = client
            .get(format!("{}/api/skills/sse?token={jwt}", process.base))
            .send()
            .await
            .expect("listen");
        assert_eq!(response.status(), StatusCode::OK);
        listeners.push(response);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy = cpu_ticks(&pid);
    tokio::time::sleep(window).await;
    let busy = cpu_ticks(&pid) - busy;
    // Clock ticks are 10 ms: 200 listeners may cost at most 100 ms of CPU in 3 s over idle.
    assert!(
        busy <= idle + 10,
        "200 idle listeners used {busy} ticks in {window:?}, idle {idle}"
    );
    drop(listeners);
    process.terminate();
}
