//! `skills.*`: which tool sources the chat loop offers, and the caps of a skill run.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which sources the chat loop offers the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SkillsMode {
    /// Everything: WASM tools (builtin and custom), skills and MCP tools.
    Hybrid,
    /// Our own WASM extensions only (tools and skills); no MCP tools.
    SkillsOnly,
    /// Only tools imported from MCP servers.
    McpOnly,
}

impl SkillsMode {
    /// Whether a tool from an MCP server (`mcp`) or from our own extensions is offered.
    pub fn offers(self, from_mcp: bool) -> bool {
        match self {
            SkillsMode::Hybrid => true,
            SkillsMode::SkillsOnly => !from_mcp,
            SkillsMode::McpOnly => from_mcp,
        }
    }
}

/// Skills: the caps of one run. A skill's manifest (`[skill]` in `extension.toml`) may ask for
/// other values; each is capped by the `max_*` here.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SkillsConfig {
    /// Which sources the chat loop offers: `hybrid`, `skills-only` or `mcp-only`.
    pub mode: SkillsMode,
    /// A run's wall-clock deadline (its tool and LLM calls included); the caller's own deadline
    /// and `tools.call_timeout_ms` can cut it shorter.
    pub timeout_ms: u64,
    /// Tool calls a run may make through `skill-host.call-tool`.
    pub max_tool_calls: u32,
    /// LLM calls a run may make through `skill-host.complete`.
    pub max_llm_calls: u32,
    /// Tokens (prompt + completion) a run's LLM calls may spend.
    pub max_tokens: u64,
    /// How deep skills may run inside skills (1: a skill may not call another skill).
    pub max_depth: u8,
    /// The most a manifest may ask for: `timeout_ms`.
    pub max_timeout_ms: u64,
}

impl Default for SkillsConfig {
    fn default() -> Self {
        Self {
            mode: SkillsMode::Hybrid,
            timeout_ms: 60_000,
            max_tool_calls: 16,
            max_llm_calls: 8,
            max_tokens: 32_000,
            max_depth: 2,
            max_timeout_ms: 300_000,
        }
    }
}
