//! `/api/system` and `/metrics`: health, status, statistics for operators.

use salvo::http::StatusCode;
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::oapi::{ToSchema, endpoint};
use salvo::prelude::*;
use serde::Serialize;

use super::error::{ApiError, code};
use super::reply::{ApiResult, Reply};
use crate::auth::policy::{Access, RateClass, RouteRule};
use crate::http::{DepotExt, RouterAccess};

pub fn router() -> Router {
    Router::with_path("system")
        .access(Access::READ_ADMIN)
        .push(
            Router::with_path("health")
                .access(RouteRule::new(Access::Public).rate(RateClass::Exempt))
                .get(health),
        )
        .push(Router::with_path("status").get(status))
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

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Status {
    version: &'static str,
    uptime_secs: u64,
    memory: Memory,
    db: Db,
    extensions: Counts,
    tools: usize,
    mcp: McpCounts,
    channels: ChannelCounts,
}

/// What runs and how it is doing
#[endpoint(tags("system"))]
async fn status(depot: &mut Depot) -> ApiResult<Status> {
    let state = depot.app();
    Ok(Reply::ok(Status {
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
                .count_extensions(crate::tools::Source::Builtin),
            custom: state
                .tools
                .registry
                .count_extensions(crate::tools::Source::Custom),
        },
        tools: state.tools.registry.list().len(),
        mcp: McpCounts {
            connected: 0,
            total: 0,
        },
        channels: ChannelCounts {
            enabled: 0,
            total: 0,
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
