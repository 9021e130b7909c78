//! `/api/chat/memories`: what the bot remembers about a user (within a group when `groupId`
//! is given; a group's memories never reach another group or the private chat).

use salvo::oapi::extract::{JsonBody, PathParam, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppDepot;
use super::error::ApiError;
use super::reply::{ApiResult, Deleted, Empty, Reply};
use crate::store::{MemoryRecord, now_ms};

/// Under `/api/chat`, whose access it keeps.
pub fn router() -> Router {
    Router::with_path("memories")
        .get(list_memories)
        .post(add_memory)
        .delete(delete_memories)
        .push(Router::with_path("{id}").delete(delete_memory))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MemoryView {
    id: String,
    content: String,
    /// Relevance to `query` (BM25); 0 without one.
    score: f64,
    group_id: Option<String>,
    created_at: String,
}

impl From<MemoryRecord> for MemoryView {
    fn from(m: MemoryRecord) -> Self {
        Self {
            id: m.id,
            content: m.content,
            score: m.score,
            group_id: m.group_id,
            created_at: super::timestamp(m.created_at),
        }
    }
}

/// A user's memories
///
/// With `query`, the most relevant to any of its words first (full-text, BM25); without, the
/// newest first. `groupId`: the user's memories within that group.
#[endpoint(tags("chat"))]
async fn list_memories(
    #[allow(non_snake_case)] userId: QueryParam<String, false>,
    #[allow(non_snake_case)] groupId: QueryParam<String, false>,
    query: QueryParam<String, false>,
    limit: QueryParam<u32, false>,
    depot: &mut Depot,
) -> ApiResult<Vec<MemoryView>> {
    let state = depot.app().clone();
    let user = super::input::required(userId.into_inner(), "userId")?;
    let limit = super::input::limit(limit.into_inner(), 50)?;
    let memories = state
        .store
        .memories(&user, groupId.as_deref(), query.as_deref(), limit)
        .await?;
    Ok(Reply::ok(memories.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewMemory {
    user_id: String,
    group_id: Option<String>,
    content: String,
}

/// Remember something about a user
#[endpoint(tags("chat"), status_codes(201, 400))]
async fn add_memory(body: JsonBody<NewMemory>, depot: &mut Depot) -> ApiResult<MemoryView> {
    let state = depot.app().clone();
    let body = body.into_inner();
    let user = super::input::required(Some(body.user_id), "userId")?;
    let content = super::input::required(Some(body.content), "content")?;
    if content.len() > 4096 {
        return Err(ApiError::validation("content must be at most 4096 bytes")
            .with_details(json!({ "field": "content" })));
    }
    let memory = state
        .store
        .add_memory(&user, body.group_id.as_deref(), content.trim(), now_ms())
        .await?;
    Ok(Reply::created(memory.into()))
}

/// Forget one memory
#[endpoint(tags("chat"))]
async fn delete_memory(id: PathParam<String>, depot: &mut Depot) -> ApiResult<Option<Empty>> {
    let state = depot.app().clone();
    let id = id.into_inner();
    if !state.store.delete_memory(&id).await? {
        return Err(ApiError::not_found(format!("no memory `{id}`")));
    }
    Empty::reply()
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ForgetUser {
    user_id: String,
    /// Only the memories within this group.
    group_id: Option<String>,
}

/// Forget every memory of a user
#[endpoint(tags("chat"))]
async fn delete_memories(body: JsonBody<ForgetUser>, depot: &mut Depot) -> ApiResult<Deleted> {
    let state = depot.app().clone();
    let body = body.into_inner();
    let user = super::input::required(Some(body.user_id), "userId")?;
    let deleted = state
        .store
        .delete_memories(&user, body.group_id.as_deref())
        .await?;
    Ok(Reply::ok(Deleted {
        deleted: deleted as u64,
    }))
}
