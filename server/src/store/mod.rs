//! Persistence in SurrealDB. Every SurrealQL statement of the server lives in this module.

mod auth;
mod config;
mod extensions;
mod kv;
mod tools;

use serde::de::DeserializeOwned;
use serde_json::Value;
use surrealdb::Surreal;
use surrealdb::engine::any::{self, Any};
use surrealdb::opt::auth::Root;

pub use auth::{ApiKeyRecord, LoginTokenRecord};
pub use extensions::{ExtensionEvent, ExtensionRecord, ToolSummary};
pub use kv::KvUsage;
pub use tools::ToolLogQuery;

/// A storage failure. Its message may name internals: log it, never return it to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] surrealdb::Error),
    #[error("decoding a database row: {0}")]
    Decode(#[from] serde_json::Error),
}

/// How to reach the database.
pub struct StoreOptions<'a> {
    pub url: &'a str,
    pub namespace: &'a str,
    pub database: &'a str,
    pub credentials: Option<(&'a str, &'a str)>,
}

/// The handle every repository method hangs off. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Surreal<Any>,
    engine: &'static str,
}

impl Store {
    /// Connects, selects namespace and database, and applies the schema.
    pub async fn connect(options: StoreOptions<'_>) -> Result<Self, StoreError> {
        let db = any::connect(options.url).await?;
        if let Some((username, password)) = options.credentials {
            db.signin(Root {
                username: username.to_owned(),
                password: password.to_owned(),
            })
            .await?;
        }
        db.use_ns(options.namespace)
            .use_db(options.database)
            .await?;
        let store = Self {
            db,
            engine: engine_name(options.url),
        };
        store
            .db
            .query(include_str!("schema.surql"))
            .await?
            .check()?;
        Ok(store)
    }

    /// `surrealkv`, `memory` or `remote`.
    pub fn engine(&self) -> &'static str {
        self.engine
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.query("RETURN 1").await?.check()?;
        Ok(())
    }

    /// Runs statements with bound variables and decodes the rows of statement `index`.
    async fn rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        vars: Value,
        index: usize,
    ) -> Result<Vec<T>, StoreError> {
        let mut response = self.db.query(sql).bind(vars).await?.check()?;
        let rows: Vec<Value> = response.take(index)?;
        rows.into_iter()
            .map(|row| serde_json::from_value(row).map_err(StoreError::from))
            .collect()
    }

    /// Runs statements for their effect only.
    async fn execute(&self, sql: &str, vars: Value) -> Result<(), StoreError> {
        self.db.query(sql).bind(vars).await?.check()?;
        Ok(())
    }
}

fn engine_name(url: &str) -> &'static str {
    if url.starts_with("surrealkv") {
        "surrealkv"
    } else if url.starts_with("mem") {
        "memory"
    } else {
        "remote"
    }
}

/// Drops `null` fields of an object: JSON `null` binds as SurrealQL `NULL`, which an
/// `option<T>` field refuses; an absent field is `NONE`.
fn present_fields(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

/// Milliseconds since the Unix epoch, the timestamp format of every table.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
