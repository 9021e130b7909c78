//! Health of each (channel, key, model), in memory per instance. A failure cools it down
//! (the upstream's `Retry-After`, else a back-off that doubles with each repeat, capped); when
//! the cooldown ends one probe request is let through, and its success restores it. Nothing is
//! disabled for good: a refused key (401/403) is parked for [`PARKED`] and probed after that
//! (and at once when someone edits the channel).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::llm::UpstreamError;

/// The first cooldown; each repeat doubles it.
const BASE: Duration = Duration::from_secs(2);
const CAP: Duration = Duration::from_secs(300);
/// A refused key's cooldown.
pub const PARKED: Duration = Duration::from_secs(600);
/// Entries kept before stale ones are dropped.
const MAX_TRACKED: usize = 4096;
/// A failure whose cooldown ended this long ago may be forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub channel: String,
    pub key_index: usize,
    pub model: String,
}

#[derive(Debug)]
struct State {
    failures: u32,
    until: Instant,
    /// A probe is out; others wait for its outcome.
    probing: bool,
    parked: bool,
    last_error: String,
}

/// What a channel's status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `ok`, `cooldown` (some key/model cooling down), `key_refused`, or `disabled`.
    pub status: &'static str,
    pub last_error: Option<String>,
    /// When the longest cooldown ends, in ms from now.
    pub retry_in_ms: Option<u64>,
}

#[derive(Default)]
pub struct Health {
    states: Mutex<HashMap<Key, State>>,
}

/// Whether a request may use a (channel, key, model) now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Yes,
    /// Yes, as the one probe after a cooldown: report its outcome.
    Probe,
    No,
}

impl Health {
    pub fn admit(&self, key: &Key) -> Admission {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        match states.get_mut(key) {
            None => Admission::Yes,
            Some(state) if state.probing || Instant::now() < state.until => Admission::No,
            Some(state) => {
                state.probing = true;
                Admission::Probe
            }
        }
    }

    /// Whether it would be admitted, without taking the probe.
    pub fn usable(&self, key: &Key) -> bool {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states
            .get(key)
            .is_none_or(|state| !state.probing && Instant::now() >= state.until)
    }

    pub fn succeeded(&self, key: &Key) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.remove(key);
    }

    /// A probe that ended without an answer either way (the client went away).
    pub fn abandoned(&self, key: &Key) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = states.get_mut(key) {
            state.probing = false;
        }
    }

    pub fn failed(&self, key: &Key, err: &UpstreamError) {
        if err.blames_request() {
            // The channel answered; the request was wrong. Not the channel's health.
            self.abandoned(key);
            return;
        }
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        if states.len() >= MAX_TRACKED {
            // A request may name any model of a channel it insists on: keep the map bounded by
            // forgetting failures whose cooldown is long over (they would be probed anyway).
            let stale = Instant::now() - FORGET_AFTER;
            states.retain(|_, state| state.probing || state.until > stale);
        }
        let state = states.entry(key.clone()).or_insert(State {
            failures: 0,
            until: Instant::now(),
            probing: false,
            parked: false,
            last_error: String::new(),
        });
        state.failures = state.failures.saturating_add(1);
        state.parked = err.key_refused();
        let backoff = BASE
            .saturating_mul(1 << (state.failures - 1).min(16))
            .min(CAP);
        let wait = if state.parked {
            PARKED
        } else {
            err.retry_after().unwrap_or(backoff).min(CAP)
        };
        state.until = Instant::now() + wait;
        state.probing = false;
        state.last_error = err.to_string();
    }

    /// Forgets a channel's health (it was edited or deleted).
    pub fn forget(&self, channel: &str) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.retain(|key, _| key.channel != channel);
    }

    pub fn status(&self, channel: &str, enabled: bool) -> Status {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mine: Vec<&State> = states
            .iter()
            .filter(|(key, _)| key.channel == channel)
            .map(|(_, state)| state)
            .collect();
        let last = mine.iter().max_by_key(|state| state.until);
        let status = if !enabled {
            "disabled"
        } else if mine.iter().any(|state| state.parked) {
            "key_refused"
        } else if mine.iter().any(|state| state.until > now) {
            "cooldown"
        } else {
            "ok"
        };
        Status {
            status,
            last_error: last.map(|state| state.last_error.clone()),
            retry_in_ms: last
                .map(|state| state.until.saturating_duration_since(now).as_millis() as u64)
                .filter(|ms| *ms > 0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        Key {
            channel: "a".into(),
            key_index: 0,
            model: "m".into(),
        }
    }

    #[test]
    fn a_failure_cools_down_then_one_probe_restores() {
        let health = Health::default();
        assert_eq!(health.admit(&key()), Admission::Yes);
        let err = UpstreamError::from_answer(429, b"{}", Some(Duration::ZERO));
        health.failed(&key(), &err);
        // Retry-After 0: the cooldown is over at once; one probe goes, the next waits for it.
        assert_eq!(health.admit(&key()), Admission::Probe);
        assert_eq!(health.admit(&key()), Admission::No);
        assert_eq!(health.status("a", true).status, "ok");
        health.succeeded(&key());
        assert_eq!(health.admit(&key()), Admission::Yes);
    }

    #[test]
    fn a_refused_key_is_parked_and_says_so() {
        let health = Health::default();
        health.failed(&key(), &UpstreamError::from_answer(401, b"{}", None));
        assert_eq!(health.admit(&key()), Admission::No);
        let status = health.status("a", true);
        assert_eq!(status.status, "key_refused");
        assert!(status.retry_in_ms.unwrap_or(0) > 500_000);
        health.forget("a");
        assert_eq!(health.admit(&key()), Admission::Yes);
    }

    #[test]
    fn a_bad_request_is_not_the_channels_fault() {
        let health = Health::default();
        health.failed(&key(), &UpstreamError::from_answer(400, b"{}", None));
        assert_eq!(health.admit(&key()), Admission::Yes);
    }
}
