//! `chatai ext test`: one tool of the built component, run here by the server's own extension
//! host — the same engine, sandbox, limits (`extensions.*` defaults) and argument validation
//! as on a server, with every capability the manifest requests granted and a kv bucket in
//! memory (empty at every run). Compiled code is cached in `target/chatai/compiled/`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;

use super::Project;
use crate::api::error::exec_code;
use crate::config::ExtensionsConfig;
use crate::extensions::{ExtensionHost, GuestCall, KvBackend, KvQuota, Powers};
use crate::store::Store;
use crate::tools::ExecError;

/// What `chatai ext test` was asked to run.
pub struct Call<'a> {
    pub tool: &'a str,
    /// JSON text.
    pub args: &'a str,
    /// `key=value` config values.
    pub config: &'a [String],
    /// `extensions.http.allow_private` for this run.
    pub allow_private: bool,
}

/// Runs the call and prints what `POST /api/tools/call` would answer. Exits with an error (the
/// server's code and message) when the call fails.
#[allow(clippy::print_stdout)]
pub async fn run(project: &Project, wasm: &Path, call: &Call<'_>) -> anyhow::Result<()> {
    let Call {
        tool,
        args,
        config,
        allow_private,
    } = *call;
    let args: serde_json::Value = serde_json::from_str(args)
        .map_err(|err| anyhow::anyhow!("VALIDATION_ERROR: the arguments are not JSON: {err}"))?;
    anyhow::ensure!(
        args.is_object(),
        "VALIDATION_ERROR: the arguments must be a JSON object"
    );
    let mut settings = ExtensionsConfig::default();
    settings.http.allow_private = allow_private;
    // Compiled code is kept beside the build (a second run of a large Python or JavaScript
    // component starts at once), sealed like the server's own cache.
    let compiled = wasm.parent().map(|dir| dir.join("compiled"));
    let host = ExtensionHost::new(&settings, compiled, b"chatai ext test")?;
    if project.manifest.capabilities.kv {
        host.set_kv_backend(KvBackend {
            store: Store::memory()
                .await
                .context("starting the in-memory kv store")?,
            quota: KvQuota::of(&settings),
        });
    }
    let bytes = std::fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let extension = host
        .load(
            &project.name,
            project.manifest.version.clone(),
            &bytes,
            project.manifest.limits,
            project.manifest.skill,
            &settings,
        )
        .await
        .map_err(|err| anyhow::anyhow!("INVALID_COMPONENT: {err}"))?;
    extension.set_powers(powers(project, config)?);
    host.keep_compiled(&extension).await;
    host.prune_cache(std::iter::once(extension.sha256.clone()).collect())
        .await;

    let Some(spec) = extension.tools.iter().find(|spec| spec.name == tool) else {
        let names: Vec<&str> = extension.tools.iter().map(|s| s.name.as_str()).collect();
        anyhow::bail!(
            "TOOL_NOT_FOUND: `{tool}` is not a tool of {}; it has: {}",
            project.name,
            names.join(", ")
        );
    };
    let validator = jsonschema::validator_for(&spec.input_schema)
        .map_err(|err| anyhow::anyhow!("INVALID_COMPONENT: `{tool}`'s input schema: {err}"))?;
    let errors = crate::tools::argument_errors(&validator, &args);
    anyhow::ensure!(
        errors.is_empty(),
        "INVALID_ARGUMENTS: invalid arguments for `{tool}`: {}",
        errors.join("; ")
    );

    let started = Instant::now();
    let ran = host
        .call(
            &extension,
            tool,
            args.to_string(),
            GuestCall {
                call_id: uuid::Uuid::new_v4().to_string(),
                ..GuestCall::default()
            },
            &settings,
        )
        .await;
    let duration_ms = started.elapsed().as_millis();
    for line in &ran.logs {
        eprintln!("log: {line}");
    }
    match ran.result {
        Ok(output) => {
            let answer = serde_json::json!({
                "result": output.text(),
                "structured": output.structured,
                "durationMs": duration_ms,
            });
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(())
        }
        Err(err) => {
            // The code the server would answer with.
            let failed = ExecError::Tool(err);
            anyhow::bail!("{}: {failed}", exec_code(&failed).as_str())
        }
    }
}

/// Everything the manifest requests, granted; config values from `--config key=value`.
fn powers(project: &Project, config: &[String]) -> anyhow::Result<Powers> {
    let requested = &project.manifest.capabilities;
    let mut values = BTreeMap::new();
    for pair in config {
        let (key, value) = pair
            .split_once('=')
            .with_context(|| format!("--config {pair}: expected key=value"))?;
        anyhow::ensure!(
            requested.config.iter().any(|k| k == key),
            "--config {key}: extension.toml does not declare this key (`[capabilities] config = [\"{key}\"]`)"
        );
        values.insert(key.to_owned(), value.to_owned());
    }
    Ok(Powers {
        config: values,
        kv: requested.kv,
        http: Arc::new(requested.http.clone()),
    })
}
