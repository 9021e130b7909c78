//! Tools: the hub every caller and every tool provider meets at. One registry of every tool
//! (builtin and custom WASM tools and skills, MCP servers), one executor every call goes
//! through, and the vocabulary they share. `tools/` imports none of its backends: a backend
//! implements [`ToolBackend`] and registers a [`Provider`].

mod backend;
pub mod executor;
mod invocation;
pub mod logs;
pub mod registry;
mod spec;

use std::sync::Arc;

pub use backend::{RunFuture, ToolBackend};
pub use executor::{CodeOf, ExecError, ToolExecutor, ToolOutcome};
pub use invocation::{
    CallContext, CallerKind, Invocation, Origin, Progress, ProgressSink, TokenMeter,
};
pub use logs::{ToolLogEntry, ToolLogQueue};
pub use registry::{Provider, RegisteredTool, Source, ToolRegistry};
pub use spec::{ContentPart, Ran, ToolError, ToolKind, ToolOutput, ToolSpec, argument_errors};

/// The tool hub as the rest of the server holds it.
pub struct ToolHub {
    pub executor: ToolExecutor,
    pub registry: Arc<ToolRegistry>,
}
