//! One turn at a time per conversation (in this instance): a second message to the same
//! conversation waits for the first turn to be stored, so histories never interleave;
//! different conversations run in parallel. Idle locks are dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

#[derive(Default)]
pub struct ConversationLocks {
    locks: Mutex<Table>,
}

/// The locks by conversation, and the size at which dead entries are swept next.
#[derive(Default)]
struct Table {
    by_conversation: HashMap<String, Weak<tokio::sync::Mutex<()>>>,
    sweep_at: usize,
}

/// Below this many entries nothing is swept.
const MIN_SWEEP: usize = 1024;

impl ConversationLocks {
    pub async fn lock(&self, conversation: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut table = self.locks.lock().unwrap_or_else(|e| e.into_inner());
            let Table {
                by_conversation: locks,
                sweep_at,
            } = &mut *table;
            // Swept when the table has doubled since the last sweep, so that many live
            // conversations do not make every lock scan them all.
            if locks.len() >= (*sweep_at).max(MIN_SWEEP) {
                locks.retain(|_, lock| lock.strong_count() > 0);
                *sweep_at = locks.len() * 2;
            }
            match locks.get(conversation).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(conversation.to_owned(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_conversation_waits_and_others_do_not() {
        let locks = ConversationLocks::default();
        let held = locks.lock("a").await;
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock("b"))
                .await
                .is_ok()
        );
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock("a"))
                .await
                .is_err()
        );
        drop(held);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock("a"))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn idle_locks_are_swept() {
        let locks = ConversationLocks::default();
        let live = locks.lock("held").await;
        for i in 0..10_000 {
            drop(locks.lock(&format!("c{i}")).await);
        }
        let size = locks.locks.lock().expect("table").by_conversation.len();
        assert!(size <= MIN_SWEEP, "{size} entries kept");
        drop(live);
    }
}
