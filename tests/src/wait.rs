//! Waiting for something another part of the system does by itself (a change propagating, a
//! status flipping), with a bound so a test never hangs.

use std::future::Future;
use std::time::{Duration, Instant};

/// Propagation between instances takes milliseconds (BENCHMARKS.md); this bound only keeps a
/// loaded CI machine from failing a test.
pub const PROPAGATION: Duration = Duration::from_secs(3);

/// Polls `check` every 20 ms until it holds; panics naming `what` after `within`. Returns how
/// long it took.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{what}: not seen within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
