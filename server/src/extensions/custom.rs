//! Custom (third-party) extensions: install, upgrade, enable/disable, grants, uninstall and
//! reload, each taking effect at once. The database is the source of truth; the registry is
//! rebuilt from it at start and on `POST /api/tools/reload`, and brought in line with it by
//! [`CustomExtensions::sync`] when another instance on the database changes an extension.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use super::builtins::provider;
use super::{Compiled, Extension, ExtensionHost, LoadError, Powers, SkillBinder};
use crate::config::ExtensionsConfig;
use crate::events::{Event, EventBus, ExtensionChanged};
use crate::manifest::{self, Capabilities, Manifest};
use crate::store::{ExtensionEvent, ExtensionRecord, Store, StoreError, ToolSummary};
use crate::tools::registry::RegistryError;
use crate::tools::{Source, ToolRegistry};

/// How many change events each extension keeps.
const MAX_EVENTS: usize = 50;

/// An uploaded component and its optional `extension.toml`.
pub struct Upload {
    /// The uploaded file's name, for the default extension name.
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
    pub manifest: Option<String>,
    /// `upload` or `directory`.
    pub origin: &'static str,
}

/// Why an install or change was refused. Nothing is stored when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum CustomError {
    #[error("the component is too large: {size} bytes, the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("invalid extension.toml: {0}")]
    Manifest(String),
    #[error("{0}")]
    Name(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("tool `{tool}` is already provided by extension `{owner}`")]
    ToolNameTaken { tool: String, owner: String },
    #[error("no extension named `{0}` is installed")]
    NotFound(String),
    #[error("grants must be within what the manifest requests: {0}")]
    Grants(String),
    #[error("config key `{0}` is not one the manifest declares")]
    ConfigKey(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Registry(String),
}

impl From<RegistryError> for CustomError {
    fn from(err: RegistryError) -> Self {
        match err {
            RegistryError::NameTaken(tool, owner) => CustomError::ToolNameTaken { tool, owner },
            other => CustomError::Registry(other.to_string()),
        }
    }
}

/// A change asked by `PUT /api/tools/custom/:name`.
#[derive(Debug, Default)]
pub struct Change {
    pub enabled: Option<bool>,
    pub grants: Option<Capabilities>,
    pub config: Option<serde_json::Map<String, serde_json::Value>>,
}

/// What an install did.
pub struct Installed {
    pub record: ExtensionRecord,
    /// The version replaced, when this was an upgrade.
    pub replaced: Option<Option<String>>,
    pub compiled: Compiled,
}

/// Counts of a reload.
#[derive(Debug, Default, Serialize)]
pub struct Reloaded {
    pub loaded: usize,
    pub failed: usize,
    pub from_cache: usize,
}

pub struct CustomExtensions {
    host: Arc<ExtensionHost>,
    registry: Arc<ToolRegistry>,
    store: Store,
    events: Arc<EventBus>,
    /// Makes the backends of skills.
    skills: Arc<dyn SkillBinder>,
    /// The builtins' component digests (their compiled code stays in the cache).
    builtin_digests: HashSet<String>,
    /// The custom extensions loaded now, by name.
    loaded: std::sync::Mutex<BTreeMap<String, Arc<Extension>>>,
    /// One change at a time: install, change and uninstall read then write.
    lock: tokio::sync::Mutex<()>,
    /// Each extension's record as applied here, so a sync skips the ones no other instance
    /// changed and reloads only those whose component or manifest changed.
    applied: std::sync::Mutex<BTreeMap<String, Applied>>,
}

impl CustomExtensions {
    pub fn new(
        host: Arc<ExtensionHost>,
        registry: Arc<ToolRegistry>,
        store: Store,
        events: Arc<EventBus>,
        skills: Arc<dyn SkillBinder>,
        builtins: &[Arc<Extension>],
    ) -> Self {
        Self {
            host,
            registry,
            store,
            events,
            skills,
            builtin_digests: builtins.iter().map(|b| b.sha256.clone()).collect(),
            loaded: std::sync::Mutex::new(BTreeMap::new()),
            lock: tokio::sync::Mutex::new(()),
            applied: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// How many custom extensions are loaded now.
    pub fn loaded_count(&self) -> usize {
        self.loaded_map().len()
    }

    fn loaded_map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<Extension>>> {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records which of `name`'s records is in force here (`None`: gone).
    fn mark_applied(&self, name: &str, record: Option<&ExtensionRecord>) {
        let mut applied = self
            .applied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match record {
            Some(record) => applied.insert(name.to_owned(), Applied::of(record)),
            None => applied.remove(name),
        };
    }

    fn applied(&self, name: &str) -> Option<Applied> {
        self.applied
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .cloned()
    }

    /// Registers `extension` (or removes `name` with `None`) in the registry and the loaded set.
    fn put(&self, name: &str, next: Option<(&Arc<Extension>, bool)>) -> Result<(), RegistryError> {
        match next {
            Some((extension, enabled)) => {
                self.registry.replace(
                    name,
                    Source::Custom,
                    Some(provider(
                        &self.host,
                        extension,
                        Source::Custom,
                        enabled,
                        &*self.skills,
                    )),
                )?;
                self.loaded_map().insert(name.to_owned(), extension.clone());
            }
            None => {
                self.registry.replace(name, Source::Custom, None)?;
                self.loaded_map().remove(name);
            }
        }
        Ok(())
    }

    fn announce(&self, name: &str, action: &str) {
        tracing::info!(extension = %name, action, "custom extension changed");
        self.events
            .publish(Event::ExtensionChanged(ExtensionChanged {
                name: name.to_owned(),
                action: action.to_owned(),
            }));
    }

    pub async fn list(&self) -> Result<Vec<ExtensionRecord>, StoreError> {
        self.store.extensions().await
    }

    /// The installed extension `name`, as stored.
    pub async fn record(&self, name: &str) -> Result<Option<ExtensionRecord>, StoreError> {
        self.store.extension(name).await
    }

    /// Validates, compiles, asks for the tools, then stores and registers. The same name again
    /// is an upgrade: the new version takes over at once, calls in flight finish on the old,
    /// grants and config carry over (within what the new manifest requests).
    pub async fn install(
        &self,
        upload: Upload,
        config: &ExtensionsConfig,
    ) -> Result<Installed, CustomError> {
        let limit = usize::try_from(config.max_component_mb * 1024 * 1024).unwrap_or(usize::MAX);
        if upload.bytes.len() > limit {
            return Err(CustomError::TooLarge {
                size: upload.bytes.len(),
                limit,
            });
        }
        let manifest = match &upload.manifest {
            Some(text) => Manifest::parse(text).map_err(CustomError::Manifest)?,
            None => Manifest::default(),
        };
        let name = match (&manifest.name, &upload.file_name) {
            (Some(name), _) => name.clone(),
            (None, Some(file)) => default_name(file),
            (None, None) => {
                return Err(CustomError::Name(
                    "no extension name: give `name` in extension.toml or a file name".into(),
                ));
            }
        };
        manifest::valid_name(&name).map_err(CustomError::Name)?;
        let extension = self
            .host
            .load(
                &name,
                manifest.version.clone(),
                &upload.bytes,
                manifest.limits,
                manifest.skill,
                config,
            )
            .await?;
        let compiled = extension.compiled;

        let _guard = self.lock.lock().await;
        if let Some((tool, owner)) =
            self.registry
                .conflicts(&name, Source::Custom, &extension.tools)
        {
            return Err(CustomError::ToolNameTaken { tool, owner });
        }
        let previous = self.store.extension(&name).await?;
        let now = now_ms();
        let requested = &manifest.capabilities;
        let mut record = ExtensionRecord {
            name: name.clone(),
            version: manifest.version.clone(),
            description: manifest.description.clone(),
            sha256: extension.sha256.clone(),
            size: upload.bytes.len() as u64,
            tools: extension
                .tools
                .iter()
                .map(|t| ToolSummary {
                    name: t.name.clone(),
                    description: t.description.clone(),
                })
                .collect(),
            grants: previous
                .as_ref()
                .map(|p| p.grants.intersect(requested))
                .unwrap_or_default(),
            config: previous
                .as_ref()
                .map(|p| {
                    p.config
                        .iter()
                        .filter(|(key, _)| requested.config.contains(key))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            enabled: previous.as_ref().is_none_or(|p| p.enabled),
            origin: upload.origin.to_owned(),
            installed_at: previous.as_ref().map_or(now, |p| p.installed_at),
            updated_at: now,
            events: previous
                .as_ref()
                .map(|p| p.events.clone())
                .unwrap_or_default(),
            manifest,
        };
        let action = match &previous {
            Some(p) => format!(
                "upgraded from {} ({}) to {} ({})",
                p.version.as_deref().unwrap_or("unversioned"),
                short(&p.sha256),
                record.version.as_deref().unwrap_or("unversioned"),
                short(&record.sha256)
            ),
            None => format!(
                "installed {} ({}) from {}",
                record.version.as_deref().unwrap_or("unversioned"),
                short(&record.sha256),
                record.origin
            ),
        };
        push_event(&mut record, now, &action);
        extension.set_powers(powers_of(&record));
        self.store.put_extension(&record, &upload.bytes).await?;
        self.put(&name, Some((&extension, record.enabled)))?;
        self.mark_applied(&name, Some(&record));
        self.host.keep_compiled(&extension).await;
        self.prune_cache().await;
        self.announce(&name, &action);
        Ok(Installed {
            replaced: previous.map(|p| p.version),
            record,
            compiled,
        })
    }

    /// Enables or disables, changes grants or config values; each change is logged.
    pub async fn change(&self, name: &str, change: Change) -> Result<ExtensionRecord, CustomError> {
        let _guard = self.lock.lock().await;
        let mut record = self
            .store
            .extension(name)
            .await?
            .ok_or_else(|| CustomError::NotFound(name.to_owned()))?;
        let now = now_ms();
        let mut actions = Vec::new();
        if let Some(grants) = change.grants {
            grants
                .within(&record.manifest.capabilities)
                .map_err(CustomError::Grants)?;
            actions.push(format!(
                "grants changed from {} to {}",
                describe(&record.grants),
                describe(&grants)
            ));
            record.grants = grants;
        }
        if let Some(values) = change.config {
            if let Some(key) = values
                .keys()
                .find(|key| !record.manifest.capabilities.config.contains(key))
            {
                return Err(CustomError::ConfigKey(key.clone()));
            }
            let mut keys: Vec<&String> = values.keys().collect();
            keys.sort();
            actions.push(format!("config set: {keys:?}"));
            record.config = values;
        }
        if let Some(enabled) = change.enabled
            && enabled != record.enabled
        {
            actions.push(if enabled { "enabled" } else { "disabled" }.to_owned());
            record.enabled = enabled;
        }
        for action in &actions {
            push_event(&mut record, now, action);
        }
        record.updated_at = now;
        self.store.update_extension(&record).await?;
        let loaded = self.loaded_map().get(name).cloned();
        if let Some(extension) = loaded {
            extension.set_powers(powers_of(&record));
            self.put(name, Some((&extension, record.enabled)))?;
            self.mark_applied(name, Some(&record));
        }
        for action in &actions {
            self.announce(name, action);
        }
        Ok(record)
    }

    /// Removes the extension from the registry and the database.
    pub async fn uninstall(&self, name: &str) -> Result<(), CustomError> {
        let _guard = self.lock.lock().await;
        if !self.store.delete_extension(name).await? {
            return Err(CustomError::NotFound(name.to_owned()));
        }
        self.store.kv_drop(name).await?;
        self.put(name, None)?;
        self.mark_applied(name, None);
        self.prune_cache().await;
        self.announce(name, "uninstalled");
        Ok(())
    }

    /// Loads every installed extension from the database (compile cache first). One that no
    /// longer loads is logged and skipped; the others are served.
    pub async fn load_all(&self, config: &ExtensionsConfig) -> Result<Reloaded, StoreError> {
        let _guard = self.lock.lock().await;
        let records = self.store.extensions().await?;
        let mut counts = Reloaded::default();
        let mut installed = Vec::new();
        for record in records {
            installed.push(record.name.clone());
            match self.load_one(&record, config).await {
                Ok(compiled) => {
                    counts.loaded += 1;
                    if compiled == Compiled::Cached {
                        counts.from_cache += 1;
                    }
                }
                Err(err) => {
                    counts.failed += 1;
                    self.put(&record.name, None).ok();
                    self.mark_applied(&record.name, None);
                    tracing::error!(extension = %record.name, error = %err, "cannot load custom extension");
                }
            }
        }
        let stale: Vec<String> = self
            .loaded_map()
            .keys()
            .filter(|name| !installed.contains(name))
            .cloned()
            .collect();
        for name in stale {
            self.put(&name, None).ok();
            self.mark_applied(&name, None);
        }
        self.prune_cache().await;
        Ok(counts)
    }

    /// Brings this instance in line with the database after another instance changed an
    /// extension: one installed or upgraded there is loaded (compile cache first), one whose
    /// grants, config or enabled flag changed gets them, one uninstalled there is dropped.
    /// Records this instance already applied are skipped, so its own changes cost a read.
    /// Listeners here hear of each change as of one made here.
    pub async fn sync(&self, config: &ExtensionsConfig) -> Result<(), StoreError> {
        let _guard = self.lock.lock().await;
        let records = self.store.extensions().await?;
        let installed: HashSet<String> = records.iter().map(|r| r.name.clone()).collect();
        for record in &records {
            let before = self.applied(&record.name);
            let now = Applied::of(record);
            if before.as_ref() == Some(&now) {
                continue;
            }
            let loaded = self.loaded_map().get(&record.name).cloned();
            let outcome = match loaded {
                // Same component and manifest: only grants, config or the enabled flag.
                Some(extension) if before.is_some_and(|b| b.component == now.component) => {
                    extension.set_powers(powers_of(record));
                    self.put(&record.name, Some((&extension, record.enabled)))
                        .map_err(CustomError::from)
                        .map(|()| self.mark_applied(&record.name, Some(record)))
                }
                _ => self.load_one(record, config).await.map(drop),
            };
            match outcome {
                Ok(()) => self.announce(&record.name, "changed on another instance"),
                Err(err) => {
                    tracing::error!(extension = %record.name, error = %err, "cannot apply an extension changed on another instance");
                }
            }
        }
        let gone: Vec<String> = self
            .loaded_map()
            .keys()
            .filter(|name| !installed.contains(*name))
            .cloned()
            .collect();
        for name in gone {
            self.put(&name, None).ok();
            self.mark_applied(&name, None);
            self.announce(&name, "uninstalled on another instance");
        }
        self.prune_cache().await;
        Ok(())
    }

    async fn load_one(
        &self,
        record: &ExtensionRecord,
        config: &ExtensionsConfig,
    ) -> Result<Compiled, CustomError> {
        let bytes = self
            .store
            .extension_bytes(&record.sha256)
            .await?
            .ok_or_else(|| {
                CustomError::Registry(format!("component {} is missing", record.sha256))
            })?;
        let extension = self
            .host
            .load(
                &record.name,
                record.manifest.version.clone(),
                &bytes,
                record.manifest.limits,
                record.manifest.skill,
                config,
            )
            .await?;
        let compiled = extension.compiled;
        extension.set_powers(powers_of(record));
        self.put(&record.name, Some((&extension, record.enabled)))?;
        self.mark_applied(&record.name, Some(record));
        self.host.keep_compiled(&extension).await;
        Ok(compiled)
    }

    /// Drops compiled artifacts that no registered extension (builtin or custom) uses. Called
    /// under `lock`, after every install, uninstall and reload.
    async fn prune_cache(&self) {
        let mut keep = self.builtin_digests.clone();
        keep.extend(self.loaded_map().values().map(|e| e.sha256.clone()));
        self.host.prune_cache(keep).await;
    }
}

/// Which of an extension's records is in force on this instance.
#[derive(Clone, PartialEq)]
struct Applied {
    updated_at: i64,
    /// The component digest and the manifest: a change of either needs a reload.
    component: String,
}

impl Applied {
    fn of(record: &ExtensionRecord) -> Self {
        Self {
            updated_at: record.updated_at,
            component: format!(
                "{}:{}",
                record.sha256,
                serde_json::to_string(&record.manifest).unwrap_or_default()
            ),
        }
    }
}

/// The capabilities in force: what the manifest requests and the admin granted, with the
/// config values of granted keys (strings as they are, other JSON as its text).
fn powers_of(record: &ExtensionRecord) -> Powers {
    let live = record.manifest.capabilities.intersect(&record.grants);
    let config = record
        .config
        .iter()
        .filter(|(key, _)| live.config.contains(key))
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key.clone(), text)
        })
        .collect();
    Powers {
        config,
        kv: live.kv,
        http: std::sync::Arc::new(live.http),
    }
}

/// `My Tool-1.2.wasm` → `my_tool-1_2`.
fn default_name(file: &str) -> String {
    let stem = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = stem.strip_suffix(".wasm").unwrap_or(stem);
    stem.chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '_',
        })
        .collect()
}

fn push_event(record: &mut ExtensionRecord, at: i64, action: &str) {
    record.events.push(ExtensionEvent {
        at,
        action: action.to_owned(),
    });
    if record.events.len() > MAX_EVENTS {
        let excess = record.events.len() - MAX_EVENTS;
        record.events.drain(..excess);
    }
}

fn describe(capabilities: &Capabilities) -> String {
    serde_json::to_string(capabilities).unwrap_or_default()
}

fn short(sha256: &str) -> &str {
    &sha256[..sha256.len().min(12)]
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_come_from_the_file_name() {
        assert_eq!(default_name("Weather.wasm"), "weather");
        assert_eq!(default_name("/tmp/My Tool-1.2.wasm"), "my_tool-1_2");
    }
}
