//! `/mcp`: our tools to any MCP client, over streamable HTTP (rmcp's tower service, mounted
//! in salvo). Clients of 2026-07-28 are served statelessly; clients of 2025-11-25, 2025-06-18
//! and older get a session, and `notifications/tools/list_changed` whenever the registry
//! changes. Every call goes through the executor with origin `mcp`, as the API key (or admin
//! session) that authenticated the HTTP request.

use std::sync::{Arc, Mutex};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{NotificationContext, Peer, RequestContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use salvo::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::config::ConfigService;
use crate::events::{Event, EventBus};
use crate::tools::executor::{self, ExecError};
use crate::tools::{CallerKind, ContentPart, Invocation, Origin, RegisteredTool, Source, ToolHub};

/// Who called `/mcp`, as the access guard admitted them; put in the HTTP request for rmcp to
/// hand to the handler.
#[derive(Debug, Clone)]
pub struct McpCaller {
    pub id: String,
    pub admin: bool,
}

type Service = StreamableHttpService<Tools, LocalSessionManager>;

/// The `/mcp` endpoint: the tower service and the sessions to tell about list changes.
pub struct McpEndpoint {
    /// rmcp's tower service as a salvo handler.
    service: Box<dyn Handler>,
    sessions: Sessions,
    stop: CancellationToken,
}

/// Peers of the stateful sessions, for `list_changed`.
type Sessions = Arc<Mutex<Vec<Peer<RoleServer>>>>;

impl McpEndpoint {
    pub fn new(
        tools: Arc<ToolHub>,
        config: Arc<ConfigService>,
        events: &Arc<EventBus>,
    ) -> Arc<Self> {
        let sessions: Sessions = Arc::default();
        let stop = CancellationToken::new();
        let handler = Tools {
            tools,
            config,
            sessions: sessions.clone(),
        };
        let server_config = StreamableHttpServerConfig::default()
            // The access guard and our own host handling come first; rmcp's loopback-only
            // default would refuse every deployment behind a real name.
            .disable_allowed_hosts()
            .with_json_response(true)
            .with_cancellation_token(stop.clone());
        let service = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(LocalSessionManager::default()),
            server_config,
        );
        let endpoint = Arc::new(Self {
            service: Box::new(<Service as TowerServiceCompat<
                salvo::http::ReqBody,
                _,
                _,
                _,
            >>::compat(service)),
            sessions,
            stop,
        });
        spawn_list_changed(Arc::downgrade(&endpoint), events.subscribe());
        endpoint
    }

    /// Serves one HTTP request to `/mcp` for `caller`.
    pub async fn serve(
        &self,
        caller: McpCaller,
        req: &mut Request,
        depot: &mut Depot,
        res: &mut Response,
        ctrl: &mut FlowCtrl,
    ) {
        req.extensions_mut().insert(caller);
        self.service.handle(req, depot, res, ctrl).await;
    }

    /// Ends every session (shutdown).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

/// Tells every open session that the tool list changed, on each `tool_update` event.
fn spawn_list_changed(
    endpoint: std::sync::Weak<McpEndpoint>,
    mut events: crate::events::Subscription,
) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if !matches!(*event, Event::ToolUpdate(_)) {
                continue;
            }
            let Some(endpoint) = endpoint.upgrade() else {
                break;
            };
            let peers: Vec<Peer<RoleServer>> = {
                let mut sessions = endpoint.sessions.lock().unwrap_or_else(|p| p.into_inner());
                sessions.retain(|peer| !peer.is_transport_closed());
                sessions.clone()
            };
            drop(endpoint);
            for peer in peers {
                if let Err(err) = peer.notify_tool_list_changed().await {
                    tracing::debug!(error = %err, "an /mcp session missed tools/list_changed");
                }
            }
        }
    });
}

/// One session's (or one stateless request's) MCP handler.
#[derive(Clone)]
struct Tools {
    tools: Arc<ToolHub>,
    config: Arc<ConfigService>,
    sessions: Sessions,
}

impl Tools {
    /// Whether `caller` sees `tool` under the current configuration.
    fn offered(
        &self,
        tool: &RegisteredTool,
        caller: &McpCaller,
        config: &crate::config::Config,
    ) -> bool {
        executor::is_enabled(tool, &config.tools)
            && (caller.admin || !executor::is_admin_only(tool, &config.tools))
            && (config.mcp.reexport || tool.source != Source::Mcp)
    }
}

/// The caller the guard admitted (absent only if the route was wired without its guard).
fn caller_of(context: &RequestContext<RoleServer>) -> Result<McpCaller, ErrorData> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<McpCaller>())
        .cloned()
        .ok_or_else(|| ErrorData::internal_error("unauthenticated request", None))
}

fn tool_of(tool: &RegisteredTool) -> Tool {
    let schema = match &tool.spec.input_schema {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    let mut listed = Tool::new(tool.name.clone(), tool.spec.description.clone(), schema);
    if let Some(serde_json::Value::Object(output)) = &tool.spec.output_schema {
        listed.output_schema = Some(Arc::new(output.clone()));
    }
    listed
}

fn block_of(part: ContentPart) -> ContentBlock {
    use base64::Engine;
    match part {
        ContentPart::Text(text) => ContentBlock::text(text),
        ContentPart::Json(json) => ContentBlock::text(json.to_string()),
        ContentPart::Image { mime_type, data } => ContentBlock::image(
            base64::engine::general_purpose::STANDARD.encode(data),
            mime_type,
        ),
    }
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .build(),
        )
        .with_server_info(Implementation::new("chatai-edge", env!("CARGO_PKG_VERSION")))
        .with_instructions("ChatAI Edge: every enabled tool of this server (builtin, custom WASM extensions, imported MCP tools).")
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        // Sessions that ended are forgotten here too, not only when the tools change.
        sessions.retain(|peer| !peer.is_transport_closed());
        sessions.push(context.peer);
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let caller = caller_of(&context)?;
        let config = self.config.current();
        let tools = self
            .tools
            .registry
            .list()
            .iter()
            .filter(|tool| self.offered(tool, &caller, &config))
            .map(|tool| tool_of(tool))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = caller_of(&context)?;
        let config = self.config.current();
        let name = request.name.to_string();
        let unknown = || ErrorData::invalid_params(format!("unknown tool `{name}`"), None);
        let tool = self.tools.registry.get(&name).ok_or_else(unknown)?;
        if tool.source == Source::Mcp && !config.mcp.reexport {
            return Err(unknown());
        }
        let invocation =
            Invocation::new(caller.id, CallerKind::McpClient, caller.admin, Origin::Mcp);
        let args = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let result = match self
            .tools
            .executor
            .call(&name, args, &invocation, &config)
            .await
        {
            Ok(outcome) => {
                let blocks = outcome.output.content.into_iter().map(block_of).collect();
                let mut result = CallToolResult::success(blocks);
                result.structured_content = outcome.output.structured;
                result
            }
            Err(ExecError::NotFound(_)) => return Err(unknown()),
            Err(err) => {
                let code = self.tools.executor.code(&err);
                CallToolResult::error(vec![ContentBlock::text(format!("{code}: {err}"))])
            }
        };
        Ok(result.into())
    }
}
