//! `/api/group-admin`: per-group settings (alias `/api/config/groups/:groupId`), the settings in
//! force with the source of each field, and today's usage.

use salvo::oapi::extract::{JsonBody, PathParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::AppDepot;
use super::error::ApiError;
use super::reply::{ApiResult, Empty, Reply};
use crate::auth::policy::Access;
use crate::groups::{Effective, GroupError, GroupSettings, GroupView};
use crate::http::RouterAccess;

/// Mounted at `/api/group-admin`.
pub fn router() -> Router {
    Router::with_path("group-admin")
        .access(Access::READ_ADMIN)
        .push(
            Router::with_path("groups")
                .get(list_groups)
                .push(group_router())
                .push(Router::with_path("{groupId}/effective").get(effective))
                .push(Router::with_path("{groupId}/usage").get(usage)),
        )
}

/// `/api/config/groups/:groupId`, the seed's alias.
pub fn config_alias() -> Router {
    Router::with_path("groups")
        .access(Access::READ_ADMIN)
        .push(group_router())
}

fn group_router() -> Router {
    Router::with_path("{groupId}")
        .get(get_group)
        .put(put_group)
        .delete(delete_group)
}

impl From<GroupError> for ApiError {
    fn from(err: GroupError) -> Self {
        match err {
            GroupError::Invalid(message) => ApiError::validation(message),
            GroupError::Store(err) => err.into(),
        }
    }
}

/// A group's settings as the API shows them.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct GroupBody {
    group_id: String,
    #[serde(flatten)]
    settings: GroupSettings,
    /// RFC 3339.
    updated_at: String,
}

impl From<GroupView> for GroupBody {
    fn from(view: GroupView) -> Self {
        Self {
            group_id: view.group_id,
            settings: view.settings,
            updated_at: super::timestamp(view.updated_at),
        }
    }
}

/// Groups with settings
#[endpoint(tags("group-admin"))]
async fn list_groups(depot: &mut Depot) -> ApiResult<Vec<GroupBody>> {
    let groups = depot.app().chat.groups.list();
    Ok(Reply::ok(groups.into_iter().map(GroupBody::from).collect()))
}

/// A group's settings
///
/// Only what was set for it; a group without settings answers `{groupId}` alone (it follows
/// the global config — see `effective`).
#[endpoint(tags("group-admin"))]
async fn get_group(
    #[allow(non_snake_case)] groupId: PathParam<String>,
    depot: &mut Depot,
) -> ApiResult<Value> {
    let id = groupId.into_inner();
    let body = match depot.app().chat.groups.get(&id) {
        Some(view) => serde_json::to_value(GroupBody::from(view)).unwrap_or_default(),
        None => serde_json::json!({ "groupId": id }),
    };
    Ok(Reply::ok(body))
}

/// Change a group's settings
///
/// The body is merged into what is stored: fields it names change, `null` clears a field (it
/// inherits the global config again), the rest stay. `presetId` and `channel` must exist;
/// `trigger.randomRate` is 0–100; an unknown field is 400.
#[endpoint(tags("group-admin"))]
async fn put_group(
    #[allow(non_snake_case)] groupId: PathParam<String>,
    body: JsonBody<Value>,
    depot: &mut Depot,
) -> ApiResult<GroupBody> {
    let state = depot.app().clone();
    let check = |settings: &GroupSettings| {
        if let Some(preset) = &settings.preset_id
            && state.chat.presets.get(preset).is_none()
        {
            return Err(format!("no preset `{preset}`"));
        }
        if let Some(channel) = &settings.channel
            && state.channels.get(channel).is_none()
        {
            return Err(format!("no channel `{channel}`"));
        }
        Ok(())
    };
    let view = state
        .chat
        .groups
        .update(&groupId.into_inner(), body.into_inner(), check)
        .await?;
    Ok(Reply::ok(view.into()))
}

/// Forget a group's settings
///
/// The group follows the global config again.
#[endpoint(tags("group-admin"))]
async fn delete_group(
    #[allow(non_snake_case)] groupId: PathParam<String>,
    depot: &mut Depot,
) -> ApiResult<Option<Empty>> {
    let id = groupId.into_inner();
    if !depot.app().chat.groups.delete(&id).await? {
        return Err(ApiError::not_found(format!("group `{id}` has no settings")));
    }
    Empty::reply()
}

/// The settings in force
///
/// Every field as `{value, source}`: `group` when set for this group, `global` when inherited
/// from the config (`trigger.*`, `llm.default_model`, `usage.*`, the default preset).
#[endpoint(tags("group-admin"))]
async fn effective(
    #[allow(non_snake_case)] groupId: PathParam<String>,
    depot: &mut Depot,
) -> ApiResult<Effective> {
    let state = depot.app();
    let config = state.config.current();
    let merged = state.chat.groups.effective(
        &groupId.into_inner(),
        &config,
        &state.chat.presets.default_id(),
    );
    Ok(Reply::ok(merged))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UsageView {
    /// Today in `usage.timezone`, `YYYY-MM-DD`.
    date: String,
    group_count: u64,
    users: Vec<UserUsage>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserUsage {
    user_id: String,
    count: u64,
}

/// Today's usage
///
/// Chats counted today (answered or running; a failed one is given back).
#[endpoint(tags("group-admin"))]
async fn usage(
    #[allow(non_snake_case)] groupId: PathParam<String>,
    depot: &mut Depot,
) -> ApiResult<UsageView> {
    let state = depot.app();
    let date = state.config.current().usage.today();
    let rows = state.store.usage_of(&date, &groupId.into_inner()).await?;
    let group_count = rows
        .iter()
        .find(|r| r.user_id.is_empty())
        .map_or(0, |r| r.count);
    let users = rows
        .into_iter()
        .filter(|r| !r.user_id.is_empty())
        .map(|r| UserUsage {
            user_id: r.user_id,
            count: r.count,
        })
        .collect();
    Ok(Reply::ok(UsageView {
        date,
        group_count,
        users,
    }))
}
