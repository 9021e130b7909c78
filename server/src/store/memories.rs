//! Memories: facts about a user, kept apart per scope (the user alone, or the user within one
//! group), searchable by words through a full-text (BM25) index.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Store, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemoryRecord {
    pub id: String,
    pub user_id: String,
    pub group_id: Option<String>,
    pub content: String,
    /// BM25 relevance to the query (0 when listed without one).
    #[serde(default)]
    pub score: f64,
    pub created_at: i64,
}

/// The scope of a user's memories: private, or within one group (never shared across groups).
pub fn memory_scope(user_id: &str, group_id: Option<&str>) -> String {
    match group_id {
        Some(group) => format!("group:{group}:user:{user_id}"),
        None => format!("user:{user_id}"),
    }
}

const FIELDS: &str = "record::id(id) AS id, user_id, group_id, content, created_at";

/// The statement that finds a scope's memories (`$scope`, `$memory_limit`): with `$query`, the
/// most relevant to any of its words; without, the newest.
pub(super) fn search_statement(with_query: bool) -> String {
    if with_query {
        format!(
            "SELECT {FIELDS}, search::score(1) AS score FROM memory \
             WHERE scope = $scope AND content @1,OR@ $query \
             ORDER BY score DESC LIMIT $memory_limit"
        )
    } else {
        format!(
            "SELECT {FIELDS} FROM memory WHERE scope = $scope \
             ORDER BY created_at DESC LIMIT $memory_limit"
        )
    }
}

impl Store {
    pub async fn add_memory(
        &self,
        user_id: &str,
        group_id: Option<&str>,
        content: &str,
        at: i64,
    ) -> Result<MemoryRecord, StoreError> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let scope = memory_scope(user_id, group_id);
        let mut row = json!({
            "user_id": user_id,
            "scope": scope,
            "content": content,
            "created_at": at,
        });
        if let Some(group) = group_id {
            row["group_id"] = json!(group);
        }
        let stored = self
            .execute(
                "CREATE type::record('memory', $id) CONTENT $row",
                json!({ "id": id, "row": row }),
            )
            .await;
        // Also after a failure: the row may have been written all the same.
        if let Some(scopes) = &self.empty_scopes {
            scopes.added(&scope);
        }
        stored?;
        Ok(MemoryRecord {
            id,
            user_id: user_id.to_owned(),
            group_id: group_id.map(str::to_owned),
            content: content.to_owned(),
            score: 0.0,
            created_at: at,
        })
    }

    /// The memories of one scope: the `limit` most relevant to `query` (any of its words), or
    /// the newest without one.
    pub async fn memories(
        &self,
        user_id: &str,
        group_id: Option<&str>,
        query: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MemoryRecord>, StoreError> {
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        self.rows(
            &search_statement(query.is_some()),
            json!({ "scope": memory_scope(user_id, group_id), "query": query,
                    "memory_limit": limit }),
            0,
        )
        .await
    }

    /// `false`: no such memory.
    pub async fn delete_memory(&self, id: &str) -> Result<bool, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "DELETE type::record('memory', $id) RETURN BEFORE",
                json!({ "id": id }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Every memory of a user (in every group unless `group_id` narrows it); how many.
    pub async fn delete_memories(
        &self,
        user_id: &str,
        group_id: Option<&str>,
    ) -> Result<usize, StoreError> {
        let (sql, vars) = match group_id {
            Some(group) => (
                "DELETE memory WHERE scope = $scope RETURN BEFORE",
                json!({ "scope": memory_scope(user_id, Some(group)) }),
            ),
            None => (
                "DELETE memory WHERE user_id = $user_id RETURN BEFORE",
                json!({ "user_id": user_id }),
            ),
        };
        let rows: Vec<Value> = self.rows(sql, vars, 0).await?;
        Ok(rows.len())
    }
}
