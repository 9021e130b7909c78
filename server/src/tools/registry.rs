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
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("a tool named `{0}` is already registered")]
    NameTaken(String),
    #[error("the input schema of `{0}` does not compile: {1}")]
    Schema(String, String),
}

#[derive(Default)]
pub struct ToolRegistry {
    tools: ArcSwap<BTreeMap<String, Arc<RegisteredTool>>>,
}

impl ToolRegistry {
    /// Adds every tool of an extension, or none if one name is taken.
    pub fn register(&self, extension: Arc<Extension>, source: Source) -> Result<(), RegistryError> {
        let mut entries = Vec::with_capacity(extension.tools.len());
        for spec in &extension.tools {
            let validator = jsonschema::validator_for(&spec.input_schema)
                .map_err(|err| RegistryError::Schema(spec.name.clone(), err.to_string()))?;
            entries.push(Arc::new(RegisteredTool {
                spec: spec.clone(),
                source,
                extension: extension.clone(),
                validator,
            }));
        }
        let current = self.tools.load_full();
        if let Some(taken) = entries.iter().find(|e| current.contains_key(&e.spec.name)) {
            return Err(RegistryError::NameTaken(taken.spec.name.clone()));
        }
        let mut next = (*current).clone();
        for entry in entries {
            next.insert(entry.spec.name.clone(), entry);
        }
        self.tools.store(Arc::new(next));
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<Arc<RegisteredTool>> {
        self.tools.load().get(name).cloned()
    }

    /// Every tool, by name.
    pub fn list(&self) -> Vec<Arc<RegisteredTool>> {
        self.tools.load().values().cloned().collect()
    }

    pub fn count_extensions(&self, source: Source) -> usize {
        let mut names: Vec<&str> = Vec::new();
        let tools = self.tools.load();
        for tool in tools.values().filter(|t| t.source == source) {
            if !names.contains(&tool.extension.name.as_str()) {
                names.push(&tool.extension.name);
            }
        }
        names.len()
    }
}
