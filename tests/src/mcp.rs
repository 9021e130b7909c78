//! Helpers of the MCP tests: the reference server from npm, adding servers, waiting for a
//! status, and the child processes of this test process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::TestServer;

/// Where `scripts/test-deps.sh` installed `@modelcontextprotocol/server-everything`.
pub fn everything_dir() -> PathBuf {
    std::env::var_os("MCP_EVERYTHING_DIR").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME");
            PathBuf::from(home).join(".cache/chatai-edge/mcp-everything")
        },
        PathBuf::from,
    )
}

/// The reference server's entry point (run with `node <entry> stdio|sse|streamableHttp`).
pub fn everything_entry() -> String {
    let entry =
        everything_dir().join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(
        entry.exists(),
        "{} is missing: run scripts/test-deps.sh",
        entry.display()
    );
    entry.display().to_string()
}

/// `POST /api/mcp/servers`; asserts 201.
pub async fn add_server(server: &TestServer, body: Value) -> Value {
    let (status, reply) = server.call(Method::POST, "/api/mcp/servers", body).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    reply["data"].clone()
}

/// Polls `GET /api/mcp/servers/:name` until its status is `want` (at most `within`); returns
/// the server.
pub async fn wait_status(server: &TestServer, name: &str, want: &str, within: Duration) -> Value {
    let started = Instant::now();
    loop {
        let (status, body) = server.get(&format!("/api/mcp/servers/{name}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if body["data"]["status"] == want {
            return body["data"].clone();
        }
        assert!(
            started.elapsed() < within,
            "server {name} did not reach `{want}` within {within:?}: {}",
            body["data"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The names of the registered tools of `source` (`GET /api/tools?source=…`).
pub async fn tool_names(server: &TestServer, source: &str) -> Vec<String> {
    let (status, body) = server.get(&format!("/api/tools?source={source}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A direct child process of this process: `(pid, command name, state)`.
pub fn children() -> Vec<(u32, String, char)> {
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = stat[open + 1..close].to_owned();
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me {
            found.push((pid, comm, state));
        }
    }
    found
}

/// Children whose command name starts with `prefix` (Linux keeps 15 bytes of it).
pub fn children_named(prefix: &str) -> Vec<(u32, char)> {
    children()
        .into_iter()
        .filter(|(_, comm, _)| comm.starts_with(prefix))
        .map(|(pid, _, state)| (pid, state))
        .collect()
}

/// A free port on 127.0.0.1 (bound and released; the caller binds it soon after).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Waits (at most `within`) until `url` accepts TCP connections.
pub async fn wait_listening(port: u16, within: Duration) {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(started.elapsed() < within, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
