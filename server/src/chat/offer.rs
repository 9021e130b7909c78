//! Which tools a chat offers the model: those of the sources `skills.mode` names that the
//! executor would run for this user (enabled, not dangerous unless allowed, admin-only only for
//! `chat.admin_users`), narrowed by the preset's and the group's lists, by name, at most
//! `chat.max_tools`. The executor checks its part again
//! when a call runs; the turn refuses a call to a tool that was not offered.

use crate::chat::presets::Preset;
use crate::config::Config;
use crate::groups::Effective;
use crate::llm::ToolDef;
use crate::tools::executor::{is_admin_only, is_dangerous, is_enabled};
use crate::tools::{Source, ToolRegistry};

pub fn offered(
    registry: &ToolRegistry,
    config: &Config,
    preset: &Preset,
    group: Option<&Effective>,
    admin: bool,
) -> Vec<ToolDef> {
    let tools_config = &config.tools;
    let mut tools: Vec<ToolDef> = registry
        .list()
        .into_iter()
        .filter(|tool| config.skills.mode.offers(tool.source == Source::Mcp))
        .filter(|tool| is_enabled(tool, tools_config))
        .filter(|tool| !is_dangerous(tool, tools_config) || tools_config.allow_dangerous)
        .filter(|tool| admin || !is_admin_only(tool, tools_config))
        .filter(|tool| preset_permits(preset, &tool.name))
        .filter(|tool| group.is_none_or(|group| group.permits(&tool.name)))
        .map(|tool| ToolDef {
            name: tool.name.clone(),
            description: tool.spec.description.clone(),
            parameters: tool.spec.input_schema.clone(),
        })
        .collect();
    tools.sort_by(|a, b| a.name.cmp(&b.name));
    tools.truncate(config.chat.max_tools as usize);
    tools
}

/// Whether the preset's tool lists let a tool be used (by the model, or by a skill it runs).
pub fn preset_permits(preset: &Preset, tool: &str) -> bool {
    (preset.tools.allowed.is_empty() || preset.tools.allowed.iter().any(|t| t == tool))
        && !preset.tools.disabled.iter().any(|t| t == tool)
}
