//! `extension.toml`: what an extension says about itself and the capabilities it requests
//! (EXTENSIONS.md §4). Unknown keys are refused so that a typo never silently drops a limit.

use serde::{Deserialize, Serialize};

/// The manifest of a custom extension. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Manifest {
    /// Defaults to the uploaded file's name without `.wasm`.
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub limits: ManifestLimits,
    pub capabilities: Capabilities,
    /// The caps of a skill's run (ignored for a tool component).
    pub skill: SkillLimits,
}

/// What a skill asks for per run, each capped by the server's `skills.*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SkillLimits {
    /// The run's wall-clock deadline (≤ `skills.max_timeout_ms`).
    pub timeout_ms: Option<u64>,
    /// ≤ `skills.max_tool_calls`.
    pub max_tool_calls: Option<u32>,
    /// ≤ `skills.max_llm_calls`.
    pub max_llm_calls: Option<u32>,
    /// ≤ `skills.max_tokens`.
    pub max_tokens: Option<u64>,
}

/// Per-extension limits, each capped by the server's `extensions.max_*`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ManifestLimits {
    pub timeout_ms: Option<u64>,
    pub memory_mb: Option<u64>,
    pub max_concurrency: Option<u32>,
}

/// Capabilities, as requested by a manifest or granted by an admin. The grant in force is the
/// intersection of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Capabilities {
    /// Origins for outgoing HTTP, `https://host[:port]` (or `http://` for a local test server).
    pub http: Vec<String>,
    /// A private key-value bucket.
    pub kv: bool,
    /// Config keys the admin may set for the extension (readable through `config-get`).
    pub config: Vec<String>,
}

impl Capabilities {
    /// What both sides allow.
    pub fn intersect(&self, other: &Capabilities) -> Capabilities {
        Capabilities {
            http: self
                .http
                .iter()
                .filter(|origin| other.http.contains(origin))
                .cloned()
                .collect(),
            kv: self.kv && other.kv,
            config: self
                .config
                .iter()
                .filter(|key| other.config.contains(key))
                .cloned()
                .collect(),
        }
    }

    /// What `self` (a request) holds that `granted` does not: the grants still pending.
    pub fn missing_from(&self, granted: &Capabilities) -> Capabilities {
        Capabilities {
            http: self
                .http
                .iter()
                .filter(|origin| !granted.http.contains(origin))
                .cloned()
                .collect(),
            kv: self.kv && !granted.kv,
            config: self
                .config
                .iter()
                .filter(|key| !granted.config.contains(key))
                .cloned()
                .collect(),
        }
    }

    /// Is every part of `self` within `requested`? Names the first part that is not.
    pub fn within(&self, requested: &Capabilities) -> Result<(), String> {
        if let Some(origin) = self.http.iter().find(|o| !requested.http.contains(o)) {
            return Err(format!("http origin `{origin}` was not requested"));
        }
        if self.kv && !requested.kv {
            return Err("kv was not requested".into());
        }
        if let Some(key) = self.config.iter().find(|k| !requested.config.contains(k)) {
            return Err(format!("config key `{key}` was not requested"));
        }
        Ok(())
    }
}

impl Manifest {
    /// Parses `extension.toml`; the error names the line and the problem.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|err| err.to_string())?;
        if let Some(name) = &manifest.name {
            valid_name(name)?;
        }
        for origin in &manifest.capabilities.http {
            valid_origin(origin)?;
        }
        Ok(manifest)
    }
}

/// Extension names: 1–64 of `a-z 0-9 _ -`, starting with a letter.
pub fn valid_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "extension name `{name}` must be 1-64 characters of a-z, 0-9, `_` and `-`, starting with a letter"
        ))
    }
}

/// `scheme://host[:port]` with nothing after it.
pub fn valid_origin(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']) => Ok(()),
        _ => Err(format!(
            "http capability `{origin}` must be an origin like `https://api.example.com[:port]`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let manifest = Manifest::parse(
            r#"
name = "weather"
version = "0.1.0"
description = "Current weather by city"
[limits]
timeout_ms = 3000
memory_mb = 32
[capabilities]
http = ["https://api.open-meteo.com"]
kv = true
config = ["units"]
[skill]
max_tool_calls = 4
"#,
        )
        .expect("valid");
        assert_eq!(manifest.name.as_deref(), Some("weather"));
        assert_eq!(manifest.limits.timeout_ms, Some(3000));
        assert!(manifest.capabilities.kv);
        assert_eq!(manifest.capabilities.config, ["units"]);
        assert_eq!(manifest.skill.max_tool_calls, Some(4));
    }

    #[test]
    fn refuses_unknown_keys_bad_names_and_paths_in_origins() {
        assert!(Manifest::parse("nmae = \"x\"").is_err());
        assert!(Manifest::parse("name = \"Bad Name\"").is_err());
        assert!(Manifest::parse("[capabilities]\nhttp = [\"https://a.com/path\"]").is_err());
        assert!(Manifest::parse("[capabilities]\nhttp = [\"ftp://a.com\"]").is_err());
    }

    #[test]
    fn grants_in_force_are_the_intersection() {
        let requested = Capabilities {
            http: vec!["https://a.com".into(), "https://b.com".into()],
            kv: true,
            config: vec!["units".into()],
        };
        let granted = Capabilities {
            http: vec!["https://b.com".into()],
            kv: false,
            config: vec!["units".into()],
        };
        let live = requested.intersect(&granted);
        assert_eq!(live.http, ["https://b.com"]);
        assert!(!live.kv);
        assert!(granted.within(&requested).is_ok());
        let greedy = Capabilities {
            http: vec!["https://c.com".into()],
            ..Capabilities::default()
        };
        let refused = greedy
            .within(&requested)
            .expect_err("c.com was not requested");
        assert!(refused.contains("c.com"));
    }
}
