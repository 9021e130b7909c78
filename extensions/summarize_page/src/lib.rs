//! `summarize_page`: a skill that fetches a web page with the `web_fetch` tool and has the LLM
//! summarise it. Both steps run as the skill's caller: the page must be on an origin the server
//! grants `web_fetch`, and the caller's preset picks the model.

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::skill::{Message, call_tool, complete};
use chatai_sdk::{Context, Output, Skill, ToolError, export_skill, host};
use serde::Deserialize;

/// Characters of the page the model reads.
const PAGE_CHARS: u32 = 12_000;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The page to summarise, `https://…` (or `http://…`).
    pub url: String,
    /// What the summary should focus on (optional).
    #[serde(default)]
    pub focus: Option<String>,
    /// The longest summary, in words (default 120).
    #[serde(default)]
    #[schemars(range(min = 10, max = 1000))]
    pub max_words: Option<u32>,
}

pub struct SummarizePage;

impl Skill for SummarizePage {
    const NAME: &'static str = "summarize_page";
    const DESCRIPTION: &'static str =
        "Read a web page and summarise it (optionally focusing on a topic)";
    type Input = Input;

    fn run(input: Input, _ctx: &Context) -> Result<Output, ToolError> {
        host::progress(0, Some(2), &format!("fetching {}", input.url));
        let page = call_tool(
            "web_fetch",
            &serde_json::json!({ "url": input.url, "max_chars": PAGE_CHARS }),
        )
        .map_err(|err| ToolError::Failed(format!("fetching {} failed: {err}", input.url)))?;
        if page.text.trim().is_empty() {
            return Err(ToolError::Failed(format!("{} has no text", input.url)));
        }
        host::progress(1, Some(2), "summarising");
        let words = input.max_words.unwrap_or(120);
        let mut system = format!(
            "You summarise web pages. Answer with the summary only, in at most {words} words, \
             in the language of the page."
        );
        if let Some(focus) = input.focus.as_deref().filter(|f| !f.trim().is_empty()) {
            system.push_str(&format!(" Focus on: {focus}."));
        }
        let summary = complete(&[
            Message::system(system),
            Message::user(format!("Page {}:\n\n{}", input.url, page.text)),
        ])
        .map_err(|err| ToolError::Failed(format!("summarising failed: {err}")))?;
        host::progress(2, Some(2), "done");
        Ok(
            Output::text(summary.clone()).with_structured(&serde_json::json!({
                "url": input.url,
                "summary": summary,
            })),
        )
    }
}

export_skill!(SummarizePage);
