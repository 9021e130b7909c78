//! `/api/presets` (alias `/api/config/presets`): builtin presets (read-only) and the admin's.

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
use crate::chat::Preset;
use crate::chat::presets::{PresetContext, PresetTools};
use crate::http::RouterAccess;

pub fn router() -> Router {
    Router::with_path("presets")
        .access(Access::READ_ADMIN)
        .get(list_presets)
        .post(create_preset)
        .push(
            Router::with_path("{id}")
                .get(get_preset)
                .put(update_preset)
                .delete(delete_preset)
                .push(Router::with_path("default").post(make_default)),
        )
}

/// Fields of a new preset or a change (absent fields keep their value).
#[derive(Deserialize, ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PresetInput {
    /// Letters, digits, `.`, `_`, `-` (at most 64). Taken from the path on PUT.
    id: Option<String>,
    /// Copy this preset (e.g. a builtin) and change what the other fields say.
    from: Option<String>,
    name: Option<String>,
    description: Option<String>,
    category: Option<String>,
    system_prompt: Option<String>,
    model: Option<String>,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    tools: Option<PresetTools>,
    context: Option<PresetContext>,
    /// Read-only; a value sent back is ignored (use `POST /api/presets/:id/default`).
    #[serde(rename = "isDefault")]
    _is_default: Option<bool>,
    /// Read-only; ignored.
    #[serde(rename = "isBuiltin")]
    _is_builtin: Option<bool>,
}

fn apply(input: PresetInput, preset: &mut Preset) -> Result<(), ApiError> {
    if let Some(name) = input.name {
        preset.name = name;
    }
    if let Some(description) = input.description {
        preset.description = description;
    }
    if let Some(category) = input.category {
        preset.category = category;
    }
    if let Some(prompt) = input.system_prompt {
        preset.system_prompt = prompt;
    }
    if let Some(model) = input.model {
        preset.model = Some(model).filter(|m| !m.is_empty());
    }
    if let Some(temperature) = input.temperature {
        if !(0.0..=2.0).contains(&temperature) {
            return Err(ApiError::validation("temperature must be 0-2")
                .with_details(json!({ "field": "temperature" })));
        }
        preset.temperature = Some(temperature);
    }
    if let Some(max_tokens) = input.max_tokens {
        preset.max_tokens = Some(max_tokens).filter(|m| *m > 0);
    }
    if let Some(tools) = input.tools {
        preset.tools = tools;
    }
    if let Some(context) = input.context {
        preset.context = context;
    }
    if preset.name.trim().is_empty() {
        return Err(
            ApiError::validation("name must not be empty").with_details(json!({ "field": "name" }))
        );
    }
    Ok(())
}

fn builtin_conflict(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        code::CONFLICT,
        format!(
            "preset `{id}` is builtin and read-only: copy it with POST /api/presets {{\"from\": \"{id}\"}}"
        ),
    )
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("no preset `{id}`"))
}

/// Every preset, builtins first
#[endpoint(tags("presets"))]
async fn list_presets(depot: &mut Depot) -> ApiResult<Vec<Preset>> {
    Ok(Reply::ok(depot.app().chat.presets.all()))
}

/// Create a preset
///
/// With `from`, a copy of that preset (a builtin too) with the given fields changed.
#[endpoint(tags("presets"), status_codes(201, 400, 404, 409))]
async fn create_preset(body: JsonBody<PresetInput>, depot: &mut Depot) -> ApiResult<Preset> {
    let state = depot.app().clone();
    let input = body.into_inner();
    let id = input.id.clone().unwrap_or_default();
    super::input::valid_id(&id, "id")?;
    let mut preset = match &input.from {
        Some(from) => state
            .chat
            .presets
            .get(from)
            .ok_or_else(|| not_found(from))?,
        None => Preset {
            id: id.clone(),
            name: String::new(),
            description: String::new(),
            category: "custom".into(),
            system_prompt: String::new(),
            model: None,
            temperature: None,
            max_tokens: None,
            tools: PresetTools::default(),
            context: PresetContext::default(),
            is_default: false,
            is_builtin: false,
        },
    };
    preset.id = id.clone();
    preset.is_builtin = false;
    preset.is_default = false;
    apply(input, &mut preset)?;
    if !state.chat.presets.create(&preset).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            code::CONFLICT,
            format!("a preset `{id}` exists"),
        ));
    }
    Ok(Reply::created(preset))
}

/// One preset
#[endpoint(tags("presets"))]
async fn get_preset(id: PathParam<String>, depot: &mut Depot) -> ApiResult<Preset> {
    let id = id.into_inner();
    let preset = depot
        .app()
        .chat
        .presets
        .get(&id)
        .ok_or_else(|| not_found(&id))?;
    Ok(Reply::ok(preset))
}

/// Change a preset (builtins: 409)
#[endpoint(tags("presets"))]
async fn update_preset(
    id: PathParam<String>,
    body: JsonBody<PresetInput>,
    depot: &mut Depot,
) -> ApiResult<Preset> {
    let state = depot.app().clone();
    let id = id.into_inner();
    let input = body.into_inner();
    let mut preset = state.chat.presets.get(&id).ok_or_else(|| not_found(&id))?;
    if preset.is_builtin {
        return Err(builtin_conflict(&id));
    }
    if input.id.as_ref().is_some_and(|i| *i != id) {
        return Err(ApiError::validation("a preset cannot be renamed")
            .with_details(json!({ "field": "id" })));
    }
    apply(input, &mut preset)?;
    let is_default = preset.is_default;
    preset.is_default = false;
    if !state.chat.presets.replace(&preset).await? {
        return Err(not_found(&id));
    }
    preset.is_default = is_default;
    Ok(Reply::ok(preset))
}

/// Delete a preset (builtins and the default: 409)
#[endpoint(tags("presets"))]
async fn delete_preset(id: PathParam<String>, depot: &mut Depot) -> ApiResult<Option<Empty>> {
    let state = depot.app().clone();
    let id = id.into_inner();
    let preset = state.chat.presets.get(&id).ok_or_else(|| not_found(&id))?;
    if preset.is_builtin {
        return Err(builtin_conflict(&id));
    }
    if preset.is_default {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            code::CONFLICT,
            format!("preset `{id}` is the default: make another preset the default first"),
        ));
    }
    if !state.chat.presets.delete(&id).await? {
        return Err(not_found(&id));
    }
    Empty::reply()
}

#[derive(Serialize, ToSchema)]
struct DefaultId {
    id: String,
}

/// Make a preset the default
#[endpoint(tags("presets"))]
async fn make_default(id: PathParam<String>, depot: &mut Depot) -> ApiResult<DefaultId> {
    let state = depot.app().clone();
    let id = id.into_inner();
    state.chat.presets.get(&id).ok_or_else(|| not_found(&id))?;
    state.chat.presets.set_default(&id).await?;
    Ok(Reply::ok(DefaultId { id }))
}
