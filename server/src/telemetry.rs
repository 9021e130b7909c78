//! Logging (tracing) and the Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber: human-readable, or JSON with `log.format = "json"`.
/// `RUST_LOG` overrides `log.level`. A second call (tests start many servers) is a no-op.
pub fn init_logging(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(directives(&config.level)))
        .unwrap_or_else(|_| EnvFilter::new(directives("info")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
    drop(result);
}

/// `log.level` as a filter: a bare level (`info`, `debug`…) is the level of our own lines, and
/// the libraries under us (the database's internals above all) speak at `warn`; anything else
/// (`info,surrealdb=debug`) is taken as a full filter.
fn directives(level: &str) -> String {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    if LEVELS.contains(&level.trim().to_ascii_lowercase().as_str()) {
        format!("warn,chatai_server={level}")
    } else {
        level.to_owned()
    }
}

/// The process-wide Prometheus recorder (one per process, shared by every server in it).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// Drains the recorder's histogram samples into their summaries every five seconds. Without
/// it, samples pile up until a scrape of `/metrics` (a few bytes per request, forever when
/// nothing scrapes).
pub fn spawn_metrics_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}
