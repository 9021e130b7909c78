//! The legacy HTTP+SSE transport (MCP 2024-11-05), which rmcp no longer ships: the client
//! opens an event stream with `GET`; the server's first event, `endpoint`, names the URL to
//! `POST` messages to; its answers arrive on the stream as `message` events.

use std::collections::BTreeMap;
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;

type Events = Pin<Box<dyn Stream<Item = Result<sse_stream::Sse, sse_stream::Error>> + Send>>;

/// A connected legacy SSE transport.
pub(super) struct LegacySse {
    client: reqwest::Client,
    /// Where messages are posted (from the `endpoint` event).
    post_url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    events: Events,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct SendError(String);

/// Opens the event stream at `url` and waits for the `endpoint` event.
pub(super) async fn connect(
    url: &str,
    headers: &BTreeMap<String, String>,
) -> Result<LegacySse, String> {
    let base = reqwest::Url::parse(url).map_err(|err| format!("invalid url: {err}"))?;
    let mut header_map = reqwest::header::HeaderMap::new();
    for (name, value) in headers {
        let name = reqwest::header::HeaderName::try_from(name.as_str())
            .map_err(|_| format!("invalid header name `{name}`"))?;
        let value = reqwest::header::HeaderValue::try_from(value.as_str())
            .map_err(|_| format!("invalid value of header `{name}`"))?;
        header_map.insert(name, value);
    }
    let client = reqwest::Client::builder()
        .build()
        .map_err(|err| err.to_string())?;
    let response = client
        .get(base.clone())
        .headers(header_map.clone())
        .header(reqwest::header::ACCEPT, "text/event-stream")
        .send()
        .await
        .map_err(|err| format!("GET {base}: {err}"))?;
    if !response.status().is_success() {
        return Err(format!("GET {base}: status {}", response.status()));
    }
    let mut events: Events = Box::pin(sse_stream::SseStream::from_bytes_stream(
        response.bytes_stream(),
    ));
    let post_url = loop {
        match events.next().await {
            Some(Ok(event)) if event.event.as_deref() == Some("endpoint") => {
                let path = event.data.unwrap_or_default();
                break base
                    .join(path.trim())
                    .map_err(|err| format!("invalid endpoint `{path}`: {err}"))?;
            }
            Some(Ok(_)) => continue,
            Some(Err(err)) => return Err(format!("reading the event stream: {err}")),
            None => return Err("the event stream ended before the `endpoint` event".into()),
        }
    };
    Ok(LegacySse {
        client,
        post_url,
        headers: header_map,
        events,
    })
}

impl Transport<RoleClient> for LegacySse {
    type Error = SendError;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let request = self
            .client
            .post(self.post_url.clone())
            .headers(self.headers.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&item).unwrap_or_default());
        async move {
            let response = request
                .send()
                .await
                .map_err(|err| SendError(err.to_string()))?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(SendError(format!("POST: status {}", response.status())))
            }
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let event = match self.events.next().await? {
                Ok(event) => event,
                Err(err) => {
                    tracing::debug!(error = %err, "legacy SSE stream failed");
                    return None;
                }
            };
            if !matches!(event.event.as_deref(), None | Some("message")) {
                continue;
            }
            let Some(data) = event.data else { continue };
            match serde_json::from_str(&data) {
                Ok(message) => return Some(message),
                Err(err) => {
                    tracing::debug!(error = %err, "legacy SSE server sent a message that is not JSON-RPC");
                    continue;
                }
            }
        }
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.events = Box::pin(futures_util::stream::empty());
        Ok(())
    }
}
