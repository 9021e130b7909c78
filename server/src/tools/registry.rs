//! One registry of every callable tool, whatever its source. Reads are lock-free snapshots;
//! listing never instantiates anything.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::extensions::{Extension, ToolSpec};

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
}

/// A tool ready to be called: its spec, its compiled argument validator, its component.
pub struct RegisteredTool {
    pub spec: ToolSpec,
    pub source: Source,
    pub extension: Arc<Extension>,
    pub validator: jsonschema::Validator,
    /// `false` while the admin has the whole extension disabled.
    pub extension_enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("a tool named `{0}` is already provided by `{1}`")]
    NameTaken(String, String),
    #[error("the input schema of `{0}` does not compile: {1}")]
    Schema(String, String),
}

#[derive(Default)]
pub struct ToolRegistry {
    tools: ArcSwap<BTreeMap<String, Arc<RegisteredTool>>>,
    /// Serialises writers (readers never wait).
    writer: std::sync::Mutex<()>,
}

impl ToolRegistry {
    /// Adds every tool of an extension, or none if one name is taken.
    pub fn register(&self, extension: Arc<Extension>, source: Source) -> Result<(), RegistryError> {
        self.replace(&extension.name.clone(), source, Some((extension, true)))
    }

    /// Swaps the tools of extension `name` (of `source`) for those of `next` in one step, or
    /// removes them (`None`). Calls already running keep the `Arc<Extension>` they started
    /// with, so they finish on the old version. Nothing changes if a new tool's name belongs
    /// to another extension.
    pub fn replace(
        &self,
        name: &str,
        source: Source,
        next: Option<(Arc<Extension>, bool)>,
    ) -> Result<(), RegistryError> {
        let mut entries = Vec::new();
        if let Some((extension, enabled)) = &next {
            for spec in &extension.tools {
                let validator = jsonschema::validator_for(&spec.input_schema)
                    .map_err(|err| RegistryError::Schema(spec.name.clone(), err.to_string()))?;
                entries.push(Arc::new(RegisteredTool {
                    spec: spec.clone(),
                    source,
                    extension: extension.clone(),
                    validator,
                    extension_enabled: *enabled,
                }));
            }
        }
        let _writer = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((extension, _)) = &next
            && let Some((taken, owner)) = self.conflicts(name, source, &extension.tools)
        {
            return Err(RegistryError::NameTaken(taken, owner));
        }
        let current = self.tools.load_full();
        let mine = |tool: &RegisteredTool| tool.source == source && tool.extension.name == name;
        let mut updated: BTreeMap<String, Arc<RegisteredTool>> = current
            .iter()
            .filter(|(_, tool)| !mine(tool))
            .map(|(key, tool)| (key.clone(), tool.clone()))
            .collect();
        for entry in entries {
            updated.insert(entry.spec.name.clone(), entry);
        }
        self.tools.store(Arc::new(updated));
        Ok(())
    }

    /// The tool names of `specs` that another extension than `name` already provides.
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
                .filter(|t| !(t.source == source && t.extension.name == name))
                .map(|t| (spec.name.clone(), t.extension.name.clone()))
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<RegisteredTool>> {
        self.tools.load().get(name).cloned()
    }

    /// Every tool, by name.
    pub fn list(&self) -> Vec<Arc<RegisteredTool>> {
        self.tools.load().values().cloned().collect()
    }

    /// The names of the extensions of `source` that have tools registered.
    pub fn extension_names(&self, source: Source) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for tool in self.tools.load().values().filter(|t| t.source == source) {
            if !names.contains(&tool.extension.name) {
                names.push(tool.extension.name.clone());
            }
        }
        names
    }

    /// The extension `name` of `source` as registered, with whether it is enabled: found by
    /// its own identity, whatever its tools are called.
    pub fn extension(&self, name: &str, source: Source) -> Option<(Arc<Extension>, bool)> {
        self.tools
            .load()
            .values()
            .find(|t| t.source == source && t.extension.name == name)
            .map(|t| (t.extension.clone(), t.extension_enabled))
    }

    /// The component sha256 of every registered extension (what the compile cache keeps).
    pub fn component_digests(&self) -> std::collections::HashSet<String> {
        self.tools
            .load()
            .values()
            .map(|t| t.extension.sha256.clone())
            .collect()
    }

    pub fn count_extensions(&self, source: Source) -> usize {
        self.extension_names(source).len()
    }
}
