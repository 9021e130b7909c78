//! A tool written in Python: `tests/python/greeter/app.py`, built with componentize-py (PyPI,
//! installed by `scripts/test-deps.sh`) against `wit/v0.1.0`, uploaded and called like any
//! other extension. Its first compile is slow (an 18 MB component); the compile cache makes
//! an upgrade to the same bytes instant (an uninstall removes the artifact).

use std::path::{Path, PathBuf};
use std::process::Command;

use chatai_tests::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// `CHATAI_COMPONENTIZE_PY`, else the venv of `scripts/test-deps.sh`, else `PATH`.
fn componentize_py() -> PathBuf {
    if let Some(path) = std::env::var_os("CHATAI_COMPONENTIZE_PY") {
        return path.into();
    }
    let venv = std::env::var_os("COMPONENTIZE_PY_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/chatai-edge/pyenv"))
        });
    match venv.map(|v| v.join("bin/componentize-py")) {
        Some(path) if path.exists() => path,
        _ => "componentize-py".into(),
    }
}

fn build_greeter(out: &Path) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let wasm = out.join("greeter.wasm");
    let tool = componentize_py();
    let output = Command::new(&tool)
        .arg("-d")
        .arg(root.join("wit/v0.1.0"))
        .args(["-w", "tool-extension", "componentize", "-p"])
        .arg(root.join("tests/python/greeter"))
        .arg("app")
        .arg("-o")
        .arg(&wasm)
        .current_dir(out)
        .output()
        .unwrap_or_else(|err| {
            panic!(
                "cannot run {} ({err}): install it with `bash scripts/test-deps.sh`",
                tool.display()
            )
        });
    assert!(
        output.status.success(),
        "componentize-py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(&wasm).expect("greeter.wasm")
}

#[tokio::test]
async fn a_python_component_installs_and_answers() {
    let out = tempfile::tempdir().expect("temp dir");
    let bytes = build_greeter(out.path());
    let server = TestServer::start().await;

    let upload = |bytes: Vec<u8>| {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("greeter.wasm"),
        );
        server
            .admin(Method::POST, "/api/tools/custom")
            .multipart(form)
            .send()
    };
    let response = upload(bytes.clone()).await.expect("upload");
    assert_eq!(response.headers()["x-compile-cache"], "miss");
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["tools"][0]["name"], "py_greet");

    let (status, body) = server
        .call(
            Method::POST,
            "/api/tools/call",
            json!({"name": "py_greet", "args": {"name": "Ada"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "Hello, Ada! (from Python)");
    assert_eq!(body["data"]["structured"]["length"], 25);
    // The schema the Python code declared is enforced by the host.
    let (status, body) = server
        .call(
            Method::POST,
            "/api/tools/call",
            json!({"name": "py_greet", "args": {"name": ""}}),
        )
        .await;
    chatai_tests::assert_error(status, &body, 400, "INVALID_ARGUMENTS");

    // Uploaded again (an upgrade to the same bytes): compiled code comes from the cache.
    let response = upload(bytes.clone()).await.expect("upload");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-compile-cache"], "hit");
    // An uninstall takes the artifact away: installed again, it is compiled again.
    let (status, _) = server
        .call(
            Method::DELETE,
            "/api/tools/custom/greeter",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let response = upload(bytes).await.expect("upload");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["x-compile-cache"], "miss");
    let (status, body) = server
        .call(
            Method::POST,
            "/api/tools/call",
            json!({"name": "py_greet", "args": {"name": "Grace"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "Hello, Grace! (from Python)");
    server.stop().await;
}
