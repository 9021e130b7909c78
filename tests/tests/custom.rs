//! Third-party extensions over `POST /api/tools/custom`: install, call, upgrade, disable,
//! grants, uninstall, and every refused upload leaving nothing behind.

use chatai_tests::{TestServer, assert_error, fixture};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

async fn call(server: &TestServer, name: &str) -> (StatusCode, Value) {
    tool(server, name, json!({"text": "hi"})).await
}

async fn installed(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.get("/api/tools/custom").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().cloned().expect("list")
}

#[tokio::test]
async fn a_component_built_outside_the_sdk_installs_answers_and_uninstalls() {
    let server = TestServer::start().await;
    // `raw`: plain wit-bindgen against wit/v0.1.0, its own workspace, no SDK.
    let (status, body) = server.upload("raw.wasm", fixture("raw"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["name"], "raw");
    assert_eq!(body["data"]["origin"], "upload");
    let tools: Vec<&str> = body["data"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(tools, ["invalid_json", "echo_name"]);
    let sha = hex(&fixture("raw"));
    assert_eq!(body["data"]["sha256"], sha);

    let list = installed(&server).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "raw");
    assert!(
        list[0]["events"][0]["action"]
            .as_str()
            .is_some_and(|a| a.starts_with("installed")),
        "{list:?}"
    );
    let (_, tool) = server.get("/api/tools/echo_name").await;
    assert_eq!(tool["data"]["source"], "custom", "{tool}");

    let (status, body) = call(&server, "echo_name").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "echo_name {\"text\":\"hi\"}");

    let (status, body) = server
        .call(Method::DELETE, "/api/tools/custom/raw", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(installed(&server).await.is_empty());
    let (status, body) = call(&server, "echo_name").await;
    assert_error(status, &body, 404, "TOOL_NOT_FOUND");
    let store = &server.running().state.store;
    assert!(store.extension_bytes(&sha).await.expect("db").is_none());
    let (status, body) = server
        .call(Method::DELETE, "/api/tools/custom/raw", Value::Null)
        .await;
    assert_error(status, &body, 404, "NOT_FOUND");

    // Again, no restart.
    let (status, body) = server.upload("raw.wasm", fixture("raw"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(&server, "echo_name").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn refused_uploads_name_the_problem_and_store_nothing() {
    let server = TestServer::start().await;
    let core_module = b"\0asm\x01\0\0\0".to_vec();
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8)
        .collect();
    // (file name, bytes, manifest, details.reason, what the message names)
    type Case<'a> = (&'a str, Vec<u8>, Option<&'a str>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            "random.wasm",
            random,
            None,
            "not_a_component",
            "not WebAssembly",
        ),
        (
            "core.wasm",
            core_module,
            None,
            "not_a_component",
            "core WebAssembly module",
        ),
        (
            "other.wasm",
            fixture("other_world"),
            None,
            "wrong_world",
            "chatai:extension",
        ),
        (
            "bogus.wasm",
            fixture("bogus_import"),
            None,
            "unsatisfied_import",
            "fixture:bogus/telepathy",
        ),
        (
            "raw.wasm",
            fixture("raw"),
            Some("nmae = \"typo\""),
            "invalid_manifest",
            "nmae",
        ),
        (
            "raw.wasm",
            fixture("raw"),
            Some("name = \"Not Valid\""),
            "invalid_manifest",
            "Not Valid",
        ),
    ];
    let mut rejected = Vec::new();
    for (file, bytes, manifest, reason, mention) in cases {
        rejected.push(hex(&bytes));
        let (status, body) = server.upload(file, bytes, manifest).await;
        assert_error(status, &body, 400, "INVALID_COMPONENT");
        assert_eq!(body["details"]["reason"], reason, "{file}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| e.contains(mention)),
            "{file}: the message names `{mention}`: {body}"
        );
    }

    // 40 MiB: over the upload limit, refused before it is read.
    let (status, body) = server.upload("big.wasm", vec![0u8; 40 << 20], None).await;
    assert_error(status, &body, 413, "PAYLOAD_TOO_LARGE");

    // A tool name another extension already has.
    let (status, body) = server
        .upload(
            "counter.wasm",
            fixture("counter"),
            Some("name = \"counter_a\""),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .upload(
            "counter.wasm",
            fixture("counter"),
            Some("name = \"counter_b\""),
        )
        .await;
    assert_error(status, &body, 409, "CONFLICT");
    assert_eq!(body["details"]["tool"], "count_calls");
    assert_eq!(body["details"]["owner"], "counter_a");

    // Only counter_a is stored; no blob of a refused upload exists.
    let list = installed(&server).await;
    let names: Vec<&str> = list.iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(names, ["counter_a"]);
    let store = &server.running().state.store;
    for sha in rejected {
        assert!(store.extension_bytes(&sha).await.expect("db").is_none());
    }
    let (status, _) = server.get("/api/system/health").await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn upgrade_disable_grants_and_config_take_effect_at_once_and_are_logged() {
    let server = TestServer::start().await;
    let manifest = |version: &str| {
        format!(
            "name = \"tally\"\nversion = \"{version}\"\ndescription = \"counts\"\n\
             [limits]\ntimeout_ms = 2000\n\
             [capabilities]\nkv = true\nconfig = [\"units\"]\nhttp = [\"https://api.example.com\"]\n"
        )
    };
    let (status, body) = server
        .upload("tally.wasm", fixture("counter"), Some(&manifest("0.1.0")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["data"]["capabilities"]["requested"]["kv"], true);
    assert_eq!(body["data"]["capabilities"]["granted"]["kv"], false);
    // Its tools list the extension's own version, not the server's.
    let (_, tool) = server.get("/api/tools/count_calls").await;
    assert_eq!(
        tool["data"]["extension"],
        json!({"name": "tally", "version": "0.1.0"}),
        "{tool}"
    );

    // Grants beyond the request are refused; within it they apply and are logged.
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/custom/tally",
            json!({"grants": {"http": ["https://evil.example"], "kv": true}}),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/custom/tally",
            json!({"grants": {"kv": true, "config": ["units"]}, "config": {"units": "metric"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["capabilities"]["inForce"]["kv"], true);
    assert_eq!(body["data"]["configKeys"], json!(["units"]));
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/custom/tally",
            json!({"config": {"secret_thing": "x"}}),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // Disable: the tool is refused at once; enable: it answers again.
    let (status, _) = server
        .call(
            Method::PUT,
            "/api/tools/custom/tally",
            json!({"enabled": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&server, "count_calls").await;
    assert_error(status, &body, 403, "TOOL_DISABLED");
    let (status, _) = server
        .call(
            Method::PUT,
            "/api/tools/custom/tally",
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&server, "count_calls").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Upgrade: same name, new version; grants carry over.
    let (status, body) = server
        .upload("tally.wasm", fixture("counter"), Some(&manifest("0.2.0")))
        .await;
    assert_eq!(status, StatusCode::OK, "an upgrade is 200: {body}");
    assert_eq!(body["data"]["version"], "0.2.0");
    assert_eq!(body["data"]["capabilities"]["granted"]["kv"], true);
    let actions: Vec<String> = body["data"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(actions.len(), 6, "{actions:?}");
    assert!(actions[0].starts_with("installed 0.1.0"), "{actions:?}");
    assert!(actions[1].starts_with("grants changed"), "{actions:?}");
    assert!(actions[2].starts_with("config set"), "{actions:?}");
    assert_eq!(actions[3], "disabled");
    assert_eq!(actions[4], "enabled");
    assert!(actions[5].starts_with("upgraded from 0.1.0"), "{actions:?}");
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/custom/nope",
            json!({"enabled": true}),
        )
        .await;
    assert_error(status, &body, 404, "NOT_FOUND");
    server.stop().await;
}

#[tokio::test]
async fn an_upgrade_under_load_finishes_old_calls_on_the_old_version() {
    let server = std::sync::Arc::new(TestServer::start().await);
    let manifest = "name = \"versioned\"";
    let (status, body) = server
        .upload("v1.wasm", fixture("versioned_v1"), Some(manifest))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let slow_call = |server: std::sync::Arc<TestServer>| async move {
        server
            .call(
                Method::POST,
                "/api/tools/call",
                json!({"name": "which_version", "args": {"ms": 1500}}),
            )
            .await
    };
    let mut events = server.events();
    let in_flight: Vec<_> = (0..16)
        .map(|_| tokio::spawn(slow_call(server.clone())))
        .collect();
    // All 16 have started on 1.0.0 (each reports it) before the upgrade.
    chatai_tests::progress_of(&mut events, "which_version", 16).await;
    let (status, body) = server
        .upload("v2.wasm", fixture("versioned_v2"), Some(manifest))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after: Vec<_> = (0..16)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move {
                server
                    .call(
                        Method::POST,
                        "/api/tools/call",
                        json!({"name": "which_version", "args": {}}),
                    )
                    .await
            })
        })
        .collect();
    for call in in_flight {
        let (status, body) = call.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["data"]["result"], "1.0.0",
            "started before the upgrade"
        );
    }
    for call in after {
        let (status, body) = call.await.expect("task");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["result"], "2.0.0", "started after the upgrade");
    }
    let list = installed(&server).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["sha256"], hex(&fixture("versioned_v2")));
}

async fn tool(server: &TestServer, name: &str, args: Value) -> (StatusCode, Value) {
    server.call_tool(name, args).await
}

#[tokio::test]
async fn kv_and_config_need_grants_stay_private_and_hold_quotas() {
    let server = TestServer::start_with(
        "[extensions]\nkv_max_keys = 5\nkv_max_bytes = 400\nkv_max_value_bytes = 100\n",
    )
    .await;
    let manifest = "[capabilities]\nkv = true\nconfig = [\"units\"]\n";
    for name in ["keeper_a", "keeper_b"] {
        let (status, body) = server
            .upload(&format!("{name}.wasm"), fixture(name), Some(manifest))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        // The answer says what still waits for an admin.
        assert_eq!(
            body["data"]["pendingGrants"],
            json!({"http": [], "kv": true, "config": ["units"]}),
            "{body}"
        );
    }

    // Requested but not granted: refused inside the guest, reported as its tool error, which
    // names the call that grants it.
    let (status, body) = tool(
        &server,
        "keeper_a_kv_put",
        json!({"key": "k", "value": "v"}),
    )
    .await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not granted to extension `keeper_a`")
                && e.contains(r#"PUT /api/tools/custom/keeper_a {"grants": {"kv": true}}"#)),
        "{body}"
    );
    let (_, body) = tool(&server, "keeper_a_read_config", json!({"key": "units"})).await;
    assert_eq!(body["data"]["result"], "(none)");

    for name in ["keeper_a", "keeper_b"] {
        let (status, body) = server
            .call(
                Method::PUT,
                &format!("/api/tools/custom/{name}"),
                json!({"grants": {"kv": true, "config": ["units"]}, "config": {"units": format!("metric-{name}")}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["data"]["pendingGrants"],
            json!({"http": [], "kv": false, "config": []}),
            "{body}"
        );
    }
    let (_, body) = tool(&server, "keeper_a_read_config", json!({"key": "units"})).await;
    assert_eq!(body["data"]["result"], "metric-keeper_a");
    // No way to read anything else: server settings and secrets are not config of a guest.
    for key in [
        "auth.jwt_secret",
        "jwt_secret",
        "database.password",
        "../keeper_b/units",
    ] {
        let (_, body) = tool(&server, "keeper_a_read_config", json!({"key": key})).await;
        assert_eq!(body["data"]["result"], "(none)", "{key}");
    }

    // Persisted across calls, private to each extension.
    let (status, body) = tool(
        &server,
        "keeper_a_kv_put",
        json!({"key": "k", "value": "from a"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = tool(&server, "keeper_a_kv_read", json!({"key": "k"})).await;
    assert_eq!(body["data"]["result"], "from a", "{body}");
    let (_, body) = tool(&server, "keeper_b_kv_read", json!({"key": "k"})).await;
    assert_eq!(body["data"]["result"], "(none)", "b cannot see a's key");

    // Quotas: a value over 100 bytes; a 6th key; more than 400 bytes in all.
    let (status, body) = tool(
        &server,
        "keeper_b_kv_fill",
        json!({"count": 1, "size": 101}),
    )
    .await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("at most 100 bytes")),
        "{body}"
    );
    let (status, body) = tool(&server, "keeper_b_kv_fill", json!({"count": 6, "size": 10})).await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("key 5") && e.contains("at most 5 keys")),
        "{body}"
    );
    let (status, body) = tool(&server, "keeper_b_kv_fill", json!({"count": 5, "size": 90})).await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("key 4") && e.contains("at most 400 bytes")),
        "{body}"
    );
    // Replacing a key counts its new size only.
    let (status, body) = tool(
        &server,
        "keeper_b_kv_fill",
        json!({"count": 3, "size": 100}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // a's bucket is untouched by b's quota trouble.
    let (_, body) = tool(&server, "keeper_a_kv_read", json!({"key": "k"})).await;
    assert_eq!(body["data"]["result"], "from a");

    // Revoking kv takes effect at once; uninstall drops the bucket.
    let (status, _) = server
        .call(
            Method::PUT,
            "/api/tools/custom/keeper_a",
            json!({"grants": {"kv": false}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = tool(&server, "keeper_a_kv_read", json!({"key": "k"})).await;
    assert_error(status, &body, 422, "TOOL_ERROR");
    let (status, _) = server
        .call(Method::DELETE, "/api/tools/custom/keeper_a", Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    let store = &server.running().state.store;
    assert_eq!(store.kv_get("keeper_a", "k").await.expect("db"), None);
    assert_eq!(
        store.kv_get("keeper_b", "fill-0").await.expect("db"),
        Some(vec![b'x'; 100])
    );
    server.stop().await;
}

/// Polls `GET /api/tools/custom` (≤ 10 s) until `done` holds for the list.
async fn wait_for_list(server: &TestServer, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut list = Vec::new();
    for _ in 0..200 {
        list = installed(server).await;
        if done(&list) {
            return list;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the extensions directory was not picked up: {list:?}");
}

#[tokio::test]
async fn the_extensions_directory_installs_upgrades_and_uninstalls() {
    let dropbox = tempfile::tempdir().expect("temp dir");
    let server = TestServer::start_with(&format!(
        "[extensions]\ndir = {:?}\ndir_poll_ms = 100\n",
        dropbox.path().display().to_string()
    ))
    .await;
    let wasm = dropbox.path().join("dropped.wasm");
    std::fs::write(dropbox.path().join("dropped.toml"), "version = \"1.0.0\"\n").expect("toml");
    std::fs::write(&wasm, fixture("versioned_v1")).expect("wasm");
    let list = wait_for_list(&server, |l| l.len() == 1).await;
    assert_eq!(list[0]["name"], "dropped");
    assert_eq!(list[0]["origin"], "directory");
    assert_eq!(list[0]["version"], "1.0.0");
    let (status, body) = tool(&server, "which_version", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "1.0.0");

    // Garbage is reported, not installed, and the good version keeps serving.
    std::fs::write(dropbox.path().join("broken.wasm"), b"not wasm").expect("write");
    // Replace the component: an upgrade.
    std::fs::write(dropbox.path().join("dropped.toml"), "version = \"2.0.0\"\n").expect("toml");
    std::fs::write(&wasm, fixture("versioned_v2")).expect("wasm");
    let v2 = hex(&fixture("versioned_v2"));
    let list = wait_for_list(&server, |l| l.len() == 1 && l[0]["sha256"] == v2.as_str()).await;
    assert_eq!(list[0]["version"], "2.0.0");
    let (_, body) = tool(&server, "which_version", json!({})).await;
    assert_eq!(body["data"]["result"], "2.0.0");

    // Remove it: uninstalled.
    std::fs::remove_file(&wasm).expect("remove");
    wait_for_list(&server, <[Value]>::is_empty).await;
    let (status, body) = tool(&server, "which_version", json!({})).await;
    assert_error(status, &body, 404, "TOOL_NOT_FOUND");
    server.stop().await;
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
