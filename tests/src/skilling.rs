//! Helpers of the skills tests: the custom test skill, runs, and the tool log.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::{TestServer, fixture};

/// Uploads the `skill_probe` fixture (the `probe_skill` skill) with `manifest`.
pub async fn upload_probe(server: &TestServer, manifest: &str) -> Value {
    let (status, body) = server
        .upload("skill_probe.wasm", fixture("skill_probe"), Some(manifest))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["data"].clone()
}

/// `POST /api/skills/:skill/run` as admin.
pub async fn run(server: &TestServer, skill: &str, body: Value) -> (StatusCode, Value) {
    server
        .call(Method::POST, &format!("/api/skills/{skill}/run"), body)
        .await
}

/// The tool-log rows of `tool`, once `count` of them are written (≤ 10 s).
pub async fn logs_of(server: &TestServer, tool: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let (_, body) = server
            .get(&format!("/api/tools/logs?toolName={tool}&limit=100"))
            .await;
        let rows = body["data"].as_array().cloned().unwrap_or_default();
        if rows.len() >= count {
            return rows;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
