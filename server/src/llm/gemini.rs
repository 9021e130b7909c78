//! Google Gemini (`models/{model}:generateContent`, `:streamGenerateContent?alt=sse`,
//! `models`), `x-goog-api-key`. `baseUrl` includes the version, e.g.
//! `https://generativelanguage.googleapis.com/v1beta`. Tool schemas go through
//! [`super::gemini_schema::sanitize`].

use serde_json::{Value, json};

use super::error::UpstreamError;
use super::gemini_schema;
use super::model::{ChatRequest, Completion, Delta, Message, Role, Usage, new_call_id};
use super::{Endpoint, HttpCall};

pub fn chat(endpoint: &Endpoint<'_>, request: &ChatRequest, stream: bool) -> HttpCall {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.as_str())
        .collect();
    let mut body = json!({ "contents": contents(&request.messages) });
    if !system.is_empty() {
        body["systemInstruction"] = json!({"parts": [{"text": system.join("\n\n")}]});
    }
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(|tool| {
                json!({
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": gemini_schema::sanitize(&tool.parameters),
                })
            })
            .collect();
        body["tools"] = json!([{ "functionDeclarations": declarations }]);
    }
    let mut generation = serde_json::Map::new();
    if let Some(temperature) = request.temperature {
        generation.insert("temperature".into(), json!(temperature));
    }
    if let Some(max_tokens) = request.max_tokens {
        generation.insert("maxOutputTokens".into(), json!(max_tokens));
    }
    if !generation.is_empty() {
        body["generationConfig"] = Value::Object(generation);
    }
    let model = request.model.trim_start_matches("models/");
    let url = if stream {
        format!(
            "{}/models/{model}:streamGenerateContent?alt=sse",
            endpoint.base()
        )
    } else {
        format!("{}/models/{model}:generateContent", endpoint.base())
    };
    HttpCall::post(url, headers(endpoint), body)
}

pub fn models(endpoint: &Endpoint<'_>) -> HttpCall {
    HttpCall::get(format!("{}/models", endpoint.base()), headers(endpoint))
}

fn headers(endpoint: &Endpoint<'_>) -> Vec<(&'static str, String)> {
    vec![("x-goog-api-key", endpoint.api_key.to_owned())]
}

/// Ids we made up for calls Gemini sent without one: not sent back to it.
fn ours(id: &str) -> bool {
    id.starts_with("call_")
}

fn contents(messages: &[Message]) -> Vec<Value> {
    let turns = messages.iter().filter_map(|message| {
        Some(match message.role {
            Role::System => return None,
            Role::User => ("user", text_part(&message.content)),
            Role::Assistant => {
                let mut parts = text_part(&message.content);
                parts.extend(message.tool_calls.iter().map(|call| {
                    let args = match serde_json::from_str::<Value>(&call.arguments) {
                        Ok(value @ Value::Object(_)) => value,
                        _ => json!({}),
                    };
                    let mut function = json!({"name": call.name, "args": args});
                    if !ours(&call.id) {
                        function["id"] = json!(call.id);
                    }
                    json!({ "functionCall": function })
                }));
                ("model", parts)
            }
            Role::Tool => {
                let key = if message.is_error { "error" } else { "result" };
                let mut function = json!({
                    "name": message.name,
                    "response": { key: message.content },
                });
                if let Some(id) = message.tool_call_id.as_deref().filter(|id| !ours(id)) {
                    function["id"] = json!(id);
                }
                ("user", vec![json!({ "functionResponse": function })])
            }
        })
    });
    super::alternating(turns, "parts")
}

fn text_part(text: &str) -> Vec<Value> {
    if text.is_empty() {
        Vec::new()
    } else {
        vec![json!({"text": text})]
    }
}

/// The parts of the first candidate as deltas (`next_call`: the index the next call gets).
fn deltas(body: &Value, next_call: &mut usize, out: &mut Vec<Delta>) -> bool {
    if let Some(model) = body.get("modelVersion").and_then(Value::as_str) {
        out.push(Delta::Model(model.to_owned()));
    }
    let candidate = body.pointer("/candidates/0");
    let parts = candidate
        .and_then(|c| c.pointer("/content/parts"))
        .and_then(Value::as_array);
    for part in parts.into_iter().flatten() {
        if let Some(text) = part.get("text").and_then(Value::as_str) {
            // Thought summaries are not the answer.
            if part.get("thought").and_then(Value::as_bool) != Some(true) && !text.is_empty() {
                out.push(Delta::Text(text.to_owned()));
            }
        } else if let Some(call) = part.get("functionCall") {
            out.push(Delta::ToolCall {
                index: *next_call,
                id: Some(
                    call.get("id")
                        .and_then(Value::as_str)
                        .map_or_else(new_call_id, str::to_owned),
                ),
                name: call.get("name").and_then(Value::as_str).map(str::to_owned),
                arguments: call.get("args").cloned().unwrap_or(json!({})).to_string(),
            });
            *next_call += 1;
        }
    }
    if let Some(meta) = body.get("usageMetadata") {
        let field = |key| meta.get(key).and_then(Value::as_u64).unwrap_or(0);
        out.push(Delta::Usage(Usage {
            prompt_tokens: field("promptTokenCount"),
            completion_tokens: field("candidatesTokenCount") + field("thoughtsTokenCount"),
        }));
    }
    candidate.and_then(|c| c.get("finishReason")).is_some()
}

pub fn completion(body: &Value) -> Result<Completion, UpstreamError> {
    if body.get("candidates").and_then(Value::as_array).is_none() {
        return Err(UpstreamError::Malformed("no candidates[]".into()));
    }
    let mut out = Vec::new();
    deltas(body, &mut 0, &mut out);
    let mut assembler = super::model::Assembler::default();
    for delta in out {
        assembler.push(delta);
    }
    Ok(assembler.finish())
}

pub fn model_ids(body: &Value) -> Result<Vec<String>, UpstreamError> {
    let models = body
        .get("models")
        .and_then(Value::as_array)
        .ok_or_else(|| UpstreamError::Malformed("no models[] in the model list".into()))?;
    Ok(models
        .iter()
        .filter_map(|m| m.get("name").and_then(Value::as_str))
        .map(|name| name.trim_start_matches("models/").to_owned())
        .collect())
}

/// Each event is a whole `GenerateContentResponse`; the last one carries `finishReason`.
#[derive(Debug, Default)]
pub struct Decoder {
    calls: usize,
    done: bool,
}

impl Decoder {
    pub fn decode(
        &mut self,
        _event: Option<&str>,
        data: &str,
        out: &mut Vec<Delta>,
    ) -> Result<(), UpstreamError> {
        let chunk: Value = serde_json::from_str(data)
            .map_err(|err| UpstreamError::Malformed(format!("a stream chunk: {err}")))?;
        if let Some(error) = chunk.get("error") {
            let status = error.get("code").and_then(Value::as_u64).unwrap_or(500) as u16;
            return Err(UpstreamError::from_answer(
                status,
                chunk.to_string().as_bytes(),
                None,
            ));
        }
        if deltas(&chunk, &mut self.calls, out) {
            self.done = true;
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
    fn calls_without_ids_get_ours_and_ours_are_not_sent_back() {
        let body = json!({"candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "time", "args": {}}},
            {"functionCall": {"name": "calculator", "args": {"expression": "1+1"}, "id": "g-7"}},
        ]}, "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4}});
        let done = completion(&body).expect("completion");
        assert_eq!(done.tool_calls.len(), 2);
        assert!(ours(&done.tool_calls[0].id));
        assert_eq!(done.tool_calls[1].id, "g-7");
        assert_eq!(done.usage.prompt_tokens, 9);
        let mut assistant = Message::text(Role::Assistant, "");
        assistant.tool_calls = done.tool_calls.clone();
        let turns = contents(&[
            Message::text(Role::User, "hi"),
            assistant,
            Message::tool_result(&done.tool_calls[0], "noon".into(), false),
            Message::tool_result(&done.tool_calls[1], "2".into(), false),
        ]);
        assert_eq!(turns.len(), 3);
        assert!(turns[1]["parts"][0]["functionCall"].get("id").is_none());
        assert_eq!(turns[1]["parts"][1]["functionCall"]["id"], "g-7");
        assert_eq!(turns[2]["parts"][0]["functionResponse"]["name"], "time");
        assert_eq!(turns[2]["parts"][1]["functionResponse"]["id"], "g-7");
        assert_eq!(
            turns[2]["parts"][1]["functionResponse"]["response"]["result"],
            "2"
        );
    }
}
