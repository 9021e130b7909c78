//! Skills: multi-step agents that use tools and the LLM through the host.
//!
//! A skill is a type implementing [`Skill`] and exported with [`crate::export_skill!`] (one
//! skill per component). Inside [`Skill::run`], [`call_tool`] runs any tool the caller may use
//! (through the server's executor, with the caller's permissions) and [`complete`] asks the
//! LLM (through the server's channels, with the caller's preset). The server caps each run's
//! tool calls, LLM calls, tokens and time; past a cap the run is stopped.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings_skill::chatai::extension::skill_host;
use crate::{Context, Output, ToolError};

/// One skill. Implement it on a unit struct and export it with [`crate::export_skill!`].
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

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

/// [`complete`] with a model of the caller's choosing.
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
