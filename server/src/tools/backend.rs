//! The one way the executor runs anything: a backend that can run the tools it registered.

use std::future::Future;
use std::pin::Pin;

use super::invocation::CallContext;
use super::spec::{Ran, ToolSpec};

/// A boxed future of a backend run.
pub type RunFuture<'a> = Pin<Box<dyn Future<Output = Ran> + Send + 'a>>;

/// A provider of tools: the WASM extension host today, MCP servers and skills next.
///
/// `run` must be cancel-safe: dropping the future stops the run and leaves nothing behind
/// (the executor drops it when the caller goes away). Policy, argument validation, logging and
/// metrics are the executor's; a backend only runs the tool, within the shorter of its own
/// limit and `call.deadline`.
pub trait ToolBackend: Send + Sync {
    fn run<'a>(
        &'a self,
        spec: &'a ToolSpec,
        args: &'a serde_json::Value,
        call: &'a CallContext<'a>,
    ) -> RunFuture<'a>;
}
