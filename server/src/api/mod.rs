//! The REST API: one module per seed module, each with its `router()`.

mod auth;
mod channels;
mod chat;
mod chat_history;
mod config;
mod conversations;
mod custom;
pub mod error;
mod groups;
mod input;
mod mcp;
mod mcp_endpoint;
mod memories;
mod openapi;
mod panel;
mod presets;
pub mod reply;
mod secrets;
mod skills;
mod system;
mod system_stats;
mod tools;

use std::sync::Arc;

use salvo::{Depot, Router};

pub use auth::login_url_with_base;
pub use openapi::document;

use crate::http::RouteEntry;
use crate::state::AppState;

/// The application state, as handlers reach it.
pub trait AppDepot {
    /// Injected for every request before any handler runs.
    fn app(&self) -> &Arc<AppState>;
}

impl AppDepot for Depot {
    fn app(&self) -> &Arc<AppState> {
        match self.get_typed::<Arc<AppState>>() {
            Ok(state) => state,
            // The state hoop runs first on every route; reaching this is a wiring bug.
            Err(_) => panic!("AppState missing from the depot"),
        }
    }
}

/// What the server serves.
pub struct Routes {
    /// Every route, sealed: each goal runs behind the access its route declared.
    pub router: Router,
    /// Each route with its declared rule.
    pub table: Vec<RouteEntry>,
    /// The OpenAPI document (made before sealing: it reads the handlers' own metadata).
    pub openapi: serde_json::Value,
}

/// Builds and seals every route. Routes that declare no access are refused at run time and
/// named in the log here.
pub fn routes() -> Routes {
    let mut router = router();
    let openapi = document(&router);
    let table = crate::http::seal(&mut router);
    for entry in table.iter().filter(|e| e.rule.is_none()) {
        tracing::error!(path = %entry.path, method = ?entry.method, "route declares no access: every request to it is refused");
    }
    Routes {
        router,
        table,
        openapi,
    }
}

/// Every route the server serves, unsealed.
fn router() -> Router {
    Router::new()
        .push(
            Router::with_path("api")
                .push(auth::router())
                .push(config::router())
                .push(
                    Router::with_path("config")
                        .push(channels::router())
                        .push(presets::router())
                        .push(groups::config_alias()),
                )
                .push(presets::router())
                .push(channels::router())
                .push(chat::router())
                .push(conversations::router())
                .push(system::router())
                .push(tools::router())
                .push(mcp::router())
                .push(skills::router())
                .push(groups::router())
                .push(openapi::router()),
        )
        .push(mcp_endpoint::router())
        .push(auth::link_router())
        .push(panel::login_router())
        .push(system::metrics_router())
        .push(panel::router())
}

/// RFC 3339 (UTC, milliseconds) from Unix milliseconds.
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Unix milliseconds of an RFC 3339 timestamp (the inverse of [`timestamp`]).
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.timestamp_millis())
}
