//! The one path every tool call takes: lookup → policy → argument validation → the backend's
//! run → result → log record (queued), metrics and a tracing span.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::Instrument;

use super::invocation::{CallContext, Invocation, Progress};
use super::logs::{ToolLogEntry, ToolLogQueue};
use super::registry::{RegisteredTool, ToolRegistry};
use super::spec::{ToolError, ToolOutput};
use crate::config::{Config, ToolsConfig};
use crate::events::EventBus;
use crate::store::now_ms;

/// How long past the deadline a backend may take to stop on its own before the executor drops
/// it.
const BACKEND_GRACE: Duration = Duration::from_millis(100);

/// A finished call.
#[derive(Debug)]
pub struct ToolOutcome {
    pub call_id: String,
    pub output: ToolOutput,
    pub duration_ms: f64,
}

/// Why a call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no tool named `{0}`")]
    NotFound(String),
    #[error("tool `{0}` is disabled")]
    Disabled(String),
    #[error("tool `{0}` is dangerous and dangerous tools are not allowed")]
    Dangerous(String),
    #[error("tool `{0}` is for the admin only")]
    AdminOnly(String),
    #[error("args must be a JSON object")]
    ArgsNotObject,
    #[error("arguments do not match the input schema of `{name}`")]
    InvalidArguments { name: String, errors: Vec<String> },
    #[error(transparent)]
    Tool(#[from] ToolError),
}

/// Names a failure for logs and metrics (the API's error code; supplied by `api/`, which owns
/// the codes).
pub type CodeOf = fn(&ExecError) -> &'static str;

/// Whether the policy lets a tool run at all (listing shows this as `enabled`).
pub fn is_enabled(tool: &RegisteredTool, config: &ToolsConfig) -> bool {
    let name = &tool.name;
    if !tool.provider_enabled || config.disabled_tools.iter().any(|t| t == name) {
        return false;
    }
    if let Some(category) = &tool.spec.category
        && config.disabled_categories.contains(category)
    {
        return false;
    }
    match (&config.enabled_categories, &tool.spec.category) {
        (None, _) => true,
        (Some(enabled), Some(category)) => enabled.iter().any(|c| c == category),
        (Some(_), None) => true,
    }
}

pub fn is_dangerous(tool: &RegisteredTool, config: &ToolsConfig) -> bool {
    tool.spec.dangerous || config.dangerous_tools.contains(&tool.name)
}

pub fn is_admin_only(tool: &RegisteredTool, config: &ToolsConfig) -> bool {
    config.admin_only_tools.contains(&tool.name)
}

/// Runs tools for every caller (REST, chat, skills, MCP). Nothing else can reach a backend.
pub struct ToolExecutor {
    registry: Arc<ToolRegistry>,
    logs: ToolLogQueue,
    events: Arc<EventBus>,
    code_of: CodeOf,
}

impl ToolExecutor {
    pub fn new(
        registry: Arc<ToolRegistry>,
        logs: ToolLogQueue,
        events: Arc<EventBus>,
        code_of: CodeOf,
    ) -> Self {
        Self {
            registry,
            logs,
            events,
            code_of,
        }
    }

    /// The API code of a failure (what a chat hands the model as the tool's error).
    pub fn code(&self, err: &ExecError) -> &'static str {
        (self.code_of)(err)
    }

    /// Runs tool `name` with `args` for `invocation` under `config` (a snapshot the caller
    /// took: the tools policy and the backends' limits).
    pub async fn call(
        &self,
        name: &str,
        args: Value,
        invocation: &Invocation,
        config: &Config,
    ) -> Result<ToolOutcome, ExecError> {
        let started = Instant::now();
        let call_id = uuid::Uuid::new_v4().to_string();
        let tool = self.registry.get(name);
        let source = tool.as_ref().map_or("unknown", |t| t.source_name());
        // Debug level: at the default `info` filter it costs nothing on the call path (an
        // enabled span formats and stores its fields on every call).
        let span = tracing::debug_span!(
            "tool_call",
            tool = name,
            source,
            call_id = %call_id,
            origin = invocation.origin.as_str(),
            outcome = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
        );
        let (result, tool_logs) = match &tool {
            None => (Err(ExecError::NotFound(name.to_owned())), Vec::new()),
            Some(tool) => {
                self.run(tool, &args, &call_id, invocation, config)
                    .instrument(span.clone())
                    .await
            }
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let outcome_label = match &result {
            Ok(_) => "ok",
            Err(err) => (self.code_of)(err),
        };
        span.record("outcome", outcome_label);
        span.record("duration_ms", duration_ms);
        // Only registered names become labels: invented names must not create series.
        let tool_label = match &tool {
            Some(_) => metrics::SharedString::from(name.to_owned()),
            None => metrics::SharedString::const_str("unknown"),
        };
        metrics::counter!("chatai_tool_calls_total", "tool" => tool_label.clone(), "outcome" => outcome_label).increment(1);
        metrics::histogram!("chatai_tool_call_duration_seconds", "tool" => tool_label)
            .record(duration_ms / 1000.0);
        self.logs.push(ToolLogEntry {
            id: call_id.clone(),
            tool_name: name.to_owned(),
            args: super::logs::logged_args(args),
            result: result.as_ref().ok().map(|output| {
                let mut text = output.text();
                truncate(&mut text, 4096);
                text
            }),
            success: result.is_ok(),
            error: result
                .as_ref()
                .err()
                .map(|err| format!("{}: {err}", (self.code_of)(err))),
            user_id: invocation.user_id.clone(),
            group_id: invocation.group_id.clone(),
            caller: invocation.caller_id.clone(),
            source: source.to_owned(),
            duration_ms,
            timestamp: now_ms(),
            seq: super::logs::next_seq(),
            logs: tool_logs,
        });
        result.map(|output| ToolOutcome {
            call_id,
            output,
            duration_ms,
        })
    }

    async fn run(
        &self,
        tool: &RegisteredTool,
        args: &Value,
        call_id: &str,
        invocation: &Invocation,
        full: &Config,
    ) -> (Result<ToolOutput, ExecError>, Vec<String>) {
        let refused = |err| (Err(err), Vec::new());
        let config = &full.tools;
        let name = &tool.name;
        if !is_enabled(tool, config) {
            return refused(ExecError::Disabled(name.clone()));
        }
        if is_dangerous(tool, config) && !config.allow_dangerous {
            return refused(ExecError::Dangerous(name.clone()));
        }
        if is_admin_only(tool, config) && !invocation.admin {
            return refused(ExecError::AdminOnly(name.clone()));
        }
        if !args.is_object() {
            return refused(ExecError::ArgsNotObject);
        }
        let errors = super::spec::argument_errors(&tool.validator, args);
        if !errors.is_empty() {
            return refused(ExecError::InvalidArguments {
                name: name.clone(),
                errors,
            });
        }
        let ceiling = Duration::from_millis(config.call_timeout_ms);
        let deadline = invocation
            .remaining()
            .map_or(ceiling, |left| left.min(ceiling));
        let call = CallContext {
            invocation,
            config: full,
            call_id,
            deadline: Some(deadline),
            progress: Progress::new(self.events.clone(), call_id, name, invocation),
        };
        // The backend should stop at `deadline` itself (and keep the tool's logs); this bounds
        // one that does not (a hung MCP server, say), a moment later. Dropping its future is
        // how it is cancelled.
        let bound = deadline + BACKEND_GRACE;
        match tokio::time::timeout(bound, tool.backend.run(&tool.spec, args, &call)).await {
            Ok(ran) => (ran.result.map_err(ExecError::from), ran.logs),
            Err(_) => (
                Err(ExecError::Tool(ToolError::Timeout(deadline))),
                Vec::new(),
            ),
        }
    }
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
}
