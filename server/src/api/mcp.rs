//! `/api/mcp`: the MCP servers we connect to (secrets in `env` and `headers` masked in every
//! answer), their tools, resources and prompts, and their live events. Only the admin may
//! add or change a server: a `stdio` server runs a command on this machine.

use std::collections::BTreeMap;

use salvo::http::StatusCode;
use salvo::oapi::extract::{JsonBody, PathParam, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppDepot;
use super::error::{ApiError, code};
use super::reply::{ApiResult, Empty, Reply};
use super::secrets::{masked, merge_masked};
use crate::auth::policy::{Access, RouteRule};
use crate::events::Event;
use crate::http::RouterAccess;
use crate::mcp::{KINDS, McpError, ServerState};
use crate::state::AppState;
use crate::store::{McpServerRecord, now_ms};
use crate::tools::Source;

/// Mounted at `/api/mcp`.
pub fn router() -> Router {
    Router::with_path("mcp")
        .access(Access::READ_ADMIN)
        .push(servers_router())
        .push(Router::with_path("connect").post(connect_by_name))
        .push(Router::with_path("resources").get(read_resource))
        .push(Router::with_path("prompts").get(list_prompts))
        .push(
            Router::with_path("sse")
                .access(RouteRule::new(Access::READ_ADMIN).query_token())
                .get(events),
        )
}

/// `/api/skills/mcp/servers…`: the seed's aliases of `/api/mcp/servers…`.
pub fn skills_alias() -> Router {
    Router::with_path("mcp")
        .access(Access::READ_ADMIN)
        .push(servers_router())
}

fn servers_router() -> Router {
    Router::with_path("servers")
        .get(list_servers)
        .post(create_server)
        .push(Router::with_path("reconnect-all").post(reconnect_all))
        .push(
            Router::with_path("{name}")
                .get(get_server)
                .put(update_server)
                .delete(delete_server)
                .push(Router::with_path("connect").post(connect_server))
                .push(Router::with_path("disconnect").post(disconnect_server))
                .push(Router::with_path("tools").get(server_tools))
                .push(Router::with_path("resources").get(server_resources)),
        )
}

/// Default limit of one request to a server.
const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// A tool of a server, under the name callers use.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct McpToolView {
    /// The name in the registry: the server's own, or `<server>__<tool>` when another provider
    /// offers the same name.
    name: String,
    /// The server's name for it.
    original_name: String,
    description: String,
    input_schema: Value,
}

/// A server as the API shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct McpServerView {
    name: String,
    /// `stdio`, `npm`, `http` or `sse`.
    #[serde(rename = "type")]
    kind: String,
    command: Option<String>,
    args: Vec<String>,
    /// Values of variables that look secret (keys, tokens, passwords) are masked.
    env: BTreeMap<String, String>,
    cwd: Option<String>,
    url: Option<String>,
    /// Values of headers that look secret are masked.
    headers: BTreeMap<String, String>,
    package: Option<String>,
    enabled: bool,
    timeout_ms: u64,
    /// `connected`, `connecting`, `disconnected` or `error`.
    status: String,
    error: Option<String>,
    tool_count: usize,
    tools: Vec<McpToolView>,
    resources: Vec<Value>,
    prompts: Vec<Value>,
    connected_at: Option<String>,
    /// The process of a connected `stdio` or `npm` server.
    pid: Option<u32>,
}

fn view(server: ServerState, state: &AppState) -> McpServerView {
    let record = server.record;
    let listed: BTreeMap<String, String> = state
        .tools
        .registry
        .list()
        .iter()
        .filter(|t| t.source == Source::Mcp && t.provider == record.name)
        .map(|t| (t.spec.name.clone(), t.name.clone()))
        .collect();
    let tools: Vec<McpToolView> = server
        .tools
        .iter()
        .filter_map(|tool| {
            let original = tool.name.to_string();
            Some(McpToolView {
                name: listed.get(&original)?.clone(),
                original_name: original,
                description: tool.description.as_deref().unwrap_or_default().to_owned(),
                input_schema: Value::Object((*tool.input_schema).clone()),
            })
        })
        .collect();
    McpServerView {
        kind: record.kind.clone(),
        command: record.command.clone(),
        args: record.args.clone(),
        env: masked(&record.env),
        cwd: record.cwd.clone(),
        url: record.url.clone(),
        headers: masked(&record.headers),
        package: record.package.clone(),
        enabled: record.enabled,
        timeout_ms: record.timeout_ms,
        status: server.status.as_str().to_owned(),
        error: server.error,
        tool_count: tools.len(),
        tools,
        resources: server.resources.iter().map(to_json).collect(),
        prompts: server.prompts.iter().map(to_json).collect(),
        connected_at: server.connected_at.map(super::timestamp),
        pid: server.pid,
        name: record.name,
    }
}

fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Fields of a new server, or of a change (absent fields keep their value).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct McpServerInput {
    /// Unique id: letters, digits, `.`, `_`, `-` (at most 64). Taken from the path on PUT.
    name: Option<String>,
    /// `stdio` (a command), `npm` (a package run with `npx -y`), `http` (streamable HTTP) or
    /// `sse` (the legacy HTTP+SSE transport).
    #[serde(rename = "type")]
    kind: Option<String>,
    /// `stdio`: the program; `npm`: instead of `npx`.
    command: Option<String>,
    args: Option<Vec<String>>,
    /// The child's environment besides PATH, HOME, USER, LANG, LC_ALL, TMPDIR and TZ (nothing
    /// else of ours is passed on). A masked value keeps the stored one.
    env: Option<BTreeMap<String, String>>,
    cwd: Option<String>,
    /// `http`, `sse`: the server's URL.
    url: Option<String>,
    /// `http`, `sse`: sent with every request. A masked value keeps the stored one.
    headers: Option<BTreeMap<String, String>>,
    /// `npm`: the package, e.g. `@modelcontextprotocol/server-everything@2026.1.26`.
    package: Option<String>,
    enabled: Option<bool>,
    /// The longest one request to this server may take: the handshake, a listing, a tool call
    /// (default 60000; `tools.call_timeout_ms` applies to calls too).
    timeout_ms: Option<u64>,
    // Read-only fields a client may send back as it read them: ignored.
    #[serde(default, rename = "status")]
    _status: Option<Value>,
    #[serde(default, rename = "error")]
    _error: Option<Value>,
    #[serde(default, rename = "toolCount")]
    _tool_count: Option<Value>,
    #[serde(default, rename = "tools")]
    _tools: Option<Value>,
    #[serde(default, rename = "resources")]
    _resources: Option<Value>,
    #[serde(default, rename = "prompts")]
    _prompts: Option<Value>,
    #[serde(default, rename = "connectedAt")]
    _connected_at: Option<Value>,
    #[serde(default, rename = "pid")]
    _pid: Option<Value>,
}

fn invalid(message: impl Into<String>, field: &str) -> ApiError {
    ApiError::validation(message).with_details(json!({ "field": field }))
}

/// Applies `input` to `record`, then checks that the result can be connected.
fn apply(input: McpServerInput, record: &mut McpServerRecord) -> Result<(), ApiError> {
    let blank_to_none = |v: String| Some(v).filter(|v| !v.trim().is_empty());
    if let Some(kind) = input.kind {
        if !KINDS.contains(&kind.as_str()) {
            return Err(invalid("type must be stdio, npm, http or sse", "type"));
        }
        record.kind = kind;
    }
    if let Some(command) = input.command {
        record.command = blank_to_none(command);
    }
    if let Some(args) = input.args {
        record.args = args;
    }
    if let Some(env) = input.env {
        record.env = merge_masked(env, &record.env);
    }
    if let Some(cwd) = input.cwd {
        record.cwd = blank_to_none(cwd);
    }
    if let Some(url) = input.url {
        record.url = blank_to_none(url);
    }
    if let Some(headers) = input.headers {
        record.headers = merge_masked(headers, &record.headers);
    }
    if let Some(package) = input.package {
        record.package = blank_to_none(package);
    }
    if let Some(enabled) = input.enabled {
        record.enabled = enabled;
    }
    if let Some(timeout_ms) = input.timeout_ms {
        if timeout_ms == 0 {
            return Err(invalid("timeoutMs must be positive", "timeoutMs"));
        }
        record.timeout_ms = timeout_ms;
    }
    match record.kind.as_str() {
        "stdio" if record.command.is_none() => {
            Err(invalid("a stdio server needs a command", "command"))
        }
        "npm" if record.package.is_none() => {
            Err(invalid("an npm server needs a package", "package"))
        }
        "http" | "sse" => match &record.url {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => Ok(()),
            _ => Err(invalid("an http or sse server needs an http(s) url", "url")),
        },
        _ => Ok(()),
    }
}

impl From<McpError> for ApiError {
    fn from(err: McpError) -> Self {
        let message = err.to_string();
        match err {
            McpError::NotFound(_) => ApiError::not_found(message),
            McpError::Taken(_) => ApiError::new(StatusCode::CONFLICT, code::CONFLICT, message),
            McpError::NotConnected(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::SERVICE_UNAVAILABLE,
                message,
            ),
            McpError::Remote { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, code::MCP_SERVER_ERROR, message)
            }
            McpError::Store(err) => err.into(),
        }
    }
}

/// Every MCP server
///
/// By name, each with its status, tools, resources and prompts. Answers at once: a server
/// that is still connecting (or hangs) shows `connecting`.
#[endpoint(tags("mcp"))]
async fn list_servers(depot: &mut Depot) -> ApiResult<Vec<McpServerView>> {
    let state = depot.app().clone();
    let views = state
        .mcp
        .list()
        .into_iter()
        .map(|s| view(s, &state))
        .collect();
    Ok(Reply::ok(views))
}

/// What `POST /api/mcp/servers` answers.
#[derive(Serialize, ToSchema)]
struct Created {
    name: String,
    status: String,
}

/// Add an MCP server
///
/// Stored, then connected in the background (`status: connecting`); watch `/api/mcp/sse` or
/// read the server for the outcome.
#[endpoint(tags("mcp"), status_codes(201, 400, 409))]
async fn create_server(body: JsonBody<McpServerInput>, depot: &mut Depot) -> ApiResult<Created> {
    let state = depot.app().clone();
    let input = body.into_inner();
    let name = input.name.clone().unwrap_or_default();
    super::input::valid_id(&name, "name")?;
    if input.kind.is_none() {
        return Err(invalid("type is required: stdio, npm, http or sse", "type"));
    }
    let now = now_ms();
    let mut record = McpServerRecord {
        name: name.clone(),
        kind: String::new(),
        command: None,
        args: Vec::new(),
        env: BTreeMap::new(),
        cwd: None,
        url: None,
        headers: BTreeMap::new(),
        package: None,
        enabled: true,
        timeout_ms: DEFAULT_TIMEOUT_MS,
        created_at: now,
        updated_at: now,
    };
    apply(input, &mut record)?;
    let created = state.mcp.create(record).await?;
    Ok(Reply::created(Created {
        name,
        status: created.status.as_str().to_owned(),
    }))
}

/// One MCP server
#[endpoint(tags("mcp"))]
async fn get_server(name: PathParam<String>, depot: &mut Depot) -> ApiResult<McpServerView> {
    let state = depot.app().clone();
    let server = state.mcp.get(&name.into_inner())?;
    Ok(Reply::ok(view(server, &state)))
}

/// Change an MCP server
///
/// Absent fields keep their value; a masked secret keeps the stored one. The server
/// reconnects with the new configuration (or disconnects, if now disabled).
#[endpoint(tags("mcp"))]
async fn update_server(
    name: PathParam<String>,
    body: JsonBody<McpServerInput>,
    depot: &mut Depot,
) -> ApiResult<McpServerView> {
    let state = depot.app().clone();
    let name = name.into_inner();
    let input = body.into_inner();
    if input.name.as_ref().is_some_and(|n| *n != name) {
        return Err(invalid("a server cannot be renamed", "name"));
    }
    let mut record = state.mcp.get(&name)?.record;
    apply(input, &mut record)?;
    record.updated_at = now_ms();
    let server = state.mcp.update(record).await?;
    Ok(Reply::ok(view(server, &state)))
}

/// Delete an MCP server
///
/// Its tools leave the registry and its process (if any) is stopped.
#[endpoint(tags("mcp"))]
async fn delete_server(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Option<Empty>> {
    depot.app().mcp.delete(&name.into_inner()).await?;
    Empty::reply()
}

/// What connect and disconnect answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Connection {
    status: String,
    tool_count: usize,
    error: Option<String>,
}

fn connection(server: &ServerState) -> Connection {
    Connection {
        status: server.status.as_str().to_owned(),
        tool_count: server.tools.len(),
        error: server.error.clone(),
    }
}

/// Connect (or reconnect) a server now
///
/// Waits for the outcome (up to 30 s). Until the next restart; `enabled` is the lasting switch.
#[endpoint(tags("mcp"))]
async fn connect_server(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Connection> {
    let server = depot.app().mcp.connect(&name.into_inner()).await?;
    Ok(Reply::ok(connection(&server)))
}

/// Disconnect a server
///
/// Until the next connect, change or restart (set `enabled: false` to keep it off).
#[endpoint(tags("mcp"))]
async fn disconnect_server(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Connection> {
    let server = depot.app().mcp.disconnect(&name.into_inner()).await?;
    Ok(Reply::ok(connection(&server)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConnectInput {
    name: String,
}

/// Connect a server (by name in the body)
///
/// The seed's name for `POST /api/mcp/servers/:name/connect`.
#[endpoint(tags("mcp"))]
async fn connect_by_name(body: JsonBody<ConnectInput>, depot: &mut Depot) -> ApiResult<Connection> {
    let server = depot.app().mcp.connect(&body.into_inner().name).await?;
    Ok(Reply::ok(connection(&server)))
}

#[derive(Serialize, ToSchema)]
struct NamedStatus {
    name: String,
    status: String,
}

/// Reconnect every enabled server
#[endpoint(tags("mcp"))]
async fn reconnect_all(depot: &mut Depot) -> ApiResult<Vec<NamedStatus>> {
    let servers = depot.app().mcp.reconnect_all().await;
    Ok(Reply::ok(
        servers
            .into_iter()
            .map(|s| NamedStatus {
                name: s.record.name,
                status: s.status.as_str().to_owned(),
            })
            .collect(),
    ))
}

/// A server's tools
#[endpoint(tags("mcp"))]
async fn server_tools(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Vec<McpToolView>> {
    let state = depot.app().clone();
    let server = state.mcp.get(&name.into_inner())?;
    Ok(Reply::ok(view(server, &state).tools))
}

/// A server's resources
#[endpoint(tags("mcp"))]
async fn server_resources(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Vec<Value>> {
    let server = depot.app().mcp.get(&name.into_inner())?;
    Ok(Reply::ok(server.resources.iter().map(to_json).collect()))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ResourceView {
    /// Text, or base64 when the resource is binary (`blob: true`).
    content: String,
    mime_type: Option<String>,
    blob: bool,
}

/// Read a resource
///
/// `uri` is required; `server` picks the server (default: the first connected one that lists
/// the resource).
#[endpoint(tags("mcp"), status_codes(200, 400, 404, 502, 503))]
async fn read_resource(
    uri: QueryParam<String, false>,
    server: QueryParam<String, false>,
    depot: &mut Depot,
) -> ApiResult<ResourceView> {
    let uri = super::input::required(uri.into_inner(), "uri")?;
    let read = depot
        .app()
        .mcp
        .read_resource(server.into_inner().as_deref(), &uri)
        .await?;
    Ok(Reply::ok(ResourceView {
        content: read.content,
        mime_type: read.mime_type,
        blob: read.blob,
    }))
}

/// Prompts
///
/// Of one server (`server`), or of every connected server, each with its `server`.
#[endpoint(tags("mcp"))]
async fn list_prompts(
    server: QueryParam<String, false>,
    depot: &mut Depot,
) -> ApiResult<Vec<Value>> {
    let state = depot.app().clone();
    let servers = match server.into_inner() {
        Some(name) => vec![state.mcp.get(&name)?],
        None => state.mcp.list(),
    };
    let prompts = servers
        .iter()
        .flat_map(|s| {
            s.prompts.iter().map(|prompt| {
                let mut value = to_json(prompt);
                if let Value::Object(map) = &mut value {
                    map.insert("server".into(), Value::String(s.record.name.clone()));
                }
                value
            })
        })
        .collect();
    Ok(Reply::ok(prompts))
}

/// MCP server events (SSE)
///
/// `connected`, `disconnected`, `error` and `tools_updated`, each with data `{server, status,
/// error, toolCount}`. Takes the session token as `?token=` (EventSource sends no headers).
#[endpoint(tags("mcp"), responses((status_code = 200, description = "text/event-stream", content_type = "text/event-stream", body = String)))]
async fn events(depot: &mut Depot, res: &mut Response) {
    let subscription = depot.app().events.subscribe();
    crate::http::sse::stream_named(res, subscription, |event| match event {
        Event::Mcp(mcp) => Some(mcp.change.as_str()),
        _ => None,
    });
}
