//! The typed configuration tree. Every key has a default, unknown keys are errors.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::secret::Secret;
use super::skills::SkillsConfig;
use super::usage::UsageConfig;

/// The whole configuration, as figment extracts it from every layer.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded database, the control socket and caches live.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub bot: BotConfig,
    pub trigger: TriggerConfig,
    pub context: ContextConfig,
    pub llm: LlmConfig,
    pub chat: ChatConfig,
    pub extensions: ExtensionsConfig,
    pub tools: ToolsConfig,
    pub mcp: McpConfig,
    pub skills: SkillsConfig,
    pub usage: UsageConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            rate_limit: RateLimitConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            bot: BotConfig::default(),
            trigger: TriggerConfig::default(),
            context: ContextConfig::default(),
            llm: LlmConfig::default(),
            chat: ChatConfig::default(),
            extensions: ExtensionsConfig::default(),
            tools: ToolsConfig::default(),
            mcp: McpConfig::default(),
            skills: SkillsConfig::default(),
            usage: UsageConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    #[schemars(extend("x-restart-required" = true))]
    pub host: String,
    #[schemars(extend("x-restart-required" = true))]
    pub port: u16,
    /// Base URL used in login links, e.g. `https://bot.example.com`. Default: `http://host:port`.
    #[schemars(extend("x-restart-required" = true))]
    pub public_url: Option<String>,
    /// Largest JSON body accepted, in bytes.
    pub json_body_limit: u64,
    /// Largest upload (extension components), in bytes.
    pub upload_body_limit: u64,
    /// More names this server answers to (the `Host` check); `"*"` turns the check off.
    /// Always allowed: `localhost`, `127.0.0.1`, `[::1]`, `host`, the host of `public_url`.
    pub allowed_hosts: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 3000,
            public_url: None,
            json_body_limit: 1024 * 1024,
            upload_body_limit: 32 * 1024 * 1024,
            allowed_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `surrealkv://<path>`, `mem://` or `ws://host:port`. Default: SurrealKV under `data_dir/db`.
    pub url: Option<String>,
    pub namespace: String,
    pub database: String,
    /// Root credentials for a remote server (`ws://`).
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Embedded SurrealKV: writes buffered in memory before a flush to disk, in MiB.
    pub memtable_mib: u32,
    /// Embedded SurrealKV: cache of blocks read from disk, in MiB.
    pub block_cache_mib: u32,
    /// Embedded SurrealKV: 0 = every commit waits for its `fsync`; N = commits reach the OS at
    /// once (a killed process loses nothing) and the disk is synced every N ms (a power loss
    /// may lose the last N ms).
    pub sync_ms: u64,
    /// Deadline of one database call, in ms. Past it the request fails with 503
    /// `DATABASE_UNAVAILABLE` instead of waiting for a server that went away.
    pub timeout_ms: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            namespace: "chatai".into(),
            database: "main".into(),
            username: None,
            password: None,
            memtable_mib: 8,
            block_cache_mib: 8,
            sync_ms: 0,
            timeout_ms: 5000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// HS256 signing secret. Default: generated once (256 bit) and kept in the database.
    pub jwt_secret: Option<Secret>,
    /// Session (JWT) lifetime in seconds.
    pub session_ttl: u64,
    /// Lifetime of a temporary login token in seconds.
    pub login_token_ttl: u64,
    pub issuer: String,
    pub audience: String,
    /// Tolerated clock difference for `exp` and `iat`, in seconds.
    pub clock_skew: u64,
    /// Mark the cookie `Secure`. Default: when `server.public_url` is https.
    pub cookie_secure: Option<bool>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            session_ttl: 24 * 3600,
            login_token_ttl: 300,
            issuer: "chatai-edge".into(),
            audience: "chatai-panel".into(),
            clock_skew: 60,
            cookie_secure: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests per 60 s window per principal; 0 turns the limit off.
    pub per_minute: u32,
    /// Login attempts per 60 s window per client IP.
    pub login_per_minute: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_minute: 60,
            login_per_minute: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `chatai_server=debug,info`.
    #[schemars(extend("x-restart-required" = true))]
    pub level: String,
    #[schemars(extend("x-restart-required" = true))]
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` without authentication.
    pub public: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    /// The bot's name, `{{bot_name}}` in presets.
    pub name: String,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            name: "ChatAI".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TriggerType {
    At,
    Prefix,
    Both,
    Random,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TriggerConfig {
    /// When the bot answers in a group: mentioned (`at`), message starts with `prefix`, either, or
    /// at random.
    #[serde(rename = "type")]
    pub kind: TriggerType,
    pub prefix: String,
    /// Words that make the bot answer whatever the type (case-insensitive, anywhere in the
    /// message).
    pub keywords: Vec<String>,
    /// Percent chance of answering when `type` is `random` (0–100).
    pub random_rate: u8,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        Self {
            kind: TriggerType::Both,
            prefix: "#ai".into(),
            keywords: Vec::new(),
            random_rate: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ContextConfig {
    /// One conversation per member in groups instead of one shared per group.
    pub isolate_group_users: bool,
    /// Messages of history sent to the model.
    pub max_messages: u32,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            isolate_group_users: false,
            max_messages: 20,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LlmConfig {
    /// The model of a chat whose request and preset name none (else each channel's own).
    pub default_model: Option<String>,
    /// Tool-calling rounds before the model must answer without tools.
    pub max_tool_rounds: u32,
    /// Connecting to an upstream, in milliseconds (a channel's `timeoutMs` bounds the wait for
    /// the answer's first byte).
    #[schemars(extend("x-restart-required" = true))]
    pub connect_timeout_ms: u64,
    /// Longest silence between two chunks of a streamed answer, in milliseconds.
    pub idle_timeout_ms: u64,
    /// A whole chat turn (every LLM call and tool round), in milliseconds.
    pub turn_timeout_ms: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            default_model: None,
            max_tool_rounds: 10,
            connect_timeout_ms: 5_000,
            idle_timeout_ms: 30_000,
            turn_timeout_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ChatConfig {
    /// Chat user ids offered admin-only tools.
    pub admin_users: Vec<String>,
    /// Tools offered to the model at most (deterministic: by name).
    pub max_tools: u32,
    /// Memories most relevant to the message put into the system prompt.
    pub memories_in_prompt: u32,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            admin_users: Vec::new(),
            max_tools: 128,
            memories_in_prompt: 5,
        }
    }
}

/// Sandbox limits of WASM extensions (EXTENSIONS.md §2). Per-extension manifests may ask for
/// other values up to the `max_*` caps.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExtensionsConfig {
    /// Wall-clock deadline of one call, in milliseconds.
    pub timeout_ms: u64,
    pub max_timeout_ms: u64,
    /// Linear memory cap of one instance, in MiB.
    pub memory_mb: u64,
    #[schemars(extend("x-restart-required" = true))]
    pub max_memory_mb: u64,
    /// Concurrent calls of one extension; more get 503 `TOOL_BUSY`.
    pub max_concurrency: u32,
    /// Largest result a call may return, in bytes.
    pub result_limit_bytes: u64,
    /// Use wasmtime's pooling allocator (falls back to on-demand if it cannot reserve memory).
    #[schemars(extend("x-restart-required" = true))]
    pub pooling: bool,
    /// Instance slots of the pool.
    #[schemars(extend("x-restart-required" = true))]
    pub pool_instances: u32,
    /// Largest custom component accepted, in MiB (the multipart upload is also capped by
    /// `server.upload_body_limit`).
    pub max_component_mb: u64,
    /// Keep compiled components under `data_dir/cache/wasm` so restarts skip compilation.
    #[schemars(extend("x-restart-required" = true))]
    pub compile_cache: bool,
    /// Compilations running at once (each on a blocking thread, never on the async workers).
    #[schemars(extend("x-restart-required" = true))]
    pub compile_concurrency: u32,
    /// Longest a component may take to compile, in milliseconds; past it the install fails.
    #[schemars(extend("x-restart-required" = true))]
    pub compile_timeout_ms: u64,
    /// A directory watched for extensions: `name.wasm` (with an optional `name.toml`
    /// manifest) installs or upgrades, removing the `.wasm` uninstalls. Polled, so it works on
    /// any filesystem (restart to change).
    #[schemars(extend("x-restart-required" = true))]
    pub dir: Option<PathBuf>,
    /// How often `dir` is scanned, in milliseconds.
    #[schemars(extend("x-restart-required" = true))]
    pub dir_poll_ms: u64,
    /// Outgoing HTTP of guests (to granted origins only).
    pub http: ExtensionsHttpConfig,
    /// Origins the builtin `web_fetch` may reach: exact (`https://example.org`) or wildcard
    /// (`https://*`, `https://*.example.org`). Non-public addresses stay refused unless
    /// `extensions.http.allow_private` (restart to change).
    #[schemars(extend("x-restart-required" = true))]
    pub web_fetch_origins: Vec<String>,
    /// Quotas of each extension's kv bucket: keys, total value bytes, bytes of one value.
    #[schemars(extend("x-restart-required" = true))]
    pub kv_max_keys: u64,
    #[schemars(extend("x-restart-required" = true))]
    pub kv_max_bytes: u64,
    #[schemars(extend("x-restart-required" = true))]
    pub kv_max_value_bytes: u64,
}

impl Default for ExtensionsConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 5_000,
            max_timeout_ms: 60_000,
            memory_mb: 64,
            max_memory_mb: 512,
            max_concurrency: 32,
            result_limit_bytes: 1024 * 1024,
            pooling: true,
            pool_instances: 256,
            max_component_mb: 30,
            compile_cache: true,
            compile_concurrency: 1,
            compile_timeout_ms: 120_000,
            dir: None,
            dir_poll_ms: 2000,
            http: ExtensionsHttpConfig::default(),
            web_fetch_origins: vec!["https://*".into()],
            kv_max_keys: 1000,
            kv_max_bytes: 1024 * 1024,
            kv_max_value_bytes: 64 * 1024,
        }
    }
}

/// Outgoing HTTP of guests.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExtensionsHttpConfig {
    /// Let granted names resolve to loopback, private, link-local (metadata) and other
    /// non-public addresses. Off by default; only for trusted local services and tests.
    pub allow_private: bool,
    /// Requests one call may make (redirects count).
    pub max_requests_per_call: u32,
    /// Bytes of one response body.
    pub max_response_bytes: u64,
}

impl Default for ExtensionsHttpConfig {
    fn default() -> Self {
        Self {
            allow_private: false,
            max_requests_per_call: 10,
            max_response_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Which tools may run, and how long their call logs are kept.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// Run tools marked dangerous.
    pub allow_dangerous: bool,
    /// Tools treated as dangerous besides those that declare it.
    pub dangerous_tools: Vec<String>,
    /// Tools only the admin (or an `admin` API key) may call.
    pub admin_only_tools: Vec<String>,
    /// Tools switched off.
    pub disabled_tools: Vec<String>,
    /// When set, only tools of these categories are enabled.
    pub enabled_categories: Option<Vec<String>>,
    /// Categories switched off (`POST /api/skills/toggle-category`), whatever
    /// `enabled_categories` says.
    pub disabled_categories: Vec<String>,
    /// Days a tool-call log row is kept (pruned hourly); 0 keeps them forever.
    pub log_retention_days: u32,
    /// The longest any tool call may take, whatever runs it (an extension's own, shorter
    /// timeout applies first); the caller's own deadline (a chat turn, a skill) can cut it
    /// shorter still. Past it the call ends with `TOOL_TIMEOUT`.
    pub call_timeout_ms: u64,
    /// Bytes of call logs waiting to be written; past it new records are dropped (and
    /// counted in `chatai_tool_logs_dropped_total`), never the calls.
    #[schemars(extend("x-restart-required" = true))]
    pub log_queue_bytes: u64,
    /// Calls a second that get a log row; past it they are counted only
    /// (`chatai_tool_logs_unwritten_total`). 0: every call.
    #[schemars(extend("x-restart-required" = true))]
    pub log_rows_per_second: u32,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        Self {
            allow_dangerous: false,
            dangerous_tools: Vec::new(),
            admin_only_tools: Vec::new(),
            disabled_tools: Vec::new(),
            enabled_categories: None,
            disabled_categories: Vec::new(),
            log_retention_days: 30,
            call_timeout_ms: 60_000,
            log_queue_bytes: 4 * 1024 * 1024,
            log_rows_per_second: 200,
        }
    }
}

/// MCP: the servers we connect to (configured through `/api/mcp`), and the `/mcp` endpoint.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct McpConfig {
    /// Offer the tools of connected MCP servers to `/mcp` clients too.
    pub reexport: bool,
    /// Servers connected at once at start and by `reconnect-all`.
    pub connect_concurrency: u32,
    /// How often a connected server is pinged; one that does not answer within
    /// `mcp.ping_timeout_ms` is marked `error` and reconnected.
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    /// The longest a connection (spawn or dial, handshake and the first listing) may take.
    pub connect_timeout_ms: u64,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            reexport: true,
            connect_concurrency: 4,
            ping_interval_ms: 5_000,
            ping_timeout_ms: 2_000,
            connect_timeout_ms: 30_000,
        }
    }
}

impl Config {
    /// Checks the rules serde types cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.trigger.random_rate > 100 {
            return Err("trigger.random_rate must be between 0 and 100".into());
        }
        if self.auth.session_ttl == 0 || self.auth.login_token_ttl == 0 {
            return Err("auth.session_ttl and auth.login_token_ttl must be positive".into());
        }
        if let Some(url) = &self.server.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err("server.public_url must start with http:// or https://".into());
        }
        let db = &self.database;
        if !(1..=4096).contains(&db.memtable_mib) || !(1..=65536).contains(&db.block_cache_mib) {
            return Err("database.memtable_mib must be between 1 and 4096 and \
                 database.block_cache_mib between 1 and 65536"
                .into());
        }
        if db.sync_ms > 60_000 {
            return Err("database.sync_ms must be at most 60000 (0: sync every commit)".into());
        }
        if !(100..=600_000).contains(&db.timeout_ms) {
            return Err("database.timeout_ms must be between 100 and 600000".into());
        }
        let ext = &self.extensions;
        if ext.timeout_ms == 0 || ext.timeout_ms > ext.max_timeout_ms {
            return Err(
                "extensions.timeout_ms must be between 1 and extensions.max_timeout_ms".into(),
            );
        }
        if ext.memory_mb == 0 || ext.memory_mb > ext.max_memory_mb {
            return Err(
                "extensions.memory_mb must be between 1 and extensions.max_memory_mb".into(),
            );
        }
        if self.tools.call_timeout_ms == 0 {
            return Err("tools.call_timeout_ms must be positive".into());
        }
        if ext.max_concurrency == 0 {
            return Err("extensions.max_concurrency must be positive".into());
        }
        let skills = &self.skills;
        if skills.timeout_ms == 0 || skills.timeout_ms > skills.max_timeout_ms {
            return Err("skills.timeout_ms must be between 1 and skills.max_timeout_ms".into());
        }
        if skills.max_depth == 0 {
            return Err("skills.max_depth must be at least 1".into());
        }
        self.usage.validate()?;
        if let Some(secret) = &self.auth.jwt_secret
            && secret.expose().len() < 32
        {
            return Err("auth.jwt_secret must be at least 32 characters".into());
        }
        Ok(())
    }

    /// The database URL in force: the configured one or SurrealKV under the data dir.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => {
                let dir = self.data_dir.join("db");
                let dir = std::path::absolute(&dir).unwrap_or(dir);
                format!("surrealkv://{}", dir.display())
            }
        }
    }

    /// The base of login links.
    pub fn public_base_url(&self) -> String {
        match &self.server.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}:{}", self.server.host, self.server.port),
        }
    }

    /// Keys whose change only takes effect after a restart: those whose field carries
    /// `#[schemars(extend("x-restart-required" = true))]` in this file (read from the
    /// generated JSON Schema, so the attribute is the only list).
    pub fn needs_restart(path: &str) -> bool {
        static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
        let schema = SCHEMA.get_or_init(|| schemars::schema_for!(Config).to_value());
        restart_flag(schema, schema, path)
    }

    /// Keys read before the database (which holds the runtime layer) opens.
    pub fn is_bootstrap(path: &str) -> bool {
        path == "data_dir" || path.starts_with("database.")
    }

    /// Keys that hold secrets: shown as `***`, never settable at runtime.
    pub fn is_secret(path: &str) -> bool {
        matches!(path, "auth.jwt_secret" | "database.password")
    }
}

/// Whether the property at dotted `path` (or an object containing it) is marked
/// `x-restart-required` in `node`, following `$ref`s into `root`'s `$defs`.
fn restart_flag(root: &serde_json::Value, node: &serde_json::Value, path: &str) -> bool {
    let node = resolve(root, node);
    if node.get("x-restart-required") == Some(&serde_json::Value::Bool(true)) {
        return true;
    }
    if path.is_empty() {
        return false;
    }
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    match node.get("properties").and_then(|p| p.get(head)) {
        Some(child) => restart_flag(root, child, rest),
        None => false,
    }
}

fn resolve<'a>(root: &'a serde_json::Value, node: &'a serde_json::Value) -> &'a serde_json::Value {
    match node.get("$ref").and_then(|r| r.as_str()) {
        Some(reference) if node.get("x-restart-required").is_none() => reference
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs").and_then(|defs| defs.get(name)))
            .unwrap_or(node),
        _ => node,
    }
}

#[cfg(test)]
mod restart_tests {
    use super::Config;

    #[test]
    fn restart_required_comes_from_the_field_attributes() {
        for path in [
            "server.port",
            "server.host",
            "log.level",
            "extensions.pool_instances",
            "extensions.max_memory_mb",
            "extensions.web_fetch_origins",
            "tools.log_queue_bytes",
        ] {
            assert!(Config::needs_restart(path), "{path}");
        }
        for path in [
            "server.allowed_hosts",
            "server.json_body_limit",
            "extensions.timeout_ms",
            "extensions.memory_mb",
            "extensions.max_concurrency",
            "extensions.http.max_requests_per_call",
            "tools.disabled_tools",
            "bot.name",
        ] {
            assert!(!Config::needs_restart(path), "{path}");
        }
    }
}
