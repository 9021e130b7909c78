//! The event bus: typed events from every module to every listener (SSE streams, the panel,
//! later MCP clients and other instances).
//!
//! Each subscriber has its own bounded queue. Publishing never waits: a subscriber whose queue
//! is full is dropped (with a log line) rather than slowing the publisher, and one that went
//! away is forgotten at the next publish. Events are shared (`Arc`), so a publish costs one
//! allocation whatever the number of subscribers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::mpsc;

/// Something that happened, as listeners see it. The SSE event name is [`Event::name`]; the
/// data is the variant's fields as JSON (camelCase).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Event {
    ToolUpdate(ToolUpdate),
    ExtensionChanged(ExtensionChanged),
    ConfigChanged(ConfigChanged),
    ToolProgress(ToolProgress),
    Mcp(McpServerEvent),
    CategoryToggle(CategoryToggle),
    SkillProgress(SkillProgress),
    SkillDone(SkillDone),
}

impl Event {
    /// Every event name.
    pub const NAMES: &'static [&'static str] = &[
        "tool_update",
        "extension_changed",
        "config_changed",
        "tool_progress",
        "mcp_connected",
        "mcp_disconnected",
        "mcp_error",
        "mcp_tools_updated",
        "category_toggle",
        "skill_progress",
        "skill_done",
    ];

    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Event::ToolUpdate(_) => "tool_update",
            Event::ExtensionChanged(_) => "extension_changed",
            Event::ConfigChanged(_) => "config_changed",
            Event::ToolProgress(_) => "tool_progress",
            Event::Mcp(event) => match event.change {
                McpChange::Connected => "mcp_connected",
                McpChange::Disconnected => "mcp_disconnected",
                McpChange::Error => "mcp_error",
                McpChange::ToolsUpdated => "mcp_tools_updated",
            },
            Event::CategoryToggle(_) => "category_toggle",
            Event::SkillProgress(_) => "skill_progress",
            Event::SkillDone(_) => "skill_done",
        }
    }
}

/// The tools of one provider (an extension, later an MCP server or a skill) appeared, changed
/// or went away.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolUpdate {
    /// `builtin`, `custom`, `mcp`, …
    pub source: String,
    /// The extension (or server) that provides them.
    pub provider: String,
    /// Its tools now (empty when it went away).
    pub tools: Vec<String>,
    pub enabled: bool,
}

/// An admin installed, upgraded, changed or removed a custom extension.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionChanged {
    pub name: String,
    pub action: String,
}

/// Runtime configuration changed (`PUT /api/config` or a tools config endpoint).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigChanged {
    pub keys: Vec<String>,
}

/// A running tool reported progress (`host.progress`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolProgress {
    pub call_id: String,
    pub tool: String,
    /// Who called (the invocation's caller id).
    pub caller: String,
    pub done: u32,
    pub total: Option<u32>,
    pub message: String,
    /// A skill's step, when the call is a skill's run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<serde_json::Value>,
}

/// What happened to an MCP server we connect to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpChange {
    Connected,
    Disconnected,
    Error,
    ToolsUpdated,
}

impl McpChange {
    /// The name `/api/mcp/sse` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            McpChange::Connected => "connected",
            McpChange::Disconnected => "disconnected",
            McpChange::Error => "error",
            McpChange::ToolsUpdated => "tools_updated",
        }
    }
}

/// An MCP server connected, went away, failed, or changed its tools.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerEvent {
    #[serde(skip)]
    pub change: McpChange,
    pub server: String,
    /// `connected`, `connecting`, `disconnected` or `error`.
    pub status: String,
    pub error: Option<String>,
    pub tool_count: usize,
}

/// An admin switched a tool category on or off.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CategoryToggle {
    pub category: String,
    pub enabled: bool,
}

/// A running skill took a step (a tool call, an LLM call, a log line, a progress report).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillProgress {
    /// The run's call id (its tool log row's id).
    pub run_id: String,
    pub skill: String,
    /// Who runs it (the invocation's caller id).
    pub caller: String,
    pub step: serde_json::Value,
}

/// A skill run ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillDone {
    pub run_id: String,
    pub skill: String,
    pub caller: String,
    pub success: bool,
    pub steps: usize,
    pub duration_ms: f64,
    /// The API code and message of a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Events a subscriber may fall behind by before it is dropped.
pub const SUBSCRIBER_BUFFER: usize = 256;

struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Arc<Event>>,
}

/// The process's bus. Cheap to share (`Arc`).
#[derive(Default)]
pub struct EventBus {
    subscribers: std::sync::Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
}

/// A subscriber's end: events in publish order, `None` once dropped by the bus.
pub struct Subscription {
    pub id: u64,
    rx: mpsc::Receiver<Arc<Event>>,
}

impl Subscription {
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        self.rx.recv().await
    }

    /// The stream form, for SSE.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Arc<Event>> + Send + 'static {
        futures_util::stream::unfold(self.rx, |mut rx| async move {
            rx.recv().await.map(|event| (event, rx))
        })
    }
}

impl EventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new subscriber with the default buffer.
    pub fn subscribe(&self) -> Subscription {
        self.subscribe_with(SUBSCRIBER_BUFFER)
    }

    pub fn subscribe_with(&self, buffer: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(buffer.max(1));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Subscriber { id, tx });
        Subscription { id, rx }
    }

    /// Hands `event` to every subscriber without waiting. Returns how many got it.
    pub fn publish(&self, event: Event) -> usize {
        let mut subscribers = self.lock();
        if subscribers.is_empty() {
            return 0;
        }
        let event = Arc::new(event);
        let mut delivered = 0;
        subscribers.retain(|sub| match sub.tx.try_send(event.clone()) {
            Ok(()) => {
                delivered += 1;
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    subscriber = sub.id,
                    event = event.name(),
                    "event subscriber fell {SUBSCRIBER_BUFFER} events behind; dropped"
                );
                metrics::counter!("chatai_event_subscribers_dropped_total").increment(1);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        delivered
    }

    /// Subscribers currently attached.
    pub fn subscriber_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u32) -> Event {
        Event::ToolProgress(ToolProgress {
            call_id: "c".into(),
            tool: "t".into(),
            caller: "k".into(),
            done,
            total: Some(3),
            message: String::new(),
            step: None,
        })
    }

    #[tokio::test]
    async fn subscribers_get_events_in_order_and_a_stuck_one_is_dropped() {
        let bus = EventBus::new();
        let mut reader = bus.subscribe();
        let stuck = bus.subscribe_with(2);
        for done in 0..5 {
            bus.publish(progress(done));
        }
        assert_eq!(bus.subscriber_count(), 1, "the full subscriber is dropped");
        for want in 0..5 {
            match reader.recv().await.as_deref() {
                Some(Event::ToolProgress(p)) => assert_eq!(p.done, want),
                other => panic!("unexpected {other:?}"),
            }
        }
        let mut stuck = stuck;
        assert!(stuck.recv().await.is_some());
        assert!(stuck.recv().await.is_some());
        assert!(stuck.recv().await.is_none(), "dropped: its stream ends");
    }

    #[tokio::test]
    async fn a_subscriber_that_went_away_is_forgotten() {
        let bus = EventBus::new();
        drop(bus.subscribe());
        assert_eq!(bus.publish(progress(1)), 0);
        assert_eq!(bus.subscriber_count(), 0);
    }
}
