//! `/api/tools`: listing, calling, policy and logs of tools.

use std::collections::BTreeMap;

use base64::Engine;
use salvo::http::StatusCode;
use salvo::oapi::extract::{JsonBody, PathParam, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppDepot;
use super::error::{ApiError, code};
use super::reply::{ApiResult, Deleted, Reply};
use crate::auth::policy::Access;
use crate::auth::{Credential, Principal};
use crate::http::{DepotExt, RouterAccess};
use crate::state::AppState;
use crate::store::ToolLogQuery;
use crate::tools::executor;
use crate::tools::{
    CallerKind, ContentPart, Invocation, Origin, RegisteredTool, Source, ToolLogEntry,
};

pub fn router() -> Router {
    Router::with_path("tools")
        .access(Access::READ_ADMIN)
        .get(list_tools)
        .push(Router::with_path("by-source").get(tools_by_source))
        .push(
            Router::with_path("call")
                .access(Access::TOOLS_CALL)
                .post(call_tool),
        )
        .push(
            Router::with_path("builtin/config")
                .get(get_builtin_config)
                .put(put_builtin_config),
        )
        .push(
            Router::with_path("dangerous")
                .get(get_dangerous)
                .put(put_dangerous),
        )
        .push(Router::with_path("logs").get(list_logs).delete(delete_logs))
        .push(super::custom::custom_router())
        .push(super::custom::reload_router())
        .push(Router::with_path("{name}").get(get_tool))
        .push(
            Router::with_path("{name}/execute")
                .access(Access::TOOLS_CALL)
                .post(execute_tool),
        )
}

/// The provider of a tool (an extension; later an MCP server).
#[derive(Serialize, ToSchema)]
struct ExtensionRef {
    name: String,
    /// The provider's own version (a builtin's is the server's); `null` when it declares none.
    version: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ToolView {
    name: String,
    description: String,
    category: Option<String>,
    /// `builtin`, `custom`, `mcp`, or `skill` (a skill offered as a tool, builtin or custom:
    /// `extension` names it).
    source: String,
    /// JSON Schema of the arguments.
    parameters: Value,
    dangerous: bool,
    admin_only: bool,
    enabled: bool,
    /// The provider: the extension of a builtin or custom tool, the server of an `mcp` tool
    /// (with the version it reports).
    extension: Option<ExtensionRef>,
    /// The MCP server of an `mcp` tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<String>,
    /// The server's own name of an `mcp` tool listed as `<server>__<tool>` (another provider
    /// offers the same name).
    #[serde(skip_serializing_if = "Option::is_none")]
    original_name: Option<String>,
}

fn view(tool: &RegisteredTool, state: &AppState) -> ToolView {
    let config = state.config.current();
    ToolView {
        name: tool.name.clone(),
        description: tool.spec.description.clone(),
        category: tool.spec.category.clone(),
        source: tool.source_name().to_owned(),
        parameters: tool.spec.input_schema.clone(),
        dangerous: executor::is_dangerous(tool, &config.tools),
        admin_only: executor::is_admin_only(tool, &config.tools),
        enabled: executor::is_enabled(tool, &config.tools),
        extension: Some(ExtensionRef {
            name: tool.provider.clone(),
            version: tool.version.clone(),
        }),
        server: (tool.source == Source::Mcp).then(|| tool.provider.clone()),
        original_name: (tool.name != tool.spec.name).then(|| tool.spec.name.clone()),
    }
}

/// Every tool
///
/// Filters: `category`, `source` (`builtin`, `custom`, `mcp`), `enabled`. Lists the stored
/// specs: nothing is instantiated.
#[endpoint(tags("tools"))]
async fn list_tools(
    category: QueryParam<String, false>,
    source: QueryParam<String, false>,
    enabled: QueryParam<bool, false>,
    depot: &mut Depot,
) -> ApiResult<Vec<ToolView>> {
    let state = depot.app().clone();
    let source = source.into_inner();
    if let Some(name) = &source
        && !SOURCES.contains(&name.as_str())
    {
        return Err(
            ApiError::validation("source must be builtin, custom, mcp or skill")
                .with_details(json!({ "field": "source" })),
        );
    }
    let category = category.into_inner();
    let enabled = enabled.into_inner();
    let views = state
        .tools
        .registry
        .list()
        .iter()
        .filter(|tool| source.as_deref().is_none_or(|s| tool.source_name() == s))
        .filter(|tool| category.is_none() || tool.spec.category == category)
        .map(|tool| view(tool, &state))
        .filter(|view| enabled.is_none_or(|e| view.enabled == e))
        .collect();
    Ok(Reply::ok(views))
}

/// The sources a tool is listed under.
const SOURCES: [&str; 4] = ["builtin", "custom", "mcp", "skill"];

/// Tools grouped by source
#[endpoint(tags("tools"))]
async fn tools_by_source(depot: &mut Depot) -> ApiResult<BTreeMap<String, Vec<ToolView>>> {
    let state = depot.app().clone();
    let mut groups: BTreeMap<String, Vec<ToolView>> = SOURCES
        .iter()
        .map(|s| ((*s).to_owned(), Vec::new()))
        .collect();
    for tool in state.tools.registry.list() {
        groups
            .entry(tool.source_name().to_owned())
            .or_default()
            .push(view(&tool, &state));
    }
    Ok(Reply::ok(groups))
}

/// One tool
#[endpoint(tags("tools"))]
async fn get_tool(name: PathParam<String>, depot: &mut Depot) -> ApiResult<ToolView> {
    let state = depot.app().clone();
    let name = name.into_inner();
    let tool = state
        .tools
        .registry
        .get(&name)
        .ok_or_else(|| tool_not_found(&name))?;
    Ok(Reply::ok(view(&tool, &state)))
}

fn tool_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        code::TOOL_NOT_FOUND,
        format!("no tool named `{name}`"),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CallRequest {
    name: String,
    /// The arguments, checked against the tool's JSON Schema.
    #[serde(default = "empty_object")]
    args: Value,
    user_id: Option<String>,
    group_id: Option<String>,
    conversation_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExecuteRequest {
    #[serde(default = "empty_object")]
    args: Value,
    user_id: Option<String>,
    group_id: Option<String>,
    conversation_id: Option<String>,
}

fn empty_object() -> Value {
    json!({})
}

/// A part of a tool result: `{type: "text", text}`, `{type: "json", json}` or
/// `{type: "image", mimeType, data}` (base64).
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(super) enum ContentView {
    Text {
        text: String,
    },
    Json {
        json: Value,
    },
    Image {
        #[serde(rename = "mimeType")]
        mime_type: String,
        data: String,
    },
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CallView {
    /// The text parts joined.
    result: String,
    content: Vec<ContentView>,
    structured: Option<Value>,
    duration_ms: f64,
    call_id: String,
}

/// Call a tool
///
/// Runs the tool in a fresh sandboxed instance. Tool failures have their own codes:
/// `TOOL_NOT_FOUND` 404, `INVALID_ARGUMENTS` 400 (details: schema errors), `TOOL_DISABLED` /
/// `TOOL_DANGEROUS` 403, `TOOL_ERROR` 422 (the tool's own error), `TOOL_TRAPPED` 500
/// (details.reason: `memory_limit`, `stack_overflow`, `panic`, `trap`), `TOOL_RESULT_TOO_LARGE`
/// and `TOOL_INVALID_OUTPUT` 502, `TOOL_BUSY` 503 (with `Retry-After`), `TOOL_TIMEOUT` 504.
#[endpoint(tags("tools"))]
async fn call_tool(body: JsonBody<CallRequest>, depot: &mut Depot) -> ApiResult<CallView> {
    let body = body.into_inner();
    let ids = (body.user_id, body.group_id, body.conversation_id);
    run(depot, &body.name, body.args, ids).await
}

/// Call a tool by path (alias of `POST /api/tools/call`)
#[endpoint(tags("tools"))]
async fn execute_tool(
    name: PathParam<String>,
    body: JsonBody<ExecuteRequest>,
    depot: &mut Depot,
) -> ApiResult<CallView> {
    let body = body.into_inner();
    let ids = (body.user_id, body.group_id, body.conversation_id);
    run(depot, &name.into_inner(), body.args, ids).await
}

/// User, group and conversation ids a REST caller may give.
pub(super) type CallIds = (Option<String>, Option<String>, Option<String>);

/// The invocation of a REST call by `principal`.
pub(super) fn rest_invocation(
    principal: &Principal,
    (user_id, group_id, conversation_id): CallIds,
) -> Invocation {
    let kind = match principal.credential {
        Credential::Session { .. } => CallerKind::AdminSession,
        Credential::ApiKey { .. } => CallerKind::ApiKey,
    };
    let mut invocation = Invocation::new(
        principal.id.clone(),
        kind,
        principal.is_admin(),
        Origin::Rest,
    );
    invocation.user_id = user_id;
    invocation.group_id = group_id;
    invocation.conversation_id = conversation_id;
    invocation
}

async fn run(depot: &Depot, name: &str, args: Value, ids: CallIds) -> ApiResult<CallView> {
    let state = depot.app().clone();
    let principal = depot
        .principal()
        .ok_or_else(|| ApiError::from(crate::auth::AuthError::Required))?;
    let invocation = rest_invocation(principal, ids);
    let config = state.config.current();
    let outcome = state
        .tools
        .executor
        .call(name, args, &invocation, &config)
        .await?;
    let output = outcome.output;
    Ok(Reply::ok(CallView {
        result: output.text(),
        content: content_views(output.content),
        structured: output.structured,
        duration_ms: outcome.duration_ms,
        call_id: outcome.call_id,
    }))
}

/// A result's parts as the API shows them (images in base64).
pub(super) fn content_views(parts: Vec<ContentPart>) -> Vec<ContentView> {
    parts
        .into_iter()
        .map(|part| match part {
            ContentPart::Text(text) => ContentView::Text { text },
            ContentPart::Json(json) => ContentView::Json { json },
            ContentPart::Image { mime_type, data } => ContentView::Image {
                mime_type,
                data: base64::engine::general_purpose::STANDARD.encode(data),
            },
        })
        .collect()
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BuiltinConfig {
    /// When set, only tools of these categories are enabled; `null` enables every category.
    enabled_categories: Option<Vec<String>>,
    disabled_tools: Vec<String>,
}

/// Which tools are on
#[endpoint(tags("tools"))]
async fn get_builtin_config(depot: &mut Depot) -> ApiResult<BuiltinConfig> {
    let config = depot.app().config.current();
    Ok(Reply::ok(BuiltinConfig {
        enabled_categories: config.tools.enabled_categories.clone(),
        disabled_tools: config.tools.disabled_tools.clone(),
    }))
}

/// Switch tools and categories on and off
///
/// Stored as the runtime config keys `tools.enabled_categories` and `tools.disabled_tools`,
/// together: if one is refused (e.g. pinned by the environment), neither changes.
#[endpoint(tags("tools"))]
async fn put_builtin_config(
    body: JsonBody<BuiltinConfig>,
    depot: &mut Depot,
) -> ApiResult<BuiltinConfig> {
    let body = body.into_inner();
    depot
        .app()
        .config
        .set_many(vec![
            (
                "tools.enabled_categories".into(),
                json!(body.enabled_categories),
            ),
            ("tools.disabled_tools".into(), json!(body.disabled_tools)),
        ])
        .await?;
    Ok(Reply::ok(body))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DangerousConfig {
    allow_dangerous: bool,
    dangerous_tools: Vec<String>,
    admin_only_tools: Vec<String>,
}

/// The dangerous-tool policy
#[endpoint(tags("tools"))]
async fn get_dangerous(depot: &mut Depot) -> ApiResult<DangerousConfig> {
    let config = depot.app().config.current();
    Ok(Reply::ok(DangerousConfig {
        allow_dangerous: config.tools.allow_dangerous,
        dangerous_tools: config.tools.dangerous_tools.clone(),
        admin_only_tools: config.tools.admin_only_tools.clone(),
    }))
}

/// Change the dangerous-tool policy
///
/// The three keys change together or not at all.
#[endpoint(tags("tools"))]
async fn put_dangerous(
    body: JsonBody<DangerousConfig>,
    depot: &mut Depot,
) -> ApiResult<DangerousConfig> {
    let body = body.into_inner();
    depot
        .app()
        .config
        .set_many(vec![
            ("tools.allow_dangerous".into(), json!(body.allow_dangerous)),
            ("tools.dangerous_tools".into(), json!(body.dangerous_tools)),
            (
                "tools.admin_only_tools".into(),
                json!(body.admin_only_tools),
            ),
        ])
        .await?;
    Ok(Reply::ok(body))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LogView {
    id: String,
    tool_name: String,
    args: Value,
    result: Option<String>,
    success: bool,
    error: Option<String>,
    user_id: Option<String>,
    group_id: Option<String>,
    /// The principal that called (`admin`, `key:<id>`).
    caller: String,
    source: String,
    duration_ms: f64,
    timestamp: String,
    /// What the guest logged: `host.log` lines (at most 1,000 of 4 KiB), then stdout and
    /// stderr (64 KiB each).
    logs: Vec<String>,
}

impl From<ToolLogEntry> for LogView {
    fn from(entry: ToolLogEntry) -> Self {
        Self {
            id: entry.id,
            tool_name: entry.tool_name,
            args: entry.args,
            result: entry.result,
            success: entry.success,
            error: entry.error,
            user_id: entry.user_id,
            group_id: entry.group_id,
            caller: entry.caller,
            source: entry.source,
            duration_ms: entry.duration_ms,
            timestamp: super::timestamp(entry.timestamp),
            logs: entry.logs,
        }
    }
}

/// Recent tool calls, newest first
///
/// Records are written in batches shortly (≤ ~100 ms) after each call.
#[endpoint(tags("tools"))]
async fn list_logs(
    limit: QueryParam<u32, false>,
    #[allow(non_snake_case)] toolName: QueryParam<String, false>,
    #[allow(non_snake_case)] userId: QueryParam<String, false>,
    success: QueryParam<bool, false>,
    depot: &mut Depot,
) -> ApiResult<Vec<LogView>> {
    let limit = limit.into_inner().unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit must be between 1 and 500")
            .with_details(json!({ "field": "limit" })));
    }
    let query = ToolLogQuery {
        limit,
        tool_name: toolName.into_inner(),
        user_id: userId.into_inner(),
        success: success.into_inner(),
    };
    let entries = depot.app().store.tool_logs(&query).await?;
    Ok(Reply::ok(entries.into_iter().map(LogView::from).collect()))
}

/// Delete every tool log
#[endpoint(tags("tools"))]
async fn delete_logs(depot: &mut Depot) -> ApiResult<Deleted> {
    let deleted = depot.app().store.delete_tool_logs().await?;
    Ok(Reply::ok(Deleted { deleted }))
}
