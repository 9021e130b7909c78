//! The MCP recovery benchmark of `bench/run.sh` (step 10; issue 11), not a test:
//!
//! ```text
//! bench-mcp-recovery <base-url> <admin-jwt> <mcp-test-server binary>
//! ```
//!
//! Adds `mcp-test-server` as a stdio server, then `BENCH_MCP_KILLS` (20) times: `kill -9` of
//! its process, and the time until `GET /api/mcp/servers/:name` shows `error` (polled every
//! 1 ms) and then `connected` again (the supervisor's first back-off is 0.5 s). Prints the
//! Markdown table rows.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, jwt, server_bin] = args.as_slice() else {
        bail!("usage: bench-mcp-recovery <base-url> <admin-jwt> <mcp-test-server>");
    };
    let kills: usize = std::env::var("BENCH_MCP_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let client = reqwest::Client::new();
    let status = client
        .post(format!("{base}/api/mcp/servers"))
        .bearer_auth(jwt)
        .json(&json!({"name": "victim", "type": "stdio", "command": server_bin}))
        .send()
        .await?
        .status();
    if !status.is_success() {
        bail!("adding the server: {status}");
    }
    let detail = |client: reqwest::Client| async move {
        let body: Value = client
            .get(format!("{base}/api/mcp/servers/victim"))
            .bearer_auth(jwt)
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(body["data"].clone())
    };
    let wait_for = |want: &'static str| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            loop {
                let server = detail(client.clone()).await?;
                if server["status"] == want {
                    return anyhow::Ok((started.elapsed(), server));
                }
                if started.elapsed() > LIMIT {
                    bail!("no `{want}` within {LIMIT:?}: {server}");
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    };
    let (_, mut server) = wait_for("connected").await?;
    let mut to_error = Vec::new();
    let mut to_connected = Vec::new();
    for _ in 0..kills {
        let pid = server["pid"].as_u64().context("pid")?;
        let killed = Instant::now();
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()?;
        wait_for("error").await?;
        to_error.push(killed.elapsed());
        let (_, connected) = wait_for("connected").await?;
        to_connected.push(killed.elapsed());
        server = connected;
    }
    let rows = [
        format!(
            "| MCP stdio server `kill -9` → status `error` ({kills} kills, polled every 1 ms) | p50 {}, max {} (target ≤ 1 s) |",
            ms(percentile(&mut to_error, 50)),
            ms(percentile(&mut to_error, 100))
        ),
        format!(
            "| MCP stdio server `kill -9` → `connected` again with its tools (first back-off 0.5 s) | p50 {}, max {} |",
            ms(percentile(&mut to_connected, 50)),
            ms(percentile(&mut to_connected, 100))
        ),
    ];
    let table = format!("{}\n", rows.join("\n"));
    std::io::Write::write_all(&mut std::io::stdout(), table.as_bytes())?;
    Ok(())
}

fn percentile(values: &mut [Duration], p: usize) -> Duration {
    values.sort();
    let index = (values.len() * p / 100).min(values.len().saturating_sub(1));
    values.get(index).copied().unwrap_or_default()
}

fn ms(value: Duration) -> String {
    format!("{:.1} ms", value.as_secs_f64() * 1000.0)
}
