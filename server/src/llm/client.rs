//! Sends a protocol's requests over one shared HTTP client, within a channel's times, and turns
//! answers (whole or streamed) into the internal model.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};

use super::error::{UpstreamError, parse_retry_after};
use super::model::{ChatRequest, Completion, Delta};
use super::{Decoder, Endpoint, HttpCall, Protocol};

/// A channel's times. A hung upstream never holds a request past them.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From sending until the answer's status line and headers (connect included); for a
    /// whole answer, until its last byte.
    pub first_byte: Duration,
    /// Between two chunks of a stream.
    pub idle: Duration,
}

/// Where a request goes: protocol, endpoint, the channel's extra headers, its times.
pub struct Target<'a> {
    pub protocol: Protocol,
    pub endpoint: Endpoint<'a>,
    pub headers: &'a BTreeMap<String, String>,
    pub timeouts: Timeouts,
}

/// The one HTTP client of every upstream (connection pools are per host inside it).
#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
}

/// Error bodies read at most this far.
const ERROR_BODY_LIMIT: usize = 16 * 1024;

impl LlmClient {
    pub fn new(connect_timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("chatai-edge/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http })
    }

    async fn send(
        &self,
        target: &Target<'_>,
        call: HttpCall,
    ) -> Result<reqwest::Response, UpstreamError> {
        let mut builder = match call.body {
            Some(body) => self
                .http
                .post(&call.url)
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&body).unwrap_or_default()),
            None => self.http.get(&call.url),
        };
        for (name, value) in call.headers {
            builder = builder.header(name, value);
        }
        for (name, value) in target.headers {
            builder = builder.header(name, value);
        }
        let response = tokio::time::timeout(target.timeouts.first_byte, builder.send())
            .await
            .map_err(|_| UpstreamError::Timeout("the answer"))?
            .map_err(|err| UpstreamError::Connect(causes(&err.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = read_capped(response, target.timeouts.idle).await;
        Err(UpstreamError::from_answer(
            status.as_u16(),
            &body,
            retry_after,
        ))
    }

    /// A whole answer.
    pub async fn complete(
        &self,
        target: &Target<'_>,
        request: &ChatRequest,
    ) -> Result<Completion, UpstreamError> {
        let call = target.protocol.chat(&target.endpoint, request, false);
        let json = self.fetch_json(target, call, "the answer").await?;
        target.protocol.completion(&json)
    }

    /// A whole JSON answer, within the channel's first-byte time (`what`: for the timeout's
    /// message).
    async fn fetch_json(
        &self,
        target: &Target<'_>,
        call: HttpCall,
        what: &'static str,
    ) -> Result<serde_json::Value, UpstreamError> {
        tokio::time::timeout(target.timeouts.first_byte, async {
            let body = self
                .send(target, call)
                .await?
                .bytes()
                .await
                .map_err(|err| UpstreamError::Cut(err.without_url().to_string()))?;
            serde_json::from_slice::<serde_json::Value>(&body)
                .map_err(|err| UpstreamError::Malformed(format!("not JSON: {err}")))
        })
        .await
        .map_err(|_| UpstreamError::Timeout(what))?
    }

    /// A streamed answer, once the upstream has answered 2xx.
    pub async fn stream(
        &self,
        target: &Target<'_>,
        request: &ChatRequest,
    ) -> Result<DeltaStream, UpstreamError> {
        let call = target.protocol.chat(&target.endpoint, request, true);
        let response = self.send(target, call).await?;
        Ok(DeltaStream {
            events: Box::pin(sse_stream::SseStream::from_bytes_stream(
                response.bytes_stream(),
            )),
            decoder: target.protocol.decoder(),
            idle: target.timeouts.idle,
            pending: VecDeque::new(),
            ended: false,
        })
    }

    /// The model ids the upstream lists.
    pub async fn models(&self, target: &Target<'_>) -> Result<Vec<String>, UpstreamError> {
        let call = target.protocol.models(&target.endpoint);
        let json = self.fetch_json(target, call, "the model list").await?;
        target.protocol.model_ids(&json)
    }
}

/// An error with its causes (`error sending request: tcp connect error: Connection refused`);
/// reqwest's own message alone says only the first. URLs are left out by the caller.
fn causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of an error body, within `wait`.
async fn read_capped(response: reqwest::Response, wait: Duration) -> Vec<u8> {
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    let _ = tokio::time::timeout(wait, async {
        while let Some(Ok(chunk)) = chunks.next().await {
            body.extend_from_slice(&chunk);
            if body.len() >= ERROR_BODY_LIMIT {
                break;
            }
        }
    })
    .await;
    body.truncate(ERROR_BODY_LIMIT);
    body
}

type Events = Pin<Box<dyn Stream<Item = Result<sse_stream::Sse, sse_stream::Error>> + Send>>;

/// The deltas of a streamed answer. Ends with `None` once the upstream said it is done; a
/// stream that stops before that, stalls past the idle time or sends what the protocol does not
/// allow ends with one error.
pub struct DeltaStream {
    events: Events,
    decoder: Decoder,
    idle: Duration,
    pending: VecDeque<Delta>,
    ended: bool,
}

impl DeltaStream {
    pub async fn next(&mut self) -> Option<Result<Delta, UpstreamError>> {
        loop {
            if let Some(delta) = self.pending.pop_front() {
                return Some(Ok(delta));
            }
            if self.ended {
                return None;
            }
            let event = match tokio::time::timeout(self.idle, self.events.next()).await {
                Err(_) => return self.fail(UpstreamError::Timeout("the next chunk")),
                Ok(None) if self.decoder.finished() => {
                    self.ended = true;
                    return None;
                }
                Ok(None) => {
                    return self.fail(UpstreamError::Cut(
                        "the upstream closed the stream before it was done".into(),
                    ));
                }
                Ok(Some(Err(err))) => return self.fail(UpstreamError::Cut(err.to_string())),
                Ok(Some(Ok(event))) => event,
            };
            let Some(data) = event.data.as_deref() else {
                continue;
            };
            let mut out = Vec::new();
            if let Err(err) = self.decoder.decode(event.event.as_deref(), data, &mut out) {
                return self.fail(err);
            }
            self.pending.extend(out);
            if self.decoder.finished() {
                self.ended = true;
            }
        }
    }

    fn fail(&mut self, err: UpstreamError) -> Option<Result<Delta, UpstreamError>> {
        self.ended = true;
        self.pending.clear();
        Some(Err(err))
    }
}
