//! The runtime configuration overlay.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Store, StoreError, now_ms};
use crate::config::Overlay;

#[derive(Deserialize)]
struct OverlayRow {
    path: String,
    setting: Value,
}

impl Store {
    pub async fn config_overlay(&self) -> Result<Overlay, StoreError> {
        let rows: Vec<OverlayRow> = self
            .rows("SELECT path, setting FROM config_overlay", json!({}), 0)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.path, row.setting))
            .collect())
    }

    pub async fn set_config_value(&self, path: &str, value: &Value) -> Result<(), StoreError> {
        self.execute(
            "UPSERT type::record('config_overlay', $path) CONTENT { path: $path, setting: $value, updated_at: $now }",
            json!({ "path": path, "value": value, "now": now_ms() }),
        )
        .await
    }
}
