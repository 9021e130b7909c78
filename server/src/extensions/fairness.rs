//! CPU fairness between guests. Every guest yields to the async runtime at each epoch tick
//! (1 ms). A call that has run longer than [`LONG_CALL`] is then *demoted*: it may only run
//! while it holds one of a few long-call slots (half the cores, at least one), taking turns in
//! FIFO order, one tick per turn, and a slot rests [`COOL_DOWN`] after each turn. So however
//! many guests spin, together they get at most a quarter of a core per slot, and the rest stays
//! with HTTP and ordinary calls, which never wait for a slot. Waiting counts against the call's
//! deadline like everything else. Only guest *execution* is paced: a guest waiting on the host
//! (kv, HTTP) does not tick.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::UpdateDeadline;

/// How long a call runs before it must take turns for a long-call slot.
pub const LONG_CALL: Duration = Duration::from_millis(10);
/// How long a slot rests after each 1 ms turn.
pub const COOL_DOWN: Duration = Duration::from_millis(3);

/// The long-call slots of one engine.
#[derive(Clone)]
pub struct LongCallSlots(Arc<Semaphore>);

impl LongCallSlots {
    /// Half the available cores, at least one.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self(Arc::new(Semaphore::new((cores / 2).max(1))))
    }

    /// The epoch callback of one call's store.
    pub fn pacer<T>(
        &self,
    ) -> impl FnMut(wasmtime::StoreContextMut<'_, T>) -> wasmtime::Result<UpdateDeadline>
    + Send
    + Sync
    + 'static {
        let slots = self.0.clone();
        let started = Instant::now();
        let held: Arc<Mutex<Option<OwnedSemaphorePermit>>> = Arc::new(Mutex::new(None));
        move |_| {
            if started.elapsed() < LONG_CALL {
                return Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ));
            }
            // Give back the slot of the turn that just ended (after its rest), then queue for
            // the next turn.
            if let Some(permit) = take(&held) {
                tokio::spawn(async move {
                    tokio::time::sleep(COOL_DOWN).await;
                    drop(permit);
                });
            }
            let (slots, held) = (slots.clone(), held.clone());
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    if let Ok(permit) = slots.acquire_owned().await {
                        *held.lock().unwrap_or_else(|p| p.into_inner()) = Some(permit);
                    }
                }),
            ))
        }
    }
}

fn take(held: &Mutex<Option<OwnedSemaphorePermit>>) -> Option<OwnedSemaphorePermit> {
    held.lock().unwrap_or_else(|p| p.into_inner()).take()
}
