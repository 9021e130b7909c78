//! Tool-call logs.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Store, StoreError, present_fields};

/// Filters of `GET /api/tools/logs`.
#[derive(Debug, Default)]
pub struct ToolLogQuery {
    pub limit: u32,
    pub tool_name: Option<String>,
    pub user_id: Option<String>,
    pub success: Option<bool>,
}

/// One call, as stored and as `GET /api/tools/logs` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolLogEntry {
    pub id: String,
    pub tool_name: String,
    pub args: serde_json::Value,
    /// The text result, cut at 4 KiB.
    pub result: Option<String>,
    pub success: bool,
    /// `CODE: message` on failure.
    pub error: Option<String>,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub caller: String,
    pub source: String,
    pub duration_ms: f64,
    /// Unix milliseconds.
    pub timestamp: i64,
    /// What the guest logged (`host.log`, stdout, stderr), capped per call.
    #[serde(default)]
    pub logs: Vec<String>,
    /// Orders calls within the same millisecond (see [`next_seq`]).
    #[serde(default)]
    pub seq: u64,
}

/// One tool's calls over a period.
#[derive(Debug, Clone, Deserialize)]
pub struct ToolStats {
    pub tool_name: String,
    pub calls: u64,
    pub errors: u64,
    pub avg_ms: f64,
}

/// Tool calls of one day (days since the Unix epoch, UTC).
#[derive(Debug, Clone, Deserialize)]
pub struct DayCalls {
    pub day: i64,
    pub calls: u64,
}

impl Store {
    /// Tool calls since `since` (Unix ms), per tool and per day, in one round trip.
    pub async fn tool_stats(
        &self,
        since: i64,
    ) -> Result<(Vec<ToolStats>, Vec<DayCalls>), StoreError> {
        let sql = "SELECT tool_name, count() AS calls, math::sum(failed) AS errors, \
                          math::mean(duration_ms) AS avg_ms \
                   FROM (SELECT tool_name, duration_ms, (IF success THEN 0 ELSE 1 END) AS failed \
                         FROM tool_log WHERE timestamp >= $since) \
                   GROUP BY tool_name ORDER BY tool_name;
                   SELECT day, count() AS calls \
                   FROM (SELECT math::floor(timestamp / 86400000) AS day FROM tool_log \
                         WHERE timestamp >= $since) \
                   GROUP BY day ORDER BY day;";
        let mut results = self.statements(sql, json!({ "since": since })).await?;
        Ok((results.next()?, results.next()?))
    }

    pub async fn insert_tool_logs(&self, entries: &[ToolLogEntry]) -> Result<(), StoreError> {
        let rows: Vec<Value> = entries
            .iter()
            .map(|entry| serde_json::to_value(entry).map(present_fields))
            .collect::<Result<_, _>>()?;
        self.execute("INSERT INTO tool_log $rows", json!({ "rows": rows }))
            .await
    }

    /// Newest first.
    pub async fn tool_logs(&self, query: &ToolLogQuery) -> Result<Vec<ToolLogEntry>, StoreError> {
        let mut conditions = Vec::new();
        if query.tool_name.is_some() {
            conditions.push("tool_name = $tool_name");
        }
        if query.user_id.is_some() {
            conditions.push("user_id = $user_id");
        }
        if query.success.is_some() {
            conditions.push("success = $success");
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT record::id(id) AS id, tool_name, args, result, success, error, user_id, group_id, \
             caller, source, duration_ms, timestamp, logs, seq FROM tool_log {filter} ORDER BY timestamp DESC, seq DESC LIMIT $limit"
        );
        let vars = present_fields(json!({
            "limit": query.limit,
            "tool_name": query.tool_name,
            "user_id": query.user_id,
            "success": query.success,
        }));
        self.rows(&sql, vars, 0).await
    }

    /// Deletes the tool logs older than `before` (Unix ms); the time index finds them.
    pub async fn prune_tool_logs(&self, before: i64) -> Result<(), StoreError> {
        self.execute(
            "DELETE tool_log WHERE timestamp < $before",
            json!({ "before": before }),
        )
        .await
    }

    /// Deletes every tool log; returns how many there were.
    pub async fn delete_tool_logs(&self) -> Result<u64, StoreError> {
        #[derive(Deserialize)]
        struct Count {
            count: u64,
        }
        let counts: Vec<Count> = self
            .rows(
                "SELECT count() AS count FROM tool_log GROUP ALL; DELETE tool_log;",
                json!({}),
                0,
            )
            .await?;
        Ok(counts.first().map_or(0, |c| c.count))
    }
}
