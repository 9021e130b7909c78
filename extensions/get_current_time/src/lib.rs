//! `get_current_time`: the current date and time in a time zone.

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::{Context, Output, Tool, ToolError, export_tools};
use chrono::Utc;
use serde::Deserialize;

pub struct GetCurrentTime;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// IANA time zone, e.g. `Asia/Shanghai` or `Europe/Berlin`. Default: UTC.
    #[serde(default)]
    timezone: Option<String>,
}

impl Tool for GetCurrentTime {
    const NAME: &'static str = "get_current_time";
    const DESCRIPTION: &'static str =
        "Current date, time and weekday in a time zone (IANA name, default UTC).";
    const CATEGORY: Option<&'static str> = Some("time");
    type Args = Args;

    fn call(args: Args, _ctx: &Context) -> Result<Output, ToolError> {
        let name = args.timezone.unwrap_or_else(|| "UTC".to_owned());
        let tz: chrono_tz::Tz = name
            .parse()
            .map_err(|_| ToolError::InvalidArgs(format!("unknown time zone `{name}`")))?;
        let now = Utc::now().with_timezone(&tz);
        let text = format!("{} ({name})", now.format("%Y-%m-%d %H:%M:%S %A"));
        Ok(Output::text(text).with_structured(&serde_json::json!({
            "timezone": name,
            "iso": now.to_rfc3339(),
            "unix": now.timestamp(),
            "weekday": now.format("%A").to_string(),
        })))
    }
}

export_tools!(GetCurrentTime);
