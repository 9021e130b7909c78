//! Group administration: per-group settings (stored in the database, held in memory for the
//! chat path), their merge with the global config (`effective`, each field with its source),
//! and the trigger rules ([`trigger`]).
//!
//! A setting the admin did not set inherits the global config; `PUT` merges its body into what
//! is stored (a JSON merge patch: `null` clears an override).

pub mod trigger;

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Config, TriggerType};
use crate::store::{GroupRow, Store, StoreError, now_ms};

/// What an admin may set for a group; every field optional (unset: the global config).
#[derive(Debug, Clone, Default, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSettings {
    pub name: Option<String>,
    /// `false`: the bot stays silent in the group.
    pub enabled: Option<bool>,
    pub preset_id: Option<String>,
    pub trigger: Option<GroupTrigger>,
    /// Use this channel only.
    pub channel: Option<String>,
    pub model: Option<String>,
    pub tools: Option<GroupTools>,
    pub usage_limit: Option<UsageLimit>,
    /// Members the bot refuses (403 `USER_BLOCKED`).
    pub blacklist: Option<Vec<String>>,
    /// When not empty, only these members may use the bot.
    pub whitelist: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupTrigger {
    /// `at`, `prefix`, `both` or `random`.
    #[serde(rename = "type")]
    #[salvo(schema(value_type = Option<String>))]
    pub kind: Option<TriggerType>,
    pub prefix: Option<String>,
    pub keywords: Option<Vec<String>>,
    /// 0–100.
    pub random_rate: Option<u8>,
}

/// Tool lists of a group, applied on top of the preset's and the global policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupTools {
    /// When set, only these tools (an empty list: none).
    pub enabled: Option<Vec<String>>,
    /// Never these tools.
    pub disabled: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageLimit {
    /// Chats a day in the group (0: no limit).
    pub daily_group_limit: Option<u64>,
    /// Chats a day per member (0: no limit).
    pub daily_user_limit: Option<u64>,
    pub limit_message: Option<String>,
}

/// A value and where it comes from: `group` (set for this group) or `global` (the config).
#[derive(Debug, Clone, Serialize, salvo::oapi::ToSchema)]
pub struct Sourced<T> {
    pub value: T,
    pub source: &'static str,
}

fn pick<T>(group: Option<T>, global: T) -> Sourced<T> {
    match group {
        Some(value) => Sourced {
            value,
            source: "group",
        },
        None => Sourced {
            value: global,
            source: "global",
        },
    }
}

/// The settings in force for a group.
#[derive(Debug, Clone, Serialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    pub enabled: Sourced<bool>,
    pub preset_id: Sourced<String>,
    pub trigger: EffectiveTrigger,
    pub channel: Sourced<Option<String>>,
    pub model: Sourced<Option<String>>,
    pub tools: EffectiveTools,
    pub usage_limit: EffectiveLimit,
    pub blacklist: Sourced<Vec<String>>,
    pub whitelist: Sourced<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveTrigger {
    #[serde(rename = "type")]
    #[salvo(schema(value_type = Object))]
    pub kind: Sourced<TriggerType>,
    pub prefix: Sourced<String>,
    pub keywords: Sourced<Vec<String>>,
    pub random_rate: Sourced<u8>,
}

#[derive(Debug, Clone, Serialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveTools {
    pub enabled: Sourced<Option<Vec<String>>>,
    pub disabled: Sourced<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, salvo::oapi::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EffectiveLimit {
    /// 0: no limit.
    pub daily_group_limit: Sourced<u64>,
    pub daily_user_limit: Sourced<u64>,
    pub limit_message: Sourced<String>,
}

impl Effective {
    /// Whether the group's tool lists let `tool` be used.
    pub fn permits(&self, tool: &str) -> bool {
        self.tools
            .enabled
            .value
            .as_ref()
            .is_none_or(|only| only.iter().any(|t| t == tool))
            && !self.tools.disabled.value.iter().any(|t| t == tool)
    }
}

/// A group's settings as stored.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    pub group_id: String,
    #[serde(flatten)]
    pub settings: GroupSettings,
    /// Unix milliseconds (the API shows RFC 3339).
    pub updated_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Stored {
    raw: Value,
    settings: Arc<GroupSettings>,
    updated_at: i64,
}

pub struct GroupService {
    store: Store,
    groups: ArcSwap<BTreeMap<String, Arc<Stored>>>,
    /// One change at a time (read, merge, write).
    lock: tokio::sync::Mutex<()>,
}

impl GroupService {
    pub async fn load(store: Store) -> Result<Self, StoreError> {
        let groups = read_all(&store).await?;
        Ok(Self {
            store,
            groups: ArcSwap::from_pointee(groups),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Re-reads every group's settings (another instance changed some).
    pub async fn reload(&self) -> Result<(), StoreError> {
        let _guard = self.lock.lock().await;
        let groups = read_all(&self.store).await?;
        self.groups.store(Arc::new(groups));
        Ok(())
    }

    pub fn list(&self) -> Vec<GroupView> {
        self.groups
            .load()
            .iter()
            .map(|(id, stored)| view(id, stored))
            .collect()
    }

    pub fn get(&self, group_id: &str) -> Option<GroupView> {
        self.groups
            .load()
            .get(group_id)
            .map(|stored| view(group_id, stored))
    }

    /// Merges `patch` into the group's settings (`null` clears a field), checks the result
    /// with `check` (e.g. that the preset exists) and stores it.
    pub async fn update(
        &self,
        group_id: &str,
        patch: Value,
        check: impl Fn(&GroupSettings) -> Result<(), String>,
    ) -> Result<GroupView, GroupError> {
        if group_id.is_empty() || group_id.len() > 128 {
            return Err(GroupError::Invalid(
                "a group id has 1 to 128 characters".into(),
            ));
        }
        if !patch.is_object() {
            return Err(GroupError::Invalid("the body must be a JSON object".into()));
        }
        let _change = self.lock.lock().await;
        let mut raw = self
            .groups
            .load()
            .get(group_id)
            .map_or_else(|| Value::Object(Default::default()), |s| s.raw.clone());
        merge_patch(&mut raw, patch);
        let settings: GroupSettings = serde_json::from_value(raw.clone())
            .map_err(|err| GroupError::Invalid(err.to_string()))?;
        if let Some(rate) = settings.trigger.as_ref().and_then(|t| t.random_rate)
            && rate > 100
        {
            return Err(GroupError::Invalid(
                "trigger.randomRate must be between 0 and 100".into(),
            ));
        }
        check(&settings).map_err(GroupError::Invalid)?;
        let updated_at = now_ms();
        self.store
            .put_group(&GroupRow {
                group_id: group_id.to_owned(),
                settings: raw.clone(),
                updated_at,
            })
            .await?;
        let stored = Arc::new(Stored {
            raw,
            settings: Arc::new(settings),
            updated_at,
        });
        let mut groups = (**self.groups.load()).clone();
        groups.insert(group_id.to_owned(), stored.clone());
        self.groups.store(Arc::new(groups));
        Ok(view(group_id, &stored))
    }

    /// Forgets a group's settings (it follows the global config again); `false` if it had
    /// none.
    pub async fn delete(&self, group_id: &str) -> Result<bool, StoreError> {
        let _change = self.lock.lock().await;
        let existed = self.store.delete_group(group_id).await?;
        let mut groups = (**self.groups.load()).clone();
        let cached = groups.remove(group_id).is_some();
        self.groups.store(Arc::new(groups));
        Ok(existed || cached)
    }

    /// The settings in force for `group_id` under `config`; `default_preset` is the default
    /// preset's id.
    pub fn effective(&self, group_id: &str, config: &Config, default_preset: &str) -> Effective {
        let settings = self
            .groups
            .load()
            .get(group_id)
            .map(|stored| stored.settings.clone())
            .unwrap_or_default();
        let trigger = settings.trigger.clone().unwrap_or_default();
        let tools = settings.tools.clone().unwrap_or_default();
        let limit = settings.usage_limit.clone().unwrap_or_default();
        let global = &config.trigger;
        Effective {
            enabled: pick(settings.enabled, true),
            preset_id: pick(settings.preset_id.clone(), default_preset.to_owned()),
            trigger: EffectiveTrigger {
                kind: pick(trigger.kind, global.kind),
                prefix: pick(trigger.prefix, global.prefix.clone()),
                keywords: pick(trigger.keywords, global.keywords.clone()),
                random_rate: pick(trigger.random_rate, global.random_rate),
            },
            channel: pick(settings.channel.clone().map(Some), None),
            model: pick(
                settings.model.clone().map(Some),
                config.llm.default_model.clone(),
            ),
            tools: EffectiveTools {
                enabled: pick(tools.enabled.map(Some), None),
                disabled: pick(tools.disabled, Vec::new()),
            },
            usage_limit: EffectiveLimit {
                daily_group_limit: pick(limit.daily_group_limit, config.usage.daily_group_limit),
                daily_user_limit: pick(limit.daily_user_limit, config.usage.daily_user_limit),
                limit_message: pick(limit.limit_message, config.usage.limit_message.clone()),
            },
            blacklist: pick(settings.blacklist.clone(), Vec::new()),
            whitelist: pick(settings.whitelist.clone(), Vec::new()),
        }
    }
}

fn view(group_id: &str, stored: &Stored) -> GroupView {
    GroupView {
        group_id: group_id.to_owned(),
        settings: (*stored.settings).clone(),
        updated_at: stored.updated_at,
    }
}

/// RFC 7396: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(patch) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(map) = target {
                for (key, value) in patch {
                    if value.is_null() {
                        map.remove(&key);
                    } else {
                        merge_patch(map.entry(key).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// Every group's stored settings; unreadable ones are logged and skipped.
async fn read_all(store: &Store) -> Result<BTreeMap<String, Arc<Stored>>, StoreError> {
    let mut groups = BTreeMap::new();
    for row in store.groups().await? {
        match serde_json::from_value::<GroupSettings>(row.settings.clone()) {
            Ok(settings) => {
                groups.insert(
                    row.group_id,
                    Arc::new(Stored {
                        raw: row.settings,
                        settings: Arc::new(settings),
                        updated_at: row.updated_at,
                    }),
                );
            }
            Err(err) => {
                tracing::error!(group = %row.group_id, error = %err, "unreadable group settings skipped");
            }
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::merge_patch;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_objects_and_null_clears() {
        let mut target =
            json!({"name": "a", "trigger": {"type": "at", "prefix": "!"}, "blacklist": ["x"]});
        merge_patch(
            &mut target,
            json!({"trigger": {"prefix": null, "randomRate": 5}, "blacklist": ["y"], "name": null}),
        );
        assert_eq!(
            target,
            json!({"trigger": {"type": "at", "randomRate": 5}, "blacklist": ["y"]})
        );
    }
}
