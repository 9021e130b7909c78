//! Tools: one registry of every tool (builtin and custom WASM today; skills and MCP later) and
//! one executor that every caller goes through.

pub mod custom;
pub mod executor;
pub mod logs;
pub mod registry;
pub mod watch;

use std::sync::Arc;

pub use executor::{ExecError, ToolCall, ToolExecutor, ToolOutcome};
pub use logs::{ToolLogEntry, ToolLogQueue};
pub use registry::{RegisteredTool, Source, ToolRegistry};

use crate::config::ExtensionsConfig;
use crate::extensions::ExtensionHost;

mod builtins {
    include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
}

/// Loads the builtin components compiled into this binary.
pub async fn load_builtins(
    host: &ExtensionHost,
    registry: &ToolRegistry,
    config: &ExtensionsConfig,
) -> anyhow::Result<usize> {
    for (name, bytes) in builtins::BUILTINS {
        let extension = host
            .load(name, bytes, config)
            .await
            .map_err(|err| anyhow::anyhow!("builtin extension `{name}`: {err}"))?;
        // Builtins' grants come from the config; only web_fetch needs one.
        if *name == "web_fetch" {
            extension.set_powers(crate::extensions::Powers {
                http: Arc::new(config.web_fetch_origins.clone()),
                ..Default::default()
            });
        }
        registry
            .register(extension.clone(), Source::Builtin)
            .map_err(|err| anyhow::anyhow!("builtin extension `{name}`: {err}"))?;
        host.keep_compiled(&extension).await;
    }
    Ok(builtins::BUILTINS.len())
}

/// Everything the tool endpoints need.
pub struct ToolService {
    pub executor: ToolExecutor,
    pub registry: Arc<ToolRegistry>,
    pub custom: custom::CustomExtensions,
}
