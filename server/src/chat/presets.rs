//! Presets: a persona (system prompt with variables), model settings and tool lists. The
//! builtin ones ship read-only; the admin's are stored, cached here and re-read on change.

use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PresetTools {
    /// Only these tools (empty: every tool the caller may use).
    pub allowed: Vec<String>,
    /// Never these.
    pub disabled: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PresetContext {
    /// Messages of history sent to the model (unset: `context.max_messages`).
    pub max_messages: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preset {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    /// Variables: `{{user}}`, `{{date}}`, `{{time}}`, `{{bot_name}}`.
    pub system_prompt: String,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub tools: PresetTools,
    #[serde(default)]
    pub context: PresetContext,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub is_builtin: bool,
}

/// The default preset when none is chosen.
pub const DEFAULT_PRESET: &str = "assistant";

fn builtin(id: &str, name: &str, description: &str, category: &str, prompt: &str) -> Preset {
    Preset {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        category: category.into(),
        system_prompt: prompt.into(),
        model: None,
        temperature: None,
        max_tokens: None,
        tools: PresetTools::default(),
        context: PresetContext::default(),
        is_default: id == DEFAULT_PRESET,
        is_builtin: true,
    }
}

/// The builtin presets, in the order they are listed.
pub fn builtins() -> Vec<Preset> {
    vec![
        builtin(
            "assistant",
            "Assistant",
            "A helpful general assistant that uses tools when they help.",
            "general",
            "You are {{bot_name}}, a helpful assistant chatting with {{user}}. Today is {{date}}, \
             the time is {{time}}. Answer concisely and use the available tools when they help.",
        ),
        builtin(
            "coder",
            "Coder",
            "A programming helper: precise, with code blocks.",
            "development",
            "You are {{bot_name}}, an expert programmer helping {{user}}. Give correct, minimal code \
             in fenced code blocks and explain only what is not obvious.",
        ),
        builtin(
            "translator",
            "Translator",
            "Translates between Chinese and English (or into the language asked for).",
            "language",
            "You are a translator. Translate the user's message: Chinese into English, any other \
             language into Chinese, unless {{user}} asks for another language. Reply with the \
             translation only.",
        ),
        builtin(
            "concise",
            "Concise",
            "Short answers, no filler.",
            "general",
            "You are {{bot_name}}. Answer {{user}} in as few words as correctness allows.",
        ),
        builtin(
            "tutor",
            "Tutor",
            "Explains step by step and checks understanding.",
            "education",
            "You are {{bot_name}}, a patient tutor for {{user}}. Explain step by step, use \
             examples, and end with one short question that checks understanding.",
        ),
    ]
}

/// Builtin and stored presets, and which is the default.
pub struct PresetService {
    store: Store,
    /// [`builtins`], built once.
    builtins: Vec<Preset>,
    stored: ArcSwap<Vec<Preset>>,
    default: ArcSwap<String>,
    /// One re-read at a time: a re-read that began before a write never stores its older
    /// view after the write's own re-read (changes of other instances re-read concurrently).
    reloads: tokio::sync::Mutex<()>,
}

impl PresetService {
    pub async fn load(store: Store) -> Result<Self, StoreError> {
        let service = Self {
            store,
            builtins: builtins(),
            stored: ArcSwap::from_pointee(Vec::new()),
            default: ArcSwap::from_pointee(DEFAULT_PRESET.to_owned()),
            reloads: tokio::sync::Mutex::new(()),
        };
        service.reload().await?;
        Ok(service)
    }

    /// Re-reads the stored presets and the default (after a change here or elsewhere).
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reloads.lock().await;
        let stored: Vec<Preset> = self
            .store
            .presets()
            .await?
            .into_iter()
            .filter_map(|row| match serde_json::from_value::<Preset>(row) {
                Ok(preset) => Some(preset),
                Err(err) => {
                    tracing::warn!(error = %err, "skipping a stored preset that does not decode");
                    None
                }
            })
            .collect();
        let default = self
            .store
            .default_preset()
            .await?
            .filter(|id| {
                builtins().iter().any(|p| p.id == *id) || stored.iter().any(|p| p.id == *id)
            })
            .unwrap_or_else(|| DEFAULT_PRESET.to_owned());
        self.stored.store(Arc::new(stored));
        self.default.store(Arc::new(default));
        Ok(())
    }

    /// Builtins first, then the admin's, each with `isDefault` set.
    pub fn all(&self) -> Vec<Preset> {
        let default = self.default.load();
        self.builtins
            .iter()
            .cloned()
            .chain(self.stored.load().iter().cloned())
            .map(|mut preset| {
                preset.is_default = preset.id == **default;
                preset
            })
            .collect()
    }

    /// One preset (a chat reads it on every turn: only that one is cloned).
    pub fn get(&self, id: &str) -> Option<Preset> {
        let stored = self.stored.load();
        let mut preset = self
            .builtins
            .iter()
            .chain(stored.iter())
            .find(|p| p.id == id)?
            .clone();
        preset.is_default = preset.id == **self.default.load();
        Some(preset)
    }

    pub fn default_id(&self) -> String {
        self.default.load().as_ref().clone()
    }

    /// `false`: the id is taken (builtin ids included).
    pub async fn create(&self, preset: &Preset) -> Result<bool, StoreError> {
        if self.builtins.iter().any(|p| p.id == preset.id) {
            return Ok(false);
        }
        let created = self
            .store
            .create_preset(&preset.id, &serde_json::to_value(preset)?)
            .await?;
        self.reload().await?;
        Ok(created)
    }

    pub async fn replace(&self, preset: &Preset) -> Result<bool, StoreError> {
        let replaced = self
            .store
            .replace_preset(&preset.id, &serde_json::to_value(preset)?)
            .await?;
        self.reload().await?;
        Ok(replaced)
    }

    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.store.delete_preset(id).await?;
        self.reload().await?;
        Ok(deleted)
    }

    pub async fn set_default(&self, id: &str) -> Result<(), StoreError> {
        self.store.set_default_preset(id).await?;
        self.reload().await
    }
}

/// The system prompt with its variables filled in.
pub fn render(
    prompt: &str,
    user: &str,
    bot_name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    prompt
        .replace("{{user}}", user)
        .replace("{{bot_name}}", bot_name)
        .replace("{{date}}", &now.format("%Y-%m-%d").to_string())
        .replace("{{time}}", &now.format("%H:%M UTC").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_and_one_builtin_is_the_default() {
        let at = chrono::DateTime::from_timestamp(0, 0).expect("epoch");
        assert_eq!(
            render(
                "{{bot_name}} for {{user}} on {{date}} at {{time}}",
                "ann",
                "Bot",
                at
            ),
            "Bot for ann on 1970-01-01 at 00:00 UTC"
        );
        assert_eq!(builtins().iter().filter(|p| p.is_default).count(), 1);
    }
}
