//! MCP both ways. As a client: the servers an admin configured (`stdio`, `npm`, `http`, `sse`)
//! are persisted, connected in the background and supervised (`supervisor.rs`); their tools
//! join the registry as the `mcp` backend. As a server: `/mcp` offers our tools to any MCP
//! client (`endpoint.rs`).

mod backend;
mod connection;
pub mod endpoint;
mod legacy_sse;
mod supervisor;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{ReadResourceRequestParams, ResourceContents};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

pub use supervisor::{ServerState, Status};

use crate::config::ConfigService;
use crate::events::EventBus;
use crate::store::{McpServerRecord, Store, StoreError};
use crate::tools::ToolRegistry;
use supervisor::{Deps, Shared, Wanted};

/// Server types.
pub const KINDS: [&str; 4] = ["stdio", "npm", "http", "sse"];

/// How long connect and disconnect commands wait for the outcome before answering with the
/// status of the moment.
const COMMAND_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("no MCP server named `{0}`")]
    NotFound(String),
    #[error("an MCP server named `{0}` exists")]
    Taken(String),
    #[error("server `{0}` is not connected")]
    NotConnected(String),
    #[error("server `{server}`: {message}")]
    Remote { server: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Slot {
    shared: Arc<Shared>,
    wanted: watch::Sender<Wanted>,
    task: JoinHandle<()>,
}

/// The configured MCP servers and their supervisors.
pub struct McpManager {
    store: Store,
    deps: Arc<Deps>,
    servers: Mutex<BTreeMap<String, Slot>>,
    /// Held while a create, update or delete writes and applies, and by [`McpManager::sync`],
    /// so a sync never applies half of a change made here.
    changes: tokio::sync::Mutex<()>,
}

/// A resource's contents as read.
pub struct ResourceRead {
    pub content: String,
    pub mime_type: Option<String>,
    /// `true` when `content` is base64 (a blob).
    pub blob: bool,
}

impl McpManager {
    pub fn new(
        store: Store,
        registry: Arc<ToolRegistry>,
        events: Arc<EventBus>,
        config: Arc<ConfigService>,
    ) -> Self {
        let permits = config.current().mcp.connect_concurrency.max(1) as usize;
        Self {
            store,
            deps: Arc::new(Deps {
                registry,
                events,
                config,
                permits: Semaphore::new(permits),
            }),
            servers: Mutex::new(BTreeMap::new()),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Brings the servers in line with the database after another instance changed them: a
    /// server added there starts (and connects, if enabled) here, one removed there stops
    /// here, one whose configuration changed there reconnects here with it.
    pub async fn sync(&self) -> Result<(), StoreError> {
        let _changes = self.changes.lock().await;
        let records = self.store.mcp_servers().await?;
        let stored: std::collections::HashSet<String> =
            records.iter().map(|r| r.name.clone()).collect();
        for record in records {
            let apply = {
                let servers = self.lock();
                match servers.get(&record.name) {
                    None => None,
                    Some(slot) => {
                        let mut shared = slot.shared.lock();
                        if shared.record == record {
                            continue;
                        }
                        let enabled = record.enabled;
                        shared.record = record.clone();
                        Some((slot.wanted.clone(), enabled))
                    }
                }
            };
            match apply {
                None => self.spawn(record),
                Some((wanted, enabled)) => {
                    command(&wanted, enabled);
                }
            }
        }
        let gone: Vec<Slot> = {
            let mut servers = self.lock();
            let names: Vec<String> = servers
                .keys()
                .filter(|name| !stored.contains(*name))
                .cloned()
                .collect();
            names
                .iter()
                .filter_map(|name| servers.remove(name))
                .collect()
        };
        // Dropping its sender stops a supervisor: its tools leave, its process is reaped.
        drop(gone);
        Ok(())
    }

    /// Starts a supervisor for every stored server; enabled ones connect in the background.
    pub async fn start(&self) -> Result<usize, StoreError> {
        let records = self.store.mcp_servers().await?;
        let count = records.len();
        for record in records {
            self.spawn(record);
        }
        Ok(count)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Slot>> {
        self.servers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(&self, record: McpServerRecord) {
        let name = record.name.clone();
        let (wanted, receiver) = watch::channel(Wanted {
            connect: record.enabled,
            generation: 0,
        });
        let shared = Shared::new(record);
        let task = tokio::spawn(supervisor::supervise(
            self.deps.clone(),
            shared.clone(),
            receiver,
        ));
        let previous = self.lock().insert(
            name,
            Slot {
                shared,
                wanted,
                task,
            },
        );
        if let Some(previous) = previous {
            previous.task.abort();
        }
    }

    /// Every server's state, by name. Never waits on a server.
    pub fn list(&self) -> Vec<ServerState> {
        self.lock()
            .values()
            .map(|slot| slot.shared.snapshot())
            .collect()
    }

    pub fn get(&self, name: &str) -> Result<ServerState, McpError> {
        self.lock()
            .get(name)
            .map(|slot| slot.shared.snapshot())
            .ok_or_else(|| McpError::NotFound(name.to_owned()))
    }

    /// `(connected, total)`.
    pub fn counts(&self) -> (usize, usize) {
        let servers = self.lock();
        let connected = servers
            .values()
            .filter(|slot| slot.shared.lock().status == Status::Connected)
            .count();
        (connected, servers.len())
    }

    /// Stores a new server and starts connecting it (if enabled).
    pub async fn create(&self, record: McpServerRecord) -> Result<ServerState, McpError> {
        let _changes = self.changes.lock().await;
        if !self.store.create_mcp_server(&record).await? {
            return Err(McpError::Taken(record.name));
        }
        let name = record.name.clone();
        self.spawn(record);
        self.get(&name)
    }

    /// Stores a server's new configuration and reconnects it with it (or disconnects it, if
    /// it is now disabled); waits for the outcome (up to 30 s).
    pub async fn update(&self, record: McpServerRecord) -> Result<ServerState, McpError> {
        let changes = self.changes.lock().await;
        if !self.store.replace_mcp_server(&record).await? {
            return Err(McpError::NotFound(record.name));
        }
        let name = record.name.clone();
        let enabled = record.enabled;
        let (shared, generation) = {
            let servers = self.lock();
            let slot = servers
                .get(&name)
                .ok_or_else(|| McpError::NotFound(name.clone()))?;
            slot.shared.lock().record = record;
            (slot.shared.clone(), command(&slot.wanted, enabled))
        };
        drop(changes);
        Ok(settle(&shared, generation).await)
    }

    /// Removes a server: its tools leave the registry, its connection closes, its process is
    /// stopped and reaped.
    pub async fn delete(&self, name: &str) -> Result<(), McpError> {
        let changes = self.changes.lock().await;
        let deleted = self.store.delete_mcp_server(name).await?;
        let slot = self.lock().remove(name);
        drop(changes);
        match slot {
            Some(slot) => {
                drop(slot.wanted);
                if tokio::time::timeout(COMMAND_WAIT, slot.task).await.is_err() {
                    tracing::warn!(server = name, "MCP supervisor did not stop in time");
                }
                Ok(())
            }
            None if deleted => Ok(()),
            None => Err(McpError::NotFound(name.to_owned())),
        }
    }

    /// (Re)connects a server now and waits for the outcome (up to 30 s).
    pub async fn connect(&self, name: &str) -> Result<ServerState, McpError> {
        self.command_and_wait(name, true).await
    }

    /// Disconnects a server until the next connect, update or restart (`enabled` is the
    /// persistent switch).
    pub async fn disconnect(&self, name: &str) -> Result<ServerState, McpError> {
        self.command_and_wait(name, false).await
    }

    /// Reconnects every enabled server (at most `mcp.connect_concurrency` at once) and waits
    /// for each outcome.
    pub async fn reconnect_all(&self) -> Vec<ServerState> {
        let names: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, slot)| slot.shared.lock().record.enabled)
            .map(|(name, _)| name.clone())
            .collect();
        let waits = names.iter().map(|name| self.connect(name));
        futures_util::future::join_all(waits)
            .await
            .into_iter()
            .filter_map(Result::ok)
            .collect()
    }

    async fn command_and_wait(&self, name: &str, connect: bool) -> Result<ServerState, McpError> {
        let (shared, generation) = {
            let servers = self.lock();
            let slot = servers
                .get(name)
                .ok_or_else(|| McpError::NotFound(name.to_owned()))?;
            (slot.shared.clone(), command(&slot.wanted, connect))
        };
        Ok(settle(&shared, generation).await)
    }

    /// Reads resource `uri` of server `server` (or of the first connected server offering it).
    pub async fn read_resource(
        &self,
        server: Option<&str>,
        uri: &str,
    ) -> Result<ResourceRead, McpError> {
        let state = match server {
            Some(server) => self.get(server)?,
            None => self
                .list()
                .into_iter()
                .find(|state| state.resources.iter().any(|r| r.uri == uri))
                .ok_or_else(|| McpError::NotFound(format!("resource {uri}")))?,
        };
        let name = state.record.name.clone();
        let peer = state
            .peer
            .ok_or_else(|| McpError::NotConnected(name.clone()))?;
        let timeout = Duration::from_millis(state.record.timeout_ms.max(1));
        let read = tokio::time::timeout(
            timeout,
            peer.read_resource(ReadResourceRequestParams::new(uri)),
        )
        .await
        .map_err(|_| McpError::Remote {
            server: name.clone(),
            message: format!("no answer within {timeout:?}"),
        })?
        .map_err(|err| McpError::Remote {
            server: name.clone(),
            message: err.to_string(),
        })?;
        let first = read.contents.into_iter().next().ok_or(McpError::Remote {
            server: name.clone(),
            message: format!("no contents for {uri}"),
        })?;
        Ok(match first {
            ResourceContents::TextResourceContents {
                text, mime_type, ..
            } => ResourceRead {
                content: text,
                mime_type,
                blob: false,
            },
            ResourceContents::BlobResourceContents {
                blob, mime_type, ..
            } => ResourceRead {
                content: blob,
                mime_type,
                blob: true,
            },
            _ => {
                return Err(McpError::Remote {
                    server: name,
                    message: format!("contents of {uri} in a form this server does not read"),
                });
            }
        })
    }

    /// Stops every supervisor: connections close, child processes are stopped and reaped.
    pub async fn shutdown(&self) {
        let slots: Vec<Slot> = std::mem::take(&mut *self.lock()).into_values().collect();
        let tasks = slots.into_iter().map(|slot| {
            drop(slot.wanted);
            slot.task
        });
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(Duration::from_secs(5), all)
            .await
            .is_err()
        {
            tracing::warn!("MCP supervisors did not stop within 5 s");
        }
    }
}

/// Waits (up to 30 s) until the supervisor has acted on command `generation` and left
/// `connecting`; returns the state then.
async fn settle(shared: &Shared, generation: u64) -> ServerState {
    let mut changes = shared.changed.subscribe();
    let wait = async {
        loop {
            {
                let state = shared.lock();
                if state.generation >= generation && state.status != Status::Connecting {
                    return;
                }
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(COMMAND_WAIT, wait).await;
    shared.snapshot()
}

/// Sends a command; returns its generation.
fn command(wanted: &watch::Sender<Wanted>, connect: bool) -> u64 {
    let mut generation = 0;
    wanted.send_modify(|w| {
        w.connect = connect;
        w.generation += 1;
        generation = w.generation;
    });
    generation
}
