//! Installed custom extensions: one `extension` row per name, the component's bytes in
//! `extension_blob` keyed by sha256 (listing never reads the blobs).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Store, StoreError};
use crate::manifest::{Capabilities, Manifest};

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

    /// Writes the component's bytes (in chunks of [`CHUNK_BYTES`], each its own write, so no
    /// transaction outgrows the embedded engine's memtable), then the record and the blob that
    /// lists the chunks in one transaction; drops the blob the previous version used when
    /// nothing else refers to it. Chunks are addressed by the component's sha256: writing them
    /// again is harmless, and the record only ever points at complete ones.
    pub async fn put_extension(
        &self,
        record: &ExtensionRecord,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let sha256 = &record.sha256;
        for (index, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
            self.execute(
                "UPSERT type::record('extension_chunk', [$sha256, $index]) \
                     CONTENT { sha256: $sha256, index: $index, data: $data }",
                json!({ "sha256": sha256, "index": index, "data": STANDARD.encode(chunk) }),
            )
            .await?;
        }
        let row = serde_json::to_value(record)?;
        self.execute(
            "BEGIN TRANSACTION;
             LET $previous = (SELECT VALUE sha256 FROM type::record('extension', $name))[0];
             UPSERT type::record('extension_blob', $sha256) CONTENT { chunks: $chunks, size: $size };
             UPSERT type::record('extension', $name) CONTENT $row;
             IF $previous != NONE AND $previous != $sha256
                AND count(SELECT name FROM extension WHERE sha256 = $previous) = 0 {
                 DELETE type::record('extension_blob', $previous);
                 DELETE extension_chunk WHERE sha256 = $previous;
             };
             COMMIT TRANSACTION;",
            json!({
                "name": record.name,
                "sha256": sha256,
                "chunks": bytes.len().div_ceil(CHUNK_BYTES),
                "size": bytes.len(),
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
                 DELETE extension_chunk WHERE sha256 = $sha256;
             };
             COMMIT TRANSACTION;",
            json!({ "name": name, "sha256": record.sha256 }),
        )
        .await?;
        Ok(true)
    }

    /// The component bytes of `sha256`, checked against it (`None`: not stored, or stored
    /// incompletely).
    pub async fn extension_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        #[derive(Deserialize)]
        struct Blob {
            chunks: Option<usize>,
            /// Before chunking (one base64 value).
            data: Option<String>,
        }
        #[derive(Deserialize)]
        struct Chunk {
            data: String,
        }
        let decode = |data: String| {
            STANDARD.decode(data).map_err(|err| {
                StoreError::Decode(serde::de::Error::custom(format!(
                    "extension blob {sha256}: {err}"
                )))
            })
        };
        let blobs: Vec<Blob> = self
            .rows(
                "SELECT chunks, data FROM type::record('extension_blob', $sha256)",
                json!({ "sha256": sha256 }),
                0,
            )
            .await?;
        let Some(blob) = blobs.into_iter().next() else {
            return Ok(None);
        };
        let bytes = match (blob.data, blob.chunks) {
            (Some(data), _) => decode(data)?,
            (None, Some(count)) => {
                let chunks: Vec<Chunk> = self
                    .rows(
                        "SELECT index, data FROM extension_chunk WHERE sha256 = $sha256 ORDER BY index",
                        json!({ "sha256": sha256 }),
                        0,
                    )
                    .await?;
                if chunks.len() != count {
                    return Ok(None);
                }
                let mut bytes = Vec::new();
                for chunk in chunks {
                    bytes.extend(decode(chunk.data)?);
                }
                bytes
            }
            (None, None) => return Ok(None),
        };
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        Ok((digest == sha256).then_some(bytes))
    }
}

/// Bytes of a component per stored chunk (1.4 MiB once base64-encoded).
const CHUNK_BYTES: usize = 1024 * 1024;
