//! `{{ name }}`: a ChatAI Edge extension.
//!
//! `chatai ext build` builds it, `chatai ext test {{ tool }} '{"name": "Ada"}'` runs it here in
//! the server's sandbox, `chatai ext deploy{% if kv or http %} --grant{% endif %}` puts it on a server. `cargo test` runs the
//! unit tests natively.

use chatai_sdk::{Output, ToolError, export_tools{% if kv %}, host{% endif %}, serde_json, tool};

/// Greets someone{% if kv %} and counts the calls{% endif %}.
///
/// `#[tool]` makes this function the tool `{{ tool }}` (the struct `Greet`, exported below):
/// its parameters are the arguments, whose JSON Schema (doc comments and `#[schemars]` bounds
/// included) the server checks every call against before the tool runs.
#[tool(name = "{{ tool }}")]
pub fn greet(
    /// Who to greet.
    #[schemars(length(min = 1, max = 64), example = &"Ada")]
    name: String,
    /// How many times (1 to 5).
    #[serde(default = "once")]
    #[schemars(range(min = 1, max = 5))]
    times: u32,
) -> Result<Output, ToolError> {
    let greeting = greeting(&name, times);
{%- if kv %}
    let calls = count_call()?;
    Ok(Output::text(format!("{greeting} (call {calls})"))
        .with_structured(&serde_json::json!({ "greeting": greeting, "calls": calls })))
{%- else %}
    Ok(Output::text(greeting.clone()).with_structured(&serde_json::json!({ "greeting": greeting })))
{%- endif %}
}

fn once() -> u32 {
    1
}

/// The greeting itself: plain Rust, tested natively by `cargo test`.
fn greeting(name: &str, times: u32) -> String {
    vec![format!("Hello, {name}!"); times as usize].join(" ")
}
{% if kv %}
/// Adds one to the counter kept in the extension's kv bucket. Without the admin's grant the
/// host refuses, and its message says how to grant it.
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
/// Fetches a path of {{ http }} and reports its status and size.
#[tool(name = "{{ fetch_tool }}")]
pub fn fetch(
    /// A path on {{ http }}, e.g. `/`.
    #[schemars(example = &"/")]
    path: String,
) -> Result<Output, ToolError> {
    let url = format!("{{ http }}{path}");
    let page = chatai_sdk::http::get(&url).map_err(ToolError::Failed)?;
    Ok(Output::text(format!("{url} answered {} with {} bytes", page.status, page.body.len()))
        .with_structured(&serde_json::json!({ "status": page.status, "bytes": page.body.len() })))
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
