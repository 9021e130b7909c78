//! The runtime configuration overlay: config paths and the values set at runtime.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Store, StoreError, now_ms};

#[derive(Deserialize)]
struct OverlayRow {
    path: String,
    setting: Value,
}

impl Store {
    pub async fn config_overlay(&self) -> Result<BTreeMap<String, Value>, StoreError> {
        let rows: Vec<OverlayRow> = self
            .rows("SELECT path, setting FROM config_overlay", json!({}), 0)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.path, row.setting))
            .collect())
    }

    pub async fn set_config_value(&self, path: &str, value: &Value) -> Result<(), StoreError> {
        self.set_config_values(&[(path.to_owned(), value.clone())])
            .await
    }

    /// Sets several paths in one transaction: all of them or none.
    pub async fn set_config_values(&self, values: &[(String, Value)]) -> Result<(), StoreError> {
        let entries: Vec<Value> = values
            .iter()
            .map(|(path, value)| json!({ "path": path, "setting": value }))
            .collect();
        self.execute(
            "BEGIN TRANSACTION; \
             FOR $e IN $entries { \
                 UPSERT type::record('config_overlay', $e.path) \
                     CONTENT { path: $e.path, setting: $e.setting, updated_at: $now }; \
             }; \
             COMMIT TRANSACTION;",
            json!({ "entries": entries, "now": now_ms() }),
        )
        .await
    }
}
