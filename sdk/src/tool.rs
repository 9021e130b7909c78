//! The [`Tool`] trait and what a call sees.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::Output;
use crate::bindings::chatai::extension::types as wit;

/// One tool. Implement it on a unit struct and list the struct in [`crate::export_tools!`];
/// [`#[tool]`](crate::tool) writes the impl for you from a function.
///
/// ```no_run
/// use chatai_sdk::schemars::{self, JsonSchema};
/// use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
/// use serde::Deserialize;
///
/// /// Deletes a file on the user's storage: dangerous, so it runs only where the admin
/// /// allows dangerous tools.
/// pub struct Wipe;
///
/// #[derive(Deserialize, JsonSchema)]
/// pub struct WipeArgs {
///     /// The file's path.
///     path: String,
/// }
///
/// impl Tool for Wipe {
///     const NAME: &'static str = "wipe";
///     const DESCRIPTION: &'static str = "Deletes a file";
///     const CATEGORY: Option<&'static str> = Some("files");
///     const DANGEROUS: bool = true;
///     type Args = WipeArgs;
///
///     fn call(args: WipeArgs, ctx: &Context) -> Result<Output, ToolError> {
///         if ctx.user_id.is_none() {
///             return Err(ToolError::Denied("only for a signed-in user".into()));
///         }
///         Err(ToolError::NotFound(args.path))
///     }
/// }
///
/// export_tools!(Wipe);
/// ```
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

/// Who calls, and how much time is left. A tool gets it as `call`'s second argument (or as a
/// `&Context` parameter of a [`#[tool]`](crate::tool) function).
///
/// ```
/// use chatai_sdk::Context;
///
/// fn who(ctx: &Context) -> String {
///     match (&ctx.user_id, &ctx.group_id) {
///         (Some(user), Some(group)) => format!("{user} in {group}"),
///         (Some(user), None) => user.clone(),
///         _ => "someone".into(),
///     }
/// }
///
/// let ctx = Context {
///     call_id: "c1".into(),
///     user_id: Some("ada".into()),
///     group_id: None,
///     conversation_id: None,
///     deadline_ms: 5000,
/// };
/// assert_eq!(who(&ctx), "ada");
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    /// This call's id (in the server's tool log and its events).
    pub call_id: String,
    /// The user the call is made for, when known (a chat user, an API caller's `userId`).
    pub user_id: Option<String>,
    /// The group the call is made in, when it comes from a group chat.
    pub group_id: Option<String>,
    /// The conversation of a chat's tool call.
    pub conversation_id: Option<String>,
    /// Wall-clock milliseconds left for this call.
    pub deadline_ms: u64,
}

/// A tool's own failure: the server answers `InvalidArgs` with 400 `INVALID_ARGUMENTS` and the
/// others with 422 `TOOL_ERROR`, each with the message.
///
/// ```
/// use chatai_sdk::ToolError;
///
/// fn parse_percent(text: &str) -> Result<u8, ToolError> {
///     let value: u8 = text
///         .parse()
///         .map_err(|_| ToolError::InvalidArgs(format!("`{text}` is not a number")))?;
///     if value > 100 {
///         return Err(ToolError::InvalidArgs("at most 100".into()));
///     }
///     Ok(value)
/// }
///
/// assert_eq!(parse_percent("42"), Ok(42));
/// let err = parse_percent("150").unwrap_err();
/// assert_eq!(err.to_string(), "invalid arguments: at most 100");
/// ```
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
pub(crate) fn input_schema<T: Tool>() -> serde_json::Value {
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
