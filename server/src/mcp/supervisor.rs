//! One task per configured server keeps it connected while it is wanted: connect (bounded
//! concurrency), list, register its tools, then watch it: the connection ending (process
//! exit, transport closed) or a failed ping marks it `error` at once, its tools leave the
//! registry, and it is reconnected after a back-off (0.5 s doubling to 30 s, forever while
//! wanted). A `list_changed` notification re-lists it. Commands (connect, disconnect, a new
//! configuration, removal) arrive through a `watch` channel and interrupt whatever it is
//! doing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::RoleClient;
use rmcp::model::{ClientRequest, PingRequest, Prompt, Resource, ServerResult, Tool};
use rmcp::service::Peer;
use tokio::sync::{Semaphore, watch};

use super::backend::McpBackend;
use super::connection::{self, Connection};
use crate::config::ConfigService;
use crate::events::{Event, EventBus, McpChange, McpServerEvent};
use crate::store::{McpServerRecord, now_ms};
use crate::tools::{Provider, Source, ToolKind, ToolRegistry, ToolSpec};

const MIN_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where a server stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Connecting,
    Connected,
    Disconnected,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Connected => "connected",
            Status::Disconnected => "disconnected",
            Status::Error => "error",
        }
    }
}

/// What the supervisor is asked to do. Every command bumps `generation`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Wanted {
    pub connect: bool,
    pub generation: u64,
}

/// A server's state as the API shows it.
#[derive(Debug, Clone)]
pub struct ServerState {
    pub record: McpServerRecord,
    pub status: Status,
    pub error: Option<String>,
    pub tools: Vec<Tool>,
    pub resources: Vec<Resource>,
    pub prompts: Vec<Prompt>,
    pub connected_at: Option<i64>,
    /// The process id of a connected `stdio` or `npm` server.
    pub pid: Option<u32>,
    /// The command generation the status answers.
    pub generation: u64,
    pub(super) peer: Option<Peer<RoleClient>>,
}

impl ServerState {
    pub fn new(record: McpServerRecord) -> Self {
        let status = if record.enabled {
            Status::Connecting
        } else {
            Status::Disconnected
        };
        Self {
            record,
            status,
            error: None,
            tools: Vec::new(),
            resources: Vec::new(),
            prompts: Vec::new(),
            connected_at: None,
            pid: None,
            generation: 0,
            peer: None,
        }
    }
}

/// What every supervisor shares.
pub(super) struct Deps {
    pub registry: Arc<ToolRegistry>,
    pub events: Arc<EventBus>,
    pub config: Arc<ConfigService>,
    /// Connections being made at once.
    pub permits: Semaphore,
}

/// One server's shared state: read by the API, written by its supervisor.
pub(super) struct Shared {
    pub state: Mutex<ServerState>,
    /// Bumped on every change of `state`, so that callers can wait for one.
    pub changed: watch::Sender<u64>,
}

impl Shared {
    pub fn new(record: McpServerRecord) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(ServerState::new(record)),
            changed: watch::Sender::new(0),
        })
    }

    pub fn snapshot(&self) -> ServerState {
        self.lock().clone()
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut ServerState)) {
        change(&mut self.lock());
        self.changed.send_modify(|n| *n += 1);
    }

    fn set_status(&self, status: Status, error: Option<String>, generation: u64) {
        self.update(|state| {
            state.status = status;
            state.error = error;
            state.generation = generation;
            if status != Status::Connected {
                state.peer = None;
                state.connected_at = None;
                state.pid = None;
                state.tools.clear();
                state.resources.clear();
                state.prompts.clear();
            }
        });
    }
}

/// How a connected spell ended.
enum End {
    /// A command came (reconnect, disconnect, new configuration).
    Commanded,
    /// The server was removed.
    Removed,
    /// It died or stopped answering.
    Died(String),
}

/// The listing of a connected server.
struct Listing {
    tools: Vec<Tool>,
    resources: Vec<Resource>,
    prompts: Vec<Prompt>,
}

/// Keeps server `shared` connected while `wanted` says so; returns when it is removed (the
/// command sender is dropped), with its tools gone and its connection closed.
pub(super) async fn supervise(
    deps: Arc<Deps>,
    shared: Arc<Shared>,
    mut wanted: watch::Receiver<Wanted>,
) {
    let name = shared.lock().record.name.clone();
    let mut backoff = MIN_BACKOFF;
    loop {
        let want = *wanted.borrow_and_update();
        if !want.connect {
            shared.set_status(Status::Disconnected, None, want.generation);
            if wanted.changed().await.is_err() {
                break;
            }
            backoff = MIN_BACKOFF;
            continue;
        }
        shared.set_status(Status::Connecting, None, want.generation);
        let record = shared.lock().record.clone();
        let attempt = tokio::select! {
            attempt = connect_and_list(&deps, &record) => Some(attempt),
            changed = wanted.changed() => match changed {
                Ok(()) => None,
                Err(_) => break,
            },
        };
        let Some(attempt) = attempt else {
            backoff = MIN_BACKOFF;
            continue;
        };
        match attempt {
            Ok((mut connection, listing)) => {
                backoff = MIN_BACKOFF;
                let registered = register(&deps, &record, &connection.peer, &listing.tools);
                shared.update(|state| {
                    state.status = Status::Connected;
                    state.error = registered.err();
                    state.generation = want.generation;
                    state.tools = listing.tools;
                    state.resources = listing.resources;
                    state.prompts = listing.prompts;
                    state.connected_at = Some(now_ms());
                    state.pid = connection.pid;
                    state.peer = Some(connection.peer.clone());
                });
                publish(&deps, &shared, McpChange::Connected);
                let end = stay_connected(&deps, &shared, &mut connection, &mut wanted).await;
                let _ = deps.registry.replace(&name, Source::Mcp, None);
                connection.close().await;
                match end {
                    End::Commanded => {
                        shared.set_status(Status::Disconnected, None, want.generation);
                        publish(&deps, &shared, McpChange::Disconnected);
                        continue;
                    }
                    End::Removed => {
                        shared.set_status(Status::Disconnected, None, want.generation);
                        publish(&deps, &shared, McpChange::Disconnected);
                        break;
                    }
                    End::Died(reason) => {
                        tracing::warn!(server = %name, %reason, "MCP server lost");
                        shared.set_status(Status::Error, Some(reason), want.generation);
                        publish(&deps, &shared, McpChange::Disconnected);
                        publish(&deps, &shared, McpChange::Error);
                    }
                }
            }
            Err(err) => {
                tracing::warn!(server = %name, error = %err, "MCP server did not connect");
                shared.set_status(Status::Error, Some(err), want.generation);
                publish(&deps, &shared, McpChange::Error);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            changed = wanted.changed() => if changed.is_err() { break },
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    let _ = deps.registry.replace(&name, Source::Mcp, None);
}

async fn connect_and_list(
    deps: &Deps,
    record: &McpServerRecord,
) -> Result<(Connection, Listing), String> {
    let _permit = deps.permits.acquire().await.map_err(|e| e.to_string())?;
    let timeout = Duration::from_millis(deps.config.current().mcp.connect_timeout_ms)
        .min(Duration::from_millis(record.timeout_ms.max(1)));
    let connection = connection::connect(record, timeout)
        .await
        .map_err(|err| err.to_string())?;
    let listing = tokio::time::timeout(timeout, list(&connection.peer))
        .await
        .map_err(|_| format!("no answer to tools/list within {timeout:?}"))??;
    Ok((connection, listing))
}

/// Lists what the server offers (resources and prompts only if it declares them).
async fn list(peer: &Peer<RoleClient>) -> Result<Listing, String> {
    let capabilities = peer.peer_info().map(|info| info.capabilities.clone());
    let tools = peer
        .list_all_tools()
        .await
        .map_err(|err| format!("tools/list failed: {err}"))?;
    let has =
        |f: fn(&rmcp::model::ServerCapabilities) -> bool| capabilities.as_ref().is_some_and(f);
    let resources = if has(|c| c.resources.is_some()) {
        peer.list_all_resources().await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let prompts = if has(|c| c.prompts.is_some()) {
        peer.list_all_prompts().await.unwrap_or_default()
    } else {
        Vec::new()
    };
    Ok(Listing {
        tools,
        resources,
        prompts,
    })
}

/// Puts the server's tools in the registry (a tool whose schema does not compile is left out,
/// and said so in the server's `error`).
fn register(
    deps: &Deps,
    record: &McpServerRecord,
    peer: &Peer<RoleClient>,
    tools: &[Tool],
) -> Result<(), String> {
    let mut skipped = Vec::new();
    let specs: Vec<ToolSpec> = tools
        .iter()
        .filter_map(|tool| {
            let spec = spec_of(tool);
            match jsonschema::validator_for(&spec.input_schema) {
                Ok(_) => Some(spec),
                Err(err) => {
                    skipped.push(format!("{}: {err}", tool.name));
                    None
                }
            }
        })
        .collect();
    let provider = Provider {
        name: record.name.clone(),
        source: Source::Mcp,
        // What the server says it is (`serverInfo.version`).
        version: peer
            .peer_info()
            .and_then(|info| info.server_info.as_ref().map(|s| s.version.clone())),
        tools: specs,
        backend: Arc::new(McpBackend {
            server: record.name.clone(),
            peer: peer.clone(),
            timeout: Duration::from_millis(record.timeout_ms.max(1)),
        }),
        kind: ToolKind::Tool,
        enabled: true,
    };
    deps.registry
        .replace(&record.name, Source::Mcp, Some(provider))
        .map_err(|err| err.to_string())?;
    if skipped.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tools left out (input schema does not compile): {}",
            skipped.join("; ")
        ))
    }
}

fn spec_of(tool: &Tool) -> ToolSpec {
    ToolSpec {
        name: tool.name.to_string(),
        description: tool.description.as_deref().unwrap_or_default().to_owned(),
        input_schema: serde_json::Value::Object((*tool.input_schema).clone()),
        output_schema: tool
            .output_schema
            .as_ref()
            .map(|schema| serde_json::Value::Object((**schema).clone())),
        category: Some("mcp".to_owned()),
        dangerous: false,
    }
}

async fn stay_connected(
    deps: &Deps,
    shared: &Shared,
    connection: &mut Connection,
    wanted: &mut watch::Receiver<Wanted>,
) -> End {
    let config = deps.config.current();
    let interval = Duration::from_millis(config.mcp.ping_interval_ms.max(100));
    let ping_timeout = Duration::from_millis(config.mcp.ping_timeout_ms.max(100));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            reason = &mut connection.ended => {
                return End::Died(reason.unwrap_or_else(|_| "the connection closed".into()));
            }
            changed = wanted.changed() => {
                return if changed.is_ok() { End::Commanded } else { End::Removed };
            }
            () = connection.changed.notified() => {
                match list(&connection.peer).await {
                    Ok(listing) => {
                        let record = shared.lock().record.clone();
                        let registered = register(deps, &record, &connection.peer, &listing.tools);
                        shared.update(|state| {
                            state.error = registered.err();
                            state.tools = listing.tools;
                            state.resources = listing.resources;
                            state.prompts = listing.prompts;
                        });
                        publish(deps, shared, McpChange::ToolsUpdated);
                    }
                    Err(err) => return End::Died(err),
                }
            }
            _ = ticks.tick() => {
                if let Err(err) = ping(&connection.peer, ping_timeout).await {
                    return End::Died(err);
                }
            }
        }
    }
}

async fn ping(peer: &Peer<RoleClient>, timeout: Duration) -> Result<(), String> {
    let request = ClientRequest::PingRequest(PingRequest::default());
    match tokio::time::timeout(timeout, peer.send_request(request)).await {
        Ok(Ok(ServerResult::EmptyResult(_))) => Ok(()),
        Ok(Ok(_)) => Err("an unexpected answer to ping".into()),
        Ok(Err(err)) => Err(format!("ping failed: {err}")),
        Err(_) => Err(format!("no answer to ping within {timeout:?}")),
    }
}

fn publish(deps: &Deps, shared: &Shared, change: McpChange) {
    let state = shared.lock();
    deps.events.publish(Event::Mcp(McpServerEvent {
        change,
        server: state.record.name.clone(),
        status: state.status.as_str().to_owned(),
        error: state.error.clone(),
        tool_count: state.tools.len(),
    }));
}
