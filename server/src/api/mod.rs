//! The REST API: one module per seed module, each with its `router()`.

mod auth;
mod config;
mod custom;
pub mod error;
mod openapi;
mod panel;
pub mod reply;
mod system;
mod tools;

use salvo::Router;

pub use auth::login_url_with_base;
pub use openapi::document;

/// Every route the server serves.
pub fn router() -> Router {
    Router::new()
        .push(
            Router::with_path("api")
                .push(auth::router())
                .push(config::router())
                .push(system::router())
                .push(tools::router())
                .push(openapi::router()),
        )
        .push(auth::link_router())
        .push(system::metrics_router())
        .push(panel::router())
}

/// RFC 3339 (UTC, milliseconds) from Unix milliseconds.
pub fn timestamp(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
