//! MCP servers as a tool backend, against real servers: the official reference server from
//! npm (`@modelcontextprotocol/server-everything`, run with node) and `mcp-test-server`, built
//! with rmcp in this crate (normal, crashing, hanging and garbage-sending variants).

use std::time::Duration;

use chatai_server::events::Event;
use chatai_tests::mcp::{
    add_server, children_named, everything_dir, everything_entry, free_port, tool_names,
    wait_listening, wait_status,
};
use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TEST_SERVER: &str = env!("CARGO_BIN_EXE_mcp-test-server");
/// The first 15 bytes of its name, as /proc shows it.
const TEST_SERVER_COMM: &str = "mcp-test-server";
const WAIT: Duration = Duration::from_secs(30);

fn test_server(name: &str, mode: &str) -> Value {
    json!({
        "name": name,
        "type": "stdio",
        "command": TEST_SERVER,
        "args": ["--mode", mode],
        "timeoutMs": 2000,
    })
}

/// Waits for the next MCP event of `server` named `change` on the bus.
async fn next_mcp_event(
    events: &mut chatai_server::events::Subscription,
    server: &str,
    change: &str,
) -> Value {
    let wait = async {
        loop {
            let event = events.recv().await.expect("bus open");
            if let Event::Mcp(mcp) = &*event
                && mcp.server == server
                && event.name() == format!("mcp_{change}")
            {
                return serde_json::to_value(&*event).expect("json");
            }
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("no `{change}` event of {server}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_over_stdio_and_npm_offers_tools_resources_and_prompts() {
    let server = TestServer::start().await;
    let created = add_server(
        &server,
        json!({"name": "everything", "type": "stdio", "command": "node", "args": [everything_entry(), "stdio"]}),
    )
    .await;
    assert_eq!(created["status"], "connecting", "{created}");
    let detail = wait_status(&server, "everything", "connected", WAIT).await;
    assert!(
        detail["toolCount"].as_u64().expect("as expected") > 3,
        "{detail}"
    );

    // Its tools are in the registry, as source `mcp` with their server.
    let (status, body) = server.get("/api/tools?source=mcp").await;
    assert_eq!(status, StatusCode::OK);
    let echo = body["data"]
        .as_array()
        .expect("as expected")
        .iter()
        .find(|t| t["name"] == "echo")
        .unwrap_or_else(|| panic!("echo listed: {body}"));
    assert_eq!(echo["source"], "mcp");
    assert_eq!(echo["server"], "everything");
    assert_eq!(
        echo["extension"]["version"], "2.0.0",
        "the version the server reports"
    );
    assert_eq!(
        echo["parameters"]["properties"]["message"]["type"],
        "string"
    );

    // Called through the executor.
    let (status, body) = server
        .call_tool("echo", json!({"message": "hi there"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["data"]["result"]
            .as_str()
            .expect("as expected")
            .contains("hi there"),
        "{body}"
    );
    // Schema validation happens before the server sees the call.
    let (status, body) = server.call_tool("echo", json!({"message": 5})).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");
    // And the call is logged (the log writer is asynchronous) with source `mcp`.
    let mut logs = Value::Null;
    for _ in 0..100 {
        logs = server.get("/api/tools/logs?toolName=echo").await.1;
        if logs["data"].as_array().is_some_and(|rows| !rows.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(logs["data"][0]["source"], "mcp", "{logs}");

    // Resources and prompts are listed, and a resource can be read.
    let (status, resources) = server.get("/api/mcp/servers/everything/resources").await;
    assert_eq!(status, StatusCode::OK);
    let uri = resources["data"][0]["uri"]
        .as_str()
        .unwrap_or_else(|| panic!("a resource: {resources}"))
        .to_owned();
    let (status, read) = server
        .get(&format!(
            "/api/mcp/resources?server=everything&uri={}",
            urlencode(&uri)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert!(
        !read["data"]["content"]
            .as_str()
            .expect("as expected")
            .is_empty(),
        "{read}"
    );
    let (status, prompts) = server.get("/api/mcp/prompts?server=everything").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !prompts["data"].as_array().expect("as expected").is_empty(),
        "{prompts}"
    );
    assert_eq!(prompts["data"][0]["server"], "everything");
    let (status, body) = server.get("/api/mcp/resources?server=everything").await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // The same package as type `npm` (npx finds the pinned install in its cwd). Its tools
    // clash with the first server's: both are renamed `<server>__<tool>`.
    add_server(
        &server,
        json!({"name": "everything-npm", "type": "npm", "package": "@modelcontextprotocol/server-everything",
               "args": ["stdio"], "cwd": everything_dir()}),
    )
    .await;
    wait_status(&server, "everything-npm", "connected", WAIT).await;
    let names = tool_names(&server, "mcp").await;
    assert!(!names.contains(&"echo".to_owned()), "{names:?}");
    assert!(names.contains(&"everything__echo".to_owned()), "{names:?}");
    assert!(
        names.contains(&"everything-npm__echo".to_owned()),
        "{names:?}"
    );
    let (status, tool) = server.get("/api/tools/everything-npm__echo").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tool["data"]["originalName"], "echo");
    let (status, body) = server
        .call_tool("everything-npm__echo", json!({"message": "via npm"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["data"]["result"]
            .as_str()
            .expect("as expected")
            .contains("via npm")
    );

    // Deleting one gives the other its plain names back, and stops its process.
    let (status, body) = server
        .call(
            Method::DELETE,
            "/api/mcp/servers/everything-npm",
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names = tool_names(&server, "mcp").await;
    assert!(names.contains(&"echo".to_owned()), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("__")), "{names:?}");
    server.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_server_over_streamable_http_and_legacy_sse() {
    let server = TestServer::start().await;
    let mut children = Vec::new();
    for (name, mode, kind, path) in [
        ("ev-http", "streamableHttp", "http", "/mcp"),
        ("ev-sse", "sse", "sse", "/sse"),
    ] {
        let port = free_port();
        let child = tokio::process::Command::new("node")
            .args([everything_entry().as_str(), mode])
            .env("PORT", port.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node starts");
        children.push(child);
        wait_listening(port, WAIT).await;
        add_server(
            &server,
            json!({"name": name, "type": kind, "url": format!("http://127.0.0.1:{port}{path}"),
                   "headers": {"Authorization": "Bearer secret-value-123"}}),
        )
        .await;
        let detail = wait_status(&server, name, "connected", WAIT).await;
        // The header's value is masked in every answer.
        assert_eq!(
            detail["headers"]["Authorization"], "Bea****-123",
            "{detail}"
        );
    }
    for (tool, text) in [("ev-http__echo", "over http"), ("ev-sse__echo", "over sse")] {
        let (status, body) = server.call_tool(tool, json!({"message": text})).await;
        assert_eq!(status, StatusCode::OK, "{tool}: {body}");
        assert!(
            body["data"]["result"]
                .as_str()
                .expect("as expected")
                .contains(text),
            "{body}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_rmcp_server_over_streamable_http_and_its_death() {
    use tokio::io::AsyncBufReadExt;
    let server = TestServer::start().await;
    let mut events = server.events();
    let mut child = tokio::process::Command::new(TEST_SERVER)
        .arg("--http")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::time::timeout(WAIT, tokio::io::BufReader::new(stdout).lines().next_line())
        .await
        .expect("prints its port")
        .expect("reads")
        .expect("a line");
    let port: u16 = line.trim_start_matches("listening ").parse().expect("port");
    add_server(
        &server,
        json!({"name": "remote", "type": "http", "url": format!("http://127.0.0.1:{port}/mcp")}),
    )
    .await;
    wait_status(&server, "remote", "connected", WAIT).await;
    let (status, body) = server.call_tool("echo", json!({"text": "over http"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["structured"], json!({"echo": "over http"}));
    let (status, read) = server.get("/api/mcp/resources?uri=test://greeting").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["content"], "hello from the test server");

    // An HTTP server that dies is found by the next ping (every 5 s by default), marked
    // `error`, and its tools leave.
    child.kill().await.expect("killed");
    next_mcp_event(&mut events, "remote", "error").await;
    assert!(
        !tool_names(&server, "mcp")
            .await
            .contains(&"echo".to_owned())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_is_marked_error_loses_its_tools_and_comes_back_by_itself() {
    let server = TestServer::start().await;
    let mut events = server.events();
    // The same events over HTTP, as a panel reads them.
    let mut sse = server
        .admin(Method::GET, "/api/mcp/sse")
        .send()
        .await
        .expect("GET /api/mcp/sse");
    assert_eq!(sse.status(), StatusCode::OK);
    add_server(&server, test_server("victim", "normal")).await;
    next_mcp_event(&mut events, "victim", "connected").await;
    let detail = wait_status(&server, "victim", "connected", WAIT).await;
    let pid = detail["pid"].as_u64().expect("pid") as i32;
    assert!(
        tool_names(&server, "mcp")
            .await
            .contains(&"echo".to_owned())
    );

    // SIGKILL: the transport closes, the server is `error` and its tools are gone.
    rustix_kill(pid);
    let disconnected = next_mcp_event(&mut events, "victim", "disconnected").await;
    assert_eq!(disconnected["status"], "error", "{disconnected}");
    // The tools left the registry before the event (the reconnect comes 0.5 s later).
    let left: Vec<String> = server
        .running()
        .state
        .tools
        .registry
        .list()
        .iter()
        .filter(|t| t.provider == "victim")
        .map(|t| t.name.clone())
        .collect();
    assert!(left.is_empty(), "tools of a dead server left: {left:?}");
    let error = next_mcp_event(&mut events, "victim", "error").await;
    let mut text = String::new();
    let read = async {
        while !chatai_tests::chatting::sse_events(&text)
            .iter()
            .any(|(name, data)| name == "error" && data["server"] == "victim")
        {
            let chunk = sse.chunk().await.expect("reads").expect("stream open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("the SSE stream says it");
    let seen: Vec<String> = chatai_tests::chatting::sse_events(&text)
        .into_iter()
        .filter(|(_, data)| data["server"] == "victim")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(seen, ["connected", "disconnected", "error"], "{text}");
    assert!(
        error["error"]
            .as_str()
            .expect("as expected")
            .contains("closed"),
        "{error}"
    );

    // It comes back by itself, with its tools, in a new process.
    next_mcp_event(&mut events, "victim", "connected").await;
    let detail = wait_status(&server, "victim", "connected", WAIT).await;
    assert_ne!(detail["pid"].as_u64().expect("as expected") as i32, pid);
    let (status, body) = server.call_tool("echo", json!({"text": "back"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["structured"]["echo"], "back", "{body}");
    server.stop().await;
}

fn rustix_kill(pid: i32) {
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_hanging_and_garbage_servers_fail_alone_and_listings_answer_at_once() {
    let server = TestServer::start().await;
    for i in 0..8 {
        let mut body = test_server(&format!("good{i}"), "normal");
        body["args"] = json!(["--mode", "normal", "--tool-prefix", format!("g{i}_")]);
        add_server(&server, body).await;
    }
    add_server(&server, test_server("hangs", "hang")).await;
    add_server(&server, test_server("garbage", "garbage")).await;
    add_server(&server, test_server("crashes", "crash")).await;

    // Listings never wait for a server: a client that waited on the hanging one would time
    // out here.
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("as expected");
    for path in ["/api/mcp/servers", "/api/tools"] {
        let response = quick
            .get(server.url(path))
            .bearer_auth(&server.admin)
            .send()
            .await
            .unwrap_or_else(|err| panic!("{path} did not answer at once: {err}"));
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (_, list) = server.get("/api/mcp/servers").await;
    let hanging = list["data"]
        .as_array()
        .expect("as expected")
        .iter()
        .find(|s| s["name"] == "hangs")
        .expect("as expected")
        .clone();
    assert!(
        ["connecting", "error"].contains(&hanging["status"].as_str().expect("as expected")),
        "{hanging}"
    );

    for i in 0..8 {
        wait_status(&server, &format!("good{i}"), "connected", WAIT).await;
    }
    let garbage = wait_status(&server, "garbage", "error", WAIT).await;
    assert!(garbage["error"].is_string(), "{garbage}");
    let hangs = wait_status(&server, "hangs", "error", WAIT).await;
    assert!(
        hangs["error"]
            .as_str()
            .expect("as expected")
            .contains("handshake"),
        "{hangs}"
    );
    // The crashing one connects, then is marked error when it exits (and retries).
    let mut events = server.events();
    next_mcp_event(&mut events, "crashes", "error").await;

    // The good ones keep working.
    let (status, body) = server.call_tool("g3_add", json!({"a": 2, "b": 40})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "42");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_call_times_out_with_a_cancellation_and_list_changes_are_followed() {
    let server = TestServer::start().await;
    let mut events = server.events();
    let mut body = test_server("slow", "normal");
    body["timeoutMs"] = json!(400);
    add_server(&server, body).await;
    wait_status(&server, "slow", "connected", WAIT).await;

    let (status, body) = server.call_tool("sleep", json!({"ms": 60000})).await;
    assert_error(status, &body, 504, "TOOL_TIMEOUT");
    // The server was told: its count of cancelled calls is 1.
    let (status, body) = server.call_tool("cancelled", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "1");
    // A failure the tool reports is TOOL_ERROR with its text.
    let (status, body) = server.call_tool("fail", json!({})).await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    assert!(
        body["error"]
            .as_str()
            .expect("as expected")
            .contains("on purpose"),
        "{body}"
    );

    // `grow` adds a tool and sends tools/list_changed: it is followed.
    assert!(
        !tool_names(&server, "mcp")
            .await
            .contains(&"extra".to_owned())
    );
    let (status, _) = server.call_tool("grow", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let updated = next_mcp_event(&mut events, "slow", "tools_updated").await;
    assert_eq!(updated["toolCount"], 8, "{updated}");
    assert!(
        tool_names(&server, "mcp")
            .await
            .contains(&"extra".to_owned())
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_disconnect_cycles_leave_no_child_behind() {
    let server = TestServer::start().await;
    add_server(&server, test_server("cycled", "normal")).await;
    add_server(&server, test_server("steady", "normal")).await;
    let first = wait_status(&server, "cycled", "connected", WAIT).await;
    let steady = wait_status(&server, "steady", "connected", WAIT).await;
    // Every process the cycled server ran (other tests of this binary start their own).
    let mut started = vec![first["pid"].as_u64().expect("pid") as u32];
    for i in 0..200 {
        let (status, body) = server
            .call(
                Method::POST,
                "/api/mcp/servers/cycled/disconnect",
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["status"], "disconnected", "cycle {i}: {body}");
        let path = if i % 2 == 0 {
            "/api/mcp/servers/cycled/connect"
        } else {
            "/api/mcp/connect"
        };
        let (status, body) = server
            .call(Method::POST, path, json!({"name": "cycled"}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["status"], "connected", "cycle {i}: {body}");
        assert_eq!(body["data"]["toolCount"], 7);
        let (_, detail) = server.get("/api/mcp/servers/cycled").await;
        started.push(detail["data"]["pid"].as_u64().expect("pid") as u32);
    }
    // Of the 201 processes, only the connected one is left: no orphan, no zombie.
    let alive = |pids: &[u32]| -> Vec<(u32, char)> {
        children_named(TEST_SERVER_COMM)
            .into_iter()
            .filter(|(pid, _)| pids.contains(pid))
            .collect()
    };
    let current = *started.last().expect("as expected");
    let steady_pid = steady["pid"].as_u64().expect("as expected") as u32;
    let left = alive(&started);
    let pids: Vec<u32> = left.iter().map(|(pid, _)| *pid).collect();
    assert_eq!(pids, vec![current], "of {} started", started.len());
    assert!(left.iter().all(|(_, state)| *state != 'Z'), "{left:?}");
    assert_eq!(alive(&[steady_pid]).len(), 1);

    // Reconnect-all answers each server's outcome.
    let (status, body) = server
        .call(Method::POST, "/api/mcp/servers/reconnect-all", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"].as_array().expect("as expected").len(),
        2,
        "{body}"
    );
    assert!(
        body["data"]
            .as_array()
            .expect("as expected")
            .iter()
            .all(|s| s["status"] == "connected")
    );

    // Delete and shutdown stop the processes.
    let (status, _) = server
        .call(Method::DELETE, "/api/mcp/servers/cycled", json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = server.get("/api/mcp/servers/steady").await;
    let steady_pid = detail["data"]["pid"].as_u64().expect("as expected") as u32;
    assert!(alive(&started).is_empty(), "{:?}", alive(&started));
    server.stop().await;
    assert!(
        alive(&[steady_pid]).is_empty(),
        "shutdown stops the process"
    );
}

/// The real binary: what a restart keeps, and what a shutdown stops.
mod binary {
    use super::*;
    use chatai_tests::binary::{Process, workdir};

    const BIN: &str = chatai_tests::chatai_binary!();

    struct Admin {
        base: String,
        jwt: String,
        client: reqwest::Client,
    }

    impl Admin {
        async fn of(process: &Process) -> Self {
            let client = reqwest::Client::new();
            let token = chatai_tests::login_token_of(&process.login_url);
            let body: Value = client
                .post(format!("{}/api/auth/login", process.base))
                .json(&json!({ "token": token }))
                .send()
                .await
                .expect("as expected")
                .json()
                .await
                .expect("as expected");
            Self {
                base: process.base.clone(),
                jwt: body["data"]["token"].as_str().expect("jwt").to_owned(),
                client,
            }
        }

        async fn call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
            let response = self
                .client
                .request(method, format!("{}{path}", self.base))
                .bearer_auth(&self.jwt)
                .json(&body)
                .send()
                .await
                .expect("as expected");
            (
                response.status(),
                response.json().await.unwrap_or(Value::Null),
            )
        }

        async fn connected(&self, name: &str) -> Value {
            let started = std::time::Instant::now();
            loop {
                let (_, body) = self
                    .call(
                        Method::GET,
                        &format!("/api/mcp/servers/{name}"),
                        Value::Null,
                    )
                    .await;
                if body["data"]["status"] == "connected" {
                    return body["data"].clone();
                }
                assert!(started.elapsed() < WAIT, "{name} not connected: {body}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        async fn env_of_server(&self, variable: &str) -> String {
            let (status, body) = self
                .call(
                    Method::POST,
                    "/api/tools/call",
                    json!({"name": "env", "args": {"name": variable}}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["data"]["result"]
                .as_str()
                .expect("as expected")
                .to_owned()
        }
    }

    /// Exited: no such process, or one that only waits to be reaped (by init, whose job it
    /// is once its parent is gone).
    fn gone(pid: u64) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|rest| rest.starts_with('Z'))
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn servers_persist_reconnect_after_a_restart_and_stop_with_the_server() {
        let (_dir, cwd) = workdir();
        // A secret of ours that no MCP server may see.
        let env = [("CHATAI_SERVER__PORT", "0"), ("OUR_PROBE_SECRET", "ours")];
        let process = Process::start(BIN, &cwd, &env);
        let admin = Admin::of(&process).await;
        let mut body = test_server("kept", "normal");
        body["env"] = json!({"API_TOKEN": "tok-0123456789", "MODE": "plain"});
        let (status, reply) = admin.call(Method::POST, "/api/mcp/servers", body).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        let detail = admin.connected("kept").await;
        assert_eq!(admin.env_of_server("MODE").await, "plain");
        assert_eq!(admin.env_of_server("OUR_PROBE_SECRET").await, "");

        // Bad input: 400 naming the field; a duplicate: 409.
        for (body, field) in [
            (json!({"name": "x", "type": "carrier-pigeon"}), "type"),
            (json!({"name": "x", "type": "stdio"}), "command"),
            (
                json!({"name": "x", "type": "http", "url": "ftp://a"}),
                "url",
            ),
            (
                json!({"name": "bad name!", "type": "stdio", "command": "true"}),
                "name",
            ),
        ] {
            let (status, reply) = admin.call(Method::POST, "/api/mcp/servers", body).await;
            assert_error(status, &reply, 400, "VALIDATION_ERROR");
            assert_eq!(reply["details"]["field"], field, "{reply}");
        }
        let (status, reply) = admin
            .call(
                Method::POST,
                "/api/mcp/servers",
                test_server("kept", "normal"),
            )
            .await;
        assert_error(status, &reply, 409, "CONFLICT");
        let (_, list) = admin
            .call(Method::GET, "/api/mcp/servers", Value::Null)
            .await;
        assert_eq!(
            list["data"].as_array().expect("as expected").len(),
            1,
            "{list}"
        );

        // A clean stop stops the server's process too.
        let pid = detail["pid"].as_u64().expect("as expected");
        process.terminate();
        assert!(gone(pid), "the MCP server process outlived chatai");

        // After the restart it reconnects by itself, its secret masked in answers.
        let process = Process::start(BIN, &cwd, &env);
        let admin = Admin::of(&process).await;
        let detail = admin.connected("kept").await;
        assert_eq!(detail["env"]["API_TOKEN"], "tok****6789", "{detail}");
        assert_eq!(detail["env"]["MODE"], "plain");
        // Sending the masked value back keeps the secret.
        let (status, reply) = admin
            .call(
                Method::PUT,
                "/api/mcp/servers/kept",
                json!({"env": detail["env"], "timeoutMs": 3000}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        assert_eq!(reply["data"]["timeoutMs"], 3000);
        admin.connected("kept").await;
        assert_eq!(admin.env_of_server("API_TOKEN").await, "tok-0123456789");
        let pid = admin.connected("kept").await["pid"]
            .as_u64()
            .expect("as expected");
        process.kill9();
        // Killed without a chance to clean up: the server's input closes and it exits.
        let started = std::time::Instant::now();
        while !gone(pid) && started.elapsed() < WAIT {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone(pid), "the MCP server process outlived a killed chatai");
    }
}
