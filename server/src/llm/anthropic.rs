//! Anthropic messages (`/messages`, `/models`), `x-api-key` + `anthropic-version`. `baseUrl`
//! includes the version, e.g. `https://api.anthropic.com/v1`.

use serde_json::{Value, json};

use super::error::UpstreamError;
use super::model::{ChatRequest, Completion, Delta, Message, Role, ToolCall, Usage};
use super::{Endpoint, HttpCall};

const VERSION: &str = "2023-06-01";
/// Anthropic requires `max_tokens`; used when neither the request nor the preset sets it.
const DEFAULT_MAX_TOKENS: u32 = 4096;

pub fn chat(endpoint: &Endpoint<'_>, request: &ChatRequest, stream: bool) -> HttpCall {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let mut body = json!({
        "model": request.model,
        "max_tokens": request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "messages": messages(&request.messages),
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                })
            })
            .collect();
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if stream {
        body["stream"] = json!(true);
    }
    HttpCall::post(
        format!("{}/messages", endpoint.base()),
        headers(endpoint),
        body,
    )
}

pub fn models(endpoint: &Endpoint<'_>) -> HttpCall {
    HttpCall::get(format!("{}/models", endpoint.base()), headers(endpoint))
}

fn headers(endpoint: &Endpoint<'_>) -> Vec<(&'static str, String)> {
    vec![
        ("x-api-key", endpoint.api_key.to_owned()),
        ("anthropic-version", VERSION.to_owned()),
    ]
}

/// User and assistant turns as content blocks; tool results are `tool_result` blocks of a user
/// turn; consecutive turns of one role merge (the API wants them alternating).
fn messages(messages: &[Message]) -> Vec<Value> {
    let turns = messages.iter().filter_map(|message| {
        Some(match message.role {
            Role::System => return None,
            Role::User => ("user", text_block(&message.content)),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": message.content,
                    "is_error": message.is_error,
                })],
            ),
            Role::Assistant => {
                let mut blocks = text_block(&message.content);
                blocks.extend(message.tool_calls.iter().map(|call| {
                    json!({
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": arguments_object(&call.arguments),
                    })
                }));
                ("assistant", blocks)
            }
        })
    });
    super::alternating(turns, "content")
}

fn text_block(text: &str) -> Vec<Value> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"type": "text", "text": text})]
    }
}

/// The arguments as the JSON object `tool_use.input` must be (`{}` if the model wrote none or
/// something that is not an object).
fn arguments_object(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({}),
    }
}

pub fn completion(body: &Value) -> Result<Completion, UpstreamError> {
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| UpstreamError::Malformed("no content[]".into()))?;
    let mut completion = Completion {
        model: body.get("model").and_then(Value::as_str).map(str::to_owned),
        usage: usage(body.get("usage")),
        ..Completion::default()
    };
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                completion.content.push_str(
                    block
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
            }
            Some("tool_use") => completion.tool_calls.push(ToolCall {
                id: text(block, "id"),
                name: text(block, "name"),
                arguments: block.get("input").cloned().unwrap_or(json!({})).to_string(),
            }),
            _ => {}
        }
    }
    Ok(completion)
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn usage(usage: Option<&Value>) -> Usage {
    let field = |key| {
        usage
            .and_then(|u| u.get(key))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    Usage {
        prompt_tokens: field("input_tokens"),
        completion_tokens: field("output_tokens"),
    }
}

/// The event stream: `message_start`, `content_block_start|delta|stop`, `message_delta`,
/// `message_stop`, `ping`, `error`.
#[derive(Debug, Default)]
pub struct Decoder {
    done: bool,
}

impl Decoder {
    pub fn decode(
        &mut self,
        event: Option<&str>,
        data: &str,
        out: &mut Vec<Delta>,
    ) -> Result<(), UpstreamError> {
        let json: Value = serde_json::from_str(data)
            .map_err(|err| UpstreamError::Malformed(format!("a stream event: {err}")))?;
        let kind = event
            .or_else(|| json.get("type").and_then(Value::as_str))
            .unwrap_or_default();
        let index = || json.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        match kind {
            "message_start" => {
                let message = json.get("message");
                if let Some(model) = message.and_then(|m| m.get("model")).and_then(Value::as_str) {
                    out.push(Delta::Model(model.to_owned()));
                }
                out.push(Delta::Usage(usage(message.and_then(|m| m.get("usage")))));
            }
            "content_block_start" => {
                let block = json.get("content_block").cloned().unwrap_or(json!({}));
                match block.get("type").and_then(Value::as_str) {
                    Some("tool_use") => out.push(Delta::ToolCall {
                        index: index(),
                        id: Some(text(&block, "id")),
                        name: Some(text(&block, "name")),
                        arguments: String::new(),
                    }),
                    Some("text") => {
                        let text = text(&block, "text");
                        if !text.is_empty() {
                            out.push(Delta::Text(text));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = json.get("delta").cloned().unwrap_or(json!({}));
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => out.push(Delta::Text(text(&delta, "text"))),
                    Some("input_json_delta") => out.push(Delta::ToolCall {
                        index: index(),
                        id: None,
                        name: None,
                        arguments: text(&delta, "partial_json"),
                    }),
                    _ => {}
                }
            }
            "message_delta" => out.push(Delta::Usage(usage(json.get("usage")))),
            "message_stop" => self.done = true,
            "error" => {
                return Err(UpstreamError::from_answer(
                    529,
                    json.to_string().as_bytes(),
                    None,
                ));
            }
            _ => {}
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

    #[test]
    fn tool_results_join_one_user_turn_and_inputs_are_objects() {
        let calls = [
            ToolCall {
                id: "toolu_1".into(),
                name: "time".into(),
                arguments: String::new(),
            },
            ToolCall {
                id: "toolu_2".into(),
                name: "calculator".into(),
                arguments: "{\"expression\":\"1+1\"}".into(),
            },
        ];
        let mut assistant = Message::text(Role::Assistant, "let me see");
        assistant.tool_calls.extend(calls.iter().cloned());
        let turns = messages(&[
            Message::text(Role::System, "be brief"),
            Message::text(Role::User, "hi"),
            assistant,
            Message::tool_result(&calls[0], "noon".into(), false),
            Message::tool_result(&calls[1], "2".into(), true),
        ]);
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[1]["content"][1]["input"], json!({}));
        assert_eq!(turns[1]["content"][2]["input"]["expression"], "1+1");
        assert_eq!(turns[2]["role"], "user");
        assert_eq!(turns[2]["content"][1]["tool_use_id"], "toolu_2");
        assert_eq!(turns[2]["content"][1]["is_error"], true);
    }
}
