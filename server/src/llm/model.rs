//! The one internal model of a conversation with an LLM. Every adapter translates between it
//! and its wire protocol; tool-call ids and argument JSON pass through unchanged.

use serde::{Deserialize, Serialize};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// A tool's result, answering the assistant's call `tool_call_id`.
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// A call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The upstream's id (Gemini sends none: we make one), echoed back with the result.
    pub id: String,
    pub name: String,
    /// The arguments exactly as the model wrote them (JSON text, possibly invalid).
    pub arguments: String,
}

/// One message of the context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Assistant messages: the calls it asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Tool messages: the call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Tool messages: the tool's name (Gemini matches results by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool messages: the result is an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

impl Message {
    pub fn text(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
            is_error: false,
        }
    }

    pub fn tool_result(call: &ToolCall, content: String, is_error: bool) -> Self {
        Self {
            role: Role::Tool,
            content,
            tool_calls: Vec::new(),
            tool_call_id: Some(call.id.clone()),
            name: Some(call.name.clone()),
            is_error,
        }
    }
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments, as the tool declares it.
    pub parameters: serde_json::Value,
}

/// What we ask an upstream for.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

/// Tokens as the upstream reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
    }
}

/// One complete answer of the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// The model that answered, as the upstream names it (may be more specific than asked).
    pub model: Option<String>,
}

/// A piece of a streamed answer, in the order the upstream sent it.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    /// A piece of tool call `index`: the first piece carries id and name, every piece may carry
    /// a fragment of the argument JSON.
    ToolCall {
        index: usize,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// Usage so far (the last report wins for each field that is non-zero).
    Usage(Usage),
    Model(String),
}

/// Builds a [`Completion`] from [`Delta`]s.
#[derive(Debug, Default)]
pub struct Assembler {
    completion: Completion,
    /// Tool calls by the index the upstream gave them.
    calls: Vec<(usize, ToolCall)>,
}

impl Assembler {
    pub fn push(&mut self, delta: Delta) {
        match delta {
            Delta::Text(text) => self.completion.content.push_str(&text),
            Delta::ToolCall {
                index,
                id,
                name,
                arguments,
            } => {
                let call = match self.calls.iter_mut().find(|(i, _)| *i == index) {
                    Some((_, call)) => call,
                    None => {
                        self.calls.push((
                            index,
                            ToolCall {
                                id: String::new(),
                                name: String::new(),
                                arguments: String::new(),
                            },
                        ));
                        &mut self.calls.last_mut().expect("just pushed").1
                    }
                };
                if let Some(id) = id.filter(|id| !id.is_empty()) {
                    call.id = id;
                }
                if let Some(name) = name.filter(|name| !name.is_empty()) {
                    call.name.push_str(&name);
                }
                call.arguments.push_str(&arguments);
            }
            Delta::Usage(usage) => {
                if usage.prompt_tokens > 0 {
                    self.completion.usage.prompt_tokens = usage.prompt_tokens;
                }
                if usage.completion_tokens > 0 {
                    self.completion.usage.completion_tokens = usage.completion_tokens;
                }
            }
            Delta::Model(model) => self.completion.model = Some(model),
        }
    }

    pub fn finish(mut self) -> Completion {
        self.calls.sort_by_key(|(index, _)| *index);
        self.completion.tool_calls = self
            .calls
            .into_iter()
            .map(|(_, mut call)| {
                if call.id.is_empty() {
                    call.id = new_call_id();
                }
                if call.arguments.trim().is_empty() {
                    call.arguments = "{}".into();
                }
                call
            })
            .collect();
        self.completion
    }
}

/// An id for a tool call whose upstream gave none (Gemini).
pub fn new_call_id() -> String {
    format!("call_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_tool_calls_are_assembled_by_index_with_their_argument_text_unchanged() {
        let mut assembler = Assembler::default();
        for delta in [
            Delta::ToolCall {
                index: 1,
                id: Some("b".into()),
                name: Some("time".into()),
                arguments: String::new(),
            },
            Delta::ToolCall {
                index: 0,
                id: Some("a".into()),
                name: Some("calculator".into()),
                arguments: "{\"expr".into(),
            },
            Delta::Text("hi".into()),
            Delta::ToolCall {
                index: 0,
                id: None,
                name: None,
                arguments: "ession\": \"1 + 1\"}".into(),
            },
            Delta::Usage(Usage {
                prompt_tokens: 7,
                completion_tokens: 0,
            }),
            Delta::Usage(Usage {
                prompt_tokens: 0,
                completion_tokens: 3,
            }),
        ] {
            assembler.push(delta);
        }
        let done = assembler.finish();
        assert_eq!(done.content, "hi");
        assert_eq!(
            done.tool_calls,
            vec![
                ToolCall {
                    id: "a".into(),
                    name: "calculator".into(),
                    arguments: "{\"expression\": \"1 + 1\"}".into(),
                },
                ToolCall {
                    id: "b".into(),
                    name: "time".into(),
                    arguments: "{}".into(),
                },
            ]
        );
        assert_eq!(
            done.usage,
            Usage {
                prompt_tokens: 7,
                completion_tokens: 3
            }
        );
    }
}
