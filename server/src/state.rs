//! The application state shared by every handler (put in the depot by a service hoop).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::AuthService;
use crate::channels::ChannelService;
use crate::chat::ChatService;
use crate::config::ConfigService;
use crate::events::EventBus;
use crate::extensions::custom::CustomExtensions;
use crate::mcp::McpManager;
use crate::mcp::endpoint::McpEndpoint;
use crate::store::Store;
use crate::tools::ToolHub;

/// The services the server is made of.
pub struct Services {
    pub config: Arc<ConfigService>,
    pub store: Store,
    pub auth: Arc<AuthService>,
    pub tools: Arc<ToolHub>,
    /// Custom extensions: install, change, uninstall, reload.
    pub custom: Arc<CustomExtensions>,
    pub events: Arc<EventBus>,
    /// LLM channels: list, health, attempt plans.
    pub channels: Arc<ChannelService>,
    pub chat: Arc<ChatService>,
    /// MCP servers we connect to.
    pub mcp: Arc<McpManager>,
    /// `/mcp`, our tools to MCP clients.
    pub mcp_endpoint: Arc<McpEndpoint>,
}

/// The services and what the server knows about itself. Derefs to [`Services`], so a
/// handler writes `state.config`, `state.tools`, …
pub struct AppState {
    services: Services,
    pub metrics: PrometheusHandle,
    pub started_at: Instant,
    /// The last result of the background database probe; `/api/system/health` reads this,
    /// so health checks cost no database round trip.
    db_ok: AtomicBool,
    /// The OpenAPI document, generated once from the router.
    pub openapi: OnceLock<serde_json::Value>,
    /// Base of login links: `server.public_url`, or the address actually bound.
    pub base_url: OnceLock<String>,
    /// This instance among those on the same database (random, chosen at start).
    pub instance_id: String,
    /// When this instance started, Unix ms.
    pub started_at_ms: i64,
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.services
    }
}

impl AppState {
    pub fn new(services: Services, metrics: PrometheusHandle) -> Self {
        Self {
            services,
            metrics,
            started_at: Instant::now(),
            db_ok: AtomicBool::new(true),
            openapi: OnceLock::new(),
            base_url: OnceLock::new(),
            instance_id: crate::auth::random_hex_secret()[..12].to_owned(),
            started_at_ms: crate::store::now_ms(),
        }
    }

    pub fn db_ok(&self) -> bool {
        self.db_ok.load(Ordering::Relaxed)
    }

    /// Probes the database once and records the outcome.
    pub async fn probe_db(&self) {
        let started = Instant::now();
        let ok = match tokio::time::timeout(std::time::Duration::from_secs(2), self.store.ping())
            .await
        {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "database probe failed");
                false
            }
            Err(_) => {
                tracing::warn!("database probe timed out");
                false
            }
        };
        metrics::histogram!("chatai_db_probe_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        metrics::gauge!("chatai_db_up").set(if ok { 1.0 } else { 0.0 });
        self.db_ok.store(ok, Ordering::Relaxed);
    }
}
