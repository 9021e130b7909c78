//! Skills: multi-step agents that use tools and the LLM through the host.
//!
//! A skill is a type implementing [`Skill`] and exported with [`crate::export_skill!`] (one
//! skill per component). Inside [`Skill::run`], [`call_tool`] runs any tool the caller may use
//! (through the server's executor, with the caller's permissions) and [`complete`] asks the
//! LLM (through the server's channels, with the caller's preset). The server caps each run's
//! tool calls, LLM calls, tokens and time; past a cap the run is stopped.
//!
//! ```no_run
//! use chatai_sdk::skill::{Message, call_tool, complete};
//!
//! let page = call_tool("web_fetch", &serde_json::json!({ "url": "https://example.com" }))?;
//! let summary = complete(&[
//!     Message::system("Summarise in one sentence."),
//!     Message::user(page.text),
//! ])?;
//! # Ok::<(), String>(())
//! ```

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings_skill::chatai::extension::skill_host;
use crate::{Context, Output, ToolError};

/// One skill. Implement it on a unit struct and export it with [`crate::export_skill!`].
///
/// ```no_run
/// use chatai_sdk::schemars::{self, JsonSchema};
/// use chatai_sdk::skill::{Message, call_tool, complete};
/// use chatai_sdk::{Context, Output, Skill, ToolError, export_skill, host};
/// use serde::Deserialize;
///
/// pub struct Explain;
///
/// #[derive(Deserialize, JsonSchema)]
/// pub struct Input {
///     /// An arithmetic expression, e.g. "6 * 7".
///     expression: String,
/// }
///
/// impl Skill for Explain {
///     const NAME: &'static str = "explain_sum";
///     const DESCRIPTION: &'static str = "Computes an expression and explains the result";
///     type Input = Input;
///
///     fn run(input: Input, _ctx: &Context) -> Result<Output, ToolError> {
///         host::progress(0, Some(2), "computing");
///         let value = call_tool("calculator", &serde_json::json!({ "expression": input.expression }))
///             .map_err(ToolError::Failed)?;
///         host::progress(1, Some(2), "explaining");
///         let text = complete(&[
///             Message::system("Explain the calculation in one sentence."),
///             Message::user(format!("{} = {}", input.expression, value.text)),
///         ])
///         .map_err(ToolError::Failed)?;
///         Ok(Output::text(text))
///     }
/// }
///
/// export_skill!(Explain);
/// ```
pub trait Skill {
    /// Unique across the server's tools and skills: `^[a-z][a-z0-9_]{0,63}$`.
    const NAME: &'static str;
    /// What the skill does; the chat model reads this to decide when to use it.
    const DESCRIPTION: &'static str;
    /// The input; its JSON Schema (from `schemars`) is what the host validates against.
    type Input: DeserializeOwned + JsonSchema;

    /// Runs the skill.
    fn run(input: Self::Input, ctx: &Context) -> Result<Output, ToolError>;
}

/// What a tool call returned.
///
/// ```
/// use chatai_sdk::skill::ToolResult;
///
/// fn celsius(result: &ToolResult) -> Option<f64> {
///     result.structured.as_ref()?.get("celsius")?.as_f64()
/// }
///
/// let result = ToolResult {
///     text: "21 °C".into(),
///     structured: Some(serde_json::json!({ "celsius": 21.0 })),
/// };
/// assert_eq!(celsius(&result), Some(21.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The text parts joined (JSON parts as JSON text).
    pub text: String,
    /// The structured result, when the tool gives one.
    pub structured: Option<serde_json::Value>,
}

/// Runs tool `name` with `args` as the skill's caller. `Err` is `CODE: message` (e.g.
/// `TOOL_NOT_FOUND: …`, `FORBIDDEN: …`, `TOOL_ERROR: …`).
///
/// ```no_run
/// let sum = chatai_sdk::skill::call_tool("calculator", &serde_json::json!({"expression": "6*7"}));
/// ```
pub fn call_tool<A: Serialize>(name: &str, args: &A) -> Result<ToolResult, String> {
    let args = serde_json::to_string(args).map_err(|err| err.to_string())?;
    let answer = skill_host::call_tool(name, &args)?;
    let value: serde_json::Value =
        serde_json::from_str(&answer).map_err(|err| format!("the host answered: {err}"))?;
    Ok(ToolResult {
        text: value["text"].as_str().unwrap_or_default().to_owned(),
        structured: value.get("structured").filter(|s| !s.is_null()).cloned(),
    })
}

/// A message to the LLM.
///
/// ```
/// use chatai_sdk::skill::Message;
///
/// let conversation = [
///     Message::system("Answer in French."),
///     Message::user("Hello"),
///     Message::assistant("Bonjour"),
///     Message::user("How are you?"),
/// ];
/// assert_eq!(conversation[1].role, "user");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// An instruction to the model.
    ///
    /// ```
    /// let rule = chatai_sdk::skill::Message::system("Be brief.");
    /// assert_eq!(rule.role, "system");
    /// ```
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    /// What the user says.
    ///
    /// ```
    /// let question = chatai_sdk::skill::Message::user("What is 6 × 7?");
    /// assert_eq!(question.content, "What is 6 × 7?");
    /// ```
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    /// What the model said before (for a few-shot example or a conversation).
    ///
    /// ```
    /// let earlier = chatai_sdk::skill::Message::assistant("42");
    /// assert_eq!(earlier.role, "assistant");
    /// ```
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }

    fn new(role: &str, content: impl Into<String>) -> Self {
        Self {
            role: role.to_owned(),
            content: content.into(),
        }
    }
}

/// Asks the LLM (the caller's preset's model, or the server's default) and returns its answer.
///
/// ```no_run
/// use chatai_sdk::skill::{Message, complete};
/// let answer = complete(&[Message::system("Be brief."), Message::user("Hi")]);
/// ```
pub fn complete(messages: &[Message]) -> Result<String, String> {
    complete_with(None, messages)
}

/// [`complete`] with a model of the caller's choosing (a model of one of the server's
/// channels; `None` is the preset's).
///
/// ```no_run
/// use chatai_sdk::skill::{Message, complete_with};
/// let answer = complete_with(Some("gpt-4o-mini"), &[Message::user("Hi")]);
/// ```
pub fn complete_with(model: Option<&str>, messages: &[Message]) -> Result<String, String> {
    let messages: Vec<skill_host::ChatMessage> = messages
        .iter()
        .map(|m| skill_host::ChatMessage {
            role: m.role.clone(),
            content: m.content.clone(),
        })
        .collect();
    skill_host::complete(&messages, model)
}
