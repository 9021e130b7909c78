//! `chatai ext deploy`: upload the component with its `extension.toml`
//! (`POST /api/tools/custom`, an upgrade when installed), grant what the manifest requests
//! (`PUT /api/tools/custom/:name`, with `--grant`), and print a ready `curl` of
//! `POST /api/tools/call` for each tool. The API key is never printed: the curl reads it from
//! `$CHATAI_API_KEY`.

use std::path::Path;

use anyhow::Context as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::Project;

/// Deploys the project's built component to `server`.
#[allow(clippy::print_stdout)]
pub async fn deploy(
    project: &Project,
    wasm: &Path,
    server: &str,
    api_key: &str,
    grant: bool,
) -> anyhow::Result<()> {
    let server = server.trim_end_matches('/');
    let api = Api {
        client: reqwest::Client::new(),
        server,
        api_key,
    };
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(format!("{}.wasm", project.name)),
        )
        .text("manifest", project.manifest_text.clone());
    let upload = api
        .request(Method::POST, "/api/tools/custom")
        .multipart(form)
        .send()
        .await
        .with_context(|| format!("cannot reach {server} (is the server running? --server)"))?;
    let (status, extension) = api.answer(upload).await?;
    let name = extension["name"]
        .as_str()
        .unwrap_or(&project.name)
        .to_owned();
    println!(
        "{} {name} on {server}",
        if status == StatusCode::CREATED {
            "installed"
        } else {
            "upgraded"
        }
    );

    let pending = &extension["pendingGrants"];
    if grant {
        let requested = &extension["capabilities"]["requested"];
        let response = api
            .request(Method::PUT, &format!("/api/tools/custom/{name}"))
            .header("content-type", "application/json")
            .body(json!({ "grants": requested }).to_string())
            .send()
            .await?;
        let (_, changed) = api.answer(response).await?;
        println!(
            "granted: {}",
            describe(&changed["capabilities"]["granted"]).unwrap_or_else(|| "nothing".into())
        );
    } else if let Some(waiting) = describe(pending) {
        println!(
            "waiting for an admin's grant: {waiting} (`chatai ext deploy --grant` with an admin \
             key, or PUT {server}/api/tools/custom/{name})"
        );
    }

    println!();
    println!("call it:");
    for tool in extension["tools"].as_array().into_iter().flatten() {
        let Some(tool_name) = tool["name"].as_str() else {
            continue;
        };
        let response = api
            .request(Method::GET, &format!("/api/tools/{tool_name}"))
            .send()
            .await?;
        let (_, view) = api.answer(response).await?;
        let body = json!({ "name": tool_name, "args": example_args(&view["parameters"]) });
        println!(
            "curl -sS {server}/api/tools/call -H \"X-API-Key: $CHATAI_API_KEY\" \
             -H 'content-type: application/json' -d '{}'",
            body.to_string().replace('\'', "'\\''")
        );
    }
    Ok(())
}

/// The server and the key.
struct Api<'a> {
    client: reqwest::Client,
    server: &'a str,
    api_key: &'a str,
}

impl Api<'_> {
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.server))
            .header("x-api-key", self.api_key)
    }

    /// The envelope's `data`, or the server's error code and message.
    async fn answer(&self, response: reqwest::Response) -> anyhow::Result<(StatusCode, Value)> {
        let status = response.status();
        let text = response.bytes().await?;
        let body: Value = serde_json::from_slice(&text)
            .with_context(|| format!("{} answered {status} without JSON", self.server))?;
        if !status.is_success() {
            anyhow::bail!(
                "{} {}: {}",
                status.as_u16(),
                body["code"].as_str().unwrap_or("ERROR"),
                body["error"].as_str().unwrap_or("(no message)")
            );
        }
        Ok((status, body["data"].clone()))
    }
}

/// `kv, http https://…, config units` — or `None` when nothing is in the set.
fn describe(set: &Value) -> Option<String> {
    let mut parts = Vec::new();
    if set["kv"] == true {
        parts.push("kv".to_owned());
    }
    for origin in set["http"].as_array().into_iter().flatten() {
        parts.push(format!("http {}", origin.as_str().unwrap_or_default()));
    }
    for key in set["config"].as_array().into_iter().flatten() {
        parts.push(format!("config {}", key.as_str().unwrap_or_default()));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Arguments that satisfy a schema's required properties: each one's first `examples` entry,
/// else its `default`, else a value of its type within its bounds.
fn example_args(schema: &Value) -> Value {
    let mut args = serde_json::Map::new();
    for name in schema["required"].as_array().into_iter().flatten() {
        let Some(name) = name.as_str() else { continue };
        let property = &schema["properties"][name];
        let value = property["examples"]
            .get(0)
            .or_else(|| property.get("default"))
            .cloned()
            .unwrap_or_else(|| example_of(property));
        args.insert(name.to_owned(), value);
    }
    Value::Object(args)
}

fn example_of(property: &Value) -> Value {
    let kind = match &property["type"] {
        Value::Array(kinds) => kinds.first().and_then(Value::as_str).unwrap_or("string"),
        kind => kind.as_str().unwrap_or("string"),
    };
    match kind {
        "integer" | "number" => property.get("minimum").cloned().unwrap_or(json!(1)),
        "boolean" => json!(false),
        "array" => json!([]),
        "object" => example_args(property),
        _ => property["enum"].get(0).cloned().unwrap_or(json!("example")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_arguments_fill_the_required_properties_within_their_bounds() {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "examples": ["Ada"]},
                "times": {"type": "integer", "minimum": 2, "default": 3},
                "level": {"type": "integer", "minimum": 5},
                "unit": {"type": "string", "enum": ["m", "km"]},
                "flag": {"type": ["boolean", "null"]},
                "optional": {"type": "string"}
            },
            "required": ["name", "times", "level", "unit", "flag"]
        });
        assert_eq!(
            example_args(&schema),
            json!({"name": "Ada", "times": 3, "level": 5, "unit": "m", "flag": false})
        );
    }

    #[test]
    fn pending_grants_are_described_in_words() {
        assert_eq!(
            describe(&json!({"kv": true, "http": ["https://a.example"], "config": ["units"]}))
                .as_deref(),
            Some("kv, http https://a.example, config units")
        );
        assert_eq!(
            describe(&json!({"kv": false, "http": [], "config": []})),
            None
        );
    }
}
