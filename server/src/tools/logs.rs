//! Tool-call records: queued on the call path (never awaited there) and written in batches.
//!
//! The queue is bounded twice: in records and in bytes (`tools.log_queue_bytes`), so a burst
//! of large calls cannot grow the process; what does not fit is dropped and counted. Arguments
//! over [`MAX_ARGS_BYTES`] are kept as a preview. Rows older than `tools.log_retention_days`
//! are pruned by the server's hourly pruner.
//!
//! At most `tools.log_rows_per_second` calls a second get a row; the rest are counted (the
//! Prometheus counters count every call anyway). Every row is a database write, and the
//! embedded engine holds writes in memory until its memtable fills (SurrealKV sizes it from
//! the machine's RAM, up to GiBs, and the SDK offers no setting): one row per call at 45k
//! calls/s grew the process by 6 MiB every second.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::store::Store;
pub use crate::store::ToolLogEntry;

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
/// Arguments larger than this (as JSON text) are logged as a preview.
pub const MAX_ARGS_BYTES: usize = 4096;

/// How much the queue takes.
#[derive(Debug, Clone, Copy)]
pub struct LogLimits {
    /// Bytes of records waiting to be written.
    pub queue_bytes: u64,
    /// Rows written per second; 0: no limit.
    pub rows_per_second: u32,
}

/// The sending side, cloned into the executor.
#[derive(Clone)]
pub struct ToolLogQueue {
    tx: mpsc::Sender<(ToolLogEntry, usize)>,
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    rows_per_second: u32,
    /// `(unix second, rows taken in it)`.
    window: Arc<std::sync::Mutex<(i64, u32)>>,
}

impl ToolLogQueue {
    /// Starts the writer task.
    pub fn start(store: Store, limits: LogLimits) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(write_batches(store, rx, queued_bytes.clone()));
        let max_bytes = usize::try_from(limits.queue_bytes).unwrap_or(usize::MAX);
        (
            Self {
                tx,
                queued_bytes,
                max_bytes,
                rows_per_second: limits.rows_per_second,
                window: Arc::new(std::sync::Mutex::new((0, 0))),
            },
            task,
        )
    }

    /// Whether this second still has room for a row.
    fn take_row(&self, timestamp_ms: i64) -> bool {
        if self.rows_per_second == 0 {
            return true;
        }
        let second = timestamp_ms.div_euclid(1000);
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if window.0 != second {
            *window = (second, 0);
        }
        if window.1 >= self.rows_per_second {
            return false;
        }
        window.1 += 1;
        true
    }

    /// Queues a record; over the rows-per-second limit it is counted instead, and when the
    /// queue is full (records or bytes) it is dropped and counted.
    pub fn push(&self, entry: ToolLogEntry) {
        if !self.take_row(entry.timestamp) {
            metrics::counter!("chatai_tool_logs_unwritten_total").increment(1);
            return;
        }
        let size = entry.approximate_size();
        let before = self.queued_bytes.fetch_add(size, Ordering::Relaxed);
        if before + size > self.max_bytes {
            self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            metrics::counter!("chatai_tool_logs_dropped_total").increment(1);
            return;
        }
        if self.tx.try_send((entry, size)).is_err() {
            self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
            metrics::counter!("chatai_tool_logs_dropped_total").increment(1);
        }
    }
}

impl ToolLogEntry {
    /// Bytes this record holds, roughly (its strings; `args` is already capped).
    fn approximate_size(&self) -> usize {
        let optional = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        256 + self.id.len()
            + self.tool_name.len()
            + json_len(&self.args)
            + optional(&self.result)
            + optional(&self.error)
            + optional(&self.user_id)
            + optional(&self.group_id)
            + self.caller.len()
            + self.logs.iter().map(String::len).sum::<usize>()
    }
}

/// Arguments as they are logged: as given, or a preview when their JSON is over
/// [`MAX_ARGS_BYTES`].
pub fn logged_args(args: serde_json::Value) -> serde_json::Value {
    let size = json_len(&args);
    if size <= MAX_ARGS_BYTES {
        return args;
    }
    let mut preview = args.to_string();
    let mut cut = MAX_ARGS_BYTES;
    while !preview.is_char_boundary(cut) {
        cut -= 1;
    }
    preview.truncate(cut);
    serde_json::json!({ "truncated": true, "bytes": size, "preview": preview })
}

/// The length of a value's JSON text, without building it.
fn json_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

async fn write_batches(
    store: Store,
    mut rx: mpsc::Receiver<(ToolLogEntry, usize)>,
    queued_bytes: Arc<AtomicUsize>,
) {
    let mut received = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if rx.recv_many(&mut received, BATCH).await == 0 {
            return;
        }
        // Let a burst gather a little before writing it.
        if received.len() < BATCH {
            tokio::time::sleep(FLUSH_EVERY).await;
            while received.len() < BATCH {
                match rx.try_recv() {
                    Ok(item) => received.push(item),
                    Err(_) => break,
                }
            }
        }
        let bytes: usize = received.iter().map(|(_, size)| size).sum();
        batch.extend(received.drain(..).map(|(entry, _)| entry));
        let written = store.insert_tool_logs(&batch).await;
        queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        if let Err(err) = written {
            tracing::warn!(error = %err, count = batch.len(), "writing tool logs failed");
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ToolLogQuery;

    fn entry(n: u64, timestamp: i64) -> ToolLogEntry {
        ToolLogEntry {
            id: format!("call{n}"),
            tool_name: "calculator".into(),
            args: serde_json::json!({ "n": n }),
            result: Some("ok".into()),
            success: true,
            error: None,
            user_id: None,
            group_id: None,
            caller: "test".into(),
            source: "builtin".into(),
            duration_ms: 0.1,
            timestamp,
            logs: Vec::new(),
            seq: n,
        }
    }

    #[tokio::test]
    async fn rows_per_second_and_queued_bytes_are_capped() {
        let store = Store::memory().await.expect("in-memory store");
        let limits = LogLimits {
            queue_bytes: 1024 * 1024,
            rows_per_second: 3,
        };
        let (queue, _writer) = ToolLogQueue::start(store.clone(), limits);
        for n in 0..10 {
            queue.push(entry(n, 5_000));
        }
        queue.push(entry(10, 6_000));
        let query = ToolLogQuery {
            limit: 100,
            ..ToolLogQuery::default()
        };
        let mut rows = Vec::new();
        for _ in 0..100 {
            rows = store.tool_logs(&query).await.expect("rows");
            if rows.len() >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
        ids.sort();
        assert_eq!(ids, ["call0", "call1", "call10", "call2"]);
        assert_eq!(queue.queued_bytes.load(Ordering::Relaxed), 0);

        // A queue of 1 KiB takes one small record at a time, and never a 2 KiB one.
        let tiny = LogLimits {
            queue_bytes: 1024,
            rows_per_second: 0,
        };
        let (queue, _writer) = ToolLogQueue::start(store, tiny);
        let mut big = entry(11, 7_000);
        big.result = Some("x".repeat(2048));
        queue.push(big);
        assert_eq!(queue.queued_bytes.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn large_arguments_are_logged_as_a_preview() {
        let small = serde_json::json!({ "expression": "1 + 1" });
        assert_eq!(logged_args(small.clone()), small);
        let big = serde_json::json!({ "text": "x".repeat(10_000) });
        let logged = logged_args(big);
        assert_eq!(logged["truncated"], true);
        assert_eq!(logged["bytes"], 10_011);
        assert_eq!(
            logged["preview"].as_str().map(str::len),
            Some(MAX_ARGS_BYTES)
        );
    }
}
