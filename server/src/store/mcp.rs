//! MCP servers we connect to: one `mcp_server` row per name, secrets stored as given (the API
//! masks them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Store, StoreError};

/// An MCP server's configuration as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct McpServerRecord {
    pub name: String,
    /// `stdio`, `npm`, `http` or `sse`.
    pub kind: String,
    pub command: Option<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub url: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub package: Option<String>,
    pub enabled: bool,
    /// A call's limit on this server (the executor's `tools.call_timeout_ms` applies too).
    pub timeout_ms: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

const FIELDS: &str = "name, kind, command, args, env, cwd, url, headers, package, enabled, \
                      timeout_ms, created_at, updated_at";

impl Store {
    /// Every MCP server, by name.
    pub async fn mcp_servers(&self) -> Result<Vec<McpServerRecord>, StoreError> {
        self.rows(
            &format!("SELECT {FIELDS} FROM mcp_server ORDER BY name"),
            json!({}),
            0,
        )
        .await
    }

    /// Creates a server; `false` when the name is taken.
    pub async fn create_mcp_server(&self, record: &McpServerRecord) -> Result<bool, StoreError> {
        let taken: Vec<serde_json::Value> = self
            .rows(
                "LET $taken = record::exists(type::record('mcp_server', $name));
                 IF $taken = false { CREATE type::record('mcp_server', $name) CONTENT $row };
                 RETURN [$taken];",
                json!({ "name": record.name, "row": super::present_fields(serde_json::to_value(record)?) }),
                2,
            )
            .await?;
        Ok(taken.first() == Some(&serde_json::Value::Bool(false)))
    }

    /// Replaces a server; `false` when there is none of that name.
    pub async fn replace_mcp_server(&self, record: &McpServerRecord) -> Result<bool, StoreError> {
        let rows: Vec<serde_json::Value> = self
            .rows(
                "UPDATE type::record('mcp_server', $name) CONTENT $row RETURN name",
                json!({ "name": record.name, "row": super::present_fields(serde_json::to_value(record)?) }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// `false` when there was none of that name.
    pub async fn delete_mcp_server(&self, name: &str) -> Result<bool, StoreError> {
        let rows: Vec<serde_json::Value> = self
            .rows(
                "DELETE type::record('mcp_server', $name) RETURN BEFORE",
                json!({ "name": name }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
