//! Who runs a tool, from where, and within what time: what every caller hands the executor.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::events::{Event, EventBus, ToolProgress};

/// What kind of caller this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    /// An admin logged in through a login link (cookie or bearer session).
    AdminSession,
    ApiKey,
    /// A chat user on whose behalf the bot calls tools.
    ChatUser,
    McpClient,
    Skill,
}

/// Which entry point the call came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Rest,
    Chat,
    Mcp,
    Skill,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Rest => "rest",
            Origin::Chat => "chat",
            Origin::Mcp => "mcp",
            Origin::Skill => "skill",
        }
    }
}

/// Receives a call's progress reports besides the event bus (a chat stream, a skill's steps).
pub type ProgressSink = Arc<dyn Fn(&ToolProgress) + Send + Sync>;

/// One call's caller and context. Build it where the call enters the server; the executor
/// decides on it (admin-only tools, logs, deadline) and backends see it.
#[derive(Clone)]
pub struct Invocation {
    /// The caller's id (API key id, `admin`, chat user id, …), logged with the call.
    pub caller_id: String,
    pub caller_kind: CallerKind,
    /// May run admin-only tools.
    pub admin: bool,
    pub origin: Origin,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub conversation_id: Option<String>,
    /// The caller's own deadline (a chat turn, a skill run); the tool's limit applies too.
    pub deadline: Option<Instant>,
    pub progress: Option<ProgressSink>,
    /// The preset in force (a chat's): a skill's LLM calls use its model and settings, and
    /// its tool calls obey the preset's tool lists.
    pub preset_id: Option<String>,
    /// Skills this call runs inside (0: called directly).
    pub depth: u8,
    /// Where LLM tokens spent on the caller's behalf (by a skill) are counted.
    pub tokens: Option<Arc<TokenMeter>>,
}

/// Tokens spent for one caller, by however many skills at once.
#[derive(Debug, Default)]
pub struct TokenMeter {
    prompt: AtomicU64,
    completion: AtomicU64,
}

impl TokenMeter {
    pub fn add(&self, prompt: u64, completion: u64) {
        self.prompt.fetch_add(prompt, Ordering::Relaxed);
        self.completion.fetch_add(completion, Ordering::Relaxed);
    }

    /// `(prompt, completion)` so far.
    pub fn spent(&self) -> (u64, u64) {
        (
            self.prompt.load(Ordering::Relaxed),
            self.completion.load(Ordering::Relaxed),
        )
    }
}

impl std::fmt::Debug for Invocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invocation")
            .field("caller_id", &self.caller_id)
            .field("caller_kind", &self.caller_kind)
            .field("admin", &self.admin)
            .field("origin", &self.origin)
            .field("user_id", &self.user_id)
            .field("group_id", &self.group_id)
            .field("conversation_id", &self.conversation_id)
            .field("deadline", &self.deadline)
            .field("preset_id", &self.preset_id)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl Invocation {
    /// A caller with no user, group, conversation, deadline or progress sink.
    pub fn new(
        caller_id: impl Into<String>,
        caller_kind: CallerKind,
        admin: bool,
        origin: Origin,
    ) -> Self {
        Self {
            caller_id: caller_id.into(),
            caller_kind,
            admin,
            origin,
            user_id: None,
            group_id: None,
            conversation_id: None,
            deadline: None,
            progress: None,
            preset_id: None,
            depth: 0,
            tokens: None,
        }
    }

    /// Time left before the caller's deadline (`None`: the caller set none).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|at| at.saturating_duration_since(Instant::now()))
    }
}

/// What a backend gets besides the spec and the arguments: the invocation, this call's id,
/// the time it may take, and where to report progress.
pub struct CallContext<'a> {
    pub invocation: &'a Invocation,
    /// The configuration in force for this call (limits are read from it per call).
    pub config: &'a Config,
    pub call_id: &'a str,
    /// The caller's remaining deadline, if any; a backend applies the shorter of it and its own
    /// limit.
    pub deadline: Option<Duration>,
    pub progress: Progress,
}

/// Reports a running call's progress: a `tool_progress` event on the bus and the invocation's
/// sink. Cheap to clone; safe to keep past the call (reports then go nowhere useful).
#[derive(Clone)]
pub struct Progress {
    bus: Arc<EventBus>,
    call_id: Arc<str>,
    tool: Arc<str>,
    caller: Arc<str>,
    sink: Option<ProgressSink>,
}

impl Progress {
    pub(super) fn new(
        bus: Arc<EventBus>,
        call_id: &str,
        tool: &str,
        invocation: &Invocation,
    ) -> Self {
        Self {
            bus,
            call_id: call_id.into(),
            tool: tool.into(),
            caller: invocation.caller_id.as_str().into(),
            sink: invocation.progress.clone(),
        }
    }

    /// A progress report: to the caller's sink and, as `tool_progress`, to the bus.
    pub fn report(&self, done: u32, total: Option<u32>, message: String) {
        let event = self.event(done, total, message, None);
        if let Some(sink) = &self.sink {
            sink(&event);
        }
        self.bus.publish(Event::ToolProgress(event));
    }

    /// A skill's step (a tool call, LLM call, log line, progress report), for the caller's sink
    /// only: the bus gets it from the skill run as `skill_progress`.
    pub fn step_to_caller(
        &self,
        done: u32,
        total: Option<u32>,
        message: String,
        step: serde_json::Value,
    ) {
        if let Some(sink) = &self.sink {
            sink(&self.event(done, total, message, Some(step)));
        }
    }

    fn event(
        &self,
        done: u32,
        total: Option<u32>,
        message: String,
        step: Option<serde_json::Value>,
    ) -> ToolProgress {
        ToolProgress {
            call_id: self.call_id.to_string(),
            tool: self.tool.to_string(),
            caller: self.caller.to_string(),
            done,
            total,
            message,
            step,
        }
    }
}
