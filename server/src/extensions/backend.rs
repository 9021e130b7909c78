//! The WASM host as a tool backend: each registered extension is one.

use std::sync::Arc;

use super::{Extension, ExtensionHost, GuestCall};
use crate::tools::{CallContext, RunFuture, ToolBackend, ToolSpec};

/// Runs the tools of one loaded extension in fresh sandboxed instances.
pub struct WasmBackend {
    host: Arc<ExtensionHost>,
    extension: Arc<Extension>,
}

impl WasmBackend {
    pub fn new(host: Arc<ExtensionHost>, extension: Arc<Extension>) -> Self {
        Self { host, extension }
    }
}

impl ToolBackend for WasmBackend {
    fn run<'a>(
        &'a self,
        spec: &'a ToolSpec,
        args: &'a serde_json::Value,
        call: &'a CallContext<'a>,
    ) -> RunFuture<'a> {
        Box::pin(async move {
            let invocation = call.invocation;
            let guest = GuestCall {
                call_id: call.call_id.to_owned(),
                user_id: invocation.user_id.clone(),
                group_id: invocation.group_id.clone(),
                conversation_id: invocation.conversation_id.clone(),
                deadline: call.deadline,
                progress: Some(call.progress.clone()),
            };
            self.host
                .call(
                    &self.extension,
                    &spec.name,
                    args.to_string(),
                    guest,
                    &call.config.extensions,
                )
                .await
        })
    }
}
