//! `/api/system` and `/metrics`: health, status, statistics for operators.

use salvo::http::StatusCode;
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::oapi::extract::QueryParam;
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::Serialize;

use super::AppDepot;
use super::error::{ApiError, code};
use super::reply::{ApiResult, Reply};
use crate::auth::policy::{Access, RateClass, RouteRule};
use crate::events::Event;
use crate::http::RouterAccess;

pub fn router() -> Router {
    Router::with_path("system")
        .access(Access::READ_ADMIN)
        .push(
            Router::with_path("health")
                .access(RouteRule::new(Access::Public).rate(RateClass::Exempt))
                .get(health),
        )
        .push(Router::with_path("status").get(status))
        .push(super::system_stats::router())
        .push(
            Router::with_path("events")
                .access(RouteRule::new(Access::READ_ADMIN).query_token())
                .get(events),
        )
}

pub fn metrics_router() -> Router {
    Router::with_path("metrics")
        .access(RouteRule::new(Access::Metrics).rate(RateClass::Exempt))
        .get(prometheus_metrics)
}

#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
    db: &'static str,
}

/// Liveness and database reachability (no auth)
///
/// Answers from the last background probe of the database (every second), so it costs no
/// database round trip. 503 `SERVICE_UNAVAILABLE` while the database is unreachable.
#[endpoint(tags("system"))]
async fn health(depot: &mut Depot) -> ApiResult<Health> {
    if depot.app().db_ok() {
        Ok(Reply::ok(Health {
            status: "ok",
            db: "ok",
        }))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code::SERVICE_UNAVAILABLE,
            "database unreachable",
        )
        .with_details(serde_json::json!({ "status": "degraded", "db": "unreachable" })))
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Memory {
    rss_bytes: u64,
}

#[derive(Serialize, ToSchema)]
struct Db {
    engine: &'static str,
    ok: bool,
}

#[derive(Serialize, ToSchema)]
struct Counts {
    builtin: usize,
    custom: usize,
}

#[derive(Serialize, ToSchema)]
struct McpCounts {
    connected: usize,
    total: usize,
}

#[derive(Serialize, ToSchema)]
struct ChannelCounts {
    enabled: usize,
    total: usize,
}

/// A chatai instance on this database, as its heartbeat row says.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Instance {
    /// Random, chosen when it started.
    id: String,
    /// The base URL it serves.
    address: String,
    version: String,
    /// Unix ms.
    started_at: i64,
    /// Its last heartbeat (every 2 s), Unix ms.
    seen_at: i64,
    /// The instance answering this request.
    this: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Status {
    version: &'static str,
    uptime_secs: u64,
    memory: Memory,
    db: Db,
    /// Components loaded (tool and skill components alike).
    extensions: Counts,
    /// Every registered tool, skills included.
    tools: usize,
    /// Skills (builtin and custom).
    skills: usize,
    /// MCP servers we connect to.
    mcp: McpCounts,
    /// LLM channels.
    channels: ChannelCounts,
    /// The instances running on this database (heartbeat within the last 6 s), this one
    /// included; empty while the database is unreachable.
    instances: Vec<Instance>,
}

/// What runs and how it is doing
#[endpoint(tags("system"))]
async fn status(depot: &mut Depot) -> ApiResult<Status> {
    let state = depot.app();
    let within = 3 * crate::store::HEARTBEAT.as_millis() as i64;
    let instances = match state.store.live_instances(within).await {
        Ok(rows) => rows
            .into_iter()
            .map(|row| Instance {
                this: row.id == state.instance_id,
                id: row.id,
                address: row.address,
                version: row.version,
                started_at: row.started_at,
                seen_at: row.seen_at,
            })
            .collect(),
        Err(err) => {
            tracing::debug!(error = %err, "instances not listed");
            Vec::new()
        }
    };
    Ok(Reply::ok(Status {
        instances,
        version: env!("CARGO_PKG_VERSION"),
        uptime_secs: state.started_at.elapsed().as_secs(),
        memory: Memory {
            rss_bytes: rss_bytes(),
        },
        db: Db {
            engine: state.store.engine(),
            ok: state.db_ok(),
        },
        extensions: Counts {
            builtin: state
                .tools
                .registry
                .count_providers(crate::tools::Source::Builtin),
            custom: state.custom.loaded_count(),
        },
        tools: state.tools.registry.list().len(),
        skills: state
            .tools
            .registry
            .list()
            .iter()
            .filter(|tool| tool.is_skill())
            .count(),
        mcp: {
            let (connected, total) = state.mcp.counts();
            McpCounts { connected, total }
        },
        channels: {
            let channels = state.channels.list();
            ChannelCounts {
                enabled: channels.iter().filter(|c| c.enabled).count(),
                total: channels.len(),
            }
        },
    }))
}

/// Resident memory of this process, from `/proc/self/statm` (0 where there is no procfs).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Prometheus metrics
///
/// Needs an API key with `read` (or a session) unless `metrics.public` is on.
#[endpoint(tags("system"), responses((status_code = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")))]
async fn prometheus_metrics(depot: &mut Depot, res: &mut Response) {
    let state = depot.app();
    metrics::gauge!("chatai_process_resident_memory_bytes").set(rss_bytes() as f64);
    let body = state.metrics.render();
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res.write_body(body).ok();
}

/// Live events (SSE)
///
/// Server-sent events of the event bus: `tool_update` (a provider's tools appeared, changed
/// or went away), `extension_changed`, `config_changed`, `tool_progress` (a running tool's
/// `progress` reports) and `mcp_connected`, `mcp_disconnected`, `mcp_error`,
/// `mcp_tools_updated` (an MCP server we connect to). `types` (comma-separated) keeps only those. `data:` is JSON; a
/// `:heartbeat` comment line comes every 15 s. EventSource cannot send headers, so this route also
/// takes the session token as `?token=`. A client that reads too slowly (256 events behind) is
/// disconnected.
#[endpoint(tags("system"), responses((status_code = 200, description = "text/event-stream", content_type = "text/event-stream", body = String)))]
async fn events(
    types: QueryParam<String, false>,
    depot: &mut Depot,
    res: &mut Response,
) -> Result<(), ApiError> {
    let wanted: Option<Vec<String>> = types.into_inner().map(|list| {
        list.split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    });
    if let Some(unknown) = wanted
        .iter()
        .flatten()
        .find(|t| !Event::NAMES.contains(&t.as_str()))
    {
        return Err(ApiError::validation(format!(
            "unknown event type `{unknown}`; known: {}",
            Event::NAMES.join(", ")
        )));
    }
    let subscription = depot.app().events.subscribe();
    crate::http::sse::stream_events(res, subscription, move |event| {
        wanted
            .as_ref()
            .is_none_or(|wanted| wanted.iter().any(|t| t == event.name()))
    });
    Ok(())
}
