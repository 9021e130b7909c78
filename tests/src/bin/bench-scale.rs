//! The scale-out benchmark of `bench/run.sh` (step 11), not a test:
//!
//! ```text
//! bench-scale <chatai binary>
//! ```
//!
//! A real `surreal` server (`scripts/test-deps.sh` builds it) and two real `chatai` processes
//! on it, on this one machine:
//! 1. **Propagation**: `BENCH_SCALE_CHANGES` (200) config changes made on A, each timed from
//!    the moment A is asked until B's `GET /api/system/events` delivers its `config_changed`
//!    (so it includes A's write); and as many API keys created on A, timed until B accepts them.
//! 2. **Throughput** with one instance and with two, on the remote database: `POST
//!    /api/tools/call` (uuid) with wrk -c64 on A alone, then wrk -c32 on each of A and B at
//!    once; `POST /api/chat` (`bench/chat.lua`, an upstream answering after 20 ms, in this
//!    process) with wrk -c128 on A alone, then wrk -c64 on each. Both instances share the
//!    machine's 2 cores with the database and wrk, so the ratio says what a second instance
//!    costs or gains here, not what a second machine would.
//!
//! Prints the Markdown table rows.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chatai_tests::binary::{Process, workdir};
use chatai_tests::sse::SseReader;
use chatai_tests::surreal::{PASS, SurrealServer, USER};
use chatai_tests::upstream::{Protocol, Step, Upstream};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, chatai] = args.as_slice() else {
        bail!("usage: bench-scale <chatai binary>");
    };
    let changes = env_number("BENCH_SCALE_CHANGES", 200);
    let seconds = env_number("BENCH_SECONDS", 10);
    let db = SurrealServer::start();
    let url = db.url();
    let env = [
        ("RUST_LOG", "warn"),
        ("CHATAI_SERVER__PORT", "0"),
        ("CHATAI_RATE_LIMIT__PER_MINUTE", "0"),
        ("CHATAI_LOG__LEVEL", "warn"),
        ("CHATAI_DATABASE__URL", url.as_str()),
        ("CHATAI_DATABASE__USERNAME", USER),
        ("CHATAI_DATABASE__PASSWORD", PASS),
    ];
    let (_dir_a, cwd_a) = workdir();
    let (_dir_b, cwd_b) = workdir();
    let a = Process::start(chatai, &cwd_a, &env);
    let client = reqwest::Client::new();
    let jwt = login(&client, &a).await?;
    let admin = Admin {
        client: client.clone(),
        jwt: jwt.clone(),
    };
    let key = admin
        .post(
            &a.base,
            "/api/auth/api-keys",
            json!({"label": "bench", "scopes": ["tools:call", "chat", "read"]}),
        )
        .await?["data"]["key"]
        .as_str()
        .context("key")?
        .to_owned();
    let upstream = Upstream::start(Protocol::Openai).await;
    upstream.script(
        [],
        Step::After(Duration::from_millis(20), Box::new(Step::Text("ok".into()))),
    );
    admin
        .post(
            &a.base,
            "/api/channels",
            json!({"name": "bench", "type": "openai", "baseUrl": upstream.base_url,
                   "apiKey": "sk-bench-0001", "model": upstream.model, "timeoutMs": 30000,
                   "maxRetries": 0}),
        )
        .await?;

    let mut rows = Vec::new();
    let tools_one = wrk(
        &[(&a.base, 64)],
        "bench/tools_call.lua",
        "/api/tools/call",
        &key,
        seconds,
    )
    .await?;
    let chat_one = wrk(
        &[(&a.base, 128)],
        "bench/chat.lua",
        "/api/chat",
        &key,
        seconds,
    )
    .await?;

    let b = Process::start(chatai, &cwd_b, &env);
    rows.extend(propagation(&admin, &a.base, &b.base, changes).await?);
    let tools_two = wrk(
        &[(&a.base, 32), (&b.base, 32)],
        "bench/tools_call.lua",
        "/api/tools/call",
        &key,
        seconds,
    )
    .await?;
    let chat_two = wrk(
        &[(&a.base, 64), (&b.base, 64)],
        "bench/chat.lua",
        "/api/chat",
        &key,
        seconds,
    )
    .await?;
    rows.push(format!(
        "| `POST /api/tools/call` (uuid) on the remote DB: 1 instance (wrk -c64) / 2 instances (wrk -c32 on each) | {tools_one:.0} / {tools_two:.0} req/s, ratio 2÷1 = {:.2} |",
        tools_two / tools_one
    ));
    rows.push(format!(
        "| `POST /api/chat` (upstream 20 ms) on the remote DB: 1 instance (wrk -c128) / 2 instances (wrk -c64 on each) | {chat_one:.0} / {chat_two:.0} req/s, ratio 2÷1 = {:.2} |",
        chat_two / chat_one
    ));
    drop((a, b, db));
    let table = format!("{}\n", rows.join("\n"));
    std::io::Write::write_all(&mut std::io::stdout(), table.as_bytes())?;
    Ok(())
}

struct Admin {
    client: reqwest::Client,
    jwt: String,
}

impl Admin {
    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Value,
    ) -> anyhow::Result<Value> {
        let answer = self
            .client
            .request(method, url)
            .bearer_auth(&self.jwt)
            .json(&body)
            .send()
            .await?;
        let status = answer.status();
        let body: Value = answer.json().await?;
        if !status.is_success() {
            bail!("{status}: {body}");
        }
        Ok(body)
    }

    async fn post(&self, base: &str, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, format!("{base}{path}"), body)
            .await
    }
}

async fn login(client: &reqwest::Client, process: &Process) -> anyhow::Result<String> {
    let token = chatai_tests::login_token_of(&process.login_url);
    let body: Value = client
        .post(format!("{}/api/auth/login", process.base))
        .json(&json!({ "token": token }))
        .send()
        .await?
        .json()
        .await?;
    Ok(body["data"]["token"].as_str().context("jwt")?.to_owned())
}

/// Delays from a change asked of A until B applies it: config (B's SSE event) and API keys
/// (B accepts the key; polled every 1 ms).
async fn propagation(
    admin: &Admin,
    a: &str,
    b: &str,
    changes: usize,
) -> anyhow::Result<Vec<String>> {
    let mut events = SseReader::open(admin.client.get(format!(
        "{b}/api/system/events?types=config_changed&token={}",
        admin.jwt
    )))
    .await;
    let mut config = Vec::with_capacity(changes);
    for i in 0..changes {
        let started = Instant::now();
        admin
            .send(
                reqwest::Method::PUT,
                format!("{a}/api/config"),
                json!({"path": "trigger.prefix", "value": format!("!p{i}")}),
            )
            .await?;
        loop {
            let (name, _) = events
                .next(Duration::from_secs(5))
                .await
                .context("B's event stream ended")?;
            if name == "config_changed" {
                break;
            }
        }
        config.push(started.elapsed());
    }
    let mut keys = Vec::with_capacity(changes);
    for _ in 0..changes {
        let started = Instant::now();
        let key = admin
            .post(
                a,
                "/api/auth/api-keys",
                json!({"label": "p", "scopes": ["read"]}),
            )
            .await?["data"]["key"]
            .as_str()
            .context("key")?
            .to_owned();
        loop {
            let status = admin
                .client
                .get(format!("{b}/api/auth/verify"))
                .header("X-API-Key", &key)
                .send()
                .await?
                .status();
            if status.is_success() {
                break;
            }
            if started.elapsed() > Duration::from_secs(5) {
                bail!("B did not accept a key made on A within 5 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        keys.push(started.elapsed());
    }
    Ok(vec![
        format!(
            "| config change on A → `config_changed` on B's SSE ({changes} changes, A's write included) | p50 {}, p99 {}, max {} |",
            ms(percentile(&mut config, 50.0)),
            ms(percentile(&mut config, 99.0)),
            ms(percentile(&mut config, 100.0)),
        ),
        format!(
            "| API key created on A → accepted by B ({changes} keys, B polled every 1 ms) | p50 {}, p99 {}, max {} |",
            ms(percentile(&mut keys, 50.0)),
            ms(percentile(&mut keys, 99.0)),
            ms(percentile(&mut keys, 100.0)),
        ),
    ])
}

/// Requests per second, summed over one wrk per `(base, connections)` run at once.
async fn wrk(
    targets: &[(&String, usize)],
    script: &str,
    path: &str,
    key: &str,
    seconds: usize,
) -> anyhow::Result<f64> {
    // Each wrk its own users (chat.lua), so no conversation runs on two instances at once.
    let runs = targets.iter().enumerate().map(|(i, (base, connections))| {
        tokio::process::Command::new("wrk")
            .args(["-t1", &format!("-c{connections}"), &format!("-d{seconds}s")])
            .args(["-s", script, &format!("{base}{path}")])
            .env("BENCH_KEY", key)
            .env("BENCH_USERS", format!("load{i}"))
            .output()
    });
    let mut total = 0.0;
    for output in futures_util::future::join_all(runs).await {
        let output = String::from_utf8_lossy(&output.context("wrk")?.stdout).into_owned();
        if output.contains("Non-2xx") {
            bail!("wrk saw failures: {output}");
        }
        total += output
            .lines()
            .find_map(|line| line.trim_start().strip_prefix("Requests/sec:"))
            .and_then(|n| n.trim().parse::<f64>().ok())
            .context("wrk printed no rate")?;
    }
    Ok(total)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((p / 100.0) * (samples.len() as f64 - 1.0)).round() as usize;
    samples[index.min(samples.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
