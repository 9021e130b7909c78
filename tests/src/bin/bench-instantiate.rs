//! In-process benchmark: instantiate + call + drop of a builtin tool, fresh instance per call.
//! Prints p50/p90/p99 in microseconds. Used by `bench/run.sh`; not a test.

use std::time::Instant;

use chatai_server::config::ExtensionsConfig;
use chatai_server::extensions::{Caller, ExtensionHost};
use chatai_server::tools::{ToolRegistry, load_builtins};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let config = ExtensionsConfig::default();
    let host = ExtensionHost::new(&config)?;
    let registry = ToolRegistry::default();
    load_builtins(&host, &registry, &config).await?;
    let tool = registry
        .get("uuid")
        .ok_or_else(|| anyhow::anyhow!("uuid tool missing"))?;
    let caller = Caller::default();
    for _ in 0..500 {
        host.call(&tool.extension, "uuid", "{}".to_owned(), &caller)
            .await?;
    }
    let mut samples = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let started = Instant::now();
        host.call(&tool.extension, "uuid", "{}".to_owned(), &caller)
            .await?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    let line = format!(
        "instantiate+call+drop (uuid, {} allocation): p50 {:.1} us, p90 {:.1} us, p99 {:.1} us over {} calls",
        host.allocation,
        at(0.5),
        at(0.9),
        at(0.99),
        samples.len()
    );
    std::io::Write::write_all(&mut std::io::stdout(), format!("{line}\n").as_bytes())?;
    Ok(())
}
