//! One LLM call over a channel plan: each attempt in order (health admission, one probe after
//! a cooldown), failing over until one answers. The chat turn and skills both call it.

use super::{AttemptFailure, ChatError, Sink};
use crate::channels::{Admission, Attempt, ChannelService, Health, health};
use crate::chat::ChatEvent;
use crate::config::Config;
use crate::llm::{Assembler, ChatRequest, Completion, Delta, UpstreamError};

/// What one LLM call produced, and where.
pub struct Answer {
    pub completion: Completion,
    pub channel: String,
    pub model: String,
}

/// Tries the plan's attempts in order until one answers. Before any content reached the
/// client (`sink`: a stream's) a failure moves on to the next attempt; after it, the call ends.
pub async fn with_failover(
    channels: &ChannelService,
    config: &Config,
    plan: &[Attempt],
    mut request: ChatRequest,
    sink: Option<&Sink>,
) -> Result<Answer, ChatError> {
    let idle = std::time::Duration::from_millis(config.llm.idle_timeout_ms.max(1));
    let mut failures = Vec::new();
    for attempt in plan {
        let admission = channels.health.admit(&attempt.health);
        if admission == Admission::No {
            continue;
        }
        let mut probe = ProbeGuard::new(&channels.health, &attempt.health, admission);
        request.model = attempt.model.clone();
        let target = channels.target(attempt, idle);
        let client = channels.client();
        let started = std::time::Instant::now();
        let outcome = match sink {
            None => client
                .complete(&target, &request)
                .await
                .map_err(|e| (e, false)),
            Some(sink) => stream_answer(client, &target, &request, sink).await,
        };
        match outcome {
            Ok(completion) => {
                probe.resolve(|h, k| h.succeeded(k));
                record_success(attempt, &completion, started.elapsed());
                let model = completion
                    .model
                    .clone()
                    .unwrap_or_else(|| attempt.model.clone());
                return Ok(Answer {
                    completion,
                    channel: attempt.channel.name.clone(),
                    model,
                });
            }
            Err((err, sent)) => {
                probe.resolve(|h, k| h.failed(k, &err));
                let status = err
                    .status()
                    .map_or_else(|| "network".to_owned(), |s| s.to_string());
                metrics::counter!("chatai_llm_errors_total",
                    "channel" => attempt.channel.name.clone(), "status" => status)
                .increment(1);
                tracing::warn!(
                    channel = %attempt.channel.name,
                    model = %attempt.model,
                    key = attempt.key_index,
                    error = %err,
                    "upstream attempt failed"
                );
                if sent {
                    return Err(ChatError::AfterContent(err));
                }
                failures.push(AttemptFailure {
                    channel: attempt.channel.name.clone(),
                    model: attempt.model.clone(),
                    status: err.status(),
                    message: err.to_string(),
                });
            }
        }
    }
    if failures.is_empty() {
        // Every attempt was taken by others' probes or cooled down since planning.
        return Err(ChatError::NoChannel(
            crate::channels::NoChannel::AllCoolingDown {
                model: plan.first().map(|a| a.model.clone()).unwrap_or_default(),
                retry_in_ms: 1000,
            },
        ));
    }
    Err(ChatError::AllFailed(failures))
}

/// Streams one answer, sending text to the client as it arrives. The error says whether any
/// content had been sent.
async fn stream_answer(
    client: &crate::llm::LlmClient,
    target: &crate::llm::Target<'_>,
    request: &ChatRequest,
    sink: &Sink,
) -> Result<Completion, (UpstreamError, bool)> {
    let mut stream = client
        .stream(target, request)
        .await
        .map_err(|e| (e, false))?;
    let mut assembler = Assembler::default();
    let mut sent = false;
    while let Some(delta) = stream.next().await {
        let delta = delta.map_err(|e| (e, sent))?;
        if let Delta::Text(text) = &delta
            && !text.is_empty()
        {
            sent = true;
            let _ = sink.send(ChatEvent::Content { text: text.clone() }).await;
        }
        assembler.push(delta);
    }
    Ok(assembler.finish())
}

/// Reports a probe's outcome; a probe dropped unresolved (the client went away) frees the
/// slot for the next one.
struct ProbeGuard<'a> {
    health: &'a Health,
    key: &'a health::Key,
    open: bool,
}

impl<'a> ProbeGuard<'a> {
    fn new(health: &'a Health, key: &'a health::Key, admission: Admission) -> Self {
        Self {
            health,
            key,
            open: admission == Admission::Probe,
        }
    }

    fn resolve(&mut self, report: impl FnOnce(&Health, &health::Key)) {
        self.open = false;
        report(self.health, self.key);
    }
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.open {
            self.health.abandoned(self.key);
        }
    }
}

/// Metrics of an answered attempt: its latency and tokens, by channel and model (both from
/// the admin's channel list, so the series are bounded).
fn record_success(attempt: &Attempt, completion: &Completion, took: std::time::Duration) {
    let channel = attempt.channel.name.clone();
    let model = attempt.model.clone();
    metrics::histogram!("chatai_llm_request_duration_seconds",
        "channel" => channel.clone(), "model" => model.clone())
    .record(took.as_secs_f64());
    metrics::counter!("chatai_llm_tokens_total",
        "channel" => channel.clone(), "model" => model.clone(), "kind" => "prompt")
    .increment(completion.usage.prompt_tokens);
    metrics::counter!("chatai_llm_tokens_total",
        "channel" => channel, "model" => model, "kind" => "completion")
    .increment(completion.usage.completion_tokens);
}
