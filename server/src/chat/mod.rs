//! Chat: a user's message in, the bot's answer out. Picks the preset and the conversation,
//! builds the context, runs the LLM ⇄ tool loop ([`turn`]) over the channels with failover, and
//! stores the complete turn.

mod admission;
mod complete;
mod locks;
mod offer;
pub mod presets;
mod turn;

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::channels::{ChannelService, NoChannel};
use crate::config::ConfigService;
use crate::groups::{Effective, GroupService};
use crate::llm::{UpstreamError, Usage};
use crate::store::{Store, StoreError};
use crate::tools::ToolHub;

pub use admission::{Admission, Admitted};
pub use complete::Answer;
pub use presets::Preset;

/// A chat request, as the API takes it.
#[derive(Debug, Clone, Default)]
pub struct ChatInput {
    pub message: String,
    pub user_id: String,
    pub group_id: Option<String>,
    pub preset_id: Option<String>,
    pub conversation_id: Option<String>,
    pub channel: Option<String>,
    pub model: Option<String>,
    /// `false`: no tools offered.
    pub tools: bool,
    pub username: Option<String>,
    /// The bot was mentioned (for group trigger rules).
    pub mentioned: bool,
    /// The sender's role in the group (`owner`, `admin`, `member`), as the adapter reports it.
    pub sender_role: Option<String>,
}

/// What a streamed chat sends as it happens.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum ChatEvent {
    Content {
        text: String,
    },
    ToolCall {
        id: String,
        name: String,
        args: serde_json::Value,
    },
    /// Progress of a running call (a skill's steps), between its `tool_call` and `tool_result`.
    ToolProgress {
        /// The tool call's id.
        id: String,
        name: String,
        done: u32,
        total: Option<u32>,
        message: String,
        step: Option<serde_json::Value>,
    },
    ToolResult(ToolReport),
    Done {
        #[serde(rename = "conversationId")]
        conversation_id: String,
        usage: Usage,
    },
    Error {
        code: &'static str,
        error: String,
    },
}

impl ChatEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            ChatEvent::Content { .. } => "content",
            ChatEvent::ToolCall { .. } => "tool_call",
            ChatEvent::ToolProgress { .. } => "tool_progress",
            ChatEvent::ToolResult(_) => "tool_result",
            ChatEvent::Done { .. } => "done",
            ChatEvent::Error { .. } => "error",
        }
    }
}

/// One tool call of a turn and its result.
#[derive(Debug, Clone, Serialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ToolReport {
    pub id: String,
    pub name: String,
    #[salvo(schema(value_type = Object))]
    pub args: serde_json::Value,
    pub result: String,
    pub is_error: bool,
    pub duration_ms: f64,
}

/// A finished turn.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatReply {
    pub conversation_id: String,
    pub content: String,
    pub tool_calls: Vec<ToolReport>,
    pub usage: Usage,
    pub model: String,
    pub channel: String,
}

/// One failed try of a channel, as `API_ERROR` details list it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttemptFailure {
    pub channel: String,
    pub model: String,
    pub status: Option<u16>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    Invalid(String),
    #[error("no preset `{0}`")]
    UnknownPreset(String),
    #[error(transparent)]
    NoChannel(#[from] NoChannel),
    #[error("every channel failed")]
    AllFailed(Vec<AttemptFailure>),
    /// A stream broke after part of the answer was sent; nothing of the turn is stored.
    #[error("the upstream failed mid-answer: {0}")]
    AfterContent(UpstreamError),
    #[error("the chat turn took longer than {0} ms (llm.turn_timeout_ms)")]
    TurnTimeout(u64),
    /// The user is on the group's blacklist, or not on its whitelist.
    #[error("{0}")]
    Blocked(String),
    /// A daily usage limit is reached; `message` is the limit message.
    #[error("{message}")]
    UsageLimit {
        message: String,
        /// `group` or `user`.
        limit: &'static str,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a streamed turn's events go (`None`: a plain JSON answer).
pub type Sink = mpsc::Sender<ChatEvent>;

pub struct ChatService {
    store: Store,
    pub presets: presets::PresetService,
    config: Arc<ConfigService>,
    channels: Arc<ChannelService>,
    tools: Arc<ToolHub>,
    pub groups: Arc<GroupService>,
    locks: locks::ConversationLocks,
}

impl ChatService {
    pub async fn new(
        store: Store,
        config: Arc<ConfigService>,
        channels: Arc<ChannelService>,
        tools: Arc<ToolHub>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            presets: presets::PresetService::load(store.clone()).await?,
            groups: Arc::new(GroupService::load(store.clone()).await?),
            store,
            config,
            channels,
            tools,
            locks: locks::ConversationLocks::default(),
        })
    }

    /// The conversation a message belongs to: `user:<u>`, `group:<g>`, or
    /// `group:<g>:user:<u>` when `context.isolate_group_users` is on.
    pub fn conversation_id(&self, input: &ChatInput) -> String {
        if let Some(id) = input.conversation_id.as_deref().filter(|id| !id.is_empty()) {
            return id.to_owned();
        }
        match input.group_id.as_deref() {
            None => format!("user:{}", input.user_id),
            Some(group) if self.config.current().context.isolate_group_users => {
                format!("group:{group}:user:{}", input.user_id)
            }
            Some(group) => format!("group:{group}"),
        }
    }

    /// Whether preset `preset_id` and group `group_id` let `tool` be used (no preset named:
    /// every tool; an unknown one: none; a group's tool lists apply on top).
    pub fn permits(&self, preset_id: Option<&str>, group_id: Option<&str>, tool: &str) -> bool {
        let preset = match preset_id {
            None => true,
            Some(id) => self
                .presets
                .get(id)
                .is_some_and(|preset| offer::preset_permits(&preset, tool)),
        };
        preset
            && group_id.is_none_or(|group| {
                self.groups
                    .effective(group, &self.config.current(), &self.presets.default_id())
                    .permits(tool)
            })
    }

    fn preset(&self, id: Option<&str>) -> Result<Preset, ChatError> {
        let id = id.map_or_else(|| self.presets.default_id(), str::to_owned);
        self.presets.get(&id).ok_or(ChatError::UnknownPreset(id))
    }

    /// What can be refused before a turn starts (a stream's first byte waits for it): an
    /// invalid request, an unknown preset, no usable channel.
    fn preflight(&self, input: &ChatInput) -> Result<(), ChatError> {
        validate(input)?;
        let preset = self.preset(input.preset_id.as_deref())?;
        let config = self.config.current();
        self.channels.check(
            input.model.as_deref().or(preset.model.as_deref()),
            input.channel.as_deref(),
            config.llm.default_model.as_deref(),
        )?;
        Ok(())
    }

    /// One LLM call outside a turn (a skill's `complete`): the preset's model, temperature and
    /// token limit (`max_tokens` caps it further), the channels with failover, no tools, no
    /// history, nothing stored.
    pub async fn complete(
        &self,
        messages: Vec<crate::llm::Message>,
        model: Option<&str>,
        preset_id: Option<&str>,
        max_tokens: Option<u32>,
    ) -> Result<Answer, ChatError> {
        let preset = self.preset(preset_id)?;
        let config = self.config.current();
        let plan = self.channels.plan(
            model.or(preset.model.as_deref()),
            None,
            config.llm.default_model.as_deref(),
        )?;
        let request = crate::llm::ChatRequest {
            model: String::new(),
            messages,
            tools: Vec::new(),
            temperature: preset.temperature,
            max_tokens: match (preset.max_tokens, max_tokens) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        };
        complete::with_failover(&self.channels, &config, &plan, request, None).await
    }

    /// Runs one turn of an admitted message. With a `sink`, events are sent as they happen and
    /// failures after the first content are reported there too (the result is then
    /// `Err(AfterContent)`).
    async fn turn(
        &self,
        input: &ChatInput,
        group: Option<&Effective>,
        sink: Option<Sink>,
    ) -> Result<ChatReply, ChatError> {
        let preset = self.preset(input.preset_id.as_deref())?;
        let config = self.config.current();
        let conversation_id = self.conversation_id(input);
        let budget = std::time::Duration::from_millis(config.llm.turn_timeout_ms.max(1));
        let _turn = self.locks.lock(&conversation_id).await;
        let run = turn::Turn {
            service: self,
            config: &config,
            preset: &preset,
            input,
            group,
            conversation_id: &conversation_id,
            sink: sink.as_ref(),
            deadline: std::time::Instant::now() + budget,
        };
        match tokio::time::timeout(budget, run.run()).await {
            Ok(result) => result,
            Err(_) => Err(ChatError::TurnTimeout(config.llm.turn_timeout_ms)),
        }
    }
}

/// What every message needs: some text and a user.
fn validate(input: &ChatInput) -> Result<(), ChatError> {
    if input.message.trim().is_empty() {
        return Err(ChatError::Invalid("message must not be empty".into()));
    }
    if input.user_id.trim().is_empty() {
        return Err(ChatError::Invalid("userId must not be empty".into()));
    }
    Ok(())
}
