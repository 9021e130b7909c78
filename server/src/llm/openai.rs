//! OpenAI chat completions (`/chat/completions`, `/models`): also every OpenAI-compatible
//! server. `baseUrl` includes the version, e.g. `https://api.openai.com/v1`.

use serde_json::{Value, json};

use super::error::UpstreamError;
use super::model::{ChatRequest, Completion, Delta, Message, Role, ToolCall, Usage};
use super::{Endpoint, HttpCall};

pub fn chat(endpoint: &Endpoint<'_>, request: &ChatRequest, stream: bool) -> HttpCall {
    let mut body = json!({
        "model": request.model,
        "messages": request.messages.iter().map(message).collect::<Vec<_>>(),
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({"type": "function", "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                }})
            })
            .collect();
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(max_tokens) = request.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if stream {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
    }
    HttpCall::post(
        format!("{}/chat/completions", endpoint.base()),
        bearer(endpoint),
        body,
    )
}

pub fn models(endpoint: &Endpoint<'_>) -> HttpCall {
    HttpCall::get(format!("{}/models", endpoint.base()), bearer(endpoint))
}

fn bearer(endpoint: &Endpoint<'_>) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {}", endpoint.api_key))]
}

fn message(message: &Message) -> Value {
    match message.role {
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content,
        }),
        Role::Assistant if !message.tool_calls.is_empty() => json!({
            "role": "assistant",
            "content": if message.content.is_empty() { Value::Null } else { json!(message.content) },
            "tool_calls": message.tool_calls.iter().map(|call| json!({
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            })).collect::<Vec<_>>(),
        }),
        role => json!({"role": role.as_str(), "content": message.content}),
    }
}

pub fn completion(body: &Value) -> Result<Completion, UpstreamError> {
    let message = body
        .pointer("/choices/0/message")
        .ok_or_else(|| UpstreamError::Malformed("no choices[0].message".into()))?;
    let tool_calls = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|call| {
                    Ok(ToolCall {
                        id: str_at(call, "/id").unwrap_or_default().to_owned(),
                        name: str_at(call, "/function/name")
                            .ok_or_else(|| {
                                UpstreamError::Malformed("a tool call without a name".into())
                            })?
                            .to_owned(),
                        arguments: str_at(call, "/function/arguments")
                            .unwrap_or("{}")
                            .to_owned(),
                    })
                })
                .collect::<Result<Vec<_>, UpstreamError>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(Completion {
        content: str_at(message, "/content").unwrap_or_default().to_owned(),
        tool_calls,
        usage: usage(body.get("usage")).unwrap_or_default(),
        model: str_at(body, "/model").map(str::to_owned),
    })
}

fn usage(usage: Option<&Value>) -> Option<Usage> {
    let usage = usage.filter(|u| u.is_object())?;
    Some(Usage {
        prompt_tokens: usage
            .get("prompt_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        completion_tokens: usage
            .get("completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Chunks of `data: {…}` ending with `data: [DONE]`.
#[derive(Debug, Default)]
pub struct Decoder {
    done: bool,
}

impl Decoder {
    pub fn decode(
        &mut self,
        _event: Option<&str>,
        data: &str,
        out: &mut Vec<Delta>,
    ) -> Result<(), UpstreamError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|err| UpstreamError::Malformed(format!("a stream chunk: {err}")))?;
        if let Some(error) = chunk.get("error") {
            return Err(UpstreamError::from_answer(
                500,
                error.to_string().as_bytes(),
                None,
            ));
        }
        if let Some(model) = str_at(&chunk, "/model") {
            out.push(Delta::Model(model.to_owned()));
        }
        if let Some(delta) = chunk.pointer("/choices/0/delta") {
            if let Some(text) = str_at(delta, "/content").filter(|t| !t.is_empty()) {
                out.push(Delta::Text(text.to_owned()));
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = call.get("index").and_then(Value::as_u64).ok_or_else(|| {
                    UpstreamError::Malformed("a streamed tool call without an index".into())
                })?;
                out.push(Delta::ToolCall {
                    index: index as usize,
                    id: str_at(call, "/id").map(str::to_owned),
                    name: str_at(call, "/function/name").map(str::to_owned),
                    arguments: str_at(call, "/function/arguments")
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
        }
        if let Some(usage) = usage(chunk.get("usage")) {
            out.push(Delta::Usage(usage));
        }
        Ok(())
    }

    pub fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::model::ToolDef;

    #[test]
    fn a_tool_round_trip_keeps_ids_and_argument_text() {
        let call = ToolCall {
            id: "call_1".into(),
            name: "calculator".into(),
            arguments: "{\"expression\":\"2*21\"}".into(),
        };
        let mut assistant = Message::text(Role::Assistant, "");
        assistant.tool_calls.push(call.clone());
        let request = ChatRequest {
            model: "m".into(),
            messages: vec![
                Message::text(Role::User, "hi"),
                assistant,
                Message::tool_result(&call, "42".into(), false),
            ],
            tools: vec![ToolDef {
                name: "calculator".into(),
                description: "math".into(),
                parameters: json!({"type": "object"}),
            }],
            temperature: None,
            max_tokens: None,
        };
        let endpoint = Endpoint {
            base_url: "http://x/v1/",
            api_key: "k",
        };
        let http = chat(&endpoint, &request, true);
        assert_eq!(http.url, "http://x/v1/chat/completions");
        let body = http.body.expect("body");
        assert_eq!(body["messages"][1]["content"], Value::Null);
        assert_eq!(
            body["messages"][1]["tool_calls"][0]["function"]["arguments"],
            "{\"expression\":\"2*21\"}"
        );
        assert_eq!(body["messages"][2]["tool_call_id"], "call_1");
        assert_eq!(body["stream_options"]["include_usage"], true);
    }
}
