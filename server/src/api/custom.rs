//! `/api/tools/custom` and `/api/tools/reload`: third-party extensions.

use salvo::oapi::extract::{JsonBody, PathParam};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppDepot;
use super::error::ApiError;
use super::reply::{ApiResult, Reply};
use crate::extensions::Compiled;
use crate::extensions::custom::{Change, Upload};
use crate::manifest::Capabilities;
use crate::store::ExtensionRecord;
use crate::tools::Source;

/// Under `/api/tools`, whose `read`/admin rule it keeps.
pub fn custom_router() -> Router {
    Router::with_path("custom")
        .get(list_custom)
        .post(install_custom)
        .push(
            Router::with_path("{name}")
                .put(change_custom)
                .delete(uninstall_custom),
        )
}

pub fn reload_router() -> Router {
    Router::with_path("reload").post(reload)
}

/// Capabilities requested by the manifest, granted by the admin, and in force (both).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CapabilitiesView {
    requested: CapabilitySet,
    granted: CapabilitySet,
    in_force: CapabilitySet,
}

/// `http` origins, `kv`, `config` keys.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields, default)]
struct CapabilitySet {
    http: Vec<String>,
    kv: bool,
    config: Vec<String>,
}

impl From<&Capabilities> for CapabilitySet {
    fn from(c: &Capabilities) -> Self {
        Self {
            http: c.http.clone(),
            kv: c.kv,
            config: c.config.clone(),
        }
    }
}

impl From<CapabilitySet> for Capabilities {
    fn from(c: CapabilitySet) -> Self {
        Self {
            http: c.http,
            kv: c.kv,
            config: c.config,
        }
    }
}

#[derive(Serialize, ToSchema)]
struct ToolRefView {
    name: String,
    description: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct EventView {
    /// Unix milliseconds.
    at: i64,
    action: String,
}

/// An installed extension.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ExtensionView {
    name: String,
    version: Option<String>,
    description: Option<String>,
    tools: Vec<ToolRefView>,
    sha256: String,
    size: u64,
    capabilities: CapabilitiesView,
    /// What the manifest requests that no admin has granted yet (empty when nothing is
    /// pending): grant it with `PUT /api/tools/custom/{name}` `{"grants": …}`.
    pending_grants: CapabilitySet,
    /// Keys of the admin-set config values (the values are not shown).
    config_keys: Vec<String>,
    enabled: bool,
    /// `upload` or `directory`.
    origin: String,
    /// Unix milliseconds.
    installed_at: i64,
    updated_at: i64,
    /// The last changes, oldest first.
    events: Vec<EventView>,
}

fn view(record: &ExtensionRecord) -> ExtensionView {
    let requested = &record.manifest.capabilities;
    ExtensionView {
        name: record.name.clone(),
        version: record.version.clone(),
        description: record.description.clone(),
        tools: record
            .tools
            .iter()
            .map(|t| ToolRefView {
                name: t.name.clone(),
                description: t.description.clone(),
            })
            .collect(),
        sha256: record.sha256.clone(),
        size: record.size,
        capabilities: CapabilitiesView {
            requested: requested.into(),
            granted: (&record.grants).into(),
            in_force: (&requested.intersect(&record.grants)).into(),
        },
        pending_grants: (&requested.missing_from(&record.grants)).into(),
        config_keys: record.config.keys().cloned().collect(),
        enabled: record.enabled,
        origin: record.origin.clone(),
        installed_at: record.installed_at,
        updated_at: record.updated_at,
        events: record
            .events
            .iter()
            .map(|e| EventView {
                at: e.at,
                action: e.action.clone(),
            })
            .collect(),
    }
}

/// Installed custom extensions
#[endpoint(tags("tools"))]
async fn list_custom(depot: &mut Depot) -> ApiResult<Vec<ExtensionView>> {
    let records = depot.app().custom.list().await?;
    Ok(Reply::ok(records.iter().map(view).collect()))
}

/// The multipart form of an upload.
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    /// The component (`.wasm`, WASI 0.2, world `chatai:extension/extension@0.1.0`).
    #[salvo(schema(value_type = String, format = Binary))]
    file: Vec<u8>,
    /// Optional `extension.toml` (as a file or a text field).
    #[salvo(schema(value_type = Option<String>, format = Binary))]
    manifest: Option<Vec<u8>>,
}

/// Install or upgrade a custom extension
///
/// Multipart with `file` (the component) and optionally `manifest` (`extension.toml`). The
/// component is validated (a component? the `chatai:extension` world? every import
/// satisfiable?), asked for its tools once in a sandbox, stored, compiled (kept in the compile
/// cache) and registered at once. The same extension name again is an upgrade: calls in
/// flight finish on the old version. A tool name that another extension provides → 409. On
/// any refusal nothing is stored. 201 on install, 200 on upgrade.
#[endpoint(
    tags("tools"),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    status_codes(200, 201, 400, 409, 413)
)]
async fn install_custom(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
) -> ApiResult<ExtensionView> {
    let form = req.form_data().await.map_err(|err| {
        ApiError::validation(format!(
            "expected multipart/form-data with a `file` part: {err}"
        ))
    })?;
    let file = form.files.get("file").ok_or_else(|| {
        ApiError::validation("the multipart field `file` (the component) is missing")
    })?;
    let file_name = file.name().map(str::to_owned);
    let bytes = tokio::fs::read(file.path())
        .await
        .map_err(ApiError::internal)?;
    let manifest = match (form.files.get("manifest"), form.fields.get("manifest")) {
        (Some(part), _) => Some(
            String::from_utf8(
                tokio::fs::read(part.path())
                    .await
                    .map_err(ApiError::internal)?,
            )
            .map_err(|_| ApiError::validation("extension.toml is not UTF-8"))?,
        ),
        (None, Some(text)) => Some(text.clone()),
        (None, None) => None,
    };
    let app = depot.app();
    let config = app.config.current();
    let installed = app
        .custom
        .install(
            Upload {
                file_name,
                bytes,
                manifest,
                origin: "upload",
            },
            &config.extensions,
        )
        .await?;
    res.add_header(
        "X-Compile-Cache",
        match installed.compiled {
            Compiled::Cached => "hit",
            Compiled::Fresh => "miss",
        },
        true,
    )
    .ok();
    let body = view(&installed.record);
    Ok(if installed.replaced.is_some() {
        Reply::ok(body)
    } else {
        Reply::created(body)
    })
}

/// A change to an installed extension; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    enabled: Option<bool>,
    /// Replaces the grants; must be within what the manifest requests.
    grants: Option<CapabilitySet>,
    /// Replaces the admin-set config values; keys must be declared by the manifest.
    config: Option<serde_json::Map<String, Value>>,
}

/// Enable, disable, grant capabilities or set config values
///
/// Takes effect at once; every change is logged and kept in the extension's `events`.
#[endpoint(tags("tools"), status_codes(200, 400, 404))]
async fn change_custom(
    name: PathParam<String>,
    body: JsonBody<ChangeBody>,
    depot: &mut Depot,
) -> ApiResult<ExtensionView> {
    let body = body.into_inner();
    let record = depot
        .app()
        .custom
        .change(
            &name.into_inner(),
            Change {
                enabled: body.enabled,
                grants: body.grants.map(Into::into),
                config: body.config,
            },
        )
        .await?;
    Ok(Reply::ok(view(&record)))
}

/// Uninstall a custom extension
///
/// Its tools leave the registry at once (calls in flight finish) and its component is deleted.
#[endpoint(tags("tools"), status_codes(200, 404))]
async fn uninstall_custom(name: PathParam<String>, depot: &mut Depot) -> ApiResult<Value> {
    depot.app().custom.uninstall(&name.into_inner()).await?;
    Ok(Reply::ok(Value::Null))
}

/// Extensions loaded by source, after a reload.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ReloadCounts {
    builtin: usize,
    custom: usize,
    mcp: usize,
    /// Skills (builtin and custom) registered.
    skills: usize,
    /// Custom extensions that failed to load (see the server log).
    custom_failed: usize,
    /// Custom extensions whose compiled code came from the compile cache (the others were
    /// compiled again: not cached yet, or an artifact without a valid seal).
    custom_from_cache: usize,
}

/// Reload custom extensions from the database
///
/// Re-reads every installed extension (using the compile cache) and rebuilds their registry
/// entries, e.g. after another instance changed them in a shared database.
#[endpoint(tags("tools"))]
async fn reload(depot: &mut Depot) -> ApiResult<ReloadCounts> {
    let app = depot.app();
    let config = app.config.current();
    let counts = app.custom.load_all(&config.extensions).await?;
    let registry = &app.tools.registry;
    Ok(Reply::ok(ReloadCounts {
        builtin: registry.count_providers(Source::Builtin),
        custom: registry.count_providers(Source::Custom),
        mcp: registry.count_providers(Source::Mcp),
        skills: registry.list().iter().filter(|t| t.is_skill()).count(),
        custom_failed: counts.failed,
        custom_from_cache: counts.from_cache,
    }))
}
