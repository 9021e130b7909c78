//! One live connection to an MCP server, whatever carries it: a child process (`stdio`,
//! `npm`), streamable HTTP (`http`) or the legacy HTTP+SSE transport (`sse`).
//!
//! The rmcp service runs in its own task; the connection keeps its peer (to send requests),
//! a signal that fires when the service ends (the process exited, the transport closed) and
//! the means to close it. Dropping the connection closes it, and closing a child-process
//! transport kills the child's whole process group and reaps it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{NotificationContext, Peer, RunningService, RunningServiceCancellationToken};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::sync::{Notify, oneshot};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use super::legacy_sse;
use crate::store::McpServerRecord;

/// Lines of a child's stderr kept for error messages, and the longest line kept.
const STDERR_LINES: usize = 20;
const STDERR_LINE_BYTES: usize = 2048;

/// Variables a child process inherits from us; everything else it gets from its own `env`
/// (our environment may hold secrets: `CHATAI_*` keys, cloud credentials).
const INHERITED_ENV: &[&str] = &["PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TZ"];

/// Our side of a connection: follows the server's `list_changed` notifications.
#[derive(Clone)]
pub(super) struct ClientSide {
    changed: Arc<Notify>,
}

impl ClientHandler for ClientSide {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }

    async fn on_resource_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }

    async fn on_prompt_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.changed.notify_one();
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("chatai-edge", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// The last lines a child wrote to stderr.
#[derive(Default)]
pub(super) struct StderrTail(Mutex<VecDeque<String>>);

impl StderrTail {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == STDERR_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The last line, if any (what a failing server usually says about itself).
    pub fn last(&self) -> Option<String> {
        let lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        lines.back().cloned()
    }
}

/// A connected server.
pub(super) struct Connection {
    pub peer: Peer<RoleClient>,
    /// Fires (with why) when the service ends on its own.
    pub ended: oneshot::Receiver<String>,
    /// Notified when the server says its tools, resources or prompts changed.
    pub changed: Arc<Notify>,
    /// The child's process id (`stdio`, `npm`).
    pub pid: Option<u32>,
    cancel: Option<RunningServiceCancellationToken>,
    /// The task that runs the service to its end (and the transport's close: for a child
    /// process, until it has exited and been reaped).
    runner: Option<tokio::task::JoinHandle<()>>,
}

/// The longest a close waits for the transport to shut down (a child that ignores the end
/// of its input gets SIGTERM after 3 s and SIGKILL 3 s later).
const CLOSE_WAIT: Duration = Duration::from_secs(8);

impl Connection {
    /// Closes the connection and waits until its transport has shut down.
    pub async fn close(mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel.cancel();
        }
        if let Some(runner) = self.runner.take()
            && tokio::time::timeout(CLOSE_WAIT, runner).await.is_err()
        {
            tracing::warn!("an MCP connection did not shut down within {CLOSE_WAIT:?}");
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(cancel) = self.cancel.take() {
            cancel.cancel();
        }
    }
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub(super) enum ConnectError {
    #[error("{0}")]
    Config(String),
    #[error("cannot start `{command}`: {error}")]
    Spawn {
        command: String,
        error: std::io::Error,
    },
    #[error("the handshake failed: {0}")]
    Handshake(String),
    #[error("no answer to the handshake within {0:?}")]
    Timeout(Duration),
}

/// Connects to the server `record` describes, within `timeout` (spawn or dial and handshake).
pub(super) async fn connect(
    record: &McpServerRecord,
    timeout: Duration,
) -> Result<Connection, ConnectError> {
    let changed = Arc::new(Notify::new());
    let handler = ClientSide {
        changed: changed.clone(),
    };
    let mut stderr = None;
    let mut pid = None;
    let handshake = async {
        match record.kind.as_str() {
            "stdio" | "npm" => {
                let (transport, tail) = spawn(record)?;
                stderr = Some(tail);
                pid = transport.id();
                handler.serve(transport).await
            }
            "http" => {
                let url = record
                    .url
                    .clone()
                    .ok_or_else(|| ConnectError::Config("an http server needs a url".into()))?;
                let config = StreamableHttpClientTransportConfig::with_uri(url)
                    .custom_headers(header_map(&record.headers)?);
                handler
                    .serve(StreamableHttpClientTransport::from_config(config))
                    .await
            }
            "sse" => {
                let url = record
                    .url
                    .as_deref()
                    .ok_or_else(|| ConnectError::Config("an sse server needs a url".into()))?;
                let transport = legacy_sse::connect(url, &record.headers)
                    .await
                    .map_err(ConnectError::Handshake)?;
                handler.serve(transport).await
            }
            other => return Err(ConnectError::Config(format!("unknown type `{other}`"))),
        }
        .map_err(|err| ConnectError::Handshake(err.to_string()))
    };
    let service = match tokio::time::timeout(timeout, handshake).await {
        Ok(Ok(service)) => service,
        Ok(Err(err)) => return Err(with_stderr(err, stderr.as_deref())),
        Err(_) => {
            return Err(with_stderr(
                ConnectError::Timeout(timeout),
                stderr.as_deref(),
            ));
        }
    };
    Ok(watch(service, changed, stderr, pid))
}

/// Moves the running service into its own task and keeps what the supervisor needs.
fn watch(
    service: RunningService<RoleClient, ClientSide>,
    changed: Arc<Notify>,
    stderr: Option<Arc<StderrTail>>,
    pid: Option<u32>,
) -> Connection {
    let peer = service.peer().clone();
    let cancel = service.cancellation_token();
    let (tx, ended) = oneshot::channel();
    let tail = stderr;
    let runner = tokio::spawn(async move {
        let reason = match service.waiting().await {
            Ok(reason) => format!("the connection closed ({reason:?})"),
            Err(err) => format!("the connection task failed: {err}"),
        };
        let reason = match tail.as_deref().and_then(StderrTail::last) {
            Some(line) => format!("{reason}; its last stderr line: {line}"),
            None => reason,
        };
        let _ = tx.send(reason);
    });
    Connection {
        peer,
        ended,
        changed,
        pid,
        cancel: Some(cancel),
        runner: Some(runner),
    }
}

fn with_stderr(err: ConnectError, tail: Option<&StderrTail>) -> ConnectError {
    match (err, tail.and_then(StderrTail::last)) {
        (ConnectError::Handshake(message), Some(line)) => {
            ConnectError::Handshake(format!("{message}; its last stderr line: {line}"))
        }
        (err, _) => err,
    }
}

/// Starts the child of a `stdio` or `npm` server in its own process group, its stderr kept.
fn spawn(record: &McpServerRecord) -> Result<(TokioChildProcess, Arc<StderrTail>), ConnectError> {
    let (program, args) = command_line(record)?;
    let mut command = tokio::process::Command::new(&program);
    command.args(&args).env_clear();
    for name in INHERITED_ENV {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command.envs(&record.env);
    if let Some(cwd) = &record.cwd {
        command.current_dir(cwd);
    }
    let mut wrapped = process_wrap::tokio::CommandWrap::from(command);
    wrapped.wrap(process_wrap::tokio::ProcessGroup::leader());
    let (transport, stderr) = TokioChildProcess::builder(wrapped)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| ConnectError::Spawn {
            command: program.clone(),
            error,
        })?;
    let tail = Arc::new(StderrTail::default());
    if let Some(stderr) = stderr {
        let tail = tail.clone();
        let server = record.name.clone();
        tokio::spawn(async move {
            // Lines over the cap are skipped, so a child that never writes a newline costs
            // no memory.
            let codec = LinesCodec::new_with_max_length(STDERR_LINE_BYTES);
            let mut lines = FramedRead::new(stderr, codec);
            while let Some(line) = lines.next().await {
                match line {
                    Ok(line) => {
                        tracing::debug!(server = %server, "{line}");
                        tail.push(line);
                    }
                    Err(LinesCodecError::MaxLineLengthExceeded) => continue,
                    Err(LinesCodecError::Io(_)) => break,
                }
            }
        });
    }
    Ok((transport, tail))
}

/// The program and its arguments: `command args…`, or `npx -y package args…`.
pub(super) fn command_line(
    record: &McpServerRecord,
) -> Result<(String, Vec<String>), ConnectError> {
    match record.kind.as_str() {
        "npm" => {
            let package = record
                .package
                .clone()
                .ok_or_else(|| ConnectError::Config("an npm server needs a package".into()))?;
            let mut args = vec!["-y".to_owned(), package];
            args.extend(record.args.iter().cloned());
            Ok((record.command.clone().unwrap_or_else(|| "npx".into()), args))
        }
        _ => {
            let command = record
                .command
                .clone()
                .ok_or_else(|| ConnectError::Config("a stdio server needs a command".into()))?;
            Ok((command, record.args.clone()))
        }
    }
}

fn header_map(
    headers: &BTreeMap<String, String>,
) -> Result<HashMap<http::HeaderName, http::HeaderValue>, ConnectError> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = http::HeaderName::try_from(name.as_str())
                .map_err(|_| ConnectError::Config(format!("invalid header name `{name}`")))?;
            let value = http::HeaderValue::try_from(value.as_str())
                .map_err(|_| ConnectError::Config(format!("invalid value of header `{name}`")))?;
            Ok((name, value))
        })
        .collect()
}
