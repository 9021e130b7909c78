//! An MCP server as a tool backend: `tools/call` on its current connection, within the shorter
//! of the server's own timeout and the executor's deadline. Dropping a run (the deadline, the
//! caller went away) sends the server `notifications/cancelled`.

use std::time::Duration;

use base64::Engine;
use rmcp::RoleClient;
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock};
use rmcp::service::{Peer, ServiceError};

use crate::tools::{
    CallContext, ContentPart, Ran, RunFuture, ToolBackend, ToolError, ToolOutput, ToolSpec,
};

/// Runs the tools of one connection of one server (a reconnect registers a new backend).
pub(super) struct McpBackend {
    pub server: String,
    pub peer: Peer<RoleClient>,
    /// The server's `timeoutMs`.
    pub timeout: Duration,
}

impl ToolBackend for McpBackend {
    fn run<'a>(
        &'a self,
        spec: &'a ToolSpec,
        args: &'a serde_json::Value,
        call: &'a CallContext<'a>,
    ) -> RunFuture<'a> {
        Box::pin(async move {
            let limit = call
                .deadline
                .map_or(self.timeout, |left| left.min(self.timeout));
            let mut params = CallToolRequestParams::new(spec.name.clone());
            if let Some(args) = args.as_object() {
                params = params.with_arguments(args.clone());
            }
            let result = match tokio::time::timeout(limit, self.peer.call_tool(params)).await {
                Err(_) => Err(ToolError::Timeout(limit)),
                Ok(Err(err)) => Err(service_error(&self.server, err)),
                Ok(Ok(result)) => output_of(result),
            };
            Ran {
                result,
                logs: Vec::new(),
            }
        })
    }
}

fn service_error(server: &str, err: ServiceError) -> ToolError {
    match err {
        ServiceError::TransportClosed | ServiceError::TransportSend(_) => {
            ToolError::Unavailable(format!("MCP server `{server}` is not connected"))
        }
        ServiceError::McpError(err) => ToolError::Failed(format!(
            "MCP server `{server}` refused the call: {}",
            err.message
        )),
        ServiceError::Timeout { timeout } => ToolError::Timeout(timeout),
        other => ToolError::InvalidOutput(format!("MCP server `{server}`: {other}")),
    }
}

/// Our result of an MCP result: `isError` is a failed run whose text is the message.
pub(super) fn output_of(result: CallToolResult) -> Result<ToolOutput, ToolError> {
    let content: Vec<ContentPart> = result.content.into_iter().map(part_of).collect();
    let output = ToolOutput {
        content,
        structured: result.structured_content,
    };
    if result.is_error == Some(true) {
        let text = output.text();
        return Err(ToolError::Failed(if text.is_empty() {
            "the tool reported an error".into()
        } else {
            text
        }));
    }
    Ok(output)
}

fn part_of(block: ContentBlock) -> ContentPart {
    match block {
        ContentBlock::Text(text) => ContentPart::Text(text.text),
        ContentBlock::Image(image) => {
            match base64::engine::general_purpose::STANDARD.decode(&image.data) {
                Ok(data) => ContentPart::Image {
                    mime_type: image.mime_type,
                    data,
                },
                Err(_) => ContentPart::Json(serde_json::json!({
                    "type": "image", "mimeType": image.mime_type, "data": image.data
                })),
            }
        }
        // Audio, embedded resources and links: kept whole, as the server sent them.
        other => ContentPart::Json(serde_json::to_value(&other).unwrap_or_default()),
    }
}
