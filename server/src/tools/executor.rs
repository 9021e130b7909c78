//! The one path every tool call takes: lookup → policy → argument validation → sandboxed run
//! → result → log record (queued).

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::logs::{ToolLogEntry, ToolLogQueue};
use super::registry::{RegisteredTool, ToolRegistry};
use crate::auth::Principal;
use crate::config::ToolsConfig;
use crate::extensions::{CallError, CallOutput, Caller, ExtensionHost};
use crate::store::now_ms;

/// A request to run a tool.
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub name: String,
    pub args: Value,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub conversation_id: Option<String>,
}

/// A finished call.
#[derive(Debug)]
pub struct ToolOutcome {
    pub call_id: String,
    pub output: CallOutput,
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
    #[error("arguments do not match the input schema of `{name}`")]
    InvalidArguments { name: String, errors: Vec<String> },
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Whether the policy lets a tool run at all (listing shows this as `enabled`).
pub fn is_enabled(tool: &RegisteredTool, config: &ToolsConfig) -> bool {
    let name = &tool.spec.name;
    if !tool.extension_enabled || config.disabled_tools.iter().any(|t| t == name) {
        return false;
    }
    match (&config.enabled_categories, &tool.spec.category) {
        (None, _) => true,
        (Some(enabled), Some(category)) => enabled.iter().any(|c| c == category),
        (Some(_), None) => true,
    }
}

pub fn is_dangerous(tool: &RegisteredTool, config: &ToolsConfig) -> bool {
    tool.spec.dangerous || config.dangerous_tools.contains(&tool.spec.name)
}

pub fn is_admin_only(tool: &RegisteredTool, config: &ToolsConfig) -> bool {
    config.admin_only_tools.contains(&tool.spec.name)
}

/// Runs tools for every caller (REST, chat, skills, MCP).
pub struct ToolExecutor {
    pub host: Arc<ExtensionHost>,
    pub registry: Arc<ToolRegistry>,
    logs: ToolLogQueue,
}

impl ToolExecutor {
    pub fn new(host: Arc<ExtensionHost>, registry: Arc<ToolRegistry>, logs: ToolLogQueue) -> Self {
        Self {
            host,
            registry,
            logs,
        }
    }

    pub async fn call(
        &self,
        call: ToolCall,
        principal: &Principal,
        config: &ToolsConfig,
    ) -> Result<ToolOutcome, ExecError> {
        let started = Instant::now();
        let call_id = uuid::Uuid::new_v4().to_string();
        let tool = self.registry.get(&call.name);
        let (result, guest_logs) = match &tool {
            None => (Err(ExecError::NotFound(call.name.clone())), Vec::new()),
            Some(tool) => self.run(tool, &call, &call_id, principal, config).await,
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let outcome_label = match &result {
            Ok(_) => "ok",
            Err(err) => error_code(err),
        };
        // Only registered names become labels: invented names must not create series.
        let tool_label = match &tool {
            Some(_) => metrics::SharedString::from(call.name.clone()),
            None => metrics::SharedString::const_str("unknown"),
        };
        metrics::counter!("chatai_tool_calls_total", "tool" => tool_label.clone(), "outcome" => outcome_label).increment(1);
        metrics::histogram!("chatai_tool_call_duration_seconds", "tool" => tool_label)
            .record(duration_ms / 1000.0);
        self.logs.push(ToolLogEntry {
            id: call_id.clone(),
            tool_name: call.name.clone(),
            args: super::logs::logged_args(call.args),
            result: result.as_ref().ok().map(|output| {
                let mut text = text_of(output);
                truncate(&mut text, 4096);
                text
            }),
            success: result.is_ok(),
            error: result
                .as_ref()
                .err()
                .map(|err| format!("{}: {err}", error_code(err))),
            user_id: call.user_id,
            group_id: call.group_id,
            caller: principal.id.clone(),
            source: tool
                .map_or("unknown", |t| match t.source {
                    super::Source::Builtin => "builtin",
                    super::Source::Custom => "custom",
                    super::Source::Mcp => "mcp",
                })
                .to_owned(),
            duration_ms,
            timestamp: now_ms(),
            seq: super::logs::next_seq(),
            logs: guest_logs,
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
        call: &ToolCall,
        call_id: &str,
        principal: &Principal,
        config: &ToolsConfig,
    ) -> (Result<CallOutput, ExecError>, Vec<String>) {
        let refused = |err| (Err(err), Vec::new());
        let name = &tool.spec.name;
        if !is_enabled(tool, config) {
            return refused(ExecError::Disabled(name.clone()));
        }
        if is_dangerous(tool, config) && !config.allow_dangerous {
            return refused(ExecError::Dangerous(name.clone()));
        }
        if is_admin_only(tool, config) && !principal.is_admin() {
            return refused(ExecError::AdminOnly(name.clone()));
        }
        let errors: Vec<String> = tool
            .validator
            .iter_errors(&call.args)
            .map(|err| {
                let path = err.instance_path().to_string();
                if path.is_empty() {
                    err.to_string()
                } else {
                    format!("{path}: {err}")
                }
            })
            .collect();
        if !errors.is_empty() {
            return refused(ExecError::InvalidArguments {
                name: name.clone(),
                errors,
            });
        }
        let args = call.args.to_string();
        let caller = Caller {
            call_id: call_id.to_owned(),
            user_id: call.user_id.clone(),
            group_id: call.group_id.clone(),
            conversation_id: call.conversation_id.clone(),
        };
        let called = self.host.call(&tool.extension, name, args, &caller).await;
        (called.result.map_err(ExecError::from), called.logs)
    }
}

/// The API code of a failure (also the `outcome` label of the metrics).
pub fn error_code(err: &ExecError) -> &'static str {
    match err {
        ExecError::NotFound(_) => "TOOL_NOT_FOUND",
        ExecError::Disabled(_) => "TOOL_DISABLED",
        ExecError::Dangerous(_) => "TOOL_DANGEROUS",
        ExecError::AdminOnly(_) => "FORBIDDEN",
        ExecError::InvalidArguments { .. } => "INVALID_ARGUMENTS",
        ExecError::Call(call) => match call {
            CallError::InvalidArgs(_) => "INVALID_ARGUMENTS",
            CallError::ToolFailed(_) => "TOOL_ERROR",
            CallError::Timeout(_) => "TOOL_TIMEOUT",
            CallError::Trapped { .. } => "TOOL_TRAPPED",
            CallError::ResultTooLarge { .. } => "TOOL_RESULT_TOO_LARGE",
            CallError::InvalidOutput(_) => "TOOL_INVALID_OUTPUT",
            CallError::Busy(_) => "TOOL_BUSY",
        },
    }
}

/// The text parts joined (the seed's `result`); JSON parts as JSON text.
pub fn text_of(output: &CallOutput) -> String {
    output
        .content
        .iter()
        .filter_map(|part| match part {
            crate::extensions::ContentPart::Text(text) => Some(text.clone()),
            crate::extensions::ContentPart::Json(json) => Some(json.to_string()),
            crate::extensions::ContentPart::Image { .. } => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
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
