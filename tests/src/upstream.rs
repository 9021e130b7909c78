//! A local LLM upstream for tests, one per wire protocol (OpenAI chat completions, Anthropic
//! messages, Gemini generateContent), speaking each faithfully over real HTTP/1.1 on
//! 127.0.0.1: whole and streamed answers, text and (parallel) tool calls with their argument
//! JSON split across stream chunks, usage, and scripted faults (an error status with
//! `Retry-After`, malformed JSON, a hang, a stream cut before or after content, a slow
//! trickle). It records every request it received.
//!
//! Written on raw sockets so that faults are real: a cut closes the connection mid-body, a hang
//! holds it open without a byte.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Openai,
    Claude,
    Gemini,
}

impl Protocol {
    /// The channel `type` of the API.
    pub fn kind(self) -> &'static str {
        match self {
            Protocol::Openai => "openai",
            Protocol::Claude => "claude",
            Protocol::Gemini => "gemini",
        }
    }

    pub const ALL: [Protocol; 3] = [Protocol::Openai, Protocol::Claude, Protocol::Gemini];
}

/// What a scripted tool-call step answers when the request offered no tools.
pub const WITHOUT_TOOLS: &str = "Answering without tools.";

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Step {
    Text(String),
    /// `echo: <the last user message's text>`.
    Echo,
    /// `(id, name, args)` of each call, in one model turn.
    ToolCalls(Vec<(String, String, Value)>),
    /// An error answer: status, `Retry-After` seconds.
    Status(u16, Option<u64>),
    /// 200 with a body (or a stream event) that is not JSON.
    Malformed,
    /// Reads the request and never answers.
    Hang,
    /// Stream: the headers, then the connection closes. Whole answer: a body cut short.
    CutBeforeContent,
    /// Stream: this text, then the connection closes before the end.
    CutAfterContent(String),
    /// Stream: the text one character at a time, `delay` apart.
    Trickle(String, Duration),
    /// Waits this long after reading the request, then answers with the inner step (a model's
    /// thinking time, for benchmarks).
    After(Duration, Box<Step>),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Script {
    steps: VecDeque<Step>,
    /// Answered when the steps run out.
    otherwise: Step,
}

/// A running test upstream. Stops when dropped.
pub struct Upstream {
    pub protocol: Protocol,
    /// What a channel's `baseUrl` is set to.
    pub base_url: String,
    /// The model name it reports.
    pub model: String,
    /// Usage reported with every answer: (prompt, completion).
    pub usage: (u64, u64),
    script: Arc<Mutex<Script>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    recording: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// Starts an upstream that answers "ok" to everything until given a script.
    pub async fn start(protocol: Protocol) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let port = listener.local_addr().expect("addr").port();
        let script = Arc::new(Mutex::new(Script {
            steps: VecDeque::new(),
            otherwise: Step::Text("ok".into()),
        }));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recording = Arc::new(AtomicBool::new(true));
        let usage = (13, 7);
        let model = format!("{}-test-model", protocol.kind());
        let server = Server {
            protocol,
            model: model.clone(),
            usage,
            script: script.clone(),
            requests: requests.clone(),
            recording: recording.clone(),
        };
        let task = tokio::spawn(async move {
            let server = Arc::new(server);
            while let Ok((socket, _)) = listener.accept().await {
                let server = server.clone();
                tokio::spawn(async move { server.serve(socket).await });
            }
        });
        let version = if protocol == Protocol::Gemini {
            "v1beta"
        } else {
            "v1"
        };
        Self {
            protocol,
            base_url: format!("http://127.0.0.1:{port}/{version}"),
            model,
            usage,
            script,
            requests,
            recording,
            task,
        }
    }

    /// Stops (or resumes) recording requests: a benchmark sends more than memory should keep.
    pub fn record(&self, on: bool) {
        self.recording.store(on, Ordering::Relaxed);
    }

    /// Answers with these steps in order, then `otherwise`.
    pub fn script(&self, steps: impl IntoIterator<Item = Step>, otherwise: Step) {
        let mut script = self.script.lock().expect("script");
        script.steps = steps.into_iter().collect();
        script.otherwise = otherwise;
    }

    /// The chat requests received so far (model lists left out).
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .expect("requests")
            .iter()
            .filter(|r| r.method == "POST")
            .cloned()
            .collect()
    }
}

/// A base URL where nothing listens (connection refused).
pub async fn refused_base_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1")
}

struct Server {
    protocol: Protocol,
    model: String,
    usage: (u64, u64),
    script: Arc<Mutex<Script>>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    recording: Arc<AtomicBool>,
}

/// Reads one HTTP/1.1 request (headers, then a `content-length` body).
async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > 1 << 20 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    })
}

async fn write_json(socket: &mut TcpStream, status: u16, extra: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n",
        reason(status),
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(body.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// SSE events (`(event name, data)`) of a streamed answer.
type Events = Vec<(Option<&'static str>, String)>;

impl Server {
    async fn serve(&self, mut socket: TcpStream) {
        let Some(request) = read_request(&mut socket).await else {
            return;
        };
        if self.recording.load(Ordering::Relaxed) {
            self.requests
                .lock()
                .expect("requests")
                .push(request.clone());
        }
        if request.method == "GET" {
            let models = match self.protocol {
                Protocol::Openai => {
                    json!({"object": "list", "data": [{"id": self.model, "object": "model"}, {"id": "other-model", "object": "model"}]})
                }
                Protocol::Claude => {
                    json!({"data": [{"id": self.model, "type": "model"}, {"id": "other-model", "type": "model"}], "has_more": false})
                }
                Protocol::Gemini => {
                    json!({"models": [{"name": format!("models/{}", self.model)}, {"name": "models/other-model"}]})
                }
            };
            write_json(&mut socket, 200, "", &models.to_string()).await;
            return;
        }
        let stream = match self.protocol {
            Protocol::Gemini => request.path.contains("streamGenerateContent"),
            _ => request.body.get("stream").and_then(Value::as_bool) == Some(true),
        };
        let mut step = {
            let mut script = self.script.lock().expect("script");
            script
                .steps
                .pop_front()
                .unwrap_or_else(|| script.otherwise.clone())
        };
        while let Step::After(delay, inner) = step {
            tokio::time::sleep(delay).await;
            step = *inner;
        }
        // A model cannot call tools it was not offered: it answers in words instead.
        let offered = request
            .body
            .get("tools")
            .and_then(Value::as_array)
            .is_some_and(|tools| !tools.is_empty());
        let step = match step {
            Step::ToolCalls(_) if !offered => Step::Text(WITHOUT_TOOLS.into()),
            Step::Echo => Step::Text(format!("echo: {}", last_user_text(&request.body))),
            step => step,
        };
        match step {
            Step::Status(status, retry_after) => {
                let extra = retry_after.map_or(String::new(), |s| format!("retry-after: {s}\r\n"));
                let body = json!({"error": {"message": format!("scripted failure {status}"), "type": "test"}});
                write_json(&mut socket, status, &extra, &body.to_string()).await;
            }
            Step::Hang => tokio::time::sleep(Duration::from_secs(600)).await,
            Step::Malformed if !stream => write_json(&mut socket, 200, "", "{\"choices\": [").await,
            Step::CutBeforeContent if !stream => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\nconnection: close\r\n\r\n{\"id\":";
                let _ = socket.write_all(head.as_bytes()).await;
            }
            // Whole answers: a cut or a trickle only exists in a stream.
            Step::Text(text) | Step::CutAfterContent(text) | Step::Trickle(text, _) if !stream => {
                write_json(
                    &mut socket,
                    200,
                    "",
                    &self.whole(Some(&text), &[]).to_string(),
                )
                .await;
            }
            Step::ToolCalls(calls) if !stream => {
                write_json(&mut socket, 200, "", &self.whole(None, &calls).to_string()).await;
            }
            step => self.stream(&mut socket, step).await,
        }
    }

    async fn stream(&self, socket: &mut TcpStream, step: Step) {
        let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let (events, delay, cut_after) = match step {
            Step::Text(text) => (
                self.streamed(&split(&text, 2), &[], true),
                Duration::ZERO,
                None,
            ),
            Step::ToolCalls(calls) => (self.streamed(&[], &calls, true), Duration::ZERO, None),
            Step::Trickle(text, delay) => {
                let pieces: Vec<String> = text.chars().map(String::from).collect();
                (self.streamed(&pieces, &[], true), delay, None)
            }
            Step::CutAfterContent(text) => {
                let events = self.streamed(std::slice::from_ref(&text), &[], false);
                // Up to and including the event that carries the text.
                let first_text = events
                    .iter()
                    .position(|(_, data)| data.contains(text.as_str()))
                    .map_or(events.len(), |i| i + 1);
                (events, Duration::ZERO, Some(first_text))
            }
            Step::Malformed => (
                vec![(None, "{\"choices\": [".to_owned())],
                Duration::ZERO,
                None,
            ),
            _ => (Vec::new(), Duration::ZERO, Some(0)),
        };
        for (i, (name, data)) in events.iter().enumerate() {
            if cut_after == Some(i) {
                return;
            }
            let mut frame = String::new();
            if let Some(name) = name {
                frame.push_str(&format!("event: {name}\n"));
            }
            frame.push_str(&format!("data: {data}\n\n"));
            if socket.write_all(frame.as_bytes()).await.is_err() {
                return;
            }
            let _ = socket.flush().await;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        if cut_after.is_none() {
            let _ = socket.shutdown().await;
        }
    }

    /// A whole (non-streamed) answer.
    fn whole(&self, text: Option<&str>, calls: &[(String, String, Value)]) -> Value {
        let (prompt, completion) = self.usage;
        match self.protocol {
            Protocol::Openai => {
                let mut message = json!({"role": "assistant", "content": text});
                if !calls.is_empty() {
                    message["tool_calls"] = calls
                        .iter()
                        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
                        .collect();
                }
                json!({
                    "id": "chatcmpl-test", "object": "chat.completion", "model": self.model,
                    "choices": [{"index": 0, "message": message,
                                 "finish_reason": if calls.is_empty() { "stop" } else { "tool_calls" }}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
                })
            }
            Protocol::Claude => {
                let mut content: Vec<Value> = text
                    .map(|t| json!({"type": "text", "text": t}))
                    .into_iter()
                    .collect();
                content.extend(calls.iter().map(|(id, name, args)| json!({"type": "tool_use", "id": id, "name": name, "input": args})));
                json!({
                    "id": "msg_test", "type": "message", "role": "assistant", "model": self.model,
                    "content": content,
                    "stop_reason": if calls.is_empty() { "end_turn" } else { "tool_use" },
                    "usage": {"input_tokens": prompt, "output_tokens": completion},
                })
            }
            Protocol::Gemini => {
                let mut parts: Vec<Value> = text.map(|t| json!({"text": t})).into_iter().collect();
                parts.extend(
                    calls.iter().map(
                        |(_, name, args)| json!({"functionCall": {"name": name, "args": args}}),
                    ),
                );
                json!({
                    "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                    "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion},
                    "modelVersion": self.model,
                })
            }
        }
    }

    /// A streamed answer: text in `pieces`, each call's arguments split in two chunks; `end`:
    /// with the protocol's end marker.
    fn streamed(&self, pieces: &[String], calls: &[(String, String, Value)], end: bool) -> Events {
        let (prompt, completion) = self.usage;
        let mut events: Events = Vec::new();
        match self.protocol {
            Protocol::Openai => {
                let chunk = |delta: Value, finish: Value| {
                    json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": self.model,
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
                };
                events.push((
                    None,
                    chunk(json!({"role": "assistant", "content": ""}), Value::Null),
                ));
                for piece in pieces {
                    events.push((None, chunk(json!({"content": piece}), Value::Null)));
                }
                for (i, (id, name, args)) in calls.iter().enumerate() {
                    events.push((None, chunk(json!({"tool_calls": [{"index": i, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}), Value::Null)));
                    for part in split(&args.to_string(), 2) {
                        events.push((None, chunk(json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}), Value::Null)));
                    }
                }
                if end {
                    let finish = if calls.is_empty() {
                        "stop"
                    } else {
                        "tool_calls"
                    };
                    events.push((None, chunk(json!({}), json!(finish))));
                    events.push((None, json!({"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": self.model, "choices": [],
                        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}).to_string()));
                    events.push((None, "[DONE]".to_owned()));
                }
            }
            Protocol::Claude => {
                events.push((Some("message_start"), json!({"type": "message_start", "message": {"id": "msg_test", "type": "message", "role": "assistant", "model": self.model, "content": [], "usage": {"input_tokens": prompt, "output_tokens": 1}}}).to_string()));
                events.push((Some("ping"), json!({"type": "ping"}).to_string()));
                let mut index = 0;
                if !pieces.is_empty() {
                    events.push((Some("content_block_start"), json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}).to_string()));
                    for piece in pieces {
                        events.push((Some("content_block_delta"), json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}).to_string()));
                    }
                    events.push((
                        Some("content_block_stop"),
                        json!({"type": "content_block_stop", "index": 0}).to_string(),
                    ));
                    index = 1;
                }
                for (id, name, args) in calls {
                    events.push((Some("content_block_start"), json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}).to_string()));
                    for part in split(&args.to_string(), 2) {
                        events.push((Some("content_block_delta"), json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": part}}).to_string()));
                    }
                    events.push((
                        Some("content_block_stop"),
                        json!({"type": "content_block_stop", "index": index}).to_string(),
                    ));
                    index += 1;
                }
                if end {
                    let reason = if calls.is_empty() {
                        "end_turn"
                    } else {
                        "tool_use"
                    };
                    events.push((Some("message_delta"), json!({"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": completion}}).to_string()));
                    events.push((
                        Some("message_stop"),
                        json!({"type": "message_stop"}).to_string(),
                    ));
                }
            }
            Protocol::Gemini => {
                for piece in pieces {
                    events.push((None, json!({"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}], "modelVersion": self.model}).to_string()));
                }
                if !calls.is_empty() {
                    let parts: Vec<Value> = calls
                        .iter()
                        .map(
                            |(_, name, args)| json!({"functionCall": {"name": name, "args": args}}),
                        )
                        .collect();
                    events.push((None, json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}], "modelVersion": self.model}).to_string()));
                }
                if end {
                    events.push((None, json!({"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]}, "finishReason": "STOP", "index": 0}],
                        "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion}, "modelVersion": self.model}).to_string()));
                }
            }
        }
        events
    }
}

/// `text` in `n` pieces (at char boundaries; fewer when it is short).
fn split(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let size = chars.len().div_ceil(n);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// The text of the last user message of a request, whatever the protocol.
fn last_user_text(body: &Value) -> String {
    let turns = body
        .get("messages")
        .or_else(|| body.get("contents"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(last) = turns.iter().rev().find(|m| m["role"] == "user") else {
        return String::new();
    };
    if let Some(text) = last["content"].as_str() {
        return text.to_owned();
    }
    let parts = last["content"]
        .as_array()
        .or(last["parts"].as_array())
        .cloned()
        .unwrap_or_default();
    parts
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("")
}
