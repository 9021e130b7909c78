//! One registry of every callable tool, whatever its source. Reads are lock-free snapshots;
//! listing never runs anything. Every change is published as a `tool_update` event.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Serialize;

use super::backend::ToolBackend;
use super::spec::ToolSpec;
use crate::events::{Event, EventBus, ToolUpdate};

/// Where a tool comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Builtin,
    Custom,
    Mcp,
}

impl Source {
    pub fn parse(value: &str) -> Option<Source> {
        match value {
            "builtin" => Some(Source::Builtin),
            "custom" => Some(Source::Custom),
            "mcp" => Some(Source::Mcp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Builtin => "builtin",
            Source::Custom => "custom",
            Source::Mcp => "mcp",
        }
    }
}

/// What a provider (an extension, an MCP server, …) registers: its tools and the backend that
/// runs them.
pub struct Provider {
    /// Unique within its source.
    pub name: String,
    pub source: Source,
    /// The provider's own version, when it declares one.
    pub version: Option<String>,
    pub tools: Vec<ToolSpec>,
    pub backend: Arc<dyn ToolBackend>,
    /// `false` while an admin has the whole provider disabled.
    pub enabled: bool,
}

/// A tool ready to be called: its spec, its compiled argument validator, its backend.
pub struct RegisteredTool {
    pub spec: ToolSpec,
    pub source: Source,
    /// The provider's name (extension or server).
    pub provider: String,
    pub version: Option<String>,
    /// Runs it; reachable only from the executor (policy, validation, limits and logging
    /// come first).
    pub(super) backend: Arc<dyn ToolBackend>,
    pub validator: jsonschema::Validator,
    /// `false` while an admin has the whole provider disabled.
    pub provider_enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("a tool named `{0}` is already provided by `{1}`")]
    NameTaken(String, String),
    #[error("the input schema of `{0}` does not compile: {1}")]
    Schema(String, String),
}

pub struct ToolRegistry {
    tools: ArcSwap<BTreeMap<String, Arc<RegisteredTool>>>,
    /// Serialises writers (readers never wait).
    writer: std::sync::Mutex<()>,
    events: Arc<EventBus>,
}

impl ToolRegistry {
    pub fn new(events: Arc<EventBus>) -> Self {
        Self {
            tools: ArcSwap::default(),
            writer: std::sync::Mutex::new(()),
            events,
        }
    }

    /// Adds every tool of a provider, or none if one name is taken.
    pub fn register(&self, provider: Provider) -> Result<(), RegistryError> {
        self.replace(&provider.name.clone(), provider.source, Some(provider))
    }

    /// Swaps the tools of provider `name` (of `source`) for those of `next` in one step, or
    /// removes them (`None`). Calls already running keep the backend they started with, so
    /// they finish on the old version. Nothing changes if a new tool's name belongs to another
    /// provider.
    pub fn replace(
        &self,
        name: &str,
        source: Source,
        next: Option<Provider>,
    ) -> Result<(), RegistryError> {
        let mut entries = Vec::new();
        if let Some(provider) = &next {
            for spec in &provider.tools {
                let validator = jsonschema::validator_for(&spec.input_schema)
                    .map_err(|err| RegistryError::Schema(spec.name.clone(), err.to_string()))?;
                entries.push(Arc::new(RegisteredTool {
                    spec: spec.clone(),
                    source,
                    provider: name.to_owned(),
                    version: provider.version.clone(),
                    backend: provider.backend.clone(),
                    validator,
                    provider_enabled: provider.enabled,
                }));
            }
        }
        let _writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(provider) = &next
            && let Some((taken, owner)) = self.conflicts(name, source, &provider.tools)
        {
            return Err(RegistryError::NameTaken(taken, owner));
        }
        let current = self.tools.load_full();
        let mine = |tool: &RegisteredTool| tool.source == source && tool.provider == name;
        let had_any = current.values().any(|tool| mine(tool));
        let mut updated: BTreeMap<String, Arc<RegisteredTool>> = current
            .iter()
            .filter(|(_, tool)| !mine(tool))
            .map(|(key, tool)| (key.clone(), tool.clone()))
            .collect();
        let tools: Vec<String> = entries.iter().map(|e| e.spec.name.clone()).collect();
        for entry in entries {
            updated.insert(entry.spec.name.clone(), entry);
        }
        self.tools.store(Arc::new(updated));
        if had_any || next.is_some() {
            self.events.publish(Event::ToolUpdate(ToolUpdate {
                source: source.as_str().to_owned(),
                provider: name.to_owned(),
                tools,
                enabled: next.as_ref().is_some_and(|p| p.enabled),
            }));
        }
        Ok(())
    }

    /// The tool names of `specs` that another provider than `name` already provides.
    pub fn conflicts(
        &self,
        name: &str,
        source: Source,
        specs: &[ToolSpec],
    ) -> Option<(String, String)> {
        let current = self.tools.load();
        specs.iter().find_map(|spec| {
            current
                .get(&spec.name)
                .filter(|t| !(t.source == source && t.provider == name))
                .map(|t| (spec.name.clone(), t.provider.clone()))
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<RegisteredTool>> {
        self.tools.load().get(name).cloned()
    }

    /// Every tool, by name.
    pub fn list(&self) -> Vec<Arc<RegisteredTool>> {
        self.tools.load().values().cloned().collect()
    }

    /// The names of the providers of `source` that have tools registered.
    pub fn provider_names(&self, source: Source) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for tool in self.tools.load().values().filter(|t| t.source == source) {
            if !names.contains(&tool.provider) {
                names.push(tool.provider.clone());
            }
        }
        names
    }

    pub fn count_providers(&self, source: Source) -> usize {
        self.provider_names(source).len()
    }
}
