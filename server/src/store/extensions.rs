//! Installed custom extensions: one `extension` row per name, the component's bytes in
//! `extension_blob` keyed by sha256 (listing never reads the blobs).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Store, StoreError};
use crate::extensions::manifest::{Capabilities, Manifest};

/// One installed extension, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtensionRecord {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub sha256: String,
    pub size: u64,
    pub manifest: Manifest,
    /// `[{name, description}]` of the tools it listed at install.
    pub tools: Vec<ToolSummary>,
    pub grants: Capabilities,
    /// Admin-set config values (`config-get`), by key.
    pub config: serde_json::Map<String, serde_json::Value>,
    pub enabled: bool,
    /// `upload` or `directory`.
    pub origin: String,
    pub installed_at: i64,
    pub updated_at: i64,
    /// The last changes (install, upgrade, grants, config, enable/disable), oldest first.
    #[serde(default)]
    pub events: Vec<ExtensionEvent>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtensionEvent {
    pub at: i64,
    pub action: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolSummary {
    pub name: String,
    pub description: String,
}

const FIELDS: &str = "name, version, description, sha256, size, manifest, tools, grants, config, \
                      enabled, origin, installed_at, updated_at, events";

impl Store {
    /// Every installed extension, by name.
    pub async fn extensions(&self) -> Result<Vec<ExtensionRecord>, StoreError> {
        self.rows(
            &format!("SELECT {FIELDS} FROM extension ORDER BY name"),
            json!({}),
            0,
        )
        .await
    }

    pub async fn extension(&self, name: &str) -> Result<Option<ExtensionRecord>, StoreError> {
        let rows = self
            .rows(
                &format!("SELECT {FIELDS} FROM type::record('extension', $name)"),
                json!({ "name": name }),
                0,
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Writes the record and its component bytes in one transaction; drops the blob the
    /// previous version used when nothing else refers to it.
    pub async fn put_extension(
        &self,
        record: &ExtensionRecord,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let row = serde_json::to_value(record)?;
        self.execute(
            "BEGIN TRANSACTION;
             LET $previous = (SELECT VALUE sha256 FROM type::record('extension', $name))[0];
             UPSERT type::record('extension_blob', $sha256) CONTENT { data: $data };
             UPSERT type::record('extension', $name) CONTENT $row;
             IF $previous != NONE AND $previous != $sha256
                AND count(SELECT name FROM extension WHERE sha256 = $previous) = 0 {
                 DELETE type::record('extension_blob', $previous);
             };
             COMMIT TRANSACTION;",
            json!({
                "name": record.name,
                "sha256": record.sha256,
                "data": STANDARD.encode(bytes),
                "row": row,
            }),
        )
        .await
    }

    /// Updates the mutable parts (enabled, grants, config) of an installed extension.
    pub async fn update_extension(&self, record: &ExtensionRecord) -> Result<(), StoreError> {
        self.execute(
            "UPDATE type::record('extension', $name) MERGE $changes",
            json!({
                "name": record.name,
                "changes": {
                    "enabled": record.enabled,
                    "grants": record.grants,
                    "config": record.config,
                    "updated_at": record.updated_at,
                    "events": record.events,
                },
            }),
        )
        .await
    }

    /// Removes the extension and its blob; `false` if there was none.
    pub async fn delete_extension(&self, name: &str) -> Result<bool, StoreError> {
        let Some(record) = self.extension(name).await? else {
            return Ok(false);
        };
        self.execute(
            "BEGIN TRANSACTION;
             DELETE type::record('extension', $name);
             IF count(SELECT name FROM extension WHERE sha256 = $sha256) = 0 {
                 DELETE type::record('extension_blob', $sha256);
             };
             COMMIT TRANSACTION;",
            json!({ "name": name, "sha256": record.sha256 }),
        )
        .await?;
        Ok(true)
    }

    /// The component bytes of `sha256`.
    pub async fn extension_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        #[derive(Deserialize)]
        struct Blob {
            data: String,
        }
        let rows: Vec<Blob> = self
            .rows(
                "SELECT data FROM type::record('extension_blob', $sha256)",
                json!({ "sha256": sha256 }),
                0,
            )
            .await?;
        rows.into_iter()
            .next()
            .map(|blob| {
                STANDARD.decode(blob.data).map_err(|err| {
                    StoreError::Decode(serde::de::Error::custom(format!(
                        "extension blob {sha256}: {err}"
                    )))
                })
            })
            .transpose()
    }
}
