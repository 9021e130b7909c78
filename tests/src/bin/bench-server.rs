//! A server for `bench/run.sh` with test fixtures loaded (not a test): starts the real server
//! in process on 127.0.0.1 (SurrealKV in a temp dir, rate limit off), registers the fixtures
//! named in `BENCH_FIXTURES` (comma-separated, e.g. `misbehave`), creates an API key, prints
//! `<base-url> <api-key>` on one line and serves until its standard input closes.

use chatai_tests::TestServer;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server =
        TestServer::start_with("[database]\n[rate_limit]\nper_minute = 0\nlogin_per_minute = 0\n")
            .await;
    let fixtures = std::env::var("BENCH_FIXTURES").unwrap_or_default();
    for name in fixtures.split(',').filter(|name| !name.is_empty()) {
        server
            .load_fixture(name)
            .await
            .map_err(|err| anyhow::anyhow!("fixture {name}: {err}"))?;
    }
    let (_, key) = server.api_key(&["tools:call", "read"]).await;
    let line = format!("{} {key}\n", server.base);
    std::io::Write::write_all(&mut std::io::stdout(), line.as_bytes())?;
    let mut sink = Vec::new();
    tokio::io::stdin().read_to_end(&mut sink).await?;
    server.stop().await;
    Ok(())
}
