//! Group settings (one `group_settings` row per group, the settings as the admin set them) and
//! daily usage counts (one `usage_count` row per day, group and member; the group's own total
//! under member `""`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Store, StoreError, backoff, retryable};

/// A group's settings as stored: only the fields the admin set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRow {
    pub group_id: String,
    pub settings: Value,
    pub updated_at: i64,
}

/// Whose chats a reservation counts.
#[derive(Debug, Clone)]
pub struct UsageKey {
    /// `YYYY-MM-DD` in the configured time zone.
    pub day: String,
    pub group_id: String,
    pub user_id: String,
}

/// Which limit refused a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    Group,
    User,
}

/// One day's count of a group (`user_id` `None`) or of one of its members.
#[derive(Debug, Clone, Deserialize)]
pub struct UsageRow {
    pub user_id: String,
    pub count: u64,
}

/// Retries of a reservation that met a concurrent one (the engine's optimistic transactions
/// refuse the second writer of a key; it runs again on the new count).
const RETRIES: usize = 200;

impl Store {
    pub async fn groups(&self) -> Result<Vec<GroupRow>, StoreError> {
        self.rows(
            "SELECT group_id, settings, updated_at FROM group_settings ORDER BY group_id",
            json!({}),
            0,
        )
        .await
    }

    pub async fn put_group(&self, row: &GroupRow) -> Result<(), StoreError> {
        self.execute(
            "UPSERT type::record('group_settings', $id) CONTENT $row",
            json!({ "id": row.group_id, "row": row }),
        )
        .await
    }

    /// `false` when the group had no settings.
    pub async fn delete_group(&self, group_id: &str) -> Result<bool, StoreError> {
        let rows: Vec<Value> = self
            .rows(
                "DELETE type::record('group_settings', $id) RETURN BEFORE",
                json!({ "id": group_id }),
                0,
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// Counts one chat of `key` if neither the group's count nor the member's has reached its
    /// limit (`None`: no limit), both in one transaction: concurrent reservations, also from
    /// other instances on the same database, admit exactly the limit.
    pub async fn reserve_usage(
        &self,
        key: &UsageKey,
        group_limit: Option<u64>,
        user_limit: Option<u64>,
    ) -> Result<Option<LimitHit>, StoreError> {
        let sql = "BEGIN TRANSACTION;
            LET $g = type::record('usage_count', [$day, $group, '']);
            LET $u = type::record('usage_count', [$day, $group, $user]);
            LET $gc = $g.count ?? 0;
            LET $uc = $u.count ?? 0;
            IF $gc >= $glimit { THROW 'usage limit: group' };
            IF $uc >= $ulimit { THROW 'usage limit: user' };
            UPSERT $g SET count = $gc + 1, day = $day, group_id = $group, user_id = '';
            UPSERT $u SET count = $uc + 1, day = $day, group_id = $group, user_id = $user;
            COMMIT TRANSACTION;";
        let vars = json!({
            "day": key.day, "group": key.group_id, "user": key.user_id,
            "glimit": group_limit.map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX)),
            "ulimit": user_limit.map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        });
        for attempt in 0..RETRIES {
            match self.transaction(sql, vars.clone()).await {
                Ok(()) => return Ok(None),
                Err(message) if message.contains("usage limit: group") => {
                    return Ok(Some(LimitHit::Group));
                }
                Err(message) if message.contains("usage limit: user") => {
                    return Ok(Some(LimitHit::User));
                }
                Err(message) if retryable(&message) => backoff(attempt).await,
                Err(message) => return Err(StoreError::Transaction(message)),
            }
        }
        Err(StoreError::Transaction(
            "a usage reservation kept meeting concurrent ones".into(),
        ))
    }

    /// Gives back a reservation (the chat it admitted failed upstream).
    pub async fn release_usage(&self, key: &UsageKey) -> Result<(), StoreError> {
        let sql = "BEGIN TRANSACTION;
            UPDATE type::record('usage_count', [$day, $group, '']) SET count -= 1 WHERE count > 0;
            UPDATE type::record('usage_count', [$day, $group, $user]) SET count -= 1 WHERE count > 0;
            COMMIT TRANSACTION;";
        let vars = json!({ "day": key.day, "group": key.group_id, "user": key.user_id });
        for attempt in 0..RETRIES {
            match self.transaction(sql, vars.clone()).await {
                Ok(()) => return Ok(()),
                Err(message) if retryable(&message) => backoff(attempt).await,
                Err(message) => return Err(StoreError::Transaction(message)),
            }
        }
        Err(StoreError::Transaction(
            "releasing a usage reservation kept meeting concurrent ones".into(),
        ))
    }

    /// A group's counts of `day`: its own (member `""`) and each member's.
    pub async fn usage_of(&self, day: &str, group_id: &str) -> Result<Vec<UsageRow>, StoreError> {
        self.rows(
            "SELECT user_id, count FROM usage_count WHERE day = $day AND group_id = $group \
             ORDER BY user_id",
            json!({ "day": day, "group": group_id }),
            0,
        )
        .await
    }

    /// Forgets the counts of days before `day` (`YYYY-MM-DD`; ISO dates sort as text).
    pub async fn prune_usage(&self, day: &str) -> Result<(), StoreError> {
        self.execute("DELETE usage_count WHERE day < $day", json!({ "day": day }))
            .await
    }
}
