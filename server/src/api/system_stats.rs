//! `GET /api/system/stats`: what the server did over a period, computed in the database from
//! the stored messages and the tool-call log.

use std::collections::BTreeMap;

use salvo::oapi::extract::QueryParam;
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::Serialize;

use super::AppDepot;
use super::chat_history::{ModelView, date_of, since_of};
use super::reply::{ApiResult, Reply};
use crate::store::StatsScope;

/// Mounted under `/api/system`.
pub fn router() -> Router {
    Router::with_path("stats").get(stats)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SystemStats {
    /// Messages stored (users', answers, tool results) in the period.
    messages: u64,
    /// Prompt + completion tokens the upstreams reported.
    tokens: u64,
    /// Tool calls (every caller), and how many failed.
    tool_calls: u64,
    errors: u64,
    by_day: Vec<DayView>,
    by_tool: Vec<ToolView>,
    by_channel: Vec<ChannelView>,
    by_model: Vec<ModelView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DayView {
    /// `YYYY-MM-DD` (UTC).
    date: String,
    messages: u64,
    tokens: u64,
    tool_calls: u64,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ToolView {
    tool: String,
    calls: u64,
    errors: u64,
    avg_ms: f64,
}

#[derive(Serialize, ToSchema, Default)]
#[serde(rename_all = "camelCase")]
struct ChannelView {
    channel: String,
    answers: u64,
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// Activity over a period
///
/// `period`: `day` (today, UTC), `week` (the last 7 days, default) or `month` (the last 30).
/// Messages and tokens come from the stored turns; tool calls from the tool-call log (written
/// within ~100 ms of each call).
#[endpoint(tags("system"))]
async fn stats(period: QueryParam<String, false>, depot: &mut Depot) -> ApiResult<SystemStats> {
    let state = depot.app().clone();
    let since = since_of(period.into_inner().as_deref())?;
    let everyone = StatsScope {
        user_id: None,
        group_id: None,
    };
    let (days, models) = state.store.chat_stats(everyone, since).await?;
    let (tools, tool_days) = state.store.tool_stats(since).await?;
    let mut by_day: BTreeMap<i64, DayView> = BTreeMap::new();
    for day in &days {
        let view = by_day.entry(day.day).or_insert_with(|| empty_day(day.day));
        view.messages = day.messages;
        view.tokens = day.tokens;
    }
    for day in &tool_days {
        by_day
            .entry(day.day)
            .or_insert_with(|| empty_day(day.day))
            .tool_calls = day.calls;
    }
    let mut by_channel: BTreeMap<String, ChannelView> = BTreeMap::new();
    for model in &models {
        let view = by_channel
            .entry(model.channel.clone())
            .or_insert_with(|| ChannelView {
                channel: model.channel.clone(),
                ..ChannelView::default()
            });
        view.answers += model.answers;
        view.prompt_tokens += model.prompt_tokens;
        view.completion_tokens += model.completion_tokens;
    }
    Ok(Reply::ok(SystemStats {
        messages: days.iter().map(|d| d.messages).sum(),
        tokens: days.iter().map(|d| d.tokens).sum(),
        tool_calls: tools.iter().map(|t| t.calls).sum(),
        errors: tools.iter().map(|t| t.errors).sum(),
        by_day: by_day.into_values().collect(),
        by_tool: tools
            .into_iter()
            .map(|t| ToolView {
                tool: t.tool_name,
                calls: t.calls,
                errors: t.errors,
                avg_ms: t.avg_ms,
            })
            .collect(),
        by_channel: by_channel.into_values().collect(),
        by_model: models.into_iter().map(ModelView::from).collect(),
    }))
}

fn empty_day(day: i64) -> DayView {
    DayView {
        date: date_of(day),
        messages: 0,
        tokens: 0,
        tool_calls: 0,
    }
}
