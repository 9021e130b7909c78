//! LLM channels: one `channel` row per name, keys stored as given (the API masks them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Store, StoreError};

/// A channel as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChannelRecord {
    pub name: String,
    /// `openai`, `claude` or `gemini`.
    pub kind: String,
    /// Empty: the protocol's public endpoint.
    pub base_url: String,
    pub api_keys: Vec<String>,
    /// The default model.
    pub model: Option<String>,
    /// Other models this channel offers.
    pub models: Vec<String>,
    /// Lower first.
    pub priority: i64,
    pub enabled: bool,
    pub timeout_ms: u64,
    pub max_retries: u32,
    pub headers: BTreeMap<String, String>,
    pub last_tested_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const FIELDS: &str = "name, kind, base_url, api_keys, model, models, priority, enabled, \
                      timeout_ms, max_retries, headers, last_tested_at, created_at, updated_at";

impl Store {
    /// Every channel, by priority then name.
    pub async fn channels(&self) -> Result<Vec<ChannelRecord>, StoreError> {
        self.rows(
            &format!("SELECT {FIELDS} FROM channel ORDER BY priority, name"),
            json!({}),
            0,
        )
        .await
    }

    /// Creates a channel; `false` when the name is taken.
    pub async fn create_channel(&self, record: &ChannelRecord) -> Result<bool, StoreError> {
        // Two creates of one name at once: the second CREATE fails on the existing record
        // (an error, nothing overwritten).
        let taken: Vec<serde_json::Value> = self
            .rows(
                "LET $taken = record::exists(type::record('channel', $name));
                 IF $taken = false { CREATE type::record('channel', $name) CONTENT $row };
                 RETURN [$taken];",
                json!({ "name": record.name, "row": super::present_fields(serde_json::to_value(record)?) }),
                2,
            )
            .await?;
        Ok(taken.first() == Some(&serde_json::Value::Bool(false)))
    }

    /// Replaces a channel; `false` when there is none of that name.
    pub async fn replace_channel(&self, record: &ChannelRecord) -> Result<bool, StoreError> {
        let rows: Vec<serde_json::Value> = self
            .rows(
                "UPDATE type::record('channel', $name) CONTENT $row RETURN name",
                json!({ "name": record.name, "row": super::present_fields(serde_json::to_value(record)?) }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// `false` when there was none of that name.
    pub async fn delete_channel(&self, name: &str) -> Result<bool, StoreError> {
        let rows: Vec<serde_json::Value> = self
            .rows(
                "DELETE type::record('channel', $name) RETURN BEFORE",
                json!({ "name": name }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
