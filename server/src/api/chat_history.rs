//! `/api/chat/history` and `/api/chat/stats`: a user's conversation and activity, as a bot
//! adapter asks for them (by user and group, not by conversation id).

use salvo::oapi::extract::{JsonBody, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppDepot;
use super::error::ApiError;
use super::reply::{ApiResult, Deleted, Reply};
use crate::chat::ChatInput;
use crate::store::{StatsScope, now_ms};

/// Under `/api/chat`, whose access it keeps.
pub fn router() -> Router {
    Router::new()
        .push(
            Router::with_path("history")
                .get(history)
                .delete(clear_history),
        )
        .push(Router::with_path("stats").get(stats))
}

#[derive(Serialize, ToSchema)]
struct HistoryItem {
    role: String,
    content: String,
    timestamp: String,
}

/// The conversation of a user (in a group), oldest first
///
/// The conversation a chat with the same `userId` and `groupId` would continue. Tool results
/// are left out; `limit` (default 20, max 500) counts what is returned.
#[endpoint(tags("chat"))]
async fn history(
    #[allow(non_snake_case)] userId: QueryParam<String, false>,
    #[allow(non_snake_case)] groupId: QueryParam<String, false>,
    limit: QueryParam<u32, false>,
    depot: &mut Depot,
) -> ApiResult<Vec<HistoryItem>> {
    let state = depot.app().clone();
    let user_id = super::input::required(userId.into_inner(), "userId")?;
    let limit = super::input::limit(limit.into_inner(), 20)?;
    let id = state.chat.conversation_id(&ChatInput {
        user_id,
        group_id: groupId.into_inner(),
        ..ChatInput::default()
    });
    // Tool messages are skipped, so read more to return `limit` of the rest.
    let messages = state
        .store
        .last_messages(&id, limit.saturating_mul(4).min(2000))
        .await?;
    let mut items: Vec<HistoryItem> = messages
        .into_iter()
        .filter(|m| m.role != "tool" && !(m.role == "assistant" && m.content.is_empty()))
        .map(|m| HistoryItem {
            role: m.role,
            content: m.content,
            timestamp: super::timestamp(m.timestamp),
        })
        .collect();
    let skip = items.len().saturating_sub(limit as usize);
    items.drain(..skip);
    Ok(Reply::ok(items))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClearHistory {
    user_id: String,
    group_id: Option<String>,
}

/// Forget the conversation of a user (in a group)
#[endpoint(tags("chat"))]
async fn clear_history(body: JsonBody<ClearHistory>, depot: &mut Depot) -> ApiResult<Deleted> {
    let state = depot.app().clone();
    let body = body.into_inner();
    let user_id = super::input::required(Some(body.user_id), "userId")?;
    let id = state.chat.conversation_id(&ChatInput {
        user_id,
        group_id: body.group_id,
        ..ChatInput::default()
    });
    let deleted = state.store.clear_conversation(&id).await?;
    Ok(Reply::ok(Deleted {
        deleted: deleted as u64,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DayView {
    /// `YYYY-MM-DD` (UTC).
    date: String,
    messages: u64,
    tokens: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Stats {
    total_messages: u64,
    /// Prompt + completion tokens as the upstreams reported them.
    total_tokens: u64,
    tool_calls: u64,
    by_day: Vec<DayView>,
    /// The answers per channel and model, and the tokens they used.
    by_model: Vec<ModelView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ModelView {
    channel: String,
    model: Option<String>,
    answers: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// Chat activity of a user, a group, or a user in a group, over a period
///
/// `userId`, `groupId` or both (at least one). `period`: `day` (today, UTC), `week` (the last 7
/// days) or `month` (the last 30), default `week`. Counts the messages of the matching turns in
/// every conversation, per day, and the answers and tokens per channel and model.
#[endpoint(tags("chat"))]
async fn stats(
    #[allow(non_snake_case)] userId: QueryParam<String, false>,
    #[allow(non_snake_case)] groupId: QueryParam<String, false>,
    period: QueryParam<String, false>,
    depot: &mut Depot,
) -> ApiResult<Stats> {
    let state = depot.app().clone();
    let user_id = userId.into_inner().filter(|id| !id.is_empty());
    let group_id = groupId.into_inner().filter(|id| !id.is_empty());
    if user_id.is_none() && group_id.is_none() {
        return Err(ApiError::validation("userId or groupId is required")
            .with_details(json!({ "field": "userId" })));
    }
    let since = since_of(period.into_inner().as_deref())?;
    let scope = StatsScope {
        user_id: user_id.as_deref(),
        group_id: group_id.as_deref(),
    };
    let (days, models) = state.store.chat_stats(scope, since).await?;
    Ok(Reply::ok(Stats {
        total_messages: days.iter().map(|d| d.messages).sum(),
        total_tokens: days.iter().map(|d| d.tokens).sum(),
        tool_calls: days.iter().map(|d| d.tool_calls).sum(),
        by_day: days
            .into_iter()
            .map(|d| DayView {
                date: date_of(d.day),
                messages: d.messages,
                tokens: d.tokens,
            })
            .collect(),
        by_model: models.into_iter().map(ModelView::from).collect(),
    }))
}

impl From<crate::store::ModelStats> for ModelView {
    fn from(m: crate::store::ModelStats) -> Self {
        Self {
            channel: m.channel,
            model: m.model,
            answers: m.answers,
            prompt_tokens: m.prompt_tokens,
            completion_tokens: m.completion_tokens,
        }
    }
}

const DAY: i64 = 86_400_000;

/// The start (Unix ms) of a `period`: `day` (today, UTC), `week` (the last 7 days, the
/// default) or `month` (the last 30).
pub(super) fn since_of(period: Option<&str>) -> Result<i64, ApiError> {
    let today = now_ms().div_euclid(DAY) * DAY;
    match period {
        Some("day") => Ok(today),
        None | Some("week") => Ok(today - 6 * DAY),
        Some("month") => Ok(today - 29 * DAY),
        Some(_) => Err(ApiError::validation("period must be day, week or month")
            .with_details(json!({ "field": "period" }))),
    }
}

/// `YYYY-MM-DD` of a day since the Unix epoch.
pub(super) fn date_of(day: i64) -> String {
    chrono::DateTime::from_timestamp_millis(day * DAY)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}
