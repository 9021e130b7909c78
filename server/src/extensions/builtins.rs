//! The builtin extensions: components compiled into this binary, registered as `builtin`.

use std::sync::Arc;

use super::{Extension, ExtensionHost, Powers, SkillBinder, WasmBackend};
use crate::config::ExtensionsConfig;
use crate::manifest::{ManifestLimits, SkillLimits};
use crate::tools::{Provider, Source, ToolBackend, ToolKind, ToolRegistry};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
}

/// Loads the builtin components (tools and skills) and registers them. Returns them (their
/// compiled code is what the compile cache keeps for them).
pub async fn load(
    host: &Arc<ExtensionHost>,
    registry: &ToolRegistry,
    config: &ExtensionsConfig,
    skills: &dyn SkillBinder,
) -> anyhow::Result<Vec<Arc<Extension>>> {
    let mut loaded = Vec::new();
    for (name, bytes) in embedded::BUILTINS {
        let version = Some(env!("CARGO_PKG_VERSION").to_owned());
        let extension = host
            .load(
                name,
                version,
                bytes,
                ManifestLimits::default(),
                SkillLimits::default(),
                config,
            )
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
            .register(provider(host, &extension, Source::Builtin, true, skills))
            .map_err(|err| anyhow::anyhow!("builtin extension `{name}`: {err}"))?;
        host.keep_compiled(&extension).await;
        loaded.push(extension);
    }
    Ok(loaded)
}

/// An extension as a tool provider: a tool component runs in the WASM backend, a skill in
/// the backend `skills` makes for it.
pub(super) fn provider(
    host: &Arc<ExtensionHost>,
    extension: &Arc<Extension>,
    source: Source,
    enabled: bool,
    skills: &dyn SkillBinder,
) -> Provider {
    let kind = extension.kind();
    let backend: Arc<dyn ToolBackend> = match kind {
        ToolKind::Tool => Arc::new(WasmBackend::new(host.clone(), extension.clone())),
        ToolKind::Skill => skills.backend(host, extension),
    };
    Provider {
        name: extension.name.to_string(),
        source,
        version: extension.version.clone(),
        tools: extension.tools.clone(),
        backend,
        enabled,
        kind,
    }
}
