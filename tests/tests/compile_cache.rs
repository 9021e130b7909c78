//! The data dir and the compile cache hold machine code the server runs: a data dir others
//! may write is refused, a planted or swapped artifact is recompiled (never run), a refused
//! upload leaves nothing in the cache and an uninstall takes its artifact away.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chatai_tests::{TestServer, base_toml, fixture};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn cache_dir(server: &TestServer) -> PathBuf {
    server.dir.path().join("data").join("cache").join("wasm")
}

fn artifacts(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("cache dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The artifact file of a component, by its sha256.
fn artifact_of(dir: &Path, bytes: &[u8]) -> Option<PathBuf> {
    let sha: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    artifacts(dir)
        .into_iter()
        .find(|name| name.starts_with(&sha))
        .map(|name| dir.join(name))
}

#[tokio::test]
async fn a_data_dir_others_may_write_is_refused_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let file = temp.path().join("chatai.toml");
    std::fs::write(&file, base_toml(&data, "")).expect("config");
    let loader = chatai_server::config::ConfigLoader::new(Some(file), None).expect("loader");
    let Err(err) = chatai_server::start(loader).await else {
        panic!("a 0777 data dir must not start");
    };
    let message = format!("{err:#}");
    assert!(message.contains(&data.display().to_string()), "{message}");
    assert!(message.contains("0777"), "{message}");
}

#[tokio::test]
async fn swapped_artifacts_are_recompiled_not_run() {
    let server = TestServer::start().await;
    let dir = cache_dir(&server);
    for (file, name) in [("counter.wasm", "counter"), ("v1.wasm", "versioned_v1")] {
        let (status, body) = server.upload(file, fixture(name), None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let counter = artifact_of(&dir, &fixture("counter")).expect("counter is cached");
    let versioned = artifact_of(&dir, &fixture("versioned_v1")).expect("v1 is cached");
    // Untouched, a reload takes both from the cache.
    let (status, body) = server
        .call(Method::POST, "/api/tools/reload", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["customFromCache"], 2, "{body}");

    // Swap the two files: each is a valid artifact of this engine, but of the other component.
    let (a, b) = (
        std::fs::read(&counter).expect("read"),
        std::fs::read(&versioned).expect("read"),
    );
    std::fs::write(&counter, &b).expect("write");
    std::fs::write(&versioned, &a).expect("write");
    let (status, body) = server
        .call(Method::POST, "/api/tools/reload", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["customFromCache"], 0,
        "both recompiled: {body}"
    );
    assert_eq!(body["data"]["customFailed"], 0, "{body}");
    let (status, body) = server.call_tool("count_calls", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "1");
    let (status, body) = server.call_tool("which_version", json!({ "ms": 0 })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "1.0.0");
    // The recompiled code was sealed again: the next reload trusts it.
    let (_, body) = server
        .call(Method::POST, "/api/tools/reload", Value::Null)
        .await;
    assert_eq!(body["data"]["customFromCache"], 2, "{body}");

    // A file planted under a cached name (bytes of our own artifact, no valid seal).
    let mut planted = std::fs::read(&counter).expect("read");
    planted[0] ^= 0xff;
    std::fs::write(&counter, &planted).expect("write");
    let (_, body) = server
        .call(Method::POST, "/api/tools/reload", Value::Null)
        .await;
    assert_eq!(body["data"]["customFromCache"], 1, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn refused_uploads_leave_no_artifact_and_uninstall_removes_it() {
    let server = TestServer::start().await;
    let dir = cache_dir(&server);
    let before = artifacts(&dir);
    assert!(!before.is_empty(), "the builtins are cached");

    // Compiles, then fails to link: nothing kept.
    let (status, body) = server
        .upload("bogus.wasm", fixture("bogus_import"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(artifacts(&dir), before, "a refused upload leaves no file");
    let (status, body) = server
        .upload("v1.wasm", fixture("versioned_v1"), None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let with_v1 = artifacts(&dir);
    assert_eq!(with_v1.len(), before.len() + 1);
    // Compiles and lists its tools, then its tool name is v1's: nothing kept.
    let (status, body) = server
        .upload("v2.wasm", fixture("versioned_v2"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(artifacts(&dir), with_v1, "a refused upload leaves no file");
    assert!(artifact_of(&dir, &fixture("versioned_v2")).is_none());

    let (status, body) = server
        .call(Method::DELETE, "/api/tools/custom/v1", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        artifacts(&dir),
        before,
        "the uninstall removed its artifact"
    );
    assert!(artifact_of(&dir, &fixture("versioned_v1")).is_none());
    server.stop().await;
}
