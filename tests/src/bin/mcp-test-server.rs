//! A real MCP server built with rmcp, for the MCP client tests: over stdio (default) or
//! streamable HTTP (`--http`: listens on 127.0.0.1, prints `listening <port>` on stdout).
//!
//! `--mode` picks a behaviour:
//! - `normal`: tools `echo` (text and `structuredContent`), `add`, `sleep` (waits `ms`; counts
//!   the cancellations it gets, see `cancelled`), `fail` (a result with `isError`), `grow`
//!   (adds the tool `extra` and sends `tools/list_changed`), `cancelled`, `env` (a variable's
//!   value); a resource
//!   `test://greeting` and a prompt `greet`.
//! - `crash`: connects like `normal`, then exits 300 ms later.
//! - `hang`: reads its input and never answers.
//! - `garbage`: answers every line with text that is not JSON-RPC.
//!
//! `--tool-prefix P` renames every tool `P<name>` (to test clashes it is left empty).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelledNotificationParam,
    ContentBlock, GetPromptRequestParams, GetPromptResult, Implementation, ListPromptsResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, Prompt, PromptMessage,
    ReadResourceRequestParams, ReadResourceResult, Resource, ResourceContents, Role,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

#[derive(Clone)]
struct TestServer {
    prefix: String,
    grown: Arc<AtomicBool>,
    cancelled: Arc<AtomicU64>,
}

fn schema(value: Value) -> Arc<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::default(),
    }
}

impl TestServer {
    fn tools(&self) -> Vec<Tool> {
        let p = &self.prefix;
        let mut echo = Tool::new(
            format!("{p}echo"),
            "Echoes its text",
            schema(
                json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
            ),
        );
        echo.output_schema = Some(schema(
            json!({"type": "object", "properties": {"echo": {"type": "string"}}, "required": ["echo"]}),
        ));
        let mut tools = vec![
            echo,
            Tool::new(
                format!("{p}add"),
                "Adds two numbers",
                schema(
                    json!({"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
                ),
            ),
            Tool::new(
                format!("{p}sleep"),
                "Waits ms milliseconds",
                schema(json!({"type": "object", "properties": {"ms": {"type": "integer"}}})),
            ),
            Tool::new(
                format!("{p}fail"),
                "Always fails",
                schema(json!({"type": "object"})),
            ),
            Tool::new(
                format!("{p}grow"),
                "Adds the tool `extra`",
                schema(json!({"type": "object"})),
            ),
            Tool::new(
                format!("{p}cancelled"),
                "How many calls were cancelled",
                schema(json!({"type": "object"})),
            ),
            Tool::new(
                format!("{p}env"),
                "The value of an environment variable (empty when unset)",
                schema(
                    json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
                ),
            ),
        ];
        if self.grown.load(Ordering::SeqCst) {
            tools.push(Tool::new(
                format!("{p}extra"),
                "Appeared later",
                schema(json!({"type": "object"})),
            ));
        }
        tools
    }
}

impl ServerHandler for TestServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_resources()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new("mcp-test-server", "1.0.0"))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        let name = request
            .name
            .strip_prefix(self.prefix.as_str())
            .unwrap_or(&request.name)
            .to_owned();
        let result = match name.as_str() {
            "echo" => {
                let text = args["text"].as_str().unwrap_or_default().to_owned();
                let mut result = CallToolResult::success(vec![ContentBlock::text(text.clone())]);
                result.structured_content = Some(json!({ "echo": text }));
                result
            }
            "add" => {
                let sum = args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0);
                CallToolResult::success(vec![ContentBlock::text(sum.to_string())])
            }
            "sleep" => {
                let ms = args["ms"].as_u64().unwrap_or(60_000);
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {}
                    () = context.ct.cancelled() => {
                        self.cancelled.fetch_add(1, Ordering::SeqCst);
                    }
                }
                CallToolResult::success(vec![ContentBlock::text("slept")])
            }
            "fail" => CallToolResult::error(vec![ContentBlock::text("it failed on purpose")]),
            "grow" => {
                self.grown.store(true, Ordering::SeqCst);
                let _ = context.peer.notify_tool_list_changed().await;
                CallToolResult::success(vec![ContentBlock::text("grown")])
            }
            "env" => {
                let value =
                    std::env::var(args["name"].as_str().unwrap_or_default()).unwrap_or_default();
                CallToolResult::success(vec![ContentBlock::text(value)])
            }
            "cancelled" => CallToolResult::success(vec![ContentBlock::text(
                self.cancelled.load(Ordering::SeqCst).to_string(),
            )]),
            other => {
                return Err(ErrorData::invalid_params(format!("no tool {other}"), None));
            }
        };
        Ok(result.into())
    }

    async fn on_cancelled(
        &self,
        _notification: CancelledNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut resource = Resource::new("test://greeting", "greeting");
        resource.mime_type = Some("text/plain".into());
        Ok(ListResourcesResult::with_all_items(vec![resource]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, ErrorData> {
        if request.uri != "test://greeting" {
            return Err(ErrorData::resource_not_found("no such resource", None));
        }
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            "hello from the test server",
            request.uri,
        )])
        .into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(vec![Prompt::new(
            "greet",
            Some("Greets someone"),
            None,
        )]))
    }

    async fn get_prompt(
        &self,
        _request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, "Say hello")]).into())
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = arg(&args, "--mode").unwrap_or_else(|| "normal".into());
    let server = TestServer {
        prefix: arg(&args, "--tool-prefix").unwrap_or_default(),
        grown: Arc::default(),
        cancelled: Arc::default(),
    };
    if args.iter().any(|a| a == "--http") {
        return serve_http(server).await;
    }
    match mode.as_str() {
        "hang" => {
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            while lines.next_line().await?.is_some() {}
            Ok(())
        }
        "garbage" => {
            let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
            let mut out = tokio::io::stdout();
            while lines.next_line().await?.is_some() {
                out.write_all(b"this is not JSON-RPC {{{\n").await?;
                out.flush().await?;
            }
            Ok(())
        }
        _ => {
            let running = server.serve(rmcp::transport::stdio()).await?;
            if mode == "crash" {
                tokio::time::sleep(Duration::from_millis(300)).await;
                std::process::exit(3);
            }
            running.waiting().await?;
            Ok(())
        }
    }
}

async fn serve_http(server: TestServer) -> anyhow::Result<()> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let line = format!("listening {}\n", listener.local_addr()?.port());
    std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes())?;
    loop {
        let (stream, _) = listener.accept().await?;
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}
