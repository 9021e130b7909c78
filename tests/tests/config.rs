//! `/api/config` in process: typed changes, sources, schema, concurrent writers.

use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn put_validates_applies_and_explains() {
    let server = TestServer::start_with("[bot]\nname = \"FileBot\"\n").await;

    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "trigger.prefix", "value": "!bot"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({"path": "trigger.prefix", "value": "!bot", "restartRequired": false})
    );

    let (status, body) = server.get("/api/config?explain=true").await;
    assert_eq!(status, StatusCode::OK);
    let data = &body["data"];
    assert_eq!(data["config"]["trigger"]["prefix"], "!bot");
    assert_eq!(data["sources"]["trigger.prefix"], "runtime");
    assert_eq!(data["config"]["bot"]["name"], "FileBot");
    assert_eq!(data["sources"]["bot.name"], "file");
    assert_eq!(data["sources"]["llm.max_tool_rounds"], "default");

    // Wrong type: 400 naming the expected type; nothing changes.
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "llm.max_tool_rounds", "value": "many"}),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    assert!(
        body["error"].as_str().expect("message").contains("u32"),
        "{body}"
    );
    // Unknown enum value, unknown key, out of range, secret.
    for (path, value) in [
        ("trigger.type", json!("sometimes")),
        ("trigger.nope", json!(1)),
        ("trigger.random_rate", json!(150)),
        (
            "auth.jwt_secret",
            json!("0123456789012345678901234567890123"),
        ),
        ("data_dir", json!("/tmp/elsewhere")),
    ] {
        let (status, body) = server
            .call(
                Method::PUT,
                "/api/config",
                json!({"path": path, "value": value}),
            )
            .await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
    }
    let (_, body) = server.get("/api/config").await;
    assert_eq!(body["data"]["llm"]["max_tool_rounds"], 10);
    assert_eq!(body["data"]["trigger"]["type"], "both");

    // A key that needs a restart says so.
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "log.level", "value": "debug"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["restartRequired"], true);

    let (status, body) = server.get("/api/config/schema").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"]["properties"]["trigger"].is_object(), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn concurrent_writers_lose_no_key() {
    let server = TestServer::start().await;
    let keys = [
        ("trigger.prefix", json!("!p")),
        ("bot.name", json!("Concurrent")),
        ("context.max_messages", json!(33)),
        ("llm.max_tool_rounds", json!(4)),
    ];
    let mut tasks = Vec::new();
    for round in 0..64 {
        let (path, value) = keys[round % keys.len()].clone();
        let request = server
            .admin(Method::PUT, "/api/config")
            .json(&json!({"path": path, "value": value}));
        tasks.push(tokio::spawn(async move {
            request.send().await.expect("request").status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.expect("task"), StatusCode::OK);
    }
    let (_, body) = server.get("/api/config").await;
    let config = &body["data"];
    assert_eq!(config["trigger"]["prefix"], "!p");
    assert_eq!(config["bot"]["name"], "Concurrent");
    assert_eq!(config["context"]["max_messages"], 33);
    assert_eq!(config["llm"]["max_tool_rounds"], 4);
    server.stop().await;
}
