//! One registry of every callable tool, whatever its source. Reads are lock-free snapshots;
//! listing never runs anything. Every change is published as a `tool_update` event.
//!
//! Names. A builtin or custom tool is listed under its own name, and two of them may not share
//! one (the second provider is refused). An MCP tool is listed under its own name while no
//! other provider offers that name, and as `<server>__<tool>` while one does (another MCP
//! server, or a builtin or custom tool). The rule depends only on which providers are
//! registered, not on the order they came in: when a clash appears or goes away, the MCP tools
//! concerned are renamed and their servers' `tool_update` events say so.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::Serialize;

use super::backend::ToolBackend;
use super::spec::{ToolKind, ToolSpec};
use crate::events::{Event, EventBus, ToolUpdate};

/// Where a tool comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Builtin,
    Custom,
    Mcp,
}

impl Source {
    /// MCP tools give way: they are renamed on a clash instead of refusing it.
    fn yields(self) -> bool {
        self == Source::Mcp
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
    /// Tools or skills.
    pub kind: ToolKind,
}

/// A tool ready to be called: its name, its spec, its compiled argument validator, its backend.
pub struct RegisteredTool {
    /// The name callers use: the spec's name, or `<server>__<tool>` for a renamed MCP tool.
    pub name: String,
    /// As the provider declared it (the backend runs it under `spec.name`).
    pub spec: ToolSpec,
    pub source: Source,
    /// The provider's name (extension or server).
    pub provider: String,
    pub version: Option<String>,
    /// Runs it; reachable only from the executor (policy, validation, limits and logging
    /// come first).
    pub(super) backend: Arc<dyn ToolBackend>,
    pub validator: Arc<jsonschema::Validator>,
    /// `false` while an admin has the whole provider disabled.
    pub provider_enabled: bool,
    pub kind: ToolKind,
}

impl RegisteredTool {
    /// The source callers see: `skill` for a skill, else where it comes from.
    pub fn source_name(&self) -> &'static str {
        match self.kind {
            ToolKind::Skill => "skill",
            ToolKind::Tool => self.source.as_str(),
        }
    }

    pub fn is_skill(&self) -> bool {
        self.kind == ToolKind::Skill
    }

    /// The same tool under another name.
    fn renamed(&self, name: String) -> RegisteredTool {
        RegisteredTool {
            name,
            spec: self.spec.clone(),
            source: self.source,
            provider: self.provider.clone(),
            version: self.version.clone(),
            backend: self.backend.clone(),
            validator: self.validator.clone(),
            provider_enabled: self.provider_enabled,
            kind: self.kind,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("a tool named `{0}` is already provided by `{1}`")]
    NameTaken(String, String),
    #[error("the input schema of `{0}` does not compile: {1}")]
    Schema(String, String),
}

type ProviderKey = (Source, String);

/// What writers keep: every provider's tools as declared (under their own names).
#[derive(Default)]
struct Providers {
    tools: BTreeMap<ProviderKey, Vec<Arc<RegisteredTool>>>,
}

impl Providers {
    /// The listing: every tool under the name callers use.
    fn listing(&self) -> BTreeMap<String, Arc<RegisteredTool>> {
        let mut offered: HashMap<&str, usize> = HashMap::new();
        for tool in self.tools.values().flatten() {
            *offered.entry(tool.spec.name.as_str()).or_default() += 1;
        }
        let mut listing = BTreeMap::new();
        for tool in self.tools.values().flatten().filter(|t| !t.source.yields()) {
            listing.insert(tool.name.clone(), tool.clone());
        }
        for tool in self.tools.values().flatten().filter(|t| t.source.yields()) {
            let name = if offered[tool.spec.name.as_str()] == 1 {
                tool.spec.name.clone()
            } else {
                format!("{}__{}", tool.provider, tool.spec.name)
            };
            if listing.contains_key(&name) {
                tracing::warn!(tool = %tool.spec.name, server = %tool.provider, %name, "tool name taken even with its server prefix; not listed");
                continue;
            }
            let tool = if name == tool.name {
                tool.clone()
            } else {
                Arc::new(tool.renamed(name.clone()))
            };
            listing.insert(name, tool);
        }
        listing
    }

    /// A declared name of `specs` that another provider (of a source that does not yield)
    /// already offers, with that provider.
    fn clash(&self, key: &ProviderKey, specs: &[ToolSpec]) -> Option<(String, String)> {
        if key.0.yields() {
            return None;
        }
        self.tools
            .iter()
            .filter(|(other, _)| *other != key && !other.0.yields())
            .flat_map(|(_, tools)| tools)
            .find_map(|tool| {
                specs
                    .iter()
                    .any(|spec| spec.name == tool.spec.name)
                    .then(|| (tool.spec.name.clone(), tool.provider.clone()))
            })
    }
}

pub struct ToolRegistry {
    tools: ArcSwap<BTreeMap<String, Arc<RegisteredTool>>>,
    /// Serialises writers (readers never wait).
    providers: std::sync::Mutex<Providers>,
    events: Arc<EventBus>,
}

impl ToolRegistry {
    pub fn new(events: Arc<EventBus>) -> Self {
        Self {
            tools: ArcSwap::default(),
            providers: std::sync::Mutex::default(),
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
    /// provider that does not give way (see the module docs).
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
                    name: spec.name.clone(),
                    spec: spec.clone(),
                    source,
                    provider: name.to_owned(),
                    version: provider.version.clone(),
                    backend: provider.backend.clone(),
                    validator: Arc::new(validator),
                    provider_enabled: provider.enabled,
                    kind: provider.kind,
                }));
            }
        }
        let key = (source, name.to_owned());
        let mut providers = self
            .providers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(provider) = &next
            && let Some((taken, owner)) = providers.clash(&key, &provider.tools)
        {
            return Err(RegistryError::NameTaken(taken, owner));
        }
        let had_any = providers.tools.contains_key(&key);
        match next {
            Some(_) => providers.tools.insert(key.clone(), entries),
            None => providers.tools.remove(&key),
        };
        let before = self.tools.load_full();
        let after = Arc::new(providers.listing());
        self.tools.store(after.clone());
        let changed = renamed_providers(&before, &after);
        for (other_source, other) in changed.iter().filter(|k| **k != key) {
            self.publish(&after, *other_source, other);
        }
        if had_any || providers.tools.contains_key(&key) {
            self.publish(&after, source, name);
        }
        Ok(())
    }

    fn publish(&self, listing: &BTreeMap<String, Arc<RegisteredTool>>, source: Source, name: &str) {
        let mine: Vec<&Arc<RegisteredTool>> = listing
            .values()
            .filter(|t| t.source == source && t.provider == name)
            .collect();
        self.events.publish(Event::ToolUpdate(ToolUpdate {
            source: mine
                .first()
                .map_or(source.as_str(), |t| t.source_name())
                .to_owned(),
            provider: name.to_owned(),
            tools: mine.iter().map(|t| t.name.clone()).collect(),
            enabled: mine.first().is_some_and(|t| t.provider_enabled),
        }));
    }

    /// The provider that already offers a tool name of `specs`, if a provider of `source`
    /// named `name` could not register them (MCP servers never clash: they are renamed).
    pub fn conflicts(
        &self,
        name: &str,
        source: Source,
        specs: &[ToolSpec],
    ) -> Option<(String, String)> {
        self.providers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clash(&(source, name.to_owned()), specs)
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

/// Each provider's listed names.
fn names_by_provider(
    listing: &BTreeMap<String, Arc<RegisteredTool>>,
) -> BTreeMap<ProviderKey, Vec<&str>> {
    let mut names: BTreeMap<ProviderKey, Vec<&str>> = BTreeMap::new();
    for (name, tool) in listing {
        names
            .entry((tool.source, tool.provider.clone()))
            .or_default()
            .push(name);
    }
    names
}

/// The providers listed under other names in `after` than in `before`.
fn renamed_providers(
    before: &BTreeMap<String, Arc<RegisteredTool>>,
    after: &BTreeMap<String, Arc<RegisteredTool>>,
) -> Vec<ProviderKey> {
    let before = names_by_provider(before);
    let after = names_by_provider(after);
    after
        .iter()
        .filter(|(key, names)| before.get(*key).is_some_and(|old| old != *names))
        .map(|(key, _)| key.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{CallContext, Ran, RunFuture};

    struct Nothing;

    impl ToolBackend for Nothing {
        fn run<'a>(
            &'a self,
            _spec: &'a ToolSpec,
            _args: &'a serde_json::Value,
            _call: &'a CallContext<'a>,
        ) -> RunFuture<'a> {
            Box::pin(async {
                Ran {
                    result: Err(super::super::ToolError::Failed("nothing".into())),
                    logs: Vec::new(),
                }
            })
        }
    }

    fn provider(name: &str, source: Source, tools: &[&str]) -> Provider {
        Provider {
            name: name.into(),
            source,
            version: None,
            tools: tools
                .iter()
                .map(|tool| ToolSpec {
                    name: (*tool).into(),
                    description: String::new(),
                    input_schema: serde_json::json!({"type": "object"}),
                    output_schema: None,
                    category: None,
                    dangerous: false,
                })
                .collect(),
            backend: Arc::new(Nothing),
            enabled: true,
            kind: ToolKind::Tool,
        }
    }

    fn names(registry: &ToolRegistry) -> Vec<String> {
        registry.list().iter().map(|t| t.name.clone()).collect()
    }

    #[test]
    fn mcp_tools_are_renamed_while_a_name_is_shared_whatever_the_order() {
        let registry = ToolRegistry::new(Arc::new(EventBus::new()));
        registry
            .register(provider("a", Source::Mcp, &["echo", "only_a"]))
            .expect("registers");
        assert_eq!(names(&registry), ["echo", "only_a"]);
        registry
            .register(provider("b", Source::Mcp, &["echo"]))
            .expect("registers");
        assert_eq!(names(&registry), ["a__echo", "b__echo", "only_a"]);
        let renamed = registry.get("a__echo").expect("listed");
        assert_eq!(renamed.spec.name, "echo", "the backend still runs `echo`");
        // A builtin takes the plain name; the MCP tools stay prefixed.
        registry
            .register(provider("tools", Source::Builtin, &["echo"]))
            .expect("registers");
        assert_eq!(registry.get("echo").expect("listed").provider, "tools");
        // Once only one provider offers it, it is plain again.
        registry
            .replace("tools", Source::Builtin, None)
            .expect("removes");
        registry.replace("b", Source::Mcp, None).expect("removes");
        assert_eq!(names(&registry), ["echo", "only_a"]);
        // Builtin and custom names still clash.
        registry
            .register(provider("x", Source::Custom, &["calc"]))
            .expect("registers");
        assert!(matches!(
            registry.register(provider("y", Source::Builtin, &["calc"])),
            Err(RegistryError::NameTaken(..))
        ));
        assert!(
            registry
                .conflicts(
                    "z",
                    Source::Mcp,
                    &provider("z", Source::Mcp, &["calc"]).tools
                )
                .is_none()
        );
    }
}
