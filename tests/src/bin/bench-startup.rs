//! Cold start of the real binary with installed extensions (not a test; used by
//! `bench/run.sh`): the 6 builtins plus 6 custom extensions uploaded from the test fixtures,
//! on SurrealKV. Measures spawn → "ready" (the login link is printed once the server listens
//! with every extension loaded), with the compile cache warm and with it deleted.
//! Prints Markdown table rows.

use std::path::Path;
use std::time::{Duration, Instant};

use chatai_tests::binary::{Process, workdir};
use chatai_tests::{fixture, login_token_of};

const CUSTOM: [&str; 6] = [
    "raw",
    "counter",
    "keeper_a",
    "keeper_b",
    "versioned_v1",
    "misbehave",
];
const ROUNDS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = std::env::current_exe()?
        .parent()
        .map(|dir| dir.join("chatai-under-test"))
        .ok_or_else(|| anyhow::anyhow!("no binary dir"))?;
    let binary = binary.to_string_lossy().into_owned();
    let (_dir, cwd) = workdir();
    let env = [("CHATAI_SERVER__PORT", "0"), ("RUST_LOG", "warn")];
    let first = Process::start(&binary, &cwd, &env);
    install(&first).await?;
    first.terminate();

    let cache = cwd.join("data/cache/wasm");
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for _ in 0..ROUNDS {
        warm.push(time_start(&binary, &cwd, &env));
        std::fs::remove_dir_all(&cache)?;
        cold.push(time_start(&binary, &cwd, &env));
    }
    let extensions = 6 + CUSTOM.len();
    let out = format!(
        "| cold start to ready, {extensions} extensions (6 builtin + {} custom), compile cache warm | median {} ms (min {} ms) over {ROUNDS} starts (target ≤ 300 ms) |\n\
         | same, compile cache deleted (every component compiled) | median {} ms (min {} ms) |\n",
        CUSTOM.len(),
        median(&mut warm),
        min(&warm),
        median(&mut cold),
        min(&cold),
    );
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}

/// Logs in and uploads the fixtures; stops the server.
async fn install(process: &Process) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let login: serde_json::Value = client
        .post(format!("{}/api/auth/login", process.base))
        .json(&serde_json::json!({ "token": login_token_of(&process.login_url) }))
        .send()
        .await?
        .json()
        .await?;
    let jwt = login["data"]["token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("login failed: {login}"))?;
    for name in CUSTOM {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(fixture(name)).file_name(format!("{name}.wasm")),
        );
        let response = client
            .post(format!("{}/api/tools/custom", process.base))
            .bearer_auth(jwt)
            .multipart(form)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == reqwest::StatusCode::CREATED,
            "upload of {name}: {}",
            response.text().await?
        );
    }
    Ok(())
}

fn time_start(binary: &str, cwd: &Path, env: &[(&str, &str)]) -> Duration {
    let started = Instant::now();
    let process = Process::start(binary, cwd, env);
    let ready = started.elapsed();
    process.terminate();
    ready
}

fn median(samples: &mut [Duration]) -> u128 {
    samples.sort();
    samples[samples.len() / 2].as_millis()
}

fn min(samples: &[Duration]) -> u128 {
    samples.iter().min().map_or(0, Duration::as_millis)
}
