//! One chat turn: context → LLM (with failover) ⇄ tools (concurrently, through the executor)
//! → final answer → the whole turn stored at once.

use std::time::Instant;

use serde_json::{Value, json};

use super::complete::{self, Answer};
use super::{
    ChatError, ChatEvent, ChatInput, ChatReply, ChatService, Sink, ToolReport, offer, presets,
};
use crate::channels::Attempt;
use crate::chat::presets::Preset;
use crate::config::Config;
use crate::llm::{ChatRequest, Message, Role, ToolCall, ToolDef, Usage};
use crate::store::{
    ConversationRecord, MemoryQuery, MemoryRecord, MessageRecord, StoreError, Turn as StoredTurn,
    TurnContext, now_ms,
};
use crate::tools::{CallerKind, Invocation, Origin, TokenMeter};

pub(super) struct Turn<'a> {
    pub service: &'a ChatService,
    pub config: &'a Config,
    pub preset: &'a Preset,
    pub input: &'a ChatInput,
    /// The settings of the message's group: its tool lists narrow the offer.
    pub group: Option<&'a crate::groups::Effective>,
    pub conversation_id: &'a str,
    pub sink: Option<&'a Sink>,
    pub deadline: Instant,
}

impl Turn<'_> {
    pub async fn run(self) -> Result<ChatReply, ChatError> {
        let service = self.service;
        let input = self.input;
        let now = now_ms();
        let max_messages = self
            .preset
            .context
            .max_messages
            .unwrap_or(self.config.context.max_messages);
        let memory_limit = self.config.chat.memories_in_prompt;
        let memories = (memory_limit > 0).then(|| MemoryQuery {
            user_id: &input.user_id,
            group_id: input.group_id.as_deref(),
            query: &input.message,
            limit: memory_limit,
        });
        let TurnContext {
            conversation: previous,
            history,
            memories,
        } = service
            .store
            .turn_context(self.conversation_id, max_messages, memories)
            .await?;
        let plan = service.channels.plan(
            input.model.as_deref().or(self.preset.model.as_deref()),
            input.channel.as_deref(),
            self.config.llm.default_model.as_deref(),
        )?;
        let admin = self.config.chat.admin_users.contains(&input.user_id);
        let tools = if input.tools {
            offer::offered(
                &service.tools.registry,
                self.config,
                self.preset,
                self.group,
                admin,
            )
        } else {
            Vec::new()
        };

        let user_name = input.username.as_deref().unwrap_or(&input.user_id);
        let system = presets::render(
            &self.preset.system_prompt,
            user_name,
            &self.config.bot.name,
            chrono::Utc::now(),
        );
        let system = with_memories(system, memories);
        let mut context = vec![Message::text(Role::System, system)];
        context.extend(to_context(&history));
        context.push(Message::text(Role::User, input.message.clone()));

        // The messages this turn adds, stored together at the end.
        let mut records = vec![record(Role::User, &input.message, now)];
        let mut reports = Vec::new();
        let mut usage = Usage::default();
        // Tokens skills spend for this user while the turn runs them as tools.
        let skill_tokens = std::sync::Arc::new(TokenMeter::default());
        let max_rounds = self.config.llm.max_tool_rounds;
        let mut round = 0;
        let answer = loop {
            let offer_tools = !tools.is_empty() && round < max_rounds;
            let request = ChatRequest {
                model: String::new(),
                messages: context.clone(),
                tools: if offer_tools {
                    tools.clone()
                } else {
                    Vec::new()
                },
                temperature: self.preset.temperature,
                max_tokens: self.preset.max_tokens,
            };
            let answer = self.call_llm(&plan, request).await?;
            usage.add(answer.completion.usage);
            let calls = answer.completion.tool_calls.clone();
            if calls.is_empty() || !offer_tools {
                break answer;
            }
            round += 1;
            let mut assistant = Message::text(Role::Assistant, answer.completion.content.clone());
            assistant.tool_calls = calls.clone();
            records.push(assistant_record(&assistant, &answer));
            context.push(assistant);
            let results = self.run_tools(&calls, &tools, admin, &skill_tokens).await;
            for (call, report) in calls.iter().zip(results) {
                let mut message =
                    Message::tool_result(call, report.result.clone(), report.is_error);
                message.name = Some(call.name.clone());
                let mut stored = record(Role::Tool, &report.result, now_ms());
                stored.tool_call_id = Some(call.id.clone());
                stored.name = Some(call.name.clone());
                stored.is_error = report.is_error;
                stored.duration_ms = Some(report.duration_ms);
                records.push(stored);
                context.push(message);
                reports.push(report);
            }
        };
        let (prompt_tokens, completion_tokens) = skill_tokens.spent();
        usage.add(Usage {
            prompt_tokens,
            completion_tokens,
        });
        let final_message = Message::text(Role::Assistant, answer.completion.content.clone());
        records.push(assistant_record(&final_message, &answer));

        let base = previous.as_ref().map_or(0, |c| c.message_count);
        for (i, message) in records.iter_mut().enumerate() {
            message.seq = base + i as u64;
        }
        let conversation = ConversationRecord {
            id: self.conversation_id.to_owned(),
            user_id: Some(input.user_id.clone()),
            group_id: input.group_id.clone(),
            preset_id: Some(self.preset.id.clone()),
            message_count: base + records.len() as u64,
            last_message: Some(preview(&answer.completion.content)),
            created_at: previous.as_ref().map_or(now, |c| c.created_at),
            updated_at: now_ms(),
        };
        service
            .store
            .append_turn(StoredTurn {
                conversation: &conversation,
                messages: &records,
            })
            .await?;
        if let Some(sink) = self.sink {
            let _ = sink
                .send(ChatEvent::Done {
                    conversation_id: self.conversation_id.to_owned(),
                    usage,
                })
                .await;
        }
        Ok(ChatReply {
            conversation_id: self.conversation_id.to_owned(),
            content: answer.completion.content,
            tool_calls: reports,
            usage,
            model: answer.model,
            channel: answer.channel,
        })
    }

    async fn call_llm(&self, plan: &[Attempt], request: ChatRequest) -> Result<Answer, ChatError> {
        complete::with_failover(
            &self.service.channels,
            self.config,
            plan,
            request,
            self.sink,
        )
        .await
    }

    /// Runs the calls concurrently through the executor, as the end user; results in order.
    async fn run_tools(
        &self,
        calls: &[ToolCall],
        offered: &[ToolDef],
        admin: bool,
        tokens: &std::sync::Arc<TokenMeter>,
    ) -> Vec<ToolReport> {
        let input = self.input;
        let hub = &self.service.tools;
        let mut invocation = Invocation::new(
            format!("chat:{}", input.user_id),
            CallerKind::ChatUser,
            admin,
            Origin::Chat,
        );
        invocation.user_id = Some(input.user_id.clone());
        invocation.group_id = input.group_id.clone();
        invocation.conversation_id = Some(self.conversation_id.to_owned());
        invocation.deadline = Some(self.deadline);
        invocation.preset_id = Some(self.preset.id.clone());
        invocation.tokens = Some(tokens.clone());
        let invocation = &invocation;
        let runs = calls.iter().map(|call| async move {
            // Progress of this call (a skill's steps) goes into the stream under its call id.
            let mut invocation = invocation.clone();
            invocation.progress = self.sink.map(|sink| progress_to(sink, call));
            let invocation = &invocation;
            let args = serde_json::from_str::<Value>(&call.arguments).unwrap_or(Value::Null);
            if let Some(sink) = self.sink {
                let _ = sink
                    .send(ChatEvent::ToolCall {
                        id: call.id.clone(),
                        name: call.name.clone(),
                        args: args.clone(),
                    })
                    .await;
            }
            let started = Instant::now();
            let (result, is_error) = if !offered.iter().any(|t| t.name == call.name) {
                (
                    format!("TOOL_NOT_FOUND: no tool named `{}` was offered", call.name),
                    true,
                )
            } else if !args.is_object() {
                (
                    "INVALID_ARGUMENTS: the arguments must be a JSON object".to_owned(),
                    true,
                )
            } else {
                match hub
                    .executor
                    .call(&call.name, args.clone(), invocation, self.config)
                    .await
                {
                    Ok(outcome) => (outcome.output.text(), false),
                    Err(err) => (format!("{}: {err}", hub.executor.code(&err)), true),
                }
            };
            let report = ToolReport {
                id: call.id.clone(),
                name: call.name.clone(),
                args,
                result,
                is_error,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            };
            if let Some(sink) = self.sink {
                let _ = sink.send(ChatEvent::ToolResult(report.clone())).await;
            }
            report
        });
        futures_util::future::join_all(runs).await
    }
}

/// Sends a call's progress reports into a chat stream as `tool_progress` events. A report the
/// stream has no room for is dropped (the `tool_result` that follows is never).
fn progress_to(sink: &Sink, call: &ToolCall) -> crate::tools::ProgressSink {
    let sink = sink.clone();
    let (id, name) = (call.id.clone(), call.name.clone());
    std::sync::Arc::new(move |progress: &crate::events::ToolProgress| {
        let _ = sink.try_send(ChatEvent::ToolProgress {
            id: id.clone(),
            name: name.clone(),
            done: progress.done,
            total: progress.total,
            message: progress.message.clone(),
            step: progress.step.clone(),
        });
    })
}

/// Stored messages as context: tool calls restored; a history that starts in the middle of a
/// tool exchange is cut to its first user message (upstreams refuse orphan tool results).
fn to_context(history: &[MessageRecord]) -> Vec<Message> {
    let start = history
        .iter()
        .position(|m| m.role == "user")
        .unwrap_or(history.len());
    history[start..]
        .iter()
        .filter_map(|m| {
            let role = match m.role.as_str() {
                "user" => Role::User,
                "assistant" => Role::Assistant,
                "tool" => Role::Tool,
                _ => return None,
            };
            let mut message = Message::text(role, m.content.clone());
            message.tool_calls = m
                .tool_calls
                .iter()
                .filter_map(|call| serde_json::from_value(call.clone()).ok())
                .collect();
            message.tool_call_id = m.tool_call_id.clone();
            message.name = m.name.clone();
            message.is_error = m.is_error;
            Some(message)
        })
        .collect()
}

fn record(role: Role, content: &str, timestamp: i64) -> MessageRecord {
    MessageRecord {
        seq: 0,
        role: role.as_str().to_owned(),
        content: content.to_owned(),
        tool_calls: Vec::new(),
        tool_call_id: None,
        name: None,
        is_error: false,
        duration_ms: None,
        prompt_tokens: None,
        completion_tokens: None,
        channel: None,
        model: None,
        timestamp,
    }
}

fn assistant_record(message: &Message, answer: &Answer) -> MessageRecord {
    let mut stored = record(Role::Assistant, &message.content, now_ms());
    stored.tool_calls = message
        .tool_calls
        .iter()
        .map(|call| json!({"id": call.id, "name": call.name, "arguments": call.arguments}))
        .collect();
    stored.prompt_tokens = Some(answer.completion.usage.prompt_tokens);
    stored.completion_tokens = Some(answer.completion.usage.completion_tokens);
    stored.channel = Some(answer.channel.clone());
    stored.model = Some(answer.model.clone());
    stored
}

/// The start of a message, for listings.
fn preview(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The system prompt with the memories of this user (in this group) most relevant to the
/// message. A search that failed costs the memories, not the turn.
fn with_memories(mut system: String, memories: Result<Vec<MemoryRecord>, StoreError>) -> String {
    match memories {
        Ok(memories) if !memories.is_empty() => {
            system.push_str("\n\nWhat you remember about this user:");
            for memory in memories {
                system.push_str("\n- ");
                system.push_str(&memory.content);
            }
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(error = %err, "searching memories failed"),
    }
    system
}
