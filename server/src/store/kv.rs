//! Key-value buckets of extensions: one row per `(extension, key)`, values base64 in `data`
//! (`value` is a SurrealQL keyword).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::{Store, StoreError};

/// How full a bucket is.
#[derive(Debug, Default, Deserialize)]
pub struct KvUsage {
    pub keys: u64,
    pub bytes: u64,
}

impl Store {
    pub async fn kv_get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            data: String,
        }
        let rows: Vec<Row> = self
            .rows(
                "SELECT data FROM type::record('extension_kv', [$bucket, $key])",
                json!({ "bucket": bucket, "key": key }),
                0,
            )
            .await?;
        rows.into_iter()
            .next()
            .map(|row| {
                STANDARD
                    .decode(row.data)
                    .map_err(|err| StoreError::Decode(serde::de::Error::custom(err.to_string())))
            })
            .transpose()
    }

    /// Keys and value bytes in a bucket, not counting `except` (the key about to be replaced).
    pub async fn kv_usage(&self, bucket: &str, except: &str) -> Result<KvUsage, StoreError> {
        let rows: Vec<KvUsage> = self
            .rows(
                "SELECT count() AS keys, math::sum(size) AS bytes FROM extension_kv
                 WHERE bucket = $bucket AND key != $except GROUP ALL",
                json!({ "bucket": bucket, "except": except }),
                0,
            )
            .await?;
        Ok(rows.into_iter().next().unwrap_or_default())
    }

    pub async fn kv_set(&self, bucket: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.execute(
            "UPSERT type::record('extension_kv', [$bucket, $key])
             CONTENT { bucket: $bucket, key: $key, data: $data, size: $size }",
            json!({
                "bucket": bucket,
                "key": key,
                "data": STANDARD.encode(value),
                "size": value.len(),
            }),
        )
        .await
    }

    pub async fn kv_delete(&self, bucket: &str, key: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE type::record('extension_kv', [$bucket, $key])",
            json!({ "bucket": bucket, "key": key }),
        )
        .await
    }

    /// Empties a bucket (when its extension is uninstalled).
    pub async fn kv_drop(&self, bucket: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE extension_kv WHERE bucket = $bucket",
            json!({ "bucket": bucket }),
        )
        .await
    }
}
