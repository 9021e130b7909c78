//! LLM upstreams: one internal message model ([`model`]), one adapter per wire protocol that
//! only maps it to and from that protocol, and one client that sends, times out and decodes
//! (reqwest for HTTP, `sse-stream` for server-sent events).

mod anthropic;
mod client;
pub mod error;
mod gemini;
mod gemini_schema;
pub mod model;
mod openai;

use serde::{Deserialize, Serialize};

pub use client::{DeltaStream, LlmClient, Target, Timeouts};
pub use error::UpstreamError;
pub use model::{
    Assembler, ChatRequest, Completion, Delta, Message, Role, ToolCall, ToolDef, Usage,
};

/// The wire protocol of a channel (`type` in the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// OpenAI chat completions and every compatible server.
    Openai,
    /// Anthropic messages.
    Claude,
    /// Google Gemini `generateContent`.
    Gemini,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Openai => "openai",
            Protocol::Claude => "claude",
            Protocol::Gemini => "gemini",
        }
    }

    /// The public endpoint, used when a channel sets no `baseUrl`.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Protocol::Openai => "https://api.openai.com/v1",
            Protocol::Claude => "https://api.anthropic.com/v1",
            Protocol::Gemini => "https://generativelanguage.googleapis.com/v1beta",
        }
    }

    fn chat(self, endpoint: &Endpoint<'_>, request: &ChatRequest, stream: bool) -> HttpCall {
        match self {
            Protocol::Openai => openai::chat(endpoint, request, stream),
            Protocol::Claude => anthropic::chat(endpoint, request, stream),
            Protocol::Gemini => gemini::chat(endpoint, request, stream),
        }
    }

    fn completion(self, body: &serde_json::Value) -> Result<Completion, UpstreamError> {
        match self {
            Protocol::Openai => openai::completion(body),
            Protocol::Claude => anthropic::completion(body),
            Protocol::Gemini => gemini::completion(body),
        }
    }

    fn models(self, endpoint: &Endpoint<'_>) -> HttpCall {
        match self {
            Protocol::Openai => openai::models(endpoint),
            Protocol::Claude => anthropic::models(endpoint),
            Protocol::Gemini => gemini::models(endpoint),
        }
    }

    fn model_ids(self, body: &serde_json::Value) -> Result<Vec<String>, UpstreamError> {
        match self {
            Protocol::Openai | Protocol::Claude => data_ids(body),
            Protocol::Gemini => gemini::model_ids(body),
        }
    }

    fn decoder(self) -> Decoder {
        match self {
            Protocol::Openai => Decoder::Openai(openai::Decoder::default()),
            Protocol::Claude => Decoder::Claude(anthropic::Decoder::default()),
            Protocol::Gemini => Decoder::Gemini(gemini::Decoder::default()),
        }
    }
}

/// Turns of `(role, blocks)` as `[{role, <key>: blocks}]`, consecutive turns of one role merged
/// into one (Anthropic and Gemini want roles alternating; several tool results are one turn).
fn alternating(
    turns: impl IntoIterator<Item = (&'static str, Vec<serde_json::Value>)>,
    key: &str,
) -> Vec<serde_json::Value> {
    let mut merged: Vec<(&'static str, Vec<serde_json::Value>)> = Vec::new();
    for (role, blocks) in turns {
        match merged.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => merged.push((role, blocks)),
        }
    }
    merged
        .into_iter()
        .map(|(role, blocks)| serde_json::json!({ "role": role, key: blocks }))
        .collect()
}

/// The model ids of a `{data: [{id}]}` list (OpenAI's and Anthropic's shape).
fn data_ids(body: &serde_json::Value) -> Result<Vec<String>, UpstreamError> {
    let data = body
        .get("data")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| UpstreamError::Malformed("no data[] in the model list".into()))?;
    Ok(data
        .iter()
        .filter_map(|m| {
            m.get("id")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
        .collect())
}

/// Where and as whom to call an upstream.
pub struct Endpoint<'a> {
    pub base_url: &'a str,
    pub api_key: &'a str,
}

impl Endpoint<'_> {
    fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

/// A request as an adapter builds it; the client adds the channel's own headers.
pub struct HttpCall {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// `None`: a GET.
    pub body: Option<serde_json::Value>,
}

impl HttpCall {
    fn post(url: String, headers: Vec<(&'static str, String)>, body: serde_json::Value) -> Self {
        Self {
            url,
            headers,
            body: Some(body),
        }
    }

    fn get(url: String, headers: Vec<(&'static str, String)>) -> Self {
        Self {
            url,
            headers,
            body: None,
        }
    }
}

/// A protocol's stream decoder: SSE events in, deltas out.
enum Decoder {
    Openai(openai::Decoder),
    Claude(anthropic::Decoder),
    Gemini(gemini::Decoder),
}

impl Decoder {
    fn decode(
        &mut self,
        event: Option<&str>,
        data: &str,
        out: &mut Vec<Delta>,
    ) -> Result<(), UpstreamError> {
        match self {
            Decoder::Openai(d) => d.decode(event, data, out),
            Decoder::Claude(d) => d.decode(event, data, out),
            Decoder::Gemini(d) => d.decode(event, data, out),
        }
    }

    /// The upstream said the answer is complete.
    fn finished(&self) -> bool {
        match self {
            Decoder::Openai(d) => d.finished(),
            Decoder::Claude(d) => d.finished(),
            Decoder::Gemini(d) => d.finished(),
        }
    }
}
