//! `/api/config`: the effective configuration, its sources, runtime changes, its schema.

use std::collections::BTreeMap;

use salvo::oapi::extract::{JsonBody, QueryParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppDepot;
use super::reply::{ApiResult, Reply};
use crate::auth::policy::Access;
use crate::config::{Config, Layer};
use crate::http::RouterAccess;

pub fn router() -> Router {
    Router::with_path("config")
        .access(Access::READ_ADMIN)
        .get(get_config)
        .put(put_config)
        .push(Router::with_path("schema").get(config_schema))
}

#[derive(Serialize, ToSchema)]
struct ExplainedConfig {
    config: Value,
    /// Each key's source layer: `default`, `file`, `env` or `runtime`.
    #[salvo(schema(value_type = Object))]
    sources: BTreeMap<String, Layer>,
}

/// The effective configuration
///
/// Secrets show as `***`. With `explain=true`, the answer is `{config, sources}`.
#[endpoint(tags("config"))]
async fn get_config(explain: QueryParam<bool, false>, depot: &mut Depot) -> ApiResult<Value> {
    let service = &depot.app().config;
    let config = service.redacted();
    if explain.into_inner().unwrap_or(false) {
        let explained = ExplainedConfig {
            config,
            sources: service.sources().await,
        };
        return Ok(Reply::ok(
            serde_json::to_value(explained).unwrap_or(Value::Null),
        ));
    }
    Ok(Reply::ok(config))
}

#[derive(Deserialize, ToSchema)]
struct ConfigChange {
    /// A dotted key, e.g. `trigger.prefix`.
    path: String,
    value: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConfigChanged {
    path: String,
    value: Value,
    /// The key is stored but takes effect at the next start.
    restart_required: bool,
}

/// Change one key at runtime
///
/// The value is type-checked against the config schema (400 with the expected type), stored in
/// the database (it survives restarts and outranks `chatai.toml`) and applied at once where
/// possible. Keys set by `CHATAI_*` environment variables answer 409 `CONFIG_PINNED`.
#[endpoint(tags("config"))]
async fn put_config(body: JsonBody<ConfigChange>, depot: &mut Depot) -> ApiResult<ConfigChanged> {
    let body = body.into_inner();
    let update = depot.app().config.set(body.path.trim(), body.value).await?;
    tracing::info!(path = %update.path, restart_required = update.restart_required, "configuration changed");
    Ok(Reply::ok(ConfigChanged {
        path: update.path,
        value: update.value,
        restart_required: update.restart_required,
    }))
}

/// JSON Schema of the configuration
#[endpoint(tags("config"))]
async fn config_schema() -> ApiResult<Value> {
    let schema = schemars::schema_for!(Config);
    Ok(Reply::ok(
        serde_json::to_value(schema).unwrap_or(Value::Null),
    ))
}
