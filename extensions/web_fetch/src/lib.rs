//! `web_fetch`: GET a web page and return it as text (HTML rendered to Markdown-like text by
//! `html2text`), cut at `max_chars`. Reaches only the origins the server's config grants
//! (`extensions.web_fetch_origins`); the host refuses private and metadata addresses.

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::{Context, Output, Tool, ToolError, export_tools, http};
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
pub struct Fetch {
    /// The page, `https://…` (or `http://…`).
    pub url: String,
    /// Longest text returned, in characters (default 20,000, at most 100,000).
    #[serde(default)]
    pub max_chars: Option<u32>,
}

pub struct WebFetch;

impl Tool for WebFetch {
    const NAME: &'static str = "web_fetch";
    const DESCRIPTION: &'static str =
        "Fetch a web page (GET) and return its text; HTML is rendered as Markdown-like text";
    const CATEGORY: Option<&'static str> = Some("web");
    type Args = Fetch;

    fn call(args: Fetch, _ctx: &Context) -> Result<Output, ToolError> {
        let limit = args.max_chars.unwrap_or(20_000).min(100_000) as usize;
        let response = http::get(&args.url)
            .map_err(|err| ToolError::Failed(format!("{}: {err}", args.url)))?;
        if !(200..300).contains(&response.status) {
            return Err(ToolError::Failed(format!(
                "{} answered HTTP {}",
                response.url, response.status
            )));
        }
        let is_html = response
            .header("content-type")
            .is_some_and(|t| t.contains("html"));
        let mut text = if is_html {
            html2text::from_read(response.body.as_slice(), 100)
                .map_err(|err| ToolError::Failed(format!("cannot render the page: {err}")))?
        } else {
            response.text()
        };
        let truncated = text.chars().count() > limit;
        if truncated {
            text = text.chars().take(limit).collect();
        }
        Ok(
            Output::text(text.clone()).with_structured(&serde_json::json!({
                "url": response.url,
                "status": response.status,
                "truncated": truncated,
                "chars": text.chars().count(),
            })),
        )
    }
}

export_tools!(WebFetch);
