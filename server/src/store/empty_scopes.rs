//! Memory scopes known to hold no memory, so that a chat turn skips the memory search for them
//! (most users have none; the check alone was ~0.25 ms of every turn, `BENCHMARKS.md`).
//!
//! Kept only for an embedded database: this process is then its only writer, and every memory
//! is added through [`Store::add_memory`](super::Store::add_memory), which forgets the scope.
//! With a remote database another instance may add one, so nothing is cached there.

use std::collections::HashSet;
use std::sync::Mutex;

/// Scopes remembered at most; past this the set starts again (a miss costs one search).
const CAPACITY: usize = 100_000;

#[derive(Default)]
pub(super) struct EmptyScopes {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Memories added so far: a turn that read before an addition must not mark its scope.
    added: u64,
    empty: HashSet<String>,
}

impl EmptyScopes {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Taken before a read whose answer may be given to [`Self::mark_empty`].
    pub fn version(&self) -> u64 {
        self.inner().added
    }

    pub fn is_empty(&self, scope: &str) -> bool {
        self.inner().empty.contains(scope)
    }

    /// `scope` held no memory when read at `version`: remembered unless one was added since.
    pub fn mark_empty(&self, scope: &str, version: u64) {
        let mut inner = self.inner();
        if inner.added != version {
            return;
        }
        if inner.empty.len() >= CAPACITY {
            inner.empty.clear();
        }
        inner.empty.insert(scope.to_owned());
    }

    /// A memory was stored in `scope`.
    pub fn added(&self, scope: &str) {
        let mut inner = self.inner();
        inner.added += 1;
        inner.empty.remove(scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_empty_until_a_memory_is_added() {
        let scopes = EmptyScopes::default();
        let version = scopes.version();
        scopes.mark_empty("user:1", version);
        assert!(scopes.is_empty("user:1"));
        assert!(!scopes.is_empty("user:2"));
        scopes.added("user:1");
        assert!(!scopes.is_empty("user:1"));
    }

    #[test]
    fn a_read_older_than_an_addition_marks_nothing() {
        let scopes = EmptyScopes::default();
        let version = scopes.version();
        // A memory is added (anywhere) while the turn's read is in flight.
        scopes.added("user:1");
        scopes.mark_empty("user:1", version);
        assert!(!scopes.is_empty("user:1"));
    }
}
