//! `/api/skills`: the skills (listed, described, run — whole or streamed), the global skills
//! event stream, and the seed's tool switches (categories, tools, all at once), which are the
//! runtime config keys `tools.disabled_tools`, `tools.disabled_categories` and
//! `tools.enabled_categories`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use salvo::http::StatusCode;
use salvo::oapi::extract::{JsonBody, PathParam, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use salvo::sse::{SseEvent, SseKeepAlive};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppDepot;
use super::error::{ApiError, code};
use super::reply::{ApiResult, Reply};
use super::tools::{ContentView, content_views, rest_invocation};
use crate::auth::policy::{Access, RouteRule};
use crate::events::{CategoryToggle, Event};
use crate::http::{DepotExt, RouterAccess};
use crate::manifest::SkillLimits;
use crate::skills::Caps;
use crate::state::AppState;
use crate::tools::executor::is_enabled;
use crate::tools::{Invocation, RegisteredTool, Source, ToolOutcome};

pub fn router() -> Router {
    Router::with_path("skills")
        .access(Access::READ_ADMIN)
        .get(list_skills)
        .push(
            Router::with_path("sse")
                .access(RouteRule::new(Access::READ_ADMIN).query_token())
                .get(events),
        )
        .push(Router::with_path("categories").get(categories))
        .push(Router::with_path("stats").get(stats))
        .push(super::custom::reload_router())
        .push(Router::with_path("enable-all").post(enable_all))
        .push(Router::with_path("disable-all").post(disable_all))
        .push(Router::with_path("toggle-category").post(toggle_category))
        .push(Router::with_path("toggle-tool").post(toggle_tool))
        .push(super::mcp::skills_alias())
        .push(Router::with_path("{name}").get(get_skill))
        .push(
            Router::with_path("{name}/run")
                .access(Access::TOOLS_CALL)
                .post(run_skill),
        )
}

/// A skill.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SkillView {
    name: String,
    description: String,
    /// The extension's version (a builtin's is the server's).
    version: Option<String>,
    /// JSON Schema of `input`.
    input_schema: Value,
    enabled: bool,
    /// `builtin` or `custom`.
    source: &'static str,
    /// The component that provides it.
    extension: String,
}

/// A skill with the caps of its runs (its manifest's `[skill]`, capped by `skills.*`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SkillDetail {
    #[serde(flatten)]
    skill: SkillView,
    caps: CapsView,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CapsView {
    timeout_ms: u64,
    max_tool_calls: u32,
    max_llm_calls: u32,
    max_tokens: u64,
}

fn view(tool: &RegisteredTool, state: &AppState) -> SkillView {
    let config = state.config.current();
    SkillView {
        name: tool.name.clone(),
        description: tool.spec.description.clone(),
        version: tool.version.clone(),
        input_schema: tool.spec.input_schema.clone(),
        enabled: is_enabled(tool, &config.tools),
        source: tool.source.as_str(),
        extension: tool.provider.clone(),
    }
}

fn skill(state: &AppState, name: &str) -> Result<Arc<RegisteredTool>, ApiError> {
    state
        .tools
        .registry
        .get(name)
        .filter(|tool| tool.is_skill())
        .ok_or_else(|| ApiError::not_found(format!("no skill named `{name}`")))
}

/// Every skill
///
/// Skills are also listed in `GET /api/tools` (source `skill`), where the chat loop and `/mcp`
/// find them.
#[endpoint(tags("skills"))]
async fn list_skills(depot: &mut Depot) -> ApiResult<Vec<SkillView>> {
    let state = depot.app().clone();
    let skills = state
        .tools
        .registry
        .list()
        .iter()
        .filter(|tool| tool.is_skill())
        .map(|tool| view(tool, &state))
        .collect();
    Ok(Reply::ok(skills))
}

/// One skill
#[endpoint(tags("skills"))]
async fn get_skill(name: PathParam<String>, depot: &mut Depot) -> ApiResult<SkillDetail> {
    let state = depot.app().clone();
    let tool = skill(&state, &name.into_inner())?;
    let asked = match tool.source {
        Source::Custom => state
            .custom
            .record(&tool.provider)
            .await?
            .map(|record| record.manifest.skill)
            .unwrap_or_default(),
        _ => SkillLimits::default(),
    };
    let caps = Caps::of(&asked, &state.config.current().skills);
    Ok(Reply::ok(SkillDetail {
        skill: view(&tool, &state),
        caps: CapsView {
            timeout_ms: u64::try_from(caps.timeout.as_millis()).unwrap_or(u64::MAX),
            max_tool_calls: caps.max_tool_calls,
            max_llm_calls: caps.max_llm_calls,
            max_tokens: caps.max_tokens,
        },
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RunBody {
    /// The skill's input, checked against its schema.
    #[serde(default = "empty_object")]
    input: Value,
    user_id: Option<String>,
    group_id: Option<String>,
    conversation_id: Option<String>,
    /// The preset whose model and settings the skill's LLM calls use and whose tool lists its
    /// tool calls obey (default: the default preset's model, every tool).
    preset_id: Option<String>,
}

fn empty_object() -> Value {
    json!({})
}

/// A finished run.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RunView {
    /// The text parts joined.
    result: String,
    content: Vec<ContentView>,
    structured: Option<Value>,
    /// Its tool calls, LLM calls, log lines and progress reports, in order:
    /// `{kind: "tool", name, args, ok, result, error, durationMs}`,
    /// `{kind: "llm", model, channel, messages, ok, content, error, promptTokens,
    /// completionTokens, durationMs}`, `{kind: "log", level, message}`,
    /// `{kind: "progress", done, total, message}`; each with its `index`.
    #[salvo(schema(value_type = Vec<Object>))]
    steps: Vec<Value>,
    usage: UsageView,
    duration_ms: f64,
    /// The run's call id (its row in `GET /api/tools/logs`).
    run_id: String,
}

/// Tokens the run's LLM calls spent.
#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
struct UsageView {
    prompt_tokens: u64,
    completion_tokens: u64,
}

fn run_view(outcome: ToolOutcome, steps: Vec<Value>) -> RunView {
    let mut usage = UsageView::default();
    for step in steps.iter().filter(|s| s["kind"] == "llm") {
        usage.prompt_tokens += step["promptTokens"].as_u64().unwrap_or(0);
        usage.completion_tokens += step["completionTokens"].as_u64().unwrap_or(0);
    }
    RunView {
        result: outcome.output.text(),
        content: content_views(outcome.output.content),
        structured: outcome.output.structured,
        steps,
        usage,
        duration_ms: outcome.duration_ms,
        run_id: outcome.call_id,
    }
}

/// Run a skill
///
/// Runs through the tool executor like any tool call (the same policy, input validation and
/// error codes as `POST /api/tools/call`); inside, each tool call goes through the executor as
/// the caller and each LLM call through channel selection. A run past one of its caps ends with
/// 422 `SKILL_LIMIT_EXCEEDED` (details.limit: `tool_calls`, `llm_calls`, `tokens`, `depth`), past
/// its deadline with 504 `TOOL_TIMEOUT`.
///
/// With `?stream=true` the answer is SSE: a `step` event per step as it happens, then
/// `skill_done` — the run's result, or `{error, code}` for a failed run. The run is cancelled
/// when the client goes away.
#[endpoint(tags("skills"), status_codes(200, 400, 403, 404, 422, 502, 503, 504))]
async fn run_skill(
    name: PathParam<String>,
    stream: QueryParam<bool, false>,
    body: JsonBody<RunBody>,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = depot.app().clone();
    let name = name.into_inner();
    skill(&state, &name)?;
    let body = body.into_inner();
    let principal = depot
        .principal()
        .ok_or_else(|| ApiError::from(crate::auth::AuthError::Required))?;
    let mut invocation = rest_invocation(
        principal,
        (body.user_id, body.group_id, body.conversation_id),
    );
    invocation.preset_id = body.preset_id;
    if stream.into_inner().unwrap_or(false) {
        stream_run(state, name, body.input, invocation, res);
        return Ok(());
    }
    let steps = Arc::new(Mutex::new(Vec::new()));
    let collected = steps.clone();
    invocation.progress = Some(Arc::new(move |progress| {
        if let Some(step) = &progress.step {
            collected
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(step.clone());
        }
    }));
    let config = state.config.current();
    let outcome = state
        .tools
        .executor
        .call(&name, body.input, &invocation, &config)
        .await?;
    drop(invocation);
    let steps = std::mem::take(&mut *steps.lock().unwrap_or_else(|p| p.into_inner()));
    res.render(Reply::ok(run_view(outcome, steps)));
    Ok(())
}

/// What a streamed run sends.
enum RunEvent {
    Step(Value),
    Done(Value),
}

/// Aborts the run when the response stream is dropped (the client went away).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn stream_run(
    state: Arc<AppState>,
    name: String,
    input: Value,
    mut invocation: Invocation,
    res: &mut Response,
) {
    let (sender, received) = tokio::sync::mpsc::unbounded_channel::<RunEvent>();
    let steps = sender.clone();
    invocation.progress = Some(Arc::new(move |progress| {
        if let Some(step) = &progress.step {
            let _ = steps.send(RunEvent::Step(step.clone()));
        }
    }));
    let task = tokio::spawn(async move {
        let config = state.config.current();
        let outcome = state
            .tools
            .executor
            .call(&name, input, &invocation, &config)
            .await;
        drop(invocation);
        let done = match outcome {
            Ok(outcome) => serde_json::to_value(run_view(outcome, Vec::new())).unwrap_or_default(),
            Err(err) => {
                let api = ApiError::from(err);
                json!({ "error": api.message, "code": api.code.as_str(), "details": api.details() })
            }
        };
        let _ = sender.send(RunEvent::Done(done));
    });
    let guard = AbortOnDrop(task);
    let mut received = received;
    let stream =
        futures_util::stream::poll_fn(move |cx| received.poll_recv(cx)).map(move |event| {
            let _running = &guard;
            let (name, data) = match event {
                RunEvent::Step(step) => ("step", step),
                RunEvent::Done(done) => ("skill_done", done),
            };
            Ok::<_, Infallible>(SseEvent::default().name(name).text(data.to_string()))
        });
    SseKeepAlive::new(stream)
        .max_interval(crate::http::sse::HEARTBEAT)
        .comment("heartbeat")
        .stream(res);
}

/// Skills events
///
/// SSE: `tool_update` (a provider's tools changed), `category_toggle` `{category, enabled}`,
/// `server_status` `{server, status, error, toolCount}` (an MCP server's status changed),
/// `skill_progress` `{runId, skill, caller, step}`, `skill_done` `{runId, skill, caller,
/// success, steps, durationMs, code?, error?}`. A client that stops reading is dropped after
/// 256 unread events; publishers never wait for it. Takes the session token as `?token=`
/// (EventSource sends no headers).
#[endpoint(tags("skills"), responses((status_code = 200, description = "text/event-stream", content_type = "text/event-stream", body = String)))]
async fn events(depot: &mut Depot, res: &mut Response) {
    let subscription = depot.app().events.subscribe();
    crate::http::sse::stream_named(res, subscription, |event| match event {
        Event::ToolUpdate(_) => Some("tool_update"),
        Event::CategoryToggle(_) => Some("category_toggle"),
        Event::Mcp(_) => Some("server_status"),
        Event::SkillProgress(_) => Some("skill_progress"),
        Event::SkillDone(_) => Some("skill_done"),
        _ => None,
    });
}

/// A tool category.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CategoryView {
    name: String,
    label: String,
    enabled: bool,
    tool_count: usize,
}

/// Each category of the registered tools (tools without one are under `other`).
fn category_counts(state: &AppState) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for tool in state.tools.registry.list() {
        let name = tool.spec.category.clone().unwrap_or_else(|| "other".into());
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

fn category_enabled(config: &crate::config::ToolsConfig, category: &str) -> bool {
    !config.disabled_categories.iter().any(|c| c == category)
        && config
            .enabled_categories
            .as_ref()
            .is_none_or(|enabled| enabled.iter().any(|c| c == category))
}

/// `web_fetch` → `Web fetch`.
fn label(category: &str) -> String {
    let text = category.replace(['_', '-'], " ");
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// Tool categories
#[endpoint(tags("skills"))]
async fn categories(depot: &mut Depot) -> ApiResult<Vec<CategoryView>> {
    let state = depot.app().clone();
    let config = state.config.current();
    let views = category_counts(&state)
        .into_iter()
        .map(|(name, tool_count)| CategoryView {
            label: label(&name),
            enabled: category_enabled(&config.tools, &name),
            name,
            tool_count,
        })
        .collect();
    Ok(Reply::ok(views))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct StatsView {
    total_tools: usize,
    enabled_tools: usize,
    categories: usize,
    /// MCP servers configured.
    mcp_servers: usize,
    skills: usize,
}

/// Counts of tools, categories, MCP servers and skills
#[endpoint(tags("skills"))]
async fn stats(depot: &mut Depot) -> ApiResult<StatsView> {
    let state = depot.app().clone();
    let config = state.config.current();
    let tools = state.tools.registry.list();
    Ok(Reply::ok(StatsView {
        total_tools: tools.len(),
        enabled_tools: tools
            .iter()
            .filter(|t| is_enabled(t, &config.tools))
            .count(),
        categories: category_counts(&state).len(),
        mcp_servers: state.mcp.counts().1,
        skills: tools.iter().filter(|t| t.is_skill()).count(),
    }))
}

#[derive(Serialize, ToSchema)]
struct EnabledCount {
    /// Tools enabled now.
    enabled: usize,
}

#[derive(Serialize, ToSchema)]
struct DisabledCount {
    /// Tools switched off now.
    disabled: usize,
}

/// Switch every tool on
///
/// Clears `tools.disabled_tools` and `tools.disabled_categories` and sets
/// `tools.enabled_categories` to `null`. A disabled custom extension stays disabled.
#[endpoint(tags("skills"))]
async fn enable_all(depot: &mut Depot) -> ApiResult<EnabledCount> {
    let state = depot.app().clone();
    state
        .config
        .set_many(vec![
            ("tools.disabled_tools".into(), json!([])),
            ("tools.disabled_categories".into(), json!([])),
            ("tools.enabled_categories".into(), Value::Null),
        ])
        .await?;
    let config = state.config.current();
    let enabled = state
        .tools
        .registry
        .list()
        .iter()
        .filter(|t| is_enabled(t, &config.tools))
        .count();
    Ok(Reply::ok(EnabledCount { enabled }))
}

/// Switch every tool off
///
/// Puts every registered tool (skills included) in `tools.disabled_tools`.
#[endpoint(tags("skills"))]
async fn disable_all(depot: &mut Depot) -> ApiResult<DisabledCount> {
    let state = depot.app().clone();
    let names: Vec<String> = state
        .tools
        .registry
        .list()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    let disabled = names.len();
    state
        .config
        .set_many(vec![("tools.disabled_tools".into(), json!(names))])
        .await?;
    Ok(Reply::ok(DisabledCount { disabled }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CategoryToggleBody {
    category: String,
    enabled: bool,
}

/// Switch a category on or off
///
/// Off: the category joins `tools.disabled_categories`. On: it leaves that list and, when
/// `tools.enabled_categories` is a list, joins it. Publishes `category_toggle`.
#[endpoint(tags("skills"))]
async fn toggle_category(
    body: JsonBody<CategoryToggleBody>,
    depot: &mut Depot,
) -> ApiResult<CategoryToggleBody> {
    let state = depot.app().clone();
    let body = body.into_inner();
    if !category_counts(&state).contains_key(&body.category) {
        return Err(ApiError::not_found(format!(
            "no tool has the category `{}`",
            body.category
        )));
    }
    let config = state.config.current();
    let mut disabled = config.tools.disabled_categories.clone();
    disabled.retain(|c| c != &body.category);
    let mut changes = Vec::new();
    if body.enabled {
        if let Some(enabled) = &config.tools.enabled_categories
            && !enabled.contains(&body.category)
        {
            let mut enabled = enabled.clone();
            enabled.push(body.category.clone());
            changes.push(("tools.enabled_categories".to_owned(), json!(enabled)));
        }
    } else {
        disabled.push(body.category.clone());
    }
    changes.push(("tools.disabled_categories".to_owned(), json!(disabled)));
    state.config.set_many(changes).await?;
    state.events.publish(Event::CategoryToggle(CategoryToggle {
        category: body.category.clone(),
        enabled: body.enabled,
    }));
    Ok(Reply::ok(body))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ToolToggleBody {
    tool_name: String,
    enabled: bool,
}

/// Switch one tool on or off
///
/// Edits `tools.disabled_tools`.
#[endpoint(tags("skills"))]
async fn toggle_tool(
    body: JsonBody<ToolToggleBody>,
    depot: &mut Depot,
) -> ApiResult<ToolToggleBody> {
    let state = depot.app().clone();
    let body = body.into_inner();
    if state.tools.registry.get(&body.tool_name).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            code::TOOL_NOT_FOUND,
            format!("no tool named `{}`", body.tool_name),
        ));
    }
    let mut disabled = state.config.current().tools.disabled_tools.clone();
    disabled.retain(|t| t != &body.tool_name);
    if !body.enabled {
        disabled.push(body.tool_name.clone());
    }
    state
        .config
        .set_many(vec![("tools.disabled_tools".into(), json!(disabled))])
        .await?;
    Ok(Reply::ok(body))
}
