//! The chat benchmark of `bench/run.sh` (step 8; QUALITY.md, chat overhead), not a test:
//!
//! ```text
//! bench-chat <base-url> <admin-jwt> <server-pid>
//! ```
//!
//! Against a real server (started by `run.sh`), with a local OpenAI-protocol test upstream in
//! this process:
//! 1. **Overhead**: `POST /api/chat` (new conversation each, tools offered) against a direct call
//!    to the same upstream with the very body the server sent it, interleaved one after the
//!    other at concurrency 1; p50 and p99 of each and their difference.
//! 2. **Streaming time-to-first-token**: the same with `POST /api/chat/stream` against a direct
//!    streamed call; the time until the first content arrives.
//! 3. **Concurrent streams**: `BENCH_CHAT_STREAMS` (1,000) streams opened at once, each a
//!    10-token answer trickled 200 ms apart; a stream stalled if it did not finish or waited
//!    more than 1 s between two tokens. The wait for the first token (which includes the burst
//!    of 1,000 turns starting together) is reported apart.
//! 4. **Throughput**: wrk -c256 on `POST /api/chat` (`bench/chat.lua`, a new user each request)
//!    with an upstream that thinks 20 ms per answer, and the server's RSS sampled each second.
//!
//! Prints the Markdown table rows.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chatai_tests::upstream::{Protocol, Step, Upstream};
use serde_json::{Value, json};

/// A token of the trickled answers: streams must see one at least this often.
const TRICKLE: Duration = Duration::from_millis(200);
const STALL: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, jwt, pid] = args.as_slice() else {
        bail!("usage: bench-chat <base-url> <admin-jwt> <server-pid>");
    };
    let requests = env_number("BENCH_CHAT_REQUESTS", 2000);
    let streams = env_number("BENCH_CHAT_STREAMS", 1000);
    let seconds = env_number("BENCH_SECONDS", 10);

    let upstream = Upstream::start(Protocol::Openai).await;
    let client = reqwest::Client::new();
    let bench = Bench::setup(&client, base, jwt, &upstream).await?;

    // BENCH_CHAT_PARTS picks parts (e.g. `1` while profiling the server).
    let parts = std::env::var("BENCH_CHAT_PARTS").unwrap_or_else(|_| "1,2,3,4".into());
    let want = |part: &str| parts.split(',').any(|p| p == part);
    let mut rows = Vec::new();
    if want("1") {
        rows.push(bench.overhead(&upstream, requests).await?);
    }
    if want("2") {
        rows.push(bench.first_token(&upstream, requests).await?);
    }
    if want("3") {
        rows.push(bench.concurrent_streams(&upstream, streams).await?);
    }
    if want("4") {
        rows.push(bench.throughput(&upstream, pid, seconds).await?);
    }
    let table = format!("{}\n", rows.join("\n"));
    std::io::Write::write_all(&mut std::io::stdout(), table.as_bytes())?;
    Ok(())
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Bench {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Bench {
    /// A channel to the upstream and an API key of scope `chat`.
    async fn setup(
        client: &reqwest::Client,
        base: &str,
        jwt: &str,
        upstream: &Upstream,
    ) -> anyhow::Result<Self> {
        let admin = |path: &str, body: Value| {
            client
                .post(format!("{base}{path}"))
                .bearer_auth(jwt)
                .json(&body)
                .send()
        };
        let channel = admin(
            "/api/channels",
            json!({"name": "bench", "type": "openai", "baseUrl": upstream.base_url,
                   "apiKey": "sk-bench-0001", "model": upstream.model, "timeoutMs": 30000,
                   "maxRetries": 0}),
        )
        .await?;
        if !channel.status().is_success() {
            bail!("channel: {}", channel.text().await?);
        }
        let key: Value = admin(
            "/api/auth/api-keys",
            json!({"label": "bench-chat", "scopes": ["chat"]}),
        )
        .await?
        .json()
        .await?;
        let key = key["data"]["key"]
            .as_str()
            .context("no API key in the answer")?
            .to_owned();
        Ok(Self {
            client: client.clone(),
            base: base.to_owned(),
            key,
        })
    }

    fn chat(&self, path: &str, user: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header("x-api-key", &self.key)
            .json(&json!({"message": "hello there", "userId": user}))
    }

    /// The request the server sent the upstream for one chat, to replay directly.
    async fn captured(&self, upstream: &Upstream, path: &str) -> anyhow::Result<Direct> {
        upstream.record(true);
        let before = upstream.requests().len();
        let answer = self.chat(path, "bench-capture").send().await?;
        if !answer.status().is_success() {
            bail!("{path}: {}", answer.text().await?);
        }
        answer.bytes().await?;
        upstream.record(false);
        let sent = upstream
            .requests()
            .into_iter()
            .nth(before)
            .context("the upstream received nothing")?;
        let origin = upstream.base_url.trim_end_matches("/v1");
        let mut request = self
            .client
            .post(format!("{origin}{}", sent.path))
            .body(sent.body.to_string());
        for (name, value) in &sent.headers {
            if !matches!(name.as_str(), "host" | "content-length") {
                request = request.header(name, value);
            }
        }
        Ok(Direct(request))
    }

    /// 1. Chat against a direct call, interleaved, concurrency 1.
    async fn overhead(&self, upstream: &Upstream, n: usize) -> anyhow::Result<String> {
        upstream.script([], Step::Text("ok".into()));
        let direct = self.captured(upstream, "/api/chat").await?;
        let (mut via, mut straight) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n + n / 10 {
            let start = Instant::now();
            let answer = direct.send().await?;
            answer.bytes().await?;
            let direct_time = start.elapsed();
            let start = Instant::now();
            let answer = self.chat("/api/chat", &format!("bench-{i}")).send().await?;
            if !answer.status().is_success() {
                bail!("chat: {}", answer.text().await?);
            }
            answer.bytes().await?;
            // The first tenth warms both paths up.
            if i >= n / 10 {
                straight.push(direct_time);
                via.push(start.elapsed());
            }
        }
        Ok(format!(
            "| chat overhead: `POST /api/chat` (tools offered, new conversation, stored) minus a direct call to the same upstream with the same body, concurrency 1, {n} each | {} |",
            compare(&mut via, &mut straight, "goal ≤ 0.3 ms / ≤ 1 ms"),
        ))
    }

    /// 2. Time to the first content: `/api/chat/stream` against a direct streamed call.
    async fn first_token(&self, upstream: &Upstream, n: usize) -> anyhow::Result<String> {
        upstream.script([], Step::Text("ok".into()));
        let direct = self.captured(upstream, "/api/chat/stream").await?;
        let (mut via, mut straight) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n + n / 10 {
            let start = Instant::now();
            let answer = direct.send().await?;
            let direct_time = until(answer, start, has_token).await?;
            let start = Instant::now();
            let answer = self
                .chat("/api/chat/stream", &format!("bench-stream-{i}"))
                .send()
                .await?;
            let via_time = until(answer, start, |text| text.contains("event: content")).await?;
            if i >= n / 10 {
                straight.push(direct_time);
                via.push(via_time);
            }
        }
        Ok(format!(
            "| streaming: added time to the first token, `POST /api/chat/stream` minus a direct streamed call, concurrency 1, {n} each | {} |",
            compare(&mut via, &mut straight, "goal ≤ 0.3 ms"),
        ))
    }

    /// 3. Many streams at once, each trickled; none may stall.
    async fn concurrent_streams(&self, upstream: &Upstream, n: usize) -> anyhow::Result<String> {
        let tokens = "0123456789";
        upstream.script([], Step::Trickle(tokens.into(), TRICKLE));
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let request = self.chat("/api/chat/stream", &format!("bench-many-{i}"));
            tasks.spawn(async move { one_stream(request, tokens.len()).await });
        }
        let (mut held, mut worst, mut failures) = (0, Duration::ZERO, Vec::new());
        let mut first = Vec::with_capacity(n);
        while let Some(outcome) = tasks.join_next().await {
            match outcome? {
                Ok((first_token, gap)) => {
                    worst = worst.max(gap);
                    first.push(first_token);
                    if gap <= STALL {
                        held += 1;
                    }
                }
                Err(err) => failures.push(err.to_string()),
            }
        }
        if first.is_empty() {
            first.push(Duration::ZERO);
        }
        failures.sort();
        failures.dedup();
        Ok(format!(
            "| concurrent streams: {n} opened at once, each 10 tokens {} ms apart | {held} of {n} held with no stall (more than {} ms between two tokens, or an unfinished stream; goal ≥ 1,000); longest gap between tokens {}; first token after p50 {} / max {}; all done in {:.1} s; failures: {} |",
            TRICKLE.as_millis(),
            STALL.as_millis(),
            ms(worst),
            ms(quantile(&mut first, 0.5)),
            ms(quantile(&mut first, 1.0)),
            start.elapsed().as_secs_f64(),
            if failures.is_empty() {
                "none".to_owned()
            } else {
                failures.join("; ")
            },
        ))
    }

    /// 4. wrk -c256 with a 20 ms upstream, the server's RSS sampled each second.
    async fn throughput(
        &self,
        upstream: &Upstream,
        pid: &str,
        seconds: usize,
    ) -> anyhow::Result<String> {
        upstream.script(
            [],
            Step::After(Duration::from_millis(20), Box::new(Step::Text("ok".into()))),
        );
        let wrk = tokio::process::Command::new("wrk")
            .args(["-t2", "-c256", &format!("-d{seconds}s"), "--latency"])
            .args(["-s", "bench/chat.lua", &format!("{}/api/chat", self.base)])
            .env("BENCH_KEY", &self.key)
            .output();
        let sampling = async {
            let mut samples = Vec::new();
            for _ in 0..seconds {
                tokio::time::sleep(Duration::from_secs(1)).await;
                samples.push(rss_mib(pid)?);
            }
            anyhow::Ok(samples)
        };
        let (output, samples) = tokio::join!(wrk, sampling);
        let output = String::from_utf8_lossy(&output.context("wrk")?.stdout).into_owned();
        let samples = samples?;
        let field = |pattern: &str| {
            output
                .lines()
                .find(|line| line.trim_start().starts_with(pattern))
                .and_then(|line| line.split_whitespace().nth(1).map(str::to_owned))
                .unwrap_or_else(|| "?".into())
        };
        let non_2xx = output
            .lines()
            .find(|line| line.contains("Non-2xx"))
            .and_then(|line| line.split_whitespace().last())
            .unwrap_or("0");
        let requests: f64 = field("Requests/sec:").parse().unwrap_or(0.0);
        Ok(format!(
            "| `POST /api/chat` throughput, upstream answering after 20 ms, wrk -c256 {seconds} s | {requests:.0} req/s ({:.0} % of the 12,800 req/s that 256 connections × 20 ms allow), p99 {}, non-2xx: {non_2xx}; server RSS each second {} MiB, max {} MiB |",
            requests / 12_800.0 * 100.0,
            field("99%"),
            samples
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            samples.iter().max().copied().unwrap_or(0),
        ))
    }
}

/// A request replayed straight to the upstream.
struct Direct(reqwest::RequestBuilder);

impl Direct {
    async fn send(&self) -> anyhow::Result<reqwest::Response> {
        let request = self.0.try_clone().context("clone the request")?;
        let answer = request.send().await?;
        if !answer.status().is_success() {
            bail!("direct: {}", answer.status());
        }
        Ok(answer)
    }
}

/// Reads a streamed answer until `seen` holds for what arrived; the time from `start` then.
/// Drains the rest.
async fn until(
    mut answer: reqwest::Response,
    start: Instant,
    seen: impl Fn(&str) -> bool,
) -> anyhow::Result<Duration> {
    if !answer.status().is_success() {
        bail!("stream: {}", answer.status());
    }
    let mut text = String::new();
    let mut at = None;
    while let Some(chunk) = answer.chunk().await? {
        text.push_str(&String::from_utf8_lossy(&chunk));
        if at.is_none() && seen(&text) {
            at = Some(start.elapsed());
        }
    }
    at.context("no content in the stream")
}

/// One trickled stream: the wait for its first token and the longest gap between two tokens,
/// or why it failed.
async fn one_stream(
    request: reqwest::RequestBuilder,
    tokens: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let start = Instant::now();
    let mut first = None;
    let mut answer = request.send().await?;
    if !answer.status().is_success() {
        bail!("status {}", answer.status());
    }
    let (mut last, mut worst, mut seen, mut done) = (start, Duration::ZERO, 0, false);
    let mut text = String::new();
    while let Some(chunk) = answer.chunk().await? {
        text.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = text.find("\n\n") {
            let frame: String = text.drain(..end + 2).collect();
            if frame.contains("event: content") {
                seen += 1;
                match first {
                    None => first = Some(start.elapsed()),
                    Some(_) => worst = worst.max(last.elapsed()),
                }
                last = Instant::now();
            } else if frame.contains("event: done") {
                done = true;
            } else if frame.contains("event: error") {
                bail!("error event: {}", frame.trim());
            }
        }
    }
    if !done || seen < tokens {
        bail!("unfinished: {seen} of {tokens} tokens, done: {done}");
    }
    Ok((first.unwrap_or_default(), worst))
}

/// Whether an OpenAI stream so far holds a chunk with content (the first chunk's empty
/// `content` is only the role).
fn has_token(text: &str) -> bool {
    text.split("\n\n")
        .filter_map(|frame| frame.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .any(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|content| !content.is_empty())
        })
}

fn rss_mib(pid: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(kib / 1024)
}

fn quantile(values: &mut [Duration], q: f64) -> Duration {
    values.sort();
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// What `via` (through the server) adds to `straight` (direct) at p50 and p99, then both.
fn compare(via: &mut [Duration], straight: &mut [Duration], goal: &str) -> String {
    let (via50, via99) = (quantile(via, 0.5), quantile(via, 0.99));
    let (straight50, straight99) = (quantile(straight, 0.5), quantile(straight, 0.99));
    let added = |a: Duration, b: Duration| (a.as_secs_f64() - b.as_secs_f64()) * 1000.0;
    format!(
        "**added p50 {:.3} ms / p99 {:.3} ms** ({goal}); chat p50 {} / p99 {}, direct p50 {} / p99 {}",
        added(via50, straight50),
        added(via99, straight99),
        ms(via50),
        ms(via99),
        ms(straight50),
        ms(straight99),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}
