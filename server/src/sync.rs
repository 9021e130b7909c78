//! Keeps this instance's caches in step with the database when other instances on it change
//! things (API keys, revocations, the config overlay, channels, presets, custom extensions,
//! MCP servers, group settings).
//!
//! One LIVE query per followed table ([`FOLLOWED`]). A change marks the table
//! dirty and its cache is re-read from the database: a burst of changes costs one re-read, and
//! a re-read is always of the whole truth, so an out-of-order or lost notification cannot
//! leave a cache wrong. A live query that ends (connection lost, database restarted) is
//! subscribed again, and the table re-read once it is, so a change made while it was down is
//! not lost; and when the database probe sees the database come back, every table is re-read
//! too (the SDK may restore a live query by itself after a reconnect, without ending the
//! stream). This instance's own changes come back too; re-reading them is harmless.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// A cache of this instance that rows of the database feed.
#[derive(Clone, Copy, Debug)]
enum Cache {
    /// API keys and revoked sessions.
    Auth,
    Config,
    Channels,
    Presets,
    Extensions,
    McpServers,
    Groups,
}

/// The tables other instances change, and the cache each one feeds.
const FOLLOWED: &[(&str, Cache)] = &[
    ("api_key", Cache::Auth),
    ("revoked_jti", Cache::Auth),
    ("config_overlay", Cache::Config),
    ("channel", Cache::Channels),
    ("preset", Cache::Presets),
    ("preset_default", Cache::Presets),
    ("extension", Cache::Extensions),
    ("mcp_server", Cache::McpServers),
    ("group_settings", Cache::Groups),
];

/// Follows every table of [`FOLLOWED`]; the tasks end when the returned handles are aborted.
pub fn spawn(state: Arc<AppState>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut all = Vec::new();
    for &(table, cache) in FOLLOWED {
        let dirty = Arc::new(Notify::new());
        all.push(dirty.clone());
        tasks.push(tokio::spawn(follow(state.clone(), table, dirty.clone())));
        tasks.push(tokio::spawn(refresh(state.clone(), table, cache, dirty)));
    }
    tasks.push(tokio::spawn(reread_when_back(state, all)));
    tasks
}

/// Marks every table dirty when the database probe sees the database come back.
async fn reread_when_back(state: Arc<AppState>, all: Vec<Arc<Notify>>) {
    let mut was_ok = true;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let ok = state.db_ok();
        if ok && !was_ok {
            tracing::info!(
                "the database is back; re-reading what other instances may have changed"
            );
            for dirty in &all {
                dirty.notify_one();
            }
        }
        was_ok = ok;
    }
}

/// Subscribes to `table` (again after any end, backing off while the database is away) and
/// marks it dirty on each change and after each subscription.
async fn follow(state: Arc<AppState>, table: &'static str, dirty: Arc<Notify>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match state.store.follow(table).await {
            Ok(mut live) => {
                backoff = Duration::from_millis(250);
                // What changed while we were not subscribed.
                dirty.notify_one();
                while let Some(change) = live.changed().await {
                    if let Err(err) = change {
                        tracing::debug!(table, error = %err, "live query notification");
                    }
                    dirty.notify_one();
                }
                tracing::info!(table, "live query ended; subscribing again");
                tokio::time::sleep(backoff).await;
            }
            Err(err) => {
                tracing::debug!(table, error = %err, "cannot follow the table yet");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Re-reads `cache` each time `table` is marked dirty (marks during a re-read coalesce into
/// one more).
async fn refresh(state: Arc<AppState>, table: &'static str, cache: Cache, dirty: Arc<Notify>) {
    loop {
        dirty.notified().await;
        let result = match cache {
            Cache::Auth => state.auth.reload().await.map_err(|e| e.to_string()),
            Cache::Config => state.config.reload().await.map_err(|e| e.to_string()),
            Cache::Channels => state.channels.reload().await.map_err(|e| e.to_string()),
            Cache::Presets => state.chat.presets.reload().await.map_err(|e| e.to_string()),
            Cache::Extensions => {
                let config = state.config.current();
                (state.custom.sync(&config.extensions).await).map_err(|e| e.to_string())
            }
            Cache::McpServers => state.mcp.sync().await.map_err(|e| e.to_string()),
            Cache::Groups => state.chat.groups.reload().await.map_err(|e| e.to_string()),
        };
        if let Err(err) = result {
            tracing::warn!(table, ?cache, error = %err, "re-reading a changed table failed; next change retries");
        }
    }
}
