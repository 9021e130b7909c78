//! One skill run: its host imports (tool calls through the executor as the caller, LLM calls
//! through channel selection with the caller's preset), its caps, and its steps.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use super::{Caps, SkillRuntime};
use crate::chat::ChatError;
use crate::config::Config;
use crate::events::{Event, EventBus, SkillProgress};
use crate::extensions::{ImportFuture, SkillImports, SkillMessage};
use crate::llm::{Message, Role};
use crate::tools::{Invocation, Origin, Progress, ToolError};

/// Log lines and progress reports a run turns into steps; more are kept in the call's log only.
/// With the default caps on tool and LLM calls this keeps one run's `skill_progress` events within an
/// event subscriber's buffer (256), so a burst of one run never costs a live listener its place.
const MAX_NOTES: usize = 200;
/// Characters of a tool result or an LLM answer a step shows.
const STEP_TEXT: usize = 2000;

/// One thing a skill did, in order (`index` from 0).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Step {
    #[serde(rename_all = "camelCase")]
    Tool {
        index: usize,
        name: String,
        args: Value,
        ok: bool,
        /// The tool's text (cut to 2,000 characters).
        result: Option<String>,
        /// `CODE: message` of a failed call.
        error: Option<String>,
        duration_ms: f64,
    },
    #[serde(rename_all = "camelCase")]
    Llm {
        index: usize,
        model: Option<String>,
        channel: Option<String>,
        /// Messages sent.
        messages: usize,
        ok: bool,
        /// The answer (cut to 2,000 characters).
        content: Option<String>,
        error: Option<String>,
        prompt_tokens: u64,
        completion_tokens: u64,
        duration_ms: f64,
    },
    Log {
        index: usize,
        level: &'static str,
        message: String,
    },
    Progress {
        index: usize,
        done: u32,
        total: Option<u32>,
        message: String,
    },
}

/// A run as the bus knows it: where its steps are published (`skill_progress`), under which
/// run id, skill and caller.
pub struct StepEvents {
    pub bus: Arc<EventBus>,
    pub run_id: String,
    pub skill: String,
    pub caller: String,
}

/// What a run starts from.
pub struct RunSetup<'a> {
    pub caller: &'a Invocation,
    /// The run's deadline (never past the caller's).
    pub deadline: Instant,
    pub caps: Caps,
    /// The skill call's progress: its steps reach the caller's sink (a chat stream, a run's
    /// SSE) through it.
    pub progress: Progress,
    pub config: Arc<Config>,
    pub events: StepEvents,
}

pub struct SkillRun {
    runtime: SkillRuntime,
    /// The caller's invocation as the skill's tool calls carry it: same caller, permissions,
    /// user, group and preset; origin `skill`; one level deeper; the run's deadline.
    inner: Invocation,
    caps: Caps,
    config: Arc<Config>,
    progress: Progress,
    events: StepEvents,
    tool_calls: AtomicU32,
    llm_calls: AtomicU32,
    tokens: AtomicU64,
    steps: AtomicUsize,
    notes: AtomicUsize,
    stop: Mutex<Option<(&'static str, String)>>,
}

impl SkillRun {
    pub fn new(runtime: SkillRuntime, setup: RunSetup<'_>) -> Self {
        let mut inner = setup.caller.clone();
        inner.origin = Origin::Skill;
        inner.depth = setup.caller.depth.saturating_add(1);
        inner.deadline = Some(setup.deadline);
        inner.progress = None;
        Self {
            runtime,
            inner,
            caps: setup.caps,
            config: setup.config,
            progress: setup.progress,
            events: setup.events,
            tool_calls: AtomicU32::new(0),
            llm_calls: AtomicU32::new(0),
            tokens: AtomicU64::new(0),
            steps: AtomicUsize::new(0),
            notes: AtomicUsize::new(0),
            stop: Mutex::new(None),
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps.load(Ordering::Relaxed)
    }

    fn stop_with(&self, limit: &'static str, message: String) -> String {
        let mut stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        stop.get_or_insert((limit, message.clone()));
        message
    }

    /// Counts one more use of `limit`; past `max` the run is stopped.
    fn take(
        &self,
        counter: &AtomicU32,
        max: u32,
        limit: &'static str,
        what: &str,
    ) -> Result<(), String> {
        let used = counter.fetch_add(1, Ordering::Relaxed) + 1;
        if used > max {
            return Err(self.stop_with(
                limit,
                format!(
                    "skill `{}` passed its cap of {max} {what} (skills.max_{limit} or its manifest)",
                    self.events.skill
                ),
            ));
        }
        Ok(())
    }

    /// Records a step: the caller's sink and the bus see it at once.
    fn record(&self, make: impl FnOnce(usize) -> Step, message: String) {
        let index = self.steps.fetch_add(1, Ordering::Relaxed);
        let step = serde_json::to_value(make(index)).unwrap_or(Value::Null);
        self.progress.step_to_caller(
            u32::try_from(index + 1).unwrap_or(u32::MAX),
            None,
            message,
            step.clone(),
        );
        self.events.bus.publish(Event::SkillProgress(SkillProgress {
            run_id: self.events.run_id.clone(),
            skill: self.events.skill.clone(),
            caller: self.events.caller.clone(),
            step,
        }));
    }

    /// Whether another log line or progress report becomes a step.
    fn note_allowed(&self) -> bool {
        self.notes.fetch_add(1, Ordering::Relaxed) < MAX_NOTES
    }

    async fn run_tool(&self, name: String, args: String) -> Result<String, String> {
        self.take(
            &self.tool_calls,
            self.caps.max_tool_calls,
            "tool_calls",
            "tool calls",
        )?;
        let started = Instant::now();
        let args: Value = match serde_json::from_str(&args) {
            Ok(args) => args,
            Err(err) => {
                return Err(format!(
                    "INVALID_ARGUMENTS: the arguments are not JSON: {err}"
                ));
            }
        };
        let outcome = match (self.runtime.hub.upgrade(), self.runtime.chat.upgrade()) {
            (Some(hub), Some(chat)) => {
                if chat.permits(
                    self.inner.preset_id.as_deref(),
                    self.inner.group_id.as_deref(),
                    &name,
                ) {
                    hub.executor
                        .call(&name, args.clone(), &self.inner, &self.config)
                        .await
                        .map(|outcome| call_result(&outcome.output))
                        .map_err(|err| format!("{}: {err}", hub.executor.code(&err)))
                } else {
                    Err(format!(
                        "TOOL_NOT_PERMITTED: the caller's preset or group does not allow tool `{name}`"
                    ))
                }
            }
            _ => Err("UNAVAILABLE: the server is shutting down".to_owned()),
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let message = match &outcome {
            Ok(_) => format!("tool {name}"),
            Err(err) => format!("tool {name} failed: {err}"),
        };
        let (result, error) = match &outcome {
            Ok(value) => (
                Some(cut(value.get("text").and_then(Value::as_str).unwrap_or(""))),
                None,
            ),
            Err(err) => (None, Some(err.clone())),
        };
        self.record(
            |index| Step::Tool {
                index,
                name,
                args,
                ok: error.is_none(),
                result,
                error,
                duration_ms,
            },
            message,
        );
        outcome.map(|value| value.to_string())
    }

    async fn run_llm(
        &self,
        messages: Vec<SkillMessage>,
        model: Option<String>,
    ) -> Result<String, String> {
        self.take(
            &self.llm_calls,
            self.caps.max_llm_calls,
            "llm_calls",
            "LLM calls",
        )?;
        let spent = self.tokens.load(Ordering::Relaxed);
        if spent >= self.caps.max_tokens {
            return Err(self.stop_with(
                "tokens",
                format!(
                    "skill `{}` spent {spent} tokens, its cap is {} (skills.max_tokens or its manifest)",
                    self.events.skill, self.caps.max_tokens
                ),
            ));
        }
        let started = Instant::now();
        let count = messages.len();
        let outcome = match to_messages(messages) {
            Err(err) => Err(err),
            Ok(messages) => match self.runtime.chat.upgrade() {
                None => Err("UNAVAILABLE: the server is shutting down".to_owned()),
                Some(chat) => {
                    let left = u32::try_from(self.caps.max_tokens - spent).unwrap_or(u32::MAX);
                    chat.complete(
                        messages,
                        model.as_deref(),
                        self.inner.preset_id.as_deref(),
                        Some(left),
                    )
                    .await
                    .map_err(describe)
                }
            },
        };
        let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let usage = outcome
            .as_ref()
            .map(|answer| answer.completion.usage)
            .unwrap_or_default();
        self.tokens.fetch_add(
            usage.prompt_tokens + usage.completion_tokens,
            Ordering::Relaxed,
        );
        if let Some(meter) = &self.inner.tokens {
            meter.add(usage.prompt_tokens, usage.completion_tokens);
        }
        let (model_used, channel, content, error) = match &outcome {
            Ok(answer) => (
                Some(answer.model.clone()),
                Some(answer.channel.clone()),
                Some(cut(&answer.completion.content)),
                None,
            ),
            Err(err) => (model.clone(), None, None, Some(err.clone())),
        };
        let message = match &error {
            None => format!("llm {}", model_used.as_deref().unwrap_or("")),
            Some(err) => format!("llm failed: {err}"),
        };
        self.record(
            |index| Step::Llm {
                index,
                model: model_used,
                channel,
                messages: count,
                ok: error.is_none(),
                content,
                error,
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                duration_ms,
            },
            message,
        );
        outcome.map(|answer| answer.completion.content)
    }
}

impl SkillImports for SkillRun {
    fn call_tool(&self, name: String, args: String) -> ImportFuture<'_> {
        Box::pin(self.run_tool(name, args))
    }

    fn complete(&self, messages: Vec<SkillMessage>, model: Option<String>) -> ImportFuture<'_> {
        Box::pin(self.run_llm(messages, model))
    }

    fn log(&self, level: &'static str, message: &str) {
        if self.note_allowed() {
            let message = message.to_owned();
            self.record(
                |index| Step::Log {
                    index,
                    level,
                    message: message.clone(),
                },
                message.clone(),
            );
        }
    }

    fn progress(&self, done: u32, total: Option<u32>, message: &str) {
        if self.note_allowed() {
            let text = message.to_owned();
            self.record(
                |index| Step::Progress {
                    index,
                    done,
                    total,
                    message: text.clone(),
                },
                text.clone(),
            );
        }
    }

    fn stopped(&self) -> Option<ToolError> {
        let stop = self.stop.lock().unwrap_or_else(|p| p.into_inner());
        stop.as_ref()
            .map(|(limit, message)| ToolError::LimitExceeded {
                limit,
                message: message.clone(),
            })
    }
}

/// A tool's result as `call-tool` hands it to the skill: `{text, structured}`.
fn call_result(output: &crate::tools::ToolOutput) -> Value {
    serde_json::json!({ "text": output.text(), "structured": output.structured })
}

/// A skill's messages for the LLM (roles `system`, `user`, `assistant`).
fn to_messages(messages: Vec<SkillMessage>) -> Result<Vec<Message>, String> {
    messages
        .into_iter()
        .map(|m| {
            let role = match m.role.as_str() {
                "system" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(format!(
                        "INVALID_ARGUMENTS: message role `{other}` must be system, user or assistant"
                    ));
                }
            };
            Ok(Message::text(role, m.content))
        })
        .collect()
}

/// `CODE: message` of a failed LLM call, as the skill sees it.
fn describe(err: ChatError) -> String {
    match &err {
        ChatError::AllFailed(attempts) => {
            let tried: Vec<String> = attempts
                .iter()
                .map(|a| format!("{} ({}): {}", a.channel, a.model, a.message))
                .collect();
            format!("API_ERROR: every channel failed: {}", tried.join("; "))
        }
        ChatError::NoChannel(_) => format!("CHANNEL_UNAVAILABLE: {err}"),
        ChatError::UnknownPreset(_) => format!("NOT_FOUND: {err}"),
        _ => format!("API_ERROR: {err}"),
    }
}

/// The first [`STEP_TEXT`] characters.
fn cut(text: &str) -> String {
    match text.char_indices().nth(STEP_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
