//! `/mcp`: our tools to MCP clients, exercised with rmcp's own client over real HTTP, pinned
//! to each protocol revision we serve.

use std::sync::Arc;
use std::time::Duration;

use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, ProtocolVersion,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::json;
use tokio::sync::Notify;

const WAIT: Duration = Duration::from_secs(10);

/// A client that counts `tools/list_changed` notifications.
#[derive(Clone)]
struct Client {
    version: ProtocolVersion,
    changed: Arc<Notify>,
}

impl ClientHandler for Client {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("chatai-tests", "1.0.0"),
        )
        .with_protocol_version(self.version.clone())
    }
}

async fn connect(
    server: &TestServer,
    key: &str,
    version: ProtocolVersion,
) -> (RunningService<RoleClient, Client>, Arc<Notify>) {
    let changed = Arc::new(Notify::new());
    let config = StreamableHttpClientTransportConfig::with_uri(server.url("/mcp")).auth_header(key);
    let client = Client {
        version,
        changed: changed.clone(),
    }
    .serve(StreamableHttpClientTransport::from_config(config))
    .await
    .expect("the rmcp client connects");
    (client, changed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_clients_of_each_revision_list_and_call_our_tools() {
    let server = TestServer::start().await;
    let (_, key) = server.api_key(&["tools:call"]).await;
    for version in [
        ProtocolVersion::V_2026_07_28,
        ProtocolVersion::V_2025_11_25,
        ProtocolVersion::V_2025_06_18,
    ] {
        let (client, _) = connect(&server, &key, version.clone()).await;
        let tools = client.list_all_tools().await.expect("tools/list");
        let calculator = tools
            .iter()
            .find(|t| t.name == "calculator")
            .unwrap_or_else(|| panic!("{version:?}: calculator offered"));
        assert_eq!(
            calculator.input_schema["properties"]["expression"]["type"], "string",
            "{version:?}"
        );
        assert!(
            tools.len() >= 5,
            "{version:?}: every builtin: {}",
            tools.len()
        );

        let result = client
            .call_tool(
                CallToolRequestParams::new("calculator").with_arguments(
                    json!({"expression": "6 * 7"})
                        .as_object()
                        .expect("as expected")
                        .clone(),
                ),
            )
            .await
            .expect("tools/call");
        assert_ne!(result.is_error, Some(true), "{version:?}: {result:?}");
        assert_eq!(
            result.content[0].as_text().expect("as expected").text,
            "42",
            "{version:?}"
        );
        let structured = result.structured_content.expect("structuredContent");
        assert_eq!(structured["result"].as_f64(), Some(42.0), "{version:?}");

        // A tool's failure is a result with isError (the model can read it) ...
        let failed = client
            .call_tool(
                CallToolRequestParams::new("calculator").with_arguments(
                    json!({"expression": 5})
                        .as_object()
                        .expect("as expected")
                        .clone(),
                ),
            )
            .await
            .expect("an invalid-arguments result, not a protocol error");
        assert_eq!(failed.is_error, Some(true), "{version:?}");
        assert!(
            failed.content[0]
                .as_text()
                .expect("as expected")
                .text
                .starts_with("INVALID_ARGUMENTS"),
            "{failed:?}"
        );
        // ... an unknown tool is a JSON-RPC error.
        let unknown = client
            .call_tool(CallToolRequestParams::new("no_such_tool"))
            .await;
        assert!(unknown.is_err(), "{version:?}: {unknown:?}");
        client.cancel().await.expect("closes");
    }
    // The calls went through the executor and were logged (asynchronously).
    let mut rows = Vec::new();
    for _ in 0..100 {
        let (_, logs) = server.get("/api/tools/logs?toolName=calculator").await;
        rows = logs["data"].as_array().cloned().unwrap_or_default();
        if rows.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r["success"] == true).count(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_needs_a_key_with_tools_call() {
    let server = TestServer::start().await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = || {
        server
            .client
            .post(server.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize)
    };
    let (status, body) = server.send(post()).await;
    assert_error(status, &body, 401, "AUTH_REQUIRED");
    let (_, read_key) = server.api_key(&["read"]).await;
    let (status, body) = server.send(post().bearer_auth(&read_key)).await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (status, body) = server.send(post().bearer_auth("ck_not-a-real-key")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // With the right scope the same request is answered by MCP.
    let (_, key) = server.api_key(&["tools:call"]).await;
    let response = post().bearer_auth(&key).send().await.expect("as expected");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("as expected");
    assert!(text.contains("chatai-edge"), "{text}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stateful_client_hears_of_installs_and_disables() {
    let server = TestServer::start().await;
    let (_, key) = server.api_key(&["tools:call"]).await;
    let (client, changed) = connect(&server, &key, ProtocolVersion::V_2025_11_25).await;
    let before = client.list_all_tools().await.expect("as expected").len();

    server.load_fixture("counter").await.expect("installs");
    tokio::time::timeout(WAIT, changed.notified())
        .await
        .expect("tools/list_changed after an install");
    let after = client.list_all_tools().await.expect("as expected");
    assert!(after.len() > before, "{} > {before}", after.len());

    let (_, custom) = server.get("/api/tools/custom").await;
    let name = custom["data"][0]["name"]
        .as_str()
        .expect("as expected")
        .to_owned();
    let (status, body) = server
        .call(
            Method::PUT,
            &format!("/api/tools/custom/{name}"),
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::timeout(WAIT, changed.notified())
        .await
        .expect("tools/list_changed after a disable");
    assert_eq!(
        client.list_all_tools().await.expect("as expected").len(),
        before
    );
    client.cancel().await.expect("closes");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_mcp_tools_are_re_exported_with_their_output_schema_unless_config_says_not() {
    let server = TestServer::start().await;
    chatai_tests::mcp::add_server(
        &server,
        json!({"name": "imported", "type": "stdio", "command": env!("CARGO_BIN_EXE_mcp-test-server")}),
    )
    .await;
    chatai_tests::mcp::wait_status(&server, "imported", "connected", WAIT).await;
    let (_, key) = server.api_key(&["tools:call"]).await;
    let (client, _) = connect(&server, &key, ProtocolVersion::V_2026_07_28).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let echo = tools
        .iter()
        .find(|t| t.name == "echo")
        .expect("the imported echo is offered");
    let output = echo.output_schema.as_ref().expect("its outputSchema");
    assert_eq!(output["properties"]["echo"]["type"], "string");
    let result = client
        .call_tool(
            CallToolRequestParams::new("echo").with_arguments(
                json!({"text": "round trip"})
                    .as_object()
                    .expect("object")
                    .clone(),
            ),
        )
        .await
        .expect("tools/call");
    assert_eq!(
        result.structured_content,
        Some(json!({"echo": "round trip"}))
    );
    client.cancel().await.expect("closes");

    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "mcp.reexport", "value": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (client, _) = connect(&server, &key, ProtocolVersion::V_2026_07_28).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().all(|t| t.name != "echo"), "not re-exported");
    assert!(tools.iter().any(|t| t.name == "calculator"));
    let refused = client.call_tool(CallToolRequestParams::new("echo")).await;
    assert!(refused.is_err(), "{refused:?}");
    client.cancel().await.expect("closes");
    server.stop().await;
}
