//! The [`Tool`] trait and what a call sees.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::Output;
use crate::bindings::chatai::extension::types as wit;

/// One tool. Implement it on a unit struct and list the struct in [`crate::export_tools!`].
pub trait Tool {
    /// Unique across the server: `^[a-z][a-z0-9_]{0,63}$`.
    const NAME: &'static str;
    /// What the tool does; the LLM reads this to decide when to call it.
    const DESCRIPTION: &'static str;
    /// Groups tools in listings (`GET /api/tools?category=`).
    const CATEGORY: Option<&'static str> = None;
    /// A dangerous tool runs only when the admin allows dangerous tools.
    const DANGEROUS: bool = false;
    /// The arguments; their JSON Schema (from `schemars`) is what the host validates against.
    type Args: DeserializeOwned + JsonSchema;

    /// Runs the tool. Return `Err(ToolError::…)` for the tool's own failures.
    fn call(args: Self::Args, ctx: &Context) -> Result<Output, ToolError>;
}

/// Who calls, and how much time is left.
#[derive(Debug, Clone)]
pub struct Context {
    pub call_id: String,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub conversation_id: Option<String>,
    /// Wall-clock milliseconds left for this call.
    pub deadline_ms: u64,
}

/// A tool's own failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolError {
    /// The arguments passed the schema but make no sense (reported as 400 `INVALID_ARGUMENTS`).
    InvalidArgs(String),
    /// Something the call refers to does not exist.
    NotFound(String),
    /// Not allowed (a capability is missing, a policy says no).
    Denied(String),
    /// Anything else.
    Failed(String),
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolError::InvalidArgs(m) => write!(f, "invalid arguments: {m}"),
            ToolError::NotFound(m) => write!(f, "not found: {m}"),
            ToolError::Denied(m) => write!(f, "denied: {m}"),
            ToolError::Failed(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for ToolError {}

/// The JSON Schema of a tool's arguments (an object schema).
pub fn input_schema<T: Tool>() -> serde_json::Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.root_schema_for::<T::Args>();
    schema.to_value()
}

pub(crate) fn error_into_wit(err: ToolError) -> wit::ToolError {
    match err {
        ToolError::InvalidArgs(m) => wit::ToolError::InvalidArgs(m),
        ToolError::NotFound(m) => wit::ToolError::NotFound(m),
        ToolError::Denied(m) => wit::ToolError::Denied(m),
        ToolError::Failed(m) => wit::ToolError::Failed(m),
    }
}
