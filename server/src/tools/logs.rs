//! Tool-call records: queued on the call path (never awaited there) and written in batches.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::store::Store;

/// One call, as stored and as `GET /api/tools/logs` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolLogEntry {
    pub id: String,
    pub tool_name: String,
    pub args: serde_json::Value,
    /// The text result, cut at 4 KiB.
    pub result: Option<String>,
    pub success: bool,
    /// `CODE: message` on failure.
    pub error: Option<String>,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub caller: String,
    pub source: String,
    pub duration_ms: f64,
    /// Unix milliseconds.
    pub timestamp: i64,
    /// What the guest logged (`host.log`, stdout, stderr), capped per call.
    #[serde(default)]
    pub logs: Vec<String>,
    /// Orders calls within the same millisecond (see [`next_seq`]).
    #[serde(default)]
    pub seq: u64,
}

/// A number that grows with every call: Unix nanoseconds at first use, then +1 per call, so it
/// also keeps growing across restarts. Many calls share a millisecond now.
pub fn next_seq() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: std::sync::OnceLock<AtomicU64> = std::sync::OnceLock::new();
    SEQ.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX / 2));
        AtomicU64::new(nanos)
    })
    .fetch_add(1, Ordering::Relaxed)
}

const QUEUE: usize = 8192;
const BATCH: usize = 256;
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// The sending side, cloned into the executor.
#[derive(Clone)]
pub struct ToolLogQueue {
    tx: mpsc::Sender<ToolLogEntry>,
}

impl ToolLogQueue {
    /// Starts the writer task.
    pub fn start(store: Store) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write_batches(store, rx));
        (Self { tx }, task)
    }

    /// Queues a record; when the queue is full the record is dropped and counted.
    pub fn push(&self, entry: ToolLogEntry) {
        if self.tx.try_send(entry).is_err() {
            metrics::counter!("chatai_tool_logs_dropped_total").increment(1);
        }
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<ToolLogEntry>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let received = rx.recv_many(&mut batch, BATCH).await;
        if received == 0 {
            return;
        }
        // Let a burst gather a little before writing it.
        if batch.len() < BATCH {
            tokio::time::sleep(FLUSH_EVERY).await;
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(entry) => batch.push(entry),
                    Err(_) => break,
                }
            }
        }
        if let Err(err) = store.insert_tool_logs(&batch).await {
            tracing::warn!(error = %err, count = batch.len(), "writing tool logs failed");
        }
        batch.clear();
    }
}
