//! `/api/conversations`: what chats stored.

use salvo::oapi::extract::{PathParam, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use super::AppDepot;
use super::error::ApiError;
use super::reply::{ApiResult, Deleted, Empty, Reply};
use crate::auth::policy::Access;
use crate::http::RouterAccess;
use crate::store::{ConversationRecord, MessageRecord};

pub fn router() -> Router {
    Router::with_path("conversations")
        .access(Access::READ_ADMIN)
        .get(list_conversations)
        .delete(delete_all_conversations)
        .push(
            Router::with_path("{id}")
                .get(get_conversation)
                .delete(delete_conversation),
        )
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConversationView {
    id: String,
    user_id: Option<String>,
    group_id: Option<String>,
    preset_id: Option<String>,
    message_count: u64,
    last_message: Option<String>,
    updated_at: String,
}

impl From<ConversationRecord> for ConversationView {
    fn from(c: ConversationRecord) -> Self {
        Self {
            id: c.id,
            user_id: c.user_id,
            group_id: c.group_id,
            preset_id: c.preset_id,
            message_count: c.message_count,
            last_message: c.last_message,
            updated_at: super::timestamp(c.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Page {
    items: Vec<ConversationView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    next_cursor: Option<String>,
}

/// A page's end as an opaque cursor: the last conversation's `updated_at` and id.
fn cursor_of(conversation: &ConversationRecord) -> String {
    use base64::Engine;
    let raw = format!("{}:{}", conversation.updated_at, conversation.id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn parse_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    use base64::Engine;
    let invalid = || {
        ApiError::validation("cursor is not one this server gave out")
            .with_details(json!({ "field": "cursor" }))
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (at, id) = raw.split_once(':').ok_or_else(invalid)?;
    Ok((at.parse().map_err(|_| invalid())?, id.to_owned()))
}

/// Conversations, newest first
///
/// `limit` per page (default 50, max 500); `cursor`: the previous page's `nextCursor`.
#[endpoint(tags("conversations"))]
async fn list_conversations(
    #[allow(non_snake_case)] userId: QueryParam<String, false>,
    #[allow(non_snake_case)] groupId: QueryParam<String, false>,
    limit: QueryParam<u32, false>,
    cursor: QueryParam<String, false>,
    depot: &mut Depot,
) -> ApiResult<Page> {
    let state = depot.app().clone();
    let limit = super::input::limit(limit.into_inner(), 50)?;
    let after = cursor.as_deref().map(parse_cursor).transpose()?;
    let after = after.as_ref().map(|(at, id)| (*at, id.as_str()));
    // One more than a page tells whether there is a next one.
    let mut rows = state
        .store
        .conversations(userId.as_deref(), groupId.as_deref(), after, limit + 1)
        .await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(cursor_of)
    } else {
        None
    };
    Ok(Reply::ok(Page {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MessageView {
    id: String,
    role: String,
    content: String,
    /// Assistant messages: `[{id, name, arguments}]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[salvo(schema(value_type = Option<Vec<Object>>))]
    tool_calls: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_call_id: Option<String>,
    /// Tool messages: the tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_error: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    timestamp: String,
}

fn message_view(conversation: &str, m: MessageRecord) -> MessageView {
    let usage = match (m.prompt_tokens, m.completion_tokens) {
        (None, None) => None,
        (p, c) => {
            Some(json!({ "promptTokens": p.unwrap_or(0), "completionTokens": c.unwrap_or(0) }))
        }
    };
    MessageView {
        id: format!("{conversation}#{}", m.seq),
        role: m.role,
        content: m.content,
        tool_calls: (!m.tool_calls.is_empty()).then_some(m.tool_calls),
        tool_call_id: m.tool_call_id,
        name: m.name,
        is_error: m.is_error,
        usage,
        channel: m.channel,
        model: m.model,
        timestamp: super::timestamp(m.timestamp),
    }
}

#[derive(Serialize, ToSchema)]
struct ConversationDetail {
    #[serde(flatten)]
    conversation: ConversationView,
    messages: Vec<MessageView>,
}

/// One conversation with its last messages
///
/// `limit`: the last N messages (default 100), oldest first.
#[endpoint(tags("conversations"))]
async fn get_conversation(
    id: PathParam<String>,
    limit: QueryParam<u32, false>,
    depot: &mut Depot,
) -> ApiResult<ConversationDetail> {
    let state = depot.app().clone();
    let id = id.into_inner();
    let limit = super::input::limit(limit.into_inner(), 100)?;
    let conversation = state
        .store
        .conversation(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no conversation `{id}`")))?;
    let messages = state.store.last_messages(&id, limit).await?;
    Ok(Reply::ok(ConversationDetail {
        conversation: conversation.into(),
        messages: messages.into_iter().map(|m| message_view(&id, m)).collect(),
    }))
}

/// Delete a conversation and its messages
#[endpoint(tags("conversations"))]
async fn delete_conversation(id: PathParam<String>, depot: &mut Depot) -> ApiResult<Option<Empty>> {
    let state = depot.app().clone();
    let id = id.into_inner();
    if !state.store.delete_conversation(&id).await? {
        return Err(ApiError::not_found(format!("no conversation `{id}`")));
    }
    Empty::reply()
}

/// Delete every conversation (`?confirm=true` required)
#[endpoint(tags("conversations"))]
async fn delete_all_conversations(
    confirm: QueryParam<bool, false>,
    depot: &mut Depot,
) -> ApiResult<Deleted> {
    if confirm.into_inner() != Some(true) {
        return Err(
            ApiError::validation("deleting every conversation needs ?confirm=true")
                .with_details(json!({ "field": "confirm" })),
        );
    }
    let deleted = depot.app().store.delete_all_conversations().await?;
    Ok(Reply::ok(Deleted {
        deleted: deleted as u64,
    }))
}
