//! The chatai instances running on this database: each heartbeats a row.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::{Store, StoreError, now_ms};

/// How often an instance writes its heartbeat row; one silent for three beats is not listed,
/// one silent for a minute is removed.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// One instance as its heartbeat describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRow {
    /// Random, chosen at start.
    pub id: String,
    /// The base URL it serves (`server.public_url` or the address it bound).
    pub address: String,
    pub version: String,
    pub started_at: i64,
    /// Its last heartbeat, Unix ms.
    pub seen_at: i64,
}

impl Store {
    /// Writes this instance's heartbeat and forgets instances silent for more than `forget_ms`.
    pub async fn heartbeat(&self, row: &InstanceRow, forget_ms: i64) -> Result<(), StoreError> {
        self.execute(
            "UPSERT type::record('instance', $id) CONTENT {
                 address: $address, version: $version, started_at: $started_at, seen_at: $now
             };
             DELETE instance WHERE seen_at < $now - $forget_ms;",
            json!({
                "id": row.id,
                "address": row.address,
                "version": row.version,
                "started_at": row.started_at,
                "now": now_ms(),
                "forget_ms": forget_ms,
            }),
        )
        .await
    }

    /// Instances heard from within `within_ms`, oldest first.
    pub async fn live_instances(&self, within_ms: i64) -> Result<Vec<InstanceRow>, StoreError> {
        self.rows(
            "SELECT record::id(id) AS id, address, version, started_at AS startedAt,
                    seen_at AS seenAt
             FROM instance WHERE seen_at >= $since ORDER BY startedAt",
            json!({ "since": now_ms() - within_ms }),
            0,
        )
        .await
    }

    /// Removes this instance's row (a clean shutdown).
    pub async fn forget_instance(&self, id: &str) -> Result<(), StoreError> {
        self.execute("DELETE type::record('instance', $id)", json!({ "id": id }))
            .await
    }
}
