//! `usage.*`: the daily usage limits every group inherits unless it sets its own, and the
//! time zone their days roll over in.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct UsageConfig {
    /// Chats a group may have a day (0: no limit).
    pub daily_group_limit: u64,
    /// Chats one member of a group may have a day (0: no limit).
    pub daily_user_limit: u64,
    /// What a chat over a limit is told (`limitMessage` of the 429).
    pub limit_message: String,
    /// The IANA time zone whose midnight starts a new day of counts, e.g. `Asia/Shanghai`.
    pub timezone: String,
}

impl Default for UsageConfig {
    fn default() -> Self {
        Self {
            daily_group_limit: 0,
            daily_user_limit: 0,
            limit_message: "Today's usage limit is reached; try again tomorrow.".into(),
            timezone: "UTC".into(),
        }
    }
}

impl UsageConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.zone().map(|_| ())
    }

    /// The time zone of `timezone`.
    pub fn zone(&self) -> Result<chrono_tz::Tz, String> {
        self.timezone.parse().map_err(|_| {
            format!(
                "usage.timezone `{}` is not an IANA time zone",
                self.timezone
            )
        })
    }

    /// Today in the configured time zone, `YYYY-MM-DD`.
    pub fn today(&self) -> String {
        let zone = self.zone().unwrap_or(chrono_tz::UTC);
        chrono::Utc::now()
            .with_timezone(&zone)
            .format("%Y-%m-%d")
            .to_string()
    }
}
