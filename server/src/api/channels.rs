//! `/api/channels` (alias `/api/config/channels`): LLM channels, their keys masked in every
//! answer, their health, a test prompt and the upstream's model list.

use std::collections::BTreeMap;
use std::time::Instant;

use salvo::http::StatusCode;
use salvo::oapi::extract::{JsonBody, PathParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AppDepot;
use super::error::{ApiError, code};
use super::reply::{ApiResult, Empty, Reply};
use crate::auth::policy::Access;
use crate::channels::{ChannelService, is_masked, mask};
use crate::http::RouterAccess;
use crate::llm::{ChatRequest, Message, Protocol, Role, UpstreamError};
use crate::state::AppState;
use crate::store::{ChannelRecord, now_ms};

/// Mounted at `/api/channels` and `/api/config/channels`.
pub fn router() -> Router {
    Router::with_path("channels")
        .access(Access::READ_ADMIN)
        .get(list_channels)
        .post(create_channel)
        .push(
            Router::with_path("{name}")
                .get(get_channel)
                .put(update_channel)
                .delete(delete_channel)
                .push(Router::with_path("test").post(test_channel))
                .push(Router::with_path("models").get(channel_models)),
        )
}

/// Default first-byte timeout of a channel.
const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// A channel as the API shows it: keys masked (`sk-****abcd`), with its health.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChannelView {
    name: String,
    /// `openai`, `claude` or `gemini`.
    #[serde(rename = "type")]
    kind: String,
    base_url: String,
    /// The first key, masked.
    api_key: Option<String>,
    /// Every key, masked, in rotation order.
    api_keys: Vec<String>,
    model: Option<String>,
    models: Vec<String>,
    priority: i64,
    enabled: bool,
    timeout_ms: u64,
    max_retries: u32,
    /// Values of headers that look secret (authorization, keys, tokens) are masked.
    headers: BTreeMap<String, String>,
    /// `ok`, `cooldown`, `key_refused` or `disabled`.
    status: String,
    last_error: Option<String>,
    /// Milliseconds until the longest cooldown ends.
    retry_in_ms: Option<u64>,
    last_tested_at: Option<String>,
}

fn view(channel: &ChannelRecord, state: &AppState) -> ChannelView {
    let status = state.channels.status(channel);
    ChannelView {
        name: channel.name.clone(),
        kind: channel.kind.clone(),
        base_url: channel.base_url.clone(),
        api_key: channel.api_keys.first().map(|k| mask(k)),
        api_keys: channel.api_keys.iter().map(|k| mask(k)).collect(),
        model: channel.model.clone(),
        models: channel.models.clone(),
        priority: channel.priority,
        enabled: channel.enabled,
        timeout_ms: channel.timeout_ms,
        max_retries: channel.max_retries,
        headers: super::secrets::masked(&channel.headers),
        status: status.status.to_owned(),
        last_error: status.last_error,
        retry_in_ms: status.retry_in_ms,
        last_tested_at: channel.last_tested_at.map(super::timestamp),
    }
}

/// Fields of a new channel, or of a change (absent fields keep their value).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChannelInput {
    /// Unique id: letters, digits, `.`, `_`, `-` (at most 64). Taken from the path on PUT.
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<Protocol>,
    /// Including the version, e.g. `https://api.openai.com/v1`. Empty: the protocol's public
    /// endpoint.
    base_url: Option<String>,
    /// One key (same as `apiKeys: [key]`). A masked value keeps the stored key.
    api_key: Option<String>,
    /// Keys used round-robin. A masked value keeps the stored key it masks.
    api_keys: Option<Vec<String>>,
    model: Option<String>,
    models: Option<Vec<String>>,
    priority: Option<i64>,
    enabled: Option<bool>,
    /// Wait for the upstream's first byte (default 60000).
    timeout_ms: Option<u64>,
    /// Other keys of this channel tried after a failure before the next channel (default 1).
    max_retries: Option<u32>,
    headers: Option<BTreeMap<String, String>>,
    // Read-only fields a client may send back as it read them: ignored.
    #[serde(default, rename = "status")]
    _status: Option<serde_json::Value>,
    #[serde(default, rename = "lastError")]
    _last_error: Option<serde_json::Value>,
    #[serde(default, rename = "lastTestedAt")]
    _last_tested_at: Option<serde_json::Value>,
    #[serde(default, rename = "retryInMs")]
    _retry_in_ms: Option<serde_json::Value>,
}

/// Sent keys with masked ones replaced by the stored key they mask.
fn merge_keys(sent: Vec<String>, stored: &[String]) -> Result<Vec<String>, ApiError> {
    sent.into_iter()
        .map(|key| {
            if !is_masked(&key) {
                return Ok(key);
            }
            stored
                .iter()
                .find(|old| mask(old) == key)
                .cloned()
                .ok_or_else(|| {
                    ApiError::validation("a masked key matches no stored key: send the full key")
                        .with_details(json!({ "field": "apiKeys" }))
                })
        })
        .filter(|key| key.as_ref().map_or(true, |k| !k.is_empty()))
        .collect()
}

/// Applies `input` to `record` (a new one starts from defaults).
fn apply(input: ChannelInput, record: &mut ChannelRecord) -> Result<(), ApiError> {
    if let Some(kind) = input.kind {
        record.kind = kind.as_str().to_owned();
    }
    if let Some(base_url) = input.base_url {
        let trimmed = base_url.trim().trim_end_matches('/').to_owned();
        if !trimmed.is_empty()
            && !trimmed.starts_with("http://")
            && !trimmed.starts_with("https://")
        {
            return Err(ApiError::validation("baseUrl must be an http(s) URL")
                .with_details(json!({ "field": "baseUrl" })));
        }
        record.base_url = trimmed;
    }
    let keys = match (input.api_keys, input.api_key) {
        (Some(keys), _) => Some(keys),
        (None, Some(key)) => Some(vec![key]),
        (None, None) => None,
    };
    if let Some(keys) = keys {
        record.api_keys = merge_keys(keys, &record.api_keys)?;
    }
    if let Some(model) = input.model {
        record.model = Some(model).filter(|m| !m.is_empty());
    }
    if let Some(models) = input.models {
        record.models = models;
    }
    if let Some(priority) = input.priority {
        record.priority = priority;
    }
    if let Some(enabled) = input.enabled {
        record.enabled = enabled;
    }
    if let Some(timeout_ms) = input.timeout_ms {
        if timeout_ms == 0 {
            return Err(ApiError::validation("timeoutMs must be positive")
                .with_details(json!({ "field": "timeoutMs" })));
        }
        record.timeout_ms = timeout_ms;
    }
    if let Some(max_retries) = input.max_retries {
        record.max_retries = max_retries.min(16);
    }
    if let Some(headers) = input.headers {
        record.headers = super::secrets::merge_masked(headers, &record.headers);
    }
    Ok(())
}

/// Every channel
///
/// By priority, then name; each with its health (`status`, `lastError`, `retryInMs`).
#[endpoint(tags("channels"))]
async fn list_channels(depot: &mut Depot) -> ApiResult<Vec<ChannelView>> {
    let state = depot.app().clone();
    let views = state
        .channels
        .list()
        .iter()
        .map(|c| view(c, &state))
        .collect();
    Ok(Reply::ok(views))
}

/// Create a channel
#[endpoint(tags("channels"), status_codes(201, 400, 409))]
async fn create_channel(body: JsonBody<ChannelInput>, depot: &mut Depot) -> ApiResult<ChannelView> {
    let state = depot.app().clone();
    let input = body.into_inner();
    let name = input.name.clone().unwrap_or_default();
    super::input::valid_id(&name, "name")?;
    if input.kind.is_none() {
        return Err(
            ApiError::validation("type is required: openai, claude or gemini")
                .with_details(json!({ "field": "type" })),
        );
    }
    let now = now_ms();
    let mut record = ChannelRecord {
        name: name.clone(),
        kind: String::new(),
        base_url: String::new(),
        api_keys: Vec::new(),
        model: None,
        models: Vec::new(),
        priority: 0,
        enabled: true,
        timeout_ms: DEFAULT_TIMEOUT_MS,
        max_retries: 1,
        headers: BTreeMap::new(),
        last_tested_at: None,
        created_at: now,
        updated_at: now,
    };
    apply(input, &mut record)?;
    if !state.channels.create(&record).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            code::CONFLICT,
            format!("a channel named `{name}` exists"),
        ));
    }
    Ok(Reply::created(view(&record, &state)))
}

fn not_found(name: &str) -> ApiError {
    ApiError::not_found(format!("no channel named `{name}`"))
}

/// One channel
#[endpoint(tags("channels"))]
async fn get_channel(name: PathParam<String>, depot: &mut Depot) -> ApiResult<ChannelView> {
    let state = depot.app().clone();
    let name = name.into_inner();
    let channel = state.channels.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(Reply::ok(view(&channel, &state)))
}

/// Change a channel
///
/// Absent fields keep their value; a masked key keeps the stored key. Its health starts over.
#[endpoint(tags("channels"))]
async fn update_channel(
    name: PathParam<String>,
    body: JsonBody<ChannelInput>,
    depot: &mut Depot,
) -> ApiResult<ChannelView> {
    let state = depot.app().clone();
    let name = name.into_inner();
    let input = body.into_inner();
    if input.name.as_ref().is_some_and(|n| *n != name) {
        return Err(ApiError::validation("a channel cannot be renamed")
            .with_details(json!({ "field": "name" })));
    }
    let mut record = (*state.channels.get(&name).ok_or_else(|| not_found(&name))?).clone();
    apply(input, &mut record)?;
    record.updated_at = now_ms();
    if !state.channels.replace(&record).await? {
        return Err(not_found(&name));
    }
    Ok(Reply::ok(view(&record, &state)))
}

/// Delete a channel
#[endpoint(tags("channels"))]
async fn delete_channel(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Option<Empty>> {
    let state = depot.app().clone();
    let name = name.into_inner();
    if !state.channels.delete(&name).await? {
        return Err(not_found(&name));
    }
    Empty::reply()
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TestInput {
    /// Default: the channel's model.
    model: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct TestResult {
    /// Milliseconds until the whole answer.
    latency: u64,
    model: String,
    reply: String,
}

pub(super) fn upstream_error(channel: &str, err: &UpstreamError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        code::API_ERROR,
        format!("channel `{channel}`: {err}"),
    )
    .with_details(json!({ "status": err.status(), "message": err.to_string() }))
}

/// Send a tiny prompt upstream
///
/// Body `{}` or `{model}`. Uses the channel's first key. Success also ends a cooldown of that key and model.
#[endpoint(tags("channels"))]
async fn test_channel(
    name: PathParam<String>,
    body: JsonBody<TestInput>,
    depot: &mut Depot,
) -> ApiResult<TestResult> {
    let state = depot.app().clone();
    let name = name.into_inner();
    let channel = state.channels.get(&name).ok_or_else(|| not_found(&name))?;
    let model = body
        .into_inner()
        .model
        .or_else(|| channel.model.clone())
        .or_else(|| channel.models.first().cloned())
        .ok_or_else(|| {
            ApiError::validation("the channel has no model: send `model`")
                .with_details(json!({ "field": "model" }))
        })?;
    let attempt = ChannelService::first_key(&channel, &model)
        .ok_or_else(|| ApiError::internal("a stored channel has an unknown type"))?;
    let config = state.config.current();
    let target = state.channels.target(
        &attempt,
        std::time::Duration::from_millis(config.llm.idle_timeout_ms),
    );
    let request = ChatRequest {
        model: model.clone(),
        messages: vec![Message::text(Role::User, "Reply with the single word: OK")],
        tools: Vec::new(),
        temperature: None,
        max_tokens: Some(16),
    };
    let started = Instant::now();
    let result = state.channels.client().complete(&target, &request).await;
    let latency = started.elapsed().as_millis() as u64;
    state.channels.mark_tested(&name, now_ms()).await?;
    match result {
        Ok(completion) => {
            state.channels.health.succeeded(&attempt.health);
            Ok(Reply::ok(TestResult {
                latency,
                model: completion.model.unwrap_or(model),
                reply: completion.content,
            }))
        }
        Err(err) => {
            state.channels.health.failed(&attempt.health, &err);
            Err(upstream_error(&name, &err))
        }
    }
}

/// The upstream's model ids
#[endpoint(tags("channels"))]
async fn channel_models(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Vec<String>> {
    let state = depot.app().clone();
    let name = name.into_inner();
    let channel = state.channels.get(&name).ok_or_else(|| not_found(&name))?;
    let attempt = ChannelService::first_key(&channel, "")
        .ok_or_else(|| ApiError::internal("a stored channel has an unknown type"))?;
    let config = state.config.current();
    let target = state.channels.target(
        &attempt,
        std::time::Duration::from_millis(config.llm.idle_timeout_ms),
    );
    let models = state
        .channels
        .client()
        .models(&target)
        .await
        .map_err(|err| upstream_error(&name, &err))?;
    Ok(Reply::ok(models))
}
