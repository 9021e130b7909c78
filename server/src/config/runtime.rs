//! The configuration in force, and changes to it through `PUT /api/config`.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::Value;
use tokio::sync::Mutex;

use super::loader::{ConfigLoader, Layer, Overlay, leaf_paths};
use super::model::Config;
use crate::events::{ConfigChanged, Event, EventBus};
use crate::store::{Store, StoreError};

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigUpdateError {
    #[error("unknown configuration key `{0}`")]
    UnknownKey(String),
    #[error("`{0}` is set by the environment and cannot be changed at runtime")]
    Pinned(String),
    #[error("`{0}` is a secret; set it in chatai.toml or the environment")]
    Secret(String),
    #[error("`{0}` is read before the database opens; set it in chatai.toml or the environment")]
    Bootstrap(String),
    #[error("invalid value for `{path}`: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The outcome of a successful change.
#[derive(Debug, Clone)]
pub struct ConfigUpdate {
    pub path: String,
    pub value: Value,
    pub restart_required: bool,
}

/// Holds the effective config and applies runtime changes (persisted in the database).
///
/// Readers call [`ConfigService::current`] (a lock-free snapshot). Writers are serialised, so
/// concurrent `PUT`s never lose each other's keys: the last write of a key wins.
pub struct ConfigService {
    loader: ConfigLoader,
    store: Store,
    overlay: Mutex<Overlay>,
    current: ArcSwap<Config>,
    known_paths: Vec<String>,
    events: Arc<EventBus>,
}

impl ConfigService {
    /// Loads the overlay from the database and builds the effective config.
    pub async fn load(
        loader: ConfigLoader,
        store: Store,
        events: Arc<EventBus>,
    ) -> anyhow::Result<Self> {
        let overlay = store.config_overlay().await?;
        let config = loader.load(&overlay)?;
        let known_paths = leaf_paths(&serde_json::to_value(Config::default())?);
        Ok(Self {
            loader,
            store,
            overlay: Mutex::new(overlay),
            current: ArcSwap::from_pointee(config),
            known_paths,
            events,
        })
    }

    pub fn current(&self) -> Arc<Config> {
        self.current.load_full()
    }

    /// Effective config as JSON, secrets redacted.
    pub fn redacted(&self) -> Value {
        serde_json::to_value(&*self.current()).unwrap_or(Value::Null)
    }

    /// Which layer supplies each key.
    pub async fn sources(&self) -> BTreeMap<String, Layer> {
        let overlay = self.overlay.lock().await;
        self.known_paths
            .iter()
            .map(|path| (path.clone(), self.loader.source_of(path, &overlay)))
            .collect()
    }

    pub fn is_known(&self, path: &str) -> bool {
        self.known_paths.iter().any(|known| known == path)
    }

    /// Validates, persists and applies one key.
    pub async fn set(&self, path: &str, value: Value) -> Result<ConfigUpdate, ConfigUpdateError> {
        let mut updates = self.set_many(vec![(path.to_owned(), value)]).await?;
        Ok(updates.remove(0))
    }

    /// Re-reads the overlay from the database (another instance changed it) and applies it,
    /// announcing the keys whose value changed. An overlay that no longer validates here
    /// (say, a key this version does not know) is logged and the current config kept.
    pub async fn reload(&self) -> Result<(), ConfigUpdateError> {
        let mut overlay = self.overlay.lock().await;
        let stored = self.store.config_overlay().await?;
        if stored == *overlay {
            return Ok(());
        }
        let config = match self.loader.load(&stored) {
            Ok(config) => config,
            Err(err) => {
                tracing::warn!(error = %err.0, "the stored config overlay does not apply; keeping the current config");
                return Ok(());
            }
        };
        let mut keys: Vec<String> = stored
            .iter()
            .filter(|(path, value)| overlay.get(*path) != Some(*value))
            .map(|(path, _)| path.clone())
            .collect();
        keys.extend(
            overlay
                .keys()
                .filter(|path| !stored.contains_key(*path))
                .cloned(),
        );
        *overlay = stored;
        self.current.store(Arc::new(config));
        drop(overlay);
        self.events
            .publish(Event::ConfigChanged(ConfigChanged { keys }));
        Ok(())
    }

    /// Validates every key, then persists and applies them together: all of them or, when one
    /// is refused, none.
    pub async fn set_many(
        &self,
        changes: Vec<(String, Value)>,
    ) -> Result<Vec<ConfigUpdate>, ConfigUpdateError> {
        for (path, _) in &changes {
            self.check_settable(path)?;
        }
        let mut overlay = self.overlay.lock().await;
        let mut candidate = overlay.clone();
        for (path, value) in &changes {
            candidate.insert(path.clone(), value.clone());
        }
        let config = self.loader.load(&candidate).map_err(|err| {
            let path = changes
                .iter()
                .map(|(path, _)| path.as_str())
                .find(|path| err.0.contains(*path))
                .or(changes.first().map(|(path, _)| path.as_str()))
                .unwrap_or_default();
            ConfigUpdateError::Invalid {
                path: path.to_owned(),
                message: err.0,
            }
        })?;
        self.store.set_config_values(&changes).await?;
        *overlay = candidate;
        self.current.store(Arc::new(config));
        drop(overlay);
        self.events.publish(Event::ConfigChanged(ConfigChanged {
            keys: changes.iter().map(|(path, _)| path.clone()).collect(),
        }));
        Ok(changes
            .into_iter()
            .map(|(path, value)| ConfigUpdate {
                restart_required: Config::needs_restart(&path),
                path,
                value,
            })
            .collect())
    }

    fn check_settable(&self, path: &str) -> Result<(), ConfigUpdateError> {
        if !self.is_known(path) {
            return Err(ConfigUpdateError::UnknownKey(path.to_owned()));
        }
        if Config::is_secret(path) {
            return Err(ConfigUpdateError::Secret(path.to_owned()));
        }
        if Config::is_bootstrap(path) {
            return Err(ConfigUpdateError::Bootstrap(path.to_owned()));
        }
        if self.loader.is_pinned(path) {
            return Err(ConfigUpdateError::Pinned(path.to_owned()));
        }
        Ok(())
    }
}
