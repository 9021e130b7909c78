//! `/api/chat`: a turn (JSON or streamed as SSE) and the presets a chat can pick.

use std::convert::Infallible;

use futures_util::StreamExt;
use salvo::oapi::extract::JsonBody;
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use salvo::sse::{SseEvent, SseKeepAlive};
use serde::{Deserialize, Deserializer, Serialize};

use super::AppDepot;
use super::error::ApiError;
use super::reply::{ApiResult, Reply};
use crate::auth::policy::Access;
use crate::chat::{Admission, Admitted, ChatEvent, ChatInput, ChatReply, ToolReport};
use crate::http::RouterAccess;
use crate::llm::Usage;

pub fn router() -> Router {
    Router::with_path("chat")
        .access(Access::CHAT)
        .post(chat)
        .push(Router::with_path("stream").post(chat_stream))
        .push(Router::with_path("presets").get(chat_presets))
        .push(super::memories::router())
        .push(super::chat_history::router())
}

/// A user id as bots send it: a string or a number.
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        _ => Err(serde::de::Error::custom("expected a string or a number")),
    }
}

fn opt_id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(serde::de::Error::custom("expected a string or a number")),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChatBody {
    message: String,
    /// The end user (a string or a number).
    #[serde(deserialize_with = "id_text")]
    #[salvo(schema(value_type = String))]
    user_id: String,
    #[serde(default, deserialize_with = "opt_id_text")]
    #[salvo(schema(value_type = Option<String>))]
    group_id: Option<String>,
    preset_id: Option<String>,
    /// Default: `user:<userId>`, `group:<groupId>` or `group:<groupId>:user:<userId>`.
    conversation_id: Option<String>,
    /// Use this channel only.
    channel: Option<String>,
    model: Option<String>,
    /// Stream the answer as SSE (same as `/api/chat/stream`).
    #[serde(default)]
    stream: bool,
    /// Offer tools to the model (default true).
    #[serde(default = "yes")]
    tools: bool,
    /// Whether the bot was mentioned (trigger rules of group administration).
    #[serde(default)]
    mentioned: bool,
    username: Option<String>,
    sender_role: Option<String>,
}

fn yes() -> bool {
    true
}

impl From<ChatBody> for ChatInput {
    fn from(body: ChatBody) -> Self {
        ChatInput {
            message: body.message,
            user_id: body.user_id,
            group_id: body.group_id,
            preset_id: body.preset_id,
            conversation_id: body.conversation_id,
            channel: body.channel,
            model: body.model,
            tools: body.tools,
            username: body.username,
            mentioned: body.mentioned,
            sender_role: body.sender_role,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChatAnswer {
    conversation_id: String,
    content: String,
    tool_calls: Vec<ToolReport>,
    usage: UsageView,
    model: String,
    channel: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UsageView {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl From<Usage> for UsageView {
    fn from(usage: Usage) -> Self {
        Self {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
        }
    }
}

impl From<ChatReply> for ChatAnswer {
    fn from(reply: ChatReply) -> Self {
        Self {
            conversation_id: reply.conversation_id,
            content: reply.content,
            tool_calls: reply.tool_calls,
            usage: reply.usage.into(),
            model: reply.model,
            channel: reply.channel,
        }
    }
}

/// Chat
///
/// Runs a turn: preset → system prompt → history → channel (failover) → tool loop → answer.
/// With `stream: true` the answer is the SSE stream of `/api/chat/stream`. Upstream failures:
/// 502 `API_ERROR` with every attempt in `details.attempts`; no usable channel: 503
/// `CHANNEL_UNAVAILABLE`. With a `groupId` the group's settings apply: a disabled group or a
/// message the trigger rules do not answer gives `{skipped: true, reason}`; a blacklisted (or
/// not whitelisted) user 403 `USER_BLOCKED`; a reached daily limit 429 `USAGE_LIMIT_EXCEEDED`
/// (`details.limitMessage`, `details.limit`: `group` or `user`).
#[endpoint(tags("chat"), status_codes(200, 400, 403, 404, 429, 502, 503, 504))]
async fn chat(
    body: JsonBody<ChatBody>,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let body = body.into_inner();
    let streamed = body.stream;
    let state = depot.app().clone();
    let admitted = match state.chat.admit(body.into()).await? {
        Admission::Skipped(reason) => {
            res.render(Reply::ok(Skipped::new(reason)));
            return Ok(());
        }
        Admission::Admitted(admitted) => admitted,
    };
    if streamed {
        stream(state, admitted, res);
        return Ok(());
    }
    let reply = state.chat.run(admitted, None).await?;
    res.render(Reply::ok(ChatAnswer::from(reply)));
    Ok(())
}

/// A message the bot does not answer (group disabled, trigger not met).
#[derive(Serialize, ToSchema)]
struct Skipped {
    skipped: bool,
    reason: &'static str,
}

impl Skipped {
    fn new(reason: &'static str) -> Self {
        Self {
            skipped: true,
            reason,
        }
    }
}

/// Chat, streamed
///
/// SSE events as they happen: `content` `{text}`, `tool_call` `{id, name, args}`,
/// `tool_progress` `{id, name, done, total, message, step}` while a call runs (a skill's
/// steps: its tool calls, LLM calls, log lines, progress),
/// `tool_result` `{id, name, result, isError, durationMs}`, then `done`
/// `{conversationId, usage}` or `error` `{code, error}`. A request that cannot start (invalid,
/// unknown preset, no usable channel) is refused with its status before the stream opens. An
/// upstream failure before any content fails over unseen; after content the stream ends with
/// `error` and nothing of the turn is stored. A skipped message (see `POST /api/chat`) gets the
/// JSON `{skipped: true, reason}` instead of a stream.
#[endpoint(tags("chat"), status_codes(200, 400, 403, 404, 429, 503))]
async fn chat_stream(
    body: JsonBody<ChatBody>,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let state = depot.app().clone();
    match state.chat.admit(body.into_inner().into()).await? {
        Admission::Skipped(reason) => res.render(Reply::ok(Skipped::new(reason))),
        Admission::Admitted(admitted) => stream(state, admitted, res),
    }
    Ok(())
}

fn stream(
    state: std::sync::Arc<crate::state::AppState>,
    admitted: Box<Admitted>,
    res: &mut Response,
) {
    let (sink, events) = tokio::sync::mpsc::channel::<ChatEvent>(64);
    // The turn runs to its end and is stored even if the client goes away (its tokens are
    // spent); events then go nowhere.
    tokio::spawn(async move {
        if let Err(err) = state.chat.run(admitted, Some(sink.clone())).await {
            let api = ApiError::from(err);
            let _ = sink
                .send(ChatEvent::Error {
                    code: api.code.as_str(),
                    error: api.message,
                })
                .await;
        }
    });
    let events = tokio_stream_of(events).map(|event| {
        let data = match &event {
            ChatEvent::Content { text } => serde_json::json!({ "text": text }),
            ChatEvent::ToolCall { id, name, args } => {
                serde_json::json!({ "id": id, "name": name, "args": args })
            }
            ChatEvent::ToolProgress {
                id,
                name,
                done,
                total,
                message,
                step,
            } => serde_json::json!({ "id": id, "name": name, "done": done, "total": total,
                                     "message": message, "step": step }),
            ChatEvent::ToolResult(report) => serde_json::to_value(report).unwrap_or_default(),
            ChatEvent::Done {
                conversation_id,
                usage,
            } => serde_json::json!({ "conversationId": conversation_id, "usage": usage }),
            ChatEvent::Error { code, error } => serde_json::json!({ "code": code, "error": error }),
        };
        Ok::<_, Infallible>(
            SseEvent::default()
                .name(event.name())
                .text(data.to_string()),
        )
    });
    SseKeepAlive::new(events)
        .max_interval(crate::http::sse::HEARTBEAT)
        .comment("heartbeat")
        .stream(res);
}

/// The receiver as a stream that ends when the turn's task drops its sender.
fn tokio_stream_of<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

#[derive(Serialize, ToSchema)]
struct PresetSummary {
    id: String,
    name: String,
    description: String,
}

/// Presets a chat can pick
#[endpoint(tags("chat"))]
async fn chat_presets(depot: &mut Depot) -> ApiResult<Vec<PresetSummary>> {
    let presets = depot
        .app()
        .chat
        .presets
        .all()
        .into_iter()
        .map(|p| PresetSummary {
            id: p.id,
            name: p.name,
            description: p.description,
        })
        .collect();
    Ok(Reply::ok(presets))
}
