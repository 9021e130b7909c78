//! `{{ name }}`: a ChatAI Edge extension.
//!
//! `chatai ext build` builds it, `chatai ext test {{ tool }} '{"name": "Ada"}'` runs it here in
//! the server's sandbox, `chatai ext deploy{% if kv or http %} --grant{% endif %}` puts it on a server. `cargo test` runs the
//! unit tests natively.

use chatai_sdk::schemars::{self, JsonSchema};
use chatai_sdk::{Context, Output, Tool, ToolError, export_tools{% if kv %}, host{% endif %}, serde_json};
use serde::Deserialize;

/// The arguments of `{{ tool }}`. The server validates every call against their JSON Schema
/// (derived from this struct, doc comments included) before the tool runs.
#[derive(Deserialize, JsonSchema)]
pub struct Args {
    /// Who to greet.
    #[schemars(length(min = 1, max = 64), example = &"Ada")]
    name: String,
    /// How many times (1 to 5).
    #[serde(default = "once")]
    #[schemars(range(min = 1, max = 5))]
    times: u32,
}

fn once() -> u32 {
    1
}

/// Greets someone{% if kv %}, and counts its calls in the extension's kv bucket{% endif %}.
pub struct Greet;

impl Tool for Greet {
    const NAME: &'static str = "{{ tool }}";
    const DESCRIPTION: &'static str = "Greets someone{% if kv %} and counts the calls{% endif %}";
    type Args = Args;

    fn call(args: Args, _ctx: &Context) -> Result<Output, ToolError> {
        let greeting = greeting(&args.name, args.times);
{%- if kv %}
        let calls = count_call()?;
        Ok(Output::text(format!("{greeting} (call {calls})"))
            .with_structured(&serde_json::json!({ "greeting": greeting, "calls": calls })))
{%- else %}
        Ok(Output::text(greeting.clone())
            .with_structured(&serde_json::json!({ "greeting": greeting })))
{%- endif %}
    }
}

/// The greeting itself: plain Rust, tested natively by `cargo test`.
fn greeting(name: &str, times: u32) -> String {
    vec![format!("Hello, {name}!"); times as usize].join(" ")
}
{% if kv %}
/// Adds one to the counter kept in the kv bucket. Without the admin's grant the host refuses
/// and says how to grant it.
fn count_call() -> Result<u64, ToolError> {
    let calls = host::kv::get("calls")
        .map_err(ToolError::Denied)?
        .and_then(|bytes| String::from_utf8(bytes).ok()?.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    host::kv::set("calls", calls.to_string().as_bytes()).map_err(ToolError::Failed)?;
    Ok(calls)
}
{% endif %}
{%- if http %}
/// The arguments of `{{ fetch_tool }}`.
#[derive(Deserialize, JsonSchema)]
pub struct FetchArgs {
    /// A path on {{ http }}, e.g. `/`.
    #[schemars(example = &"/")]
    path: String,
}

/// Fetches a page from the granted origin and reports its status and size.
pub struct Fetch;

impl Tool for Fetch {
    const NAME: &'static str = "{{ fetch_tool }}";
    const DESCRIPTION: &'static str = "Fetches a path of {{ http }}";
    type Args = FetchArgs;

    fn call(args: FetchArgs, _ctx: &Context) -> Result<Output, ToolError> {
        let url = format!("{{ http }}{}", args.path);
        let page = chatai_sdk::http::get(&url).map_err(ToolError::Failed)?;
        Ok(Output::text(format!("{} answered {} with {} bytes", url, page.status, page.body.len()))
            .with_structured(&serde_json::json!({ "status": page.status, "bytes": page.body.len() })))
    }
}
{% endif %}
export_tools!(Greet{% if http %}, Fetch{% endif %});

#[cfg(test)]
mod tests {
    #[test]
    fn greets_as_often_as_asked() {
        assert_eq!(super::greeting("Ada", 2), "Hello, Ada! Hello, Ada!");
    }
}
