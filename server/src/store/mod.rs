//! Persistence in SurrealDB. Every SurrealQL statement of the server lives in this module.

mod auth;
mod channels;
mod config;
mod conversations;
mod embedded;
mod empty_scopes;
mod extensions;
mod follow;
mod groups;
mod instances;
mod kv;
mod mcp;
mod memories;
mod presets;
mod tools;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use surrealdb::engine::any::{self, Any};
use surrealdb::engine::local::Db;
use surrealdb::opt::auth::Root;
use surrealdb::{IndexedResults, Surreal};

pub use auth::{ApiKeyRecord, LoginTokenRecord};
pub use channels::ChannelRecord;
pub use conversations::{
    ConversationRecord, DayStats, MemoryQuery, MessageRecord, ModelStats, StatsScope, Turn,
    TurnContext,
};
pub use extensions::{ExtensionEvent, ExtensionRecord, ToolSummary};
pub use follow::Follow;
pub use groups::{GroupRow, LimitHit, UsageKey, UsageRow};
pub use instances::{HEARTBEAT, InstanceRow};
pub use kv::KvUsage;
pub use mcp::McpServerRecord;
pub use memories::{MemoryRecord, memory_scope};
pub use tools::{DayCalls, ToolLogEntry, ToolLogQuery, ToolStats};

/// A storage failure. Its message may name internals: log it, never return it to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] surrealdb::Error),
    #[error("decoding a database row: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("opening the embedded database: {0}")]
    Open(String),
    #[error("database: no result for {0}")]
    Missing(&'static str),
    #[error("database transaction: {0}")]
    Transaction(String),
    /// The database did not answer within its deadline, or the connection to it is down.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// The database cannot be reached now (as opposed to a failed statement).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A failure of the SDK: a lost connection is [`StoreError::Unavailable`].
fn sdk_error(err: surrealdb::Error) -> StoreError {
    if err.is_connection() {
        StoreError::Unavailable(err.to_string())
    } else {
        StoreError::Db(err)
    }
}

/// How to reach the database.
pub struct StoreOptions<'a> {
    pub url: &'a str,
    pub namespace: &'a str,
    pub database: &'a str,
    pub credentials: Option<(&'a str, &'a str)>,
    /// Memory bounds of an embedded (`surrealkv://`, `mem://`) database.
    pub embedded: EmbeddedOptions,
    /// How long one database call may take. Past it the call fails with
    /// [`StoreError::Unavailable`] (a remote server that went away makes the SDK hold requests
    /// while it reconnects; nothing else bounds them).
    pub deadline: Duration,
}

/// The deadline of a database call unless configured (`database.timeout_ms`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// Memory the embedded SurrealKV engine may hold, and when it syncs to disk. SurrealDB sizes
/// both memories from the machine's RAM (on 24 GiB: a 1 GiB memtable and an 11 GiB block
/// cache), which suits a dedicated database server, not a bot backend sharing its host;
/// resident memory then grows with every write until the memtable flushes. We pass explicit
/// sizes instead.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedOptions {
    /// Writes buffered in memory before SurrealKV flushes them to a table file.
    pub memtable_bytes: u64,
    /// Cache of table-file blocks read from disk.
    pub block_cache_bytes: u64,
    /// 0: every commit waits for `fsync` (grouped across concurrent commits). N: commits are
    /// written to the OS at once (they survive a crash of the process) and synced to the disk
    /// every N ms (a power loss may take the last N ms).
    pub sync_ms: u64,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            memtable_bytes: 8 << 20,
            block_cache_bytes: 8 << 20,
            sync_ms: 0,
        }
    }
}

/// The SDK handle: an embedded engine we built (so its memory bounds are ours) or a remote one,
/// and the deadline of each call.
#[derive(Clone)]
struct Connection {
    engine: Engine,
    deadline: Duration,
}

#[derive(Clone)]
enum Engine {
    Embedded(Surreal<Db>),
    Remote(Surreal<Any>),
}

impl Connection {
    async fn query(&self, sql: &str, vars: Option<Value>) -> Result<IndexedResults, StoreError> {
        self.query_unchecked(sql, vars)
            .await?
            .check()
            .map_err(sdk_error)
    }

    /// The response with each statement's own outcome (an error in one does not fail the rest).
    /// Bounded by the deadline: the caller stops waiting then. Each statement is its own
    /// transaction, and the writes that must land together are one `BEGIN … COMMIT` (turns,
    /// installs, overlay changes, usage reservations), so an abandoned call leaves a write
    /// whole or absent, never half.
    async fn query_unchecked(
        &self,
        sql: &str,
        vars: Option<Value>,
    ) -> Result<IndexedResults, StoreError> {
        let call = async {
            match (&self.engine, vars) {
                (Engine::Embedded(db), Some(vars)) => db.query(sql).bind(vars).await,
                (Engine::Embedded(db), None) => db.query(sql).await,
                (Engine::Remote(db), Some(vars)) => db.query(sql).bind(vars).await,
                (Engine::Remote(db), None) => db.query(sql).await,
            }
        };
        match tokio::time::timeout(self.deadline, call).await {
            Ok(result) => result.map_err(sdk_error),
            Err(_) => Err(StoreError::Unavailable(format!(
                "no answer within {} ms",
                self.deadline.as_millis()
            ))),
        }
    }
}

/// The handle every repository method hangs off. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Connection,
    engine: &'static str,
    /// Embedded databases only (see the module).
    empty_scopes: Option<std::sync::Arc<empty_scopes::EmptyScopes>>,
}

impl Store {
    /// Connects, selects namespace and database, and applies the schema.
    pub async fn connect(options: StoreOptions<'_>) -> Result<Self, StoreError> {
        let engine = engine_name(options.url);
        let db = if engine == "remote" {
            let db = any::connect(options.url).await?;
            if let Some((username, password)) = options.credentials {
                db.signin(Root {
                    username: username.to_owned(),
                    password: password.to_owned(),
                })
                .await?;
            }
            // Instances starting at once create the namespace and database at once; the loser
            // of that write conflict tries again.
            let mut attempt = 0u64;
            while let Err(err) = db.use_ns(options.namespace).use_db(options.database).await {
                attempt += 1;
                if attempt > 5 || err.is_connection() {
                    return Err(sdk_error(err));
                }
                tracing::debug!(error = %err, attempt, "selecting the namespace again");
                tokio::time::sleep(Duration::from_millis(40 * attempt)).await;
            }
            Engine::Remote(db)
        } else {
            let db = embedded::open(options.url, options.embedded).await?;
            db.use_ns(options.namespace)
                .use_db(options.database)
                .await?;
            Engine::Embedded(db)
        };
        let db = Connection {
            engine: db,
            deadline: options.deadline,
        };
        let empty_scopes = (engine != "remote").then(Default::default);
        let store = Self {
            db,
            engine,
            empty_scopes,
        };
        store.apply_schema().await?;
        Ok(store)
    }

    /// Applies the idempotent schema. Instances starting at the same moment on one database
    /// define the same tables at once, and the loser of a write conflict retries.
    async fn apply_schema(&self) -> Result<(), StoreError> {
        let mut attempt = 0u64;
        loop {
            match self.db.query(include_str!("schema.surql"), None).await {
                Err(err) if attempt < 5 && !err.is_unavailable() => {
                    attempt += 1;
                    tracing::debug!(error = %err, attempt, "applying the schema again");
                    tokio::time::sleep(Duration::from_millis(40 * attempt)).await;
                }
                result => return result.map(drop),
            }
        }
    }

    /// An empty in-memory database, for unit tests.
    /// A database in memory, gone with the process (unit tests, `chatai ext test`).
    pub async fn memory() -> Result<Self, StoreError> {
        Self::connect(StoreOptions {
            url: "mem://",
            namespace: "t",
            database: "t",
            credentials: None,
            embedded: Default::default(),
            deadline: DEFAULT_DEADLINE,
        })
        .await
    }

    /// `surrealkv`, `memory` or `remote`.
    pub fn engine(&self) -> &'static str {
        self.engine
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.query("RETURN 1", None).await?;
        Ok(())
    }

    /// Runs statements with bound variables and decodes the rows of statement `index`.
    async fn rows<T: DeserializeOwned>(
        &self,
        sql: &str,
        vars: Value,
        index: usize,
    ) -> Result<Vec<T>, StoreError> {
        let mut response = self.db.query(sql, Some(vars)).await?;
        decode(response.take(index)?)
    }

    /// Runs statements in one round trip; their results are read in order, a statement that
    /// failed being an error of its own.
    async fn statements(&self, sql: &str, vars: Value) -> Result<Statements, StoreError> {
        let mut response = self.db.query_unchecked(sql, Some(vars)).await?;
        let results: Vec<_> = (0..response.num_statements())
            .map(|index| response.take::<Vec<Value>>(index).map_err(StoreError::from))
            .collect();
        Ok(Statements(results.into_iter()))
    }

    /// Runs statements for their effect only.
    async fn execute(&self, sql: &str, vars: Value) -> Result<(), StoreError> {
        self.db.query(sql, Some(vars)).await?;
        Ok(())
    }
}

impl Store {
    /// Runs a transaction; `Err` carries the messages of its failed statements (a failed
    /// transaction fails every statement; the cause is among them).
    async fn transaction(&self, sql: &str, vars: Value) -> Result<(), String> {
        let statements = self
            .statements(sql, vars)
            .await
            .map_err(|err| err.to_string())?;
        let failures: Vec<String> = statements
            .0
            .filter_map(|result| result.err())
            .map(|err| err.to_string())
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }
}

/// A transaction that failed only because a concurrent one won: running it again is safe
/// (nothing of it was written).
fn retryable(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("conflict") || message.contains("retried") || message.contains("retry")
}

/// Waits a little longer after each failed attempt, with jitter.
async fn backoff(attempt: usize) {
    let jitter = rand::random::<u64>() % 5;
    let ms = (attempt as u64).min(20) + jitter;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The results of [`Store::statements`], in statement order.
struct Statements(std::vec::IntoIter<Result<Vec<Value>, StoreError>>);

impl Statements {
    /// The next statement's rows as records.
    fn next<T: DeserializeOwned>(&mut self) -> Result<Vec<T>, StoreError> {
        self.0
            .next()
            .unwrap_or(Err(StoreError::Missing("a statement's result")))
            .and_then(decode)
    }
}

/// Rows as records.
fn decode<T: DeserializeOwned>(rows: Vec<Value>) -> Result<Vec<T>, StoreError> {
    rows.into_iter()
        .map(|row| serde_json::from_value(row).map_err(StoreError::from))
        .collect()
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
