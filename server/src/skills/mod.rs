//! Skills: multi-step agents as WASM components (the `skill-extension` world). A skill is the
//! third kind of tool backend: the executor runs it like any tool (policy, argument validation,
//! deadline, log), and the skill reaches tools and the LLM only through its host imports, which
//! go through the same executor (with the caller's invocation) and channel selection (with the
//! caller's preset). Each run has caps on tool calls, LLM calls, tokens, nesting and time.
//!
//! Skills are registered in the one tool registry (listed with the source `skill`), so the
//! chat loop and `/mcp` offer them like any tool; `/api/skills` lists and runs them.

mod run;

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crate::chat::ChatService;
use crate::config::{Config, ConfigService, SkillsConfig};
use crate::events::{Event, EventBus, SkillDone};
use crate::extensions::{Extension, ExtensionHost, GuestCall, SkillBinder};
use crate::manifest::SkillLimits;
use crate::tools::{
    CallContext, ExecError, Ran, RunFuture, ToolBackend, ToolError, ToolHub, ToolSpec,
};

pub use run::Step;

/// The caps of one run: the manifest's asks, each capped by `skills.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub timeout: Duration,
    pub max_tool_calls: u32,
    pub max_llm_calls: u32,
    pub max_tokens: u64,
}

impl Caps {
    pub fn of(asked: &SkillLimits, config: &SkillsConfig) -> Self {
        Self {
            timeout: Duration::from_millis(
                asked
                    .timeout_ms
                    .map_or(config.timeout_ms, |ms| ms.clamp(1, config.max_timeout_ms)),
            ),
            max_tool_calls: asked
                .max_tool_calls
                .map_or(config.max_tool_calls, |n| n.min(config.max_tool_calls)),
            max_llm_calls: asked
                .max_llm_calls
                .map_or(config.max_llm_calls, |n| n.min(config.max_llm_calls)),
            max_tokens: asked
                .max_tokens
                .map_or(config.max_tokens, |n| n.min(config.max_tokens)),
        }
    }
}

/// What skill runs need from the rest of the server. Holds the hub and the chat service
/// weakly: they own the registry that owns every skill's backend.
#[derive(Clone)]
pub struct SkillRuntime {
    hub: Weak<ToolHub>,
    chat: Weak<ChatService>,
    config: Arc<ConfigService>,
    events: Arc<EventBus>,
}

impl SkillRuntime {
    pub fn new(
        hub: &Arc<ToolHub>,
        chat: &Arc<ChatService>,
        config: Arc<ConfigService>,
        events: Arc<EventBus>,
    ) -> Self {
        Self {
            hub: Arc::downgrade(hub),
            chat: Arc::downgrade(chat),
            config,
            events,
        }
    }

    fn current_config(&self) -> Arc<Config> {
        self.config.current()
    }
}

impl SkillBinder for SkillRuntime {
    fn backend(
        &self,
        host: &Arc<ExtensionHost>,
        extension: &Arc<Extension>,
    ) -> Arc<dyn ToolBackend> {
        Arc::new(SkillBackend {
            host: host.clone(),
            extension: extension.clone(),
            runtime: self.clone(),
        })
    }
}

/// Runs one skill component.
struct SkillBackend {
    host: Arc<ExtensionHost>,
    extension: Arc<Extension>,
    runtime: SkillRuntime,
}

impl ToolBackend for SkillBackend {
    fn run<'a>(
        &'a self,
        spec: &'a ToolSpec,
        args: &'a serde_json::Value,
        call: &'a CallContext<'a>,
    ) -> RunFuture<'a> {
        Box::pin(async move {
            let invocation = call.invocation;
            let config = call.config;
            if invocation.depth >= config.skills.max_depth {
                return Ran {
                    result: Err(ToolError::LimitExceeded {
                        limit: "depth",
                        message: format!(
                            "skills may run inside skills at most {} deep (skills.max_depth)",
                            config.skills.max_depth
                        ),
                    }),
                    logs: Vec::new(),
                };
            }
            let caps = Caps::of(&self.extension.skill_limits, &config.skills);
            let time = call
                .deadline
                .map_or(caps.timeout, |left| left.min(caps.timeout));
            let events = run::StepEvents {
                bus: self.runtime.events.clone(),
                run_id: call.call_id.to_owned(),
                skill: spec.name.clone(),
                caller: invocation.caller_id.clone(),
            };
            let mut done = DoneGuard::new(&self.runtime, &events);
            let run = Arc::new(run::SkillRun::new(
                self.runtime.clone(),
                run::RunSetup {
                    caller: invocation,
                    deadline: Instant::now() + time,
                    caps,
                    progress: call.progress.clone(),
                    config: self.runtime.current_config(),
                    events,
                },
            ));
            let guest = GuestCall {
                call_id: call.call_id.to_owned(),
                user_id: invocation.user_id.clone(),
                group_id: invocation.group_id.clone(),
                conversation_id: invocation.conversation_id.clone(),
                deadline: Some(time),
                progress: None,
            };
            let ran = self
                .host
                .run_skill(
                    &self.extension,
                    args.to_string(),
                    guest,
                    run.clone(),
                    &config.extensions,
                )
                .await;
            let ran = done.finish(ran, run.steps());
            tracing::debug!(skill = %spec.name, steps = run.steps(), ok = ran.result.is_ok(), "skill run ended");
            ran
        })
    }
}

/// Publishes `skill_done` once: when the run ends, or when it is dropped unfinished (its caller
/// went away or its deadline passed while it waited).
struct DoneGuard {
    runtime: SkillRuntime,
    event: Option<SkillDone>,
    started: Instant,
}

impl DoneGuard {
    fn new(runtime: &SkillRuntime, run: &run::StepEvents) -> Self {
        Self {
            runtime: runtime.clone(),
            event: Some(SkillDone {
                run_id: run.run_id.clone(),
                skill: run.skill.clone(),
                caller: run.caller.clone(),
                success: false,
                steps: 0,
                duration_ms: 0.0,
                code: Some("CANCELLED"),
                error: Some("the run was cancelled".into()),
            }),
            started: Instant::now(),
        }
    }

    /// Publishes how the run ended and hands the result back.
    fn finish(&mut self, ran: Ran, steps: usize) -> Ran {
        let Some(mut event) = self.event.take() else {
            return ran;
        };
        event.steps = steps;
        event.duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let result = match ran.result {
            Ok(output) => {
                event.success = true;
                event.code = None;
                event.error = None;
                Ok(output)
            }
            Err(err) => {
                let err = ExecError::Tool(err);
                event.code = self
                    .runtime
                    .hub
                    .upgrade()
                    .map(|hub| hub.executor.code(&err));
                event.error = Some(err.to_string());
                match err {
                    ExecError::Tool(err) => Err(err),
                    other => Err(ToolError::Failed(other.to_string())),
                }
            }
        };
        self.runtime.events.publish(Event::SkillDone(event));
        Ran {
            result,
            logs: ran.logs,
        }
    }
}

impl Drop for DoneGuard {
    fn drop(&mut self) {
        if let Some(mut event) = self.event.take() {
            event.duration_ms = self.started.elapsed().as_secs_f64() * 1000.0;
            self.runtime.events.publish(Event::SkillDone(event));
        }
    }
}
