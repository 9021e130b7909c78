//! LLM channels: the stored list (cached, re-read on every change), per (channel, key, model)
//! health, and the plan of attempts for a request: the channels offering its model, by
//! priority, each with a key that is not cooling down (keys rotate round-robin).

pub mod health;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;

pub use health::{Admission, Health, Status};

use crate::llm::{Endpoint, LlmClient, Protocol, Target, Timeouts};
use crate::store::{ChannelRecord, Store, StoreError};

/// One try of one channel with one key and model.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub channel: Arc<ChannelRecord>,
    pub protocol: Protocol,
    pub key_index: usize,
    pub model: String,
    pub health: health::Key,
}

/// Why no attempt can be planned (503 `CHANNEL_UNAVAILABLE`).
#[derive(Debug, thiserror::Error)]
pub enum NoChannel {
    #[error("no channel is configured")]
    NoneConfigured,
    #[error("no channel named `{0}`")]
    UnknownChannel(String),
    #[error("channel `{0}` is disabled")]
    Disabled(String),
    #[error("no model given and no default model is configured (llm.default_model)")]
    NoModel,
    #[error("no enabled channel offers model `{0}`")]
    NoneOffers(String),
    #[error(
        "every channel offering `{model}` is cooling down after failures (next in {retry_in_ms} ms)"
    )]
    AllCoolingDown { model: String, retry_in_ms: u64 },
}

pub struct ChannelService {
    store: Store,
    list: ArcSwap<Vec<Arc<ChannelRecord>>>,
    pub health: Health,
    /// The next key of each channel.
    turns: Mutex<HashMap<String, usize>>,
    client: LlmClient,
    /// Held by [`ChannelService::reload`].
    reloads: tokio::sync::Mutex<()>,
}

impl ChannelService {
    pub async fn load(store: Store, client: LlmClient) -> Result<Self, StoreError> {
        let list = store.channels().await?;
        Ok(Self {
            store,
            list: ArcSwap::from_pointee(list.into_iter().map(Arc::new).collect()),
            health: Health::default(),
            turns: Mutex::new(HashMap::new()),
            client,
            reloads: tokio::sync::Mutex::new(()),
        })
    }

    pub fn client(&self) -> &LlmClient {
        &self.client
    }

    /// Every channel, by priority then name.
    pub fn list(&self) -> Arc<Vec<Arc<ChannelRecord>>> {
        self.list.load_full()
    }

    pub fn get(&self, name: &str) -> Option<Arc<ChannelRecord>> {
        self.list.load().iter().find(|c| c.name == name).cloned()
    }

    /// Re-reads the stored list (after a change, here or by another instance). One re-read at
    /// a time, so one that began before a write never stores its older list after the write's.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _one_at_a_time = self.reloads.lock().await;
        let list = self.store.channels().await?;
        self.list
            .store(Arc::new(list.into_iter().map(Arc::new).collect()));
        Ok(())
    }

    /// `false`: the name is taken.
    pub async fn create(&self, record: &ChannelRecord) -> Result<bool, StoreError> {
        let created = self.store.create_channel(record).await?;
        self.reload().await?;
        Ok(created)
    }

    /// `false`: no such channel. Its health starts over (a fixed key is tried at once).
    pub async fn replace(&self, record: &ChannelRecord) -> Result<bool, StoreError> {
        let replaced = self.store.replace_channel(record).await?;
        self.health.forget(&record.name);
        self.reload().await?;
        Ok(replaced)
    }

    pub async fn delete(&self, name: &str) -> Result<bool, StoreError> {
        let deleted = self.store.delete_channel(name).await?;
        self.health.forget(name);
        self.reload().await?;
        Ok(deleted)
    }

    pub async fn mark_tested(&self, name: &str, at: i64) -> Result<(), StoreError> {
        if let Some(mut record) = self.get(name).map(|c| (*c).clone()) {
            record.last_tested_at = Some(at);
            self.store.replace_channel(&record).await?;
            self.reload().await?;
        }
        Ok(())
    }

    pub fn status(&self, channel: &ChannelRecord) -> Status {
        self.health.status(&channel.name, channel.enabled)
    }

    /// The attempts for a request, in order. `model`: the request's or preset's model, else
    /// `default_model`; `channel`: a channel the request insists on.
    pub fn plan(
        &self,
        model: Option<&str>,
        channel: Option<&str>,
        default_model: Option<&str>,
    ) -> Result<Vec<Attempt>, NoChannel> {
        self.plan_with(model, channel, default_model, true)
    }

    /// Whether [`plan`](Self::plan) would find an attempt, without taking a key's turn.
    pub fn check(
        &self,
        model: Option<&str>,
        channel: Option<&str>,
        default_model: Option<&str>,
    ) -> Result<(), NoChannel> {
        self.plan_with(model, channel, default_model, false)
            .map(|_| ())
    }

    fn plan_with(
        &self,
        model: Option<&str>,
        channel: Option<&str>,
        default_model: Option<&str>,
        rotate: bool,
    ) -> Result<Vec<Attempt>, NoChannel> {
        let list = self.list.load();
        if list.is_empty() {
            return Err(NoChannel::NoneConfigured);
        }
        let model = model.or(default_model).filter(|m| !m.is_empty());
        let candidates: Vec<(Arc<ChannelRecord>, String)> = match channel {
            Some(name) => {
                let found = list
                    .iter()
                    .find(|c| c.name == name)
                    .ok_or_else(|| NoChannel::UnknownChannel(name.to_owned()))?;
                if !found.enabled {
                    return Err(NoChannel::Disabled(name.to_owned()));
                }
                let model = model
                    .map(str::to_owned)
                    .or_else(|| default_of(found))
                    .ok_or(NoChannel::NoModel)?;
                vec![(found.clone(), model)]
            }
            None => {
                let enabled = list.iter().filter(|c| c.enabled);
                match model {
                    Some(model) => enabled
                        .filter(|c| offers(c, model))
                        .map(|c| (c.clone(), model.to_owned()))
                        .collect(),
                    None => enabled
                        .filter_map(|c| default_of(c).map(|m| (c.clone(), m)))
                        .collect(),
                }
            }
        };
        if candidates.is_empty() {
            return Err(match model {
                Some(model) => NoChannel::NoneOffers(model.to_owned()),
                None => NoChannel::NoModel,
            });
        }
        let mut attempts = Vec::new();
        for (channel, model) in &candidates {
            attempts.extend(self.keys_to_try(channel, model, rotate));
        }
        if attempts.is_empty() {
            let retry_in_ms = candidates
                .iter()
                .filter_map(|(c, _)| self.health.status(&c.name, true).retry_in_ms)
                .min()
                .unwrap_or(0);
            return Err(NoChannel::AllCoolingDown {
                model: candidates[0].1.clone(),
                retry_in_ms,
            });
        }
        Ok(attempts)
    }

    /// Up to `1 + max_retries` different usable keys of a channel, starting at its turn.
    fn keys_to_try(&self, channel: &Arc<ChannelRecord>, model: &str, rotate: bool) -> Vec<Attempt> {
        let Ok(protocol) = serde_json::from_value::<Protocol>(serde_json::json!(channel.kind))
        else {
            return Vec::new();
        };
        let count = channel.api_keys.len().max(1);
        let start = {
            let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
            let turn = turns.entry(channel.name.clone()).or_insert(0);
            let start = *turn % count;
            if rotate {
                *turn = turn.wrapping_add(1);
            }
            start
        };
        (0..count)
            .map(|offset| (start + offset) % count)
            .map(|key_index| health::Key {
                channel: channel.name.clone(),
                key_index,
                model: model.to_owned(),
            })
            .filter(|key| self.health.usable(key))
            .take(1 + channel.max_retries as usize)
            .map(|key| Attempt {
                channel: channel.clone(),
                protocol,
                key_index: key.key_index,
                model: model.to_owned(),
                health: key,
            })
            .collect()
    }

    /// An attempt with a channel's first key, outside any plan (a test prompt, the model list).
    pub fn first_key(channel: &Arc<ChannelRecord>, model: &str) -> Option<Attempt> {
        let protocol = serde_json::from_value::<Protocol>(serde_json::json!(channel.kind)).ok()?;
        Some(Attempt {
            channel: channel.clone(),
            protocol,
            key_index: 0,
            model: model.to_owned(),
            health: health::Key {
                channel: channel.name.clone(),
                key_index: 0,
                model: model.to_owned(),
            },
        })
    }

    /// Where an attempt goes, with the channel's times (`idle`: between stream chunks).
    pub fn target<'a>(&self, attempt: &'a Attempt, idle: Duration) -> Target<'a> {
        let channel = &attempt.channel;
        let base_url = if channel.base_url.is_empty() {
            attempt.protocol.default_base_url()
        } else {
            channel.base_url.as_str()
        };
        Target {
            protocol: attempt.protocol,
            endpoint: Endpoint {
                base_url,
                api_key: channel
                    .api_keys
                    .get(attempt.key_index)
                    .map_or("", String::as_str),
            },
            headers: &channel.headers,
            timeouts: Timeouts {
                first_byte: Duration::from_millis(channel.timeout_ms.max(1)),
                idle,
            },
        }
    }
}

fn offers(channel: &ChannelRecord, model: &str) -> bool {
    channel.model.as_deref() == Some(model) || channel.models.iter().any(|m| m == model)
}

fn default_of(channel: &ChannelRecord) -> Option<String> {
    channel
        .model
        .clone()
        .or_else(|| channel.models.first().cloned())
}

/// `sk-****abcd`: what every response and log shows of a key.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// A value a client sent back as it read it (masked): keep the stored key.
pub fn is_masked(key: &str) -> bool {
    key.contains("****")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_a_hint() {
        assert_eq!(mask("sk-1234567890abcd"), "sk-****abcd");
        assert_eq!(mask("short"), "****");
        assert!(is_masked(&mask("sk-1234567890abcd")));
        assert!(!mask("sk-1234567890abcd").contains("567890"));
    }
}
