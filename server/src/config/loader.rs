//! Layering with figment: defaults < `chatai.toml` < `CHATAI_*` env < runtime overlay.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde_json::{Map, Value};

use super::model::Config;

/// Where a key's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Default,
    File,
    Env,
    Runtime,
}

/// A configuration problem, with the offending key in the message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        // figment prefixes keys with the profile ("default."); users never see profiles.
        let messages: Vec<String> = err
            .into_iter()
            .map(|e| e.to_string().replace("key \"default.", "key \""))
            .collect();
        ConfigError(messages.join("; "))
    }
}

/// The runtime overlay: dotted key → JSON value, as stored in the database.
pub type Overlay = BTreeMap<String, Value>;

/// Knows every static layer; combines them with an overlay on demand.
#[derive(Clone)]
pub struct ConfigLoader {
    file: Option<PathBuf>,
    env_prefix: Option<String>,
}

impl ConfigLoader {
    /// `file`: an explicit path must exist; `None` uses `./chatai.toml` when present.
    /// `env_prefix`: normally `Some("CHATAI_")`; `None` ignores the environment (tests).
    pub fn new(file: Option<PathBuf>, env_prefix: Option<&str>) -> Result<Self, ConfigError> {
        let file = match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            Some(path) => Some(path),
            None => Some(PathBuf::from("chatai.toml")).filter(|p| p.exists()),
        };
        Ok(Self {
            file,
            env_prefix: env_prefix.map(str::to_owned),
        })
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn file_layer(&self) -> Figment {
        match &self.file {
            Some(path) => Figment::from(Toml::file_exact(path)),
            None => Figment::new(),
        }
    }

    fn env_layer(&self) -> Figment {
        match &self.env_prefix {
            // CHATAI_CONFIG names the file itself, it is not a key.
            Some(prefix) => Figment::from(Env::prefixed(prefix).split("__").ignore(&["config"])),
            None => Figment::new(),
        }
    }

    /// defaults < file < env < overlay.
    pub fn figment(&self, overlay: &Overlay) -> Figment {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(self.file_layer())
            .merge(self.env_layer())
            .merge(Serialized::defaults(nest(overlay)))
    }

    /// Extracts and validates the typed config.
    pub fn load(&self, overlay: &Overlay) -> Result<Config, ConfigError> {
        let config: Config = self.figment(overlay).extract()?;
        config.validate().map_err(ConfigError)?;
        Ok(config)
    }

    /// Is this key set by the environment (and so not changeable at runtime)?
    pub fn is_pinned(&self, path: &str) -> bool {
        self.env_layer().find_value(path).is_ok()
    }

    /// The layer that supplies a key.
    pub fn source_of(&self, path: &str, overlay: &Overlay) -> Layer {
        if overlay.contains_key(path) {
            Layer::Runtime
        } else if self.is_pinned(path) {
            Layer::Env
        } else if self.file_layer().find_value(path).is_ok() {
            Layer::File
        } else {
            Layer::Default
        }
    }
}

/// Turns `{"a.b": 1}` into `{"a": {"b": 1}}`.
fn nest(overlay: &Overlay) -> Value {
    let mut root = Map::new();
    for (path, value) in overlay {
        let mut node = &mut root;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                node.insert(part.to_owned(), value.clone());
            } else {
                let child = node
                    .entry(part.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                match child {
                    Value::Object(map) => node = map,
                    _ => unreachable!("replaced by an object just above"),
                }
            }
        }
    }
    Value::Object(root)
}

/// Every leaf key of a JSON tree, dotted (`server.port`); arrays are leaves.
pub fn leaf_paths(value: &Value) -> Vec<String> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, child, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_wins_and_types_are_checked() {
        let loader = ConfigLoader::new(None, None).expect("loader");
        let mut overlay = Overlay::new();
        overlay.insert("trigger.prefix".into(), Value::from("!bot"));
        let config = loader.load(&overlay).expect("valid");
        assert_eq!(config.trigger.prefix, "!bot");
        assert_eq!(loader.source_of("trigger.prefix", &overlay), Layer::Runtime);
        assert_eq!(loader.source_of("server.port", &overlay), Layer::Default);

        overlay.insert("server.port".into(), Value::from("not a port"));
        let err = loader.load(&overlay).expect_err("wrong type");
        assert!(err.0.contains("server.port"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let loader = ConfigLoader::new(None, None).expect("loader");
        let mut overlay = Overlay::new();
        overlay.insert("server.prot".into(), Value::from(1));
        let err = loader.load(&overlay).expect_err("unknown key");
        assert!(err.0.contains("prot"), "{err}");
    }

    #[test]
    fn leaf_paths_cover_the_defaults() {
        let value = serde_json::to_value(Config::default()).expect("serialize");
        let paths = leaf_paths(&value);
        assert!(paths.contains(&"server.port".to_string()));
        assert!(paths.contains(&"auth.jwt_secret".to_string()));
        assert!(paths.contains(&"trigger.type".to_string()));
    }
}
