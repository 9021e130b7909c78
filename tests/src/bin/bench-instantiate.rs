//! In-process benchmarks, used by `bench/run.sh` (not tests):
//! - instantiate + call + drop of a builtin tool, fresh instance per call: p50/p90/p99;
//! - the deadline overshoot: 8 concurrent `spin_forever` calls (test fixture `misbehave`) with
//!   a 5 s deadline, how long after the deadline each call returned;
//! - 1,000 calls through the executor of a tool that reports progress 5 times
//!   (`report_progress`), with no bus subscriber, with one that never reads, and with one
//!   that reads: the bus must not slow the calls.
//!
//! Prints one Markdown table row per measurement.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatai_server::config::ExtensionsConfig;
use chatai_server::events::EventBus;
use chatai_server::extensions::{ExtensionHost, GuestCall, builtins};
use chatai_server::manifest::ManifestLimits;
use chatai_server::tools::{ToolError, ToolRegistry};

const CALLS: usize = 20_000;
const SPINNERS: usize = 8;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let config = ExtensionsConfig::default();
    let host = Arc::new(ExtensionHost::new(&config, None, b"bench")?);
    let mut out = instantiate_and_call(&host, &config).await?;
    out.push_str(&progress_listeners(&host).await?);
    out.push_str(&deadline_overshoot(host, &config).await?);
    std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes())?;
    Ok(())
}

async fn instantiate_and_call(
    host: &Arc<ExtensionHost>,
    config: &ExtensionsConfig,
) -> anyhow::Result<String> {
    let registry = ToolRegistry::new(Arc::new(EventBus::new()));
    let loaded = builtins::load(host, &registry, config, &NoSkills).await?;
    let extension = loaded
        .iter()
        .find(|e| e.tools.iter().any(|t| t.name == "uuid"))
        .ok_or_else(|| anyhow::anyhow!("uuid tool missing"))?;
    let mut samples = Vec::with_capacity(CALLS);
    for round in 0..CALLS + 500 {
        let started = Instant::now();
        host.call(
            extension,
            "uuid",
            "{}".to_owned(),
            GuestCall::default(),
            config,
        )
        .await
        .result?;
        if round >= 500 {
            samples.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    Ok(format!(
        "| in process: instantiate+call+drop (uuid, {} allocation, {CALLS} calls) | p50 {:.1} µs, p90 {:.1} µs, p99 {:.1} µs |\n",
        host.allocation,
        at(0.5),
        at(0.9),
        at(0.99),
    ))
}

async fn deadline_overshoot(
    host: Arc<ExtensionHost>,
    config: &ExtensionsConfig,
) -> anyhow::Result<String> {
    let deadline = Duration::from_millis(config.timeout_ms);
    let path = concat!(env!("CHATAI_FIXTURES"), "/misbehave.wasm");
    let bytes = std::fs::read(path)?;
    let extension = host
        .load(
            "misbehave",
            None,
            &bytes,
            ManifestLimits::default(),
            Default::default(),
            config,
        )
        .await?;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..SPINNERS {
        let (host, extension, config) = (host.clone(), extension.clone(), config.clone());
        calls.spawn(async move {
            let started = Instant::now();
            let called = host
                .call(
                    &extension,
                    "spin_forever",
                    "{}".to_owned(),
                    GuestCall::default(),
                    &config,
                )
                .await;
            (started.elapsed(), called.result)
        });
    }
    let mut overshoot_ms = Vec::new();
    for (elapsed, result) in calls.join_all().await {
        match result {
            Err(ToolError::Timeout(_)) => {
                overshoot_ms.push(elapsed.saturating_sub(deadline).as_secs_f64() * 1e3)
            }
            other => anyhow::bail!("spin_forever should time out, got {other:?}"),
        }
    }
    overshoot_ms.sort_by(f64::total_cmp);
    Ok(format!(
        "| deadline overshoot: {SPINNERS} concurrent infinite loops, {} ms deadline (in process) | median {:.1} ms, max {:.1} ms (target ≤ 100 ms) |\n",
        deadline.as_millis(),
        overshoot_ms[overshoot_ms.len() / 2],
        overshoot_ms[overshoot_ms.len() - 1],
    ))
}

/// 1,000 `report_progress` calls through the executor, per kind of bus listener.
async fn progress_listeners(host: &Arc<ExtensionHost>) -> anyhow::Result<String> {
    use chatai_server::config::Config;
    use chatai_server::extensions::WasmBackend;
    use chatai_server::store::{Store, StoreOptions};
    use chatai_server::tools::logs::LogLimits;
    use chatai_server::tools::{
        CallerKind, Invocation, Origin, Provider, Source, ToolExecutor, ToolLogQueue,
    };

    const ROUNDS: usize = 1_000;
    let config = Config::default();
    let bytes = std::fs::read(concat!(env!("CHATAI_FIXTURES"), "/misbehave.wasm"))?;
    let extension = host
        .load(
            "misbehave",
            None,
            &bytes,
            ManifestLimits::default(),
            Default::default(),
            &config.extensions,
        )
        .await?;
    let store = Store::connect(StoreOptions {
        url: "mem://",
        namespace: "bench",
        database: "bench",
        credentials: None,
        embedded: Default::default(),
        deadline: chatai_server::store::DEFAULT_DEADLINE,
    })
    .await?;
    let mut row = String::from(
        "| 1,000 `report_progress` calls (5 progress events each) through the executor, mean per call: no bus listener / one that never reads / one that reads |",
    );
    let mut means = Vec::new();
    for listener in ["none", "stuck", "reading"] {
        let bus = Arc::new(EventBus::new());
        let registry = Arc::new(ToolRegistry::new(bus.clone()));
        registry.register(Provider {
            name: "misbehave".into(),
            source: Source::Custom,
            version: None,
            tools: extension.tools.clone(),
            backend: Arc::new(WasmBackend::new(host.clone(), extension.clone())),
            enabled: true,
            kind: chatai_server::tools::ToolKind::Tool,
        })?;
        let (logs, _writer) = ToolLogQueue::start(
            store.clone(),
            LogLimits {
                queue_bytes: 4 << 20,
                rows_per_second: 200,
            },
        );
        let executor = ToolExecutor::new(registry, logs, bus.clone(), |_| "error");
        let _stuck = (listener == "stuck").then(|| bus.subscribe());
        let reader = (listener == "reading").then(|| {
            let mut subscription = bus.subscribe_with(8192);
            tokio::spawn(async move { while subscription.recv().await.is_some() {} })
        });
        let invocation = Invocation::new("bench", CallerKind::ApiKey, false, Origin::Rest);
        let started = Instant::now();
        for _ in 0..ROUNDS {
            executor
                .call(
                    "report_progress",
                    serde_json::json!({}),
                    &invocation,
                    &config,
                )
                .await
                .map_err(|err| anyhow::anyhow!("{err}"))?;
        }
        let mean = started.elapsed().as_secs_f64() * 1e6 / ROUNDS as f64;
        means.push(mean);
        if let Some(reader) = reader {
            reader.abort();
        }
    }
    row.push_str(&format!(
        " {:.1} µs / {:.1} µs / {:.1} µs (stuck ÷ none: {:.2}) |\n",
        means[0],
        means[1],
        means[2],
        means[1] / means[0]
    ));
    Ok(row)
}

/// The builtin skills are loaded but not run here: their backend refuses.
struct NoSkills;

impl chatai_server::extensions::SkillBinder for NoSkills {
    fn backend(
        &self,
        _host: &Arc<ExtensionHost>,
        _extension: &Arc<chatai_server::extensions::Extension>,
    ) -> Arc<dyn chatai_server::tools::ToolBackend> {
        Arc::new(NoSkills)
    }
}

impl chatai_server::tools::ToolBackend for NoSkills {
    fn run<'a>(
        &'a self,
        _spec: &'a chatai_server::tools::ToolSpec,
        _args: &'a serde_json::Value,
        _call: &'a chatai_server::tools::CallContext<'a>,
    ) -> chatai_server::tools::RunFuture<'a> {
        Box::pin(async {
            chatai_server::tools::Ran {
                result: Err(chatai_server::tools::ToolError::Unavailable(
                    "skills are not run by this benchmark".into(),
                )),
                logs: Vec::new(),
            }
        })
    }
}
