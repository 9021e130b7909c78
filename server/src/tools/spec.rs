//! The tool vocabulary every backend speaks: what a tool is, what a call returns, how it fails.

use std::time::Duration;

/// A tool as its provider declares it (validated when the provider registers).
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    pub output_schema: Option<serde_json::Value>,
    pub category: Option<String>,
    pub dangerous: bool,
}

/// What a provider's tools are: plain tools, or skills (multi-step agents that call tools and
/// the LLM themselves). Skills are listed with the source `skill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    Tool,
    Skill,
}

/// One part of a tool's result.
#[derive(Debug, Clone)]
pub enum ContentPart {
    Text(String),
    Json(serde_json::Value),
    Image { mime_type: String, data: Vec<u8> },
}

/// What a successful call returns.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub content: Vec<ContentPart>,
    pub structured: Option<serde_json::Value>,
}

impl ToolOutput {
    /// The text parts joined (the seed's `result`); JSON parts as JSON text.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|part| match part {
                ContentPart::Text(text) => Some(text.clone()),
                ContentPart::Json(json) => Some(json.to_string()),
                ContentPart::Image { .. } => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// How a backend's run of a tool failed. Each kind has its own API code (mapped in `api/`).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("invalid arguments: {0}")]
    InvalidArgs(String),
    #[error("{0}")]
    Failed(String),
    #[error("the tool passed its deadline of {0:?} and was stopped")]
    Timeout(Duration),
    #[error("the tool trapped ({reason}): {message}")]
    Trapped {
        reason: &'static str,
        message: String,
    },
    #[error("the tool returned {size} bytes, over the limit of {limit}")]
    ResultTooLarge { size: usize, limit: usize },
    #[error("the tool returned invalid output: {0}")]
    InvalidOutput(String),
    #[error("the provider is at its concurrency limit of {0}")]
    Busy(u32),
    #[error("the provider is not available: {0}")]
    Unavailable(String),
    /// A skill passed one of its caps (tool calls, LLM calls, tokens, nesting) and was stopped.
    #[error("{message}")]
    LimitExceeded {
        /// `tool_calls`, `llm_calls`, `tokens` or `depth`.
        limit: &'static str,
        message: String,
    },
}

/// How a backend's run ended, with what the tool logged on the way (kept for failed runs too:
/// the output of a tool that trapped or ran out of time is what its author needs most).
#[derive(Debug)]
pub struct Ran {
    pub result: Result<ToolOutput, ToolError>,
    /// Lines the tool logged, capped by the backend.
    pub logs: Vec<String>,
}

/// Where `args` breaks a tool's input schema, one line per violation (`/path: problem`).
pub fn argument_errors(validator: &jsonschema::Validator, args: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(args)
        .map(|err| {
            let path = err.instance_path().to_string();
            if path.is_empty() {
                err.to_string()
            } else {
                format!("{path}: {err}")
            }
        })
        .collect()
}
