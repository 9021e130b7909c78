//! The builtin extensions: components compiled into this binary, registered as `builtin`.

use std::sync::Arc;

use super::{Extension, ExtensionHost, Powers, WasmBackend};
use crate::config::ExtensionsConfig;
use crate::manifest::ManifestLimits;
use crate::tools::{Provider, Source, ToolRegistry};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
}

/// Loads the builtin components and registers their tools. Returns them (their compiled code
/// is what the compile cache keeps for them).
pub async fn load(
    host: &Arc<ExtensionHost>,
    registry: &ToolRegistry,
    config: &ExtensionsConfig,
) -> anyhow::Result<Vec<Arc<Extension>>> {
    let mut loaded = Vec::new();
    for (name, bytes) in embedded::BUILTINS {
        let version = Some(env!("CARGO_PKG_VERSION").to_owned());
        let extension = host
            .load(name, version, bytes, ManifestLimits::default(), config)
            .await
            .map_err(|err| anyhow::anyhow!("builtin extension `{name}`: {err}"))?;
        // Builtins' grants come from the config; only web_fetch needs one.
        if *name == "web_fetch" {
            extension.set_powers(Powers {
                http: Arc::new(config.web_fetch_origins.clone()),
                ..Default::default()
            });
        }
        registry
            .register(provider(host, &extension, Source::Builtin, true))
            .map_err(|err| anyhow::anyhow!("builtin extension `{name}`: {err}"))?;
        host.keep_compiled(&extension).await;
        loaded.push(extension);
    }
    Ok(loaded)
}

/// An extension as a tool provider.
pub(super) fn provider(
    host: &Arc<ExtensionHost>,
    extension: &Arc<Extension>,
    source: Source,
    enabled: bool,
) -> Provider {
    Provider {
        name: extension.name.clone(),
        source,
        version: extension.version.clone(),
        tools: extension.tools.clone(),
        backend: Arc::new(WasmBackend::new(host.clone(), extension.clone())),
        enabled,
    }
}
