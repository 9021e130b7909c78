//! `/api/tools` with the builtin components: listing, each tool's real output, the execute
//! alias, argument validation, policy, and the call log.

use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn call(server: &TestServer, name: &str, args: Value) -> (StatusCode, Value) {
    server.call_tool(name, args).await
}

/// Calls and asserts success; returns `data`.
async fn ok(server: &TestServer, name: &str, args: Value) -> Value {
    let (status, body) = call(server, name, args).await;
    assert_eq!(status, StatusCode::OK, "{name}: {body}");
    body["data"].clone()
}

const BUILTIN_TOOLS: &[&str] = &[
    "base64",
    "calculator",
    "get_current_time",
    "hash",
    "pick",
    "random_number",
    "roll_dice",
    "text_case",
    "text_stats",
    "unit_convert",
    "uuid",
    "web_fetch",
];

#[tokio::test]
async fn lists_every_builtin_with_its_schema() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/api/tools?source=builtin").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tools = body["data"].as_array().expect("array");
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, BUILTIN_TOOLS);
    // The builtin skills are listed too, under the source `skill`.
    let (_, all) = server.get("/api/tools").await;
    let skills: Vec<(&str, &str)> = all["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|t| t["source"] == "skill")
        .filter_map(|t| Some((t["name"].as_str()?, t["category"].as_str()?)))
        .collect();
    assert_eq!(
        skills,
        [("step_by_step", "skills"), ("summarize_page", "skills")]
    );
    let (status, body) = server.get("/api/tools?source=nope").await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");
    for tool in tools {
        assert_eq!(tool["source"], "builtin", "{tool}");
        assert_eq!(tool["enabled"], true);
        assert!(
            tool["description"].as_str().is_some_and(|d| d.len() > 10),
            "{tool}"
        );
        assert!(tool["category"].is_string(), "{tool}");
        assert_eq!(tool["parameters"]["type"], "object", "{tool}");
    }
    let (_, calc) = server.get("/api/tools/calculator").await;
    assert_eq!(
        calc["data"]["parameters"]["properties"]["expression"]["type"],
        "string"
    );
    let (_, grouped) = server.get("/api/tools/by-source").await;
    assert_eq!(
        grouped["data"]["builtin"].as_array().map(Vec::len),
        Some(BUILTIN_TOOLS.len())
    );
    assert_eq!(grouped["data"]["custom"], json!([]));
    assert_eq!(grouped["data"]["skill"].as_array().map(Vec::len), Some(2));
    let (_, math) = server.get("/api/tools?category=math").await;
    let math: Vec<&str> = math["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(math, ["calculator", "unit_convert"]);
    let (status, body) = server.get("/api/tools/nope").await;
    assert_error(status, &body, 404, "TOOL_NOT_FOUND");
    // A builtin is part of the server: its version is the server's.
    let (_, tool) = server.get("/api/tools/calculator").await;
    assert_eq!(
        tool["data"]["extension"],
        json!({"name": "calculator", "version": env!("CARGO_PKG_VERSION")}),
        "{tool}"
    );
    let (_, system) = server.get("/api/system/status").await;
    // Six tool components and two skill components.
    assert_eq!(system["data"]["extensions"]["builtin"], 8);
    assert_eq!(system["data"]["tools"], BUILTIN_TOOLS.len() + 2);
    assert_eq!(system["data"]["skills"], 2);
    server.stop().await;
}

#[tokio::test]
async fn each_builtin_computes_real_results() {
    let server = TestServer::start().await;

    let data = ok(&server, "calculator", json!({"expression": "(2 + 3) * 4"})).await;
    assert_eq!(data["result"], "20");
    assert_eq!(data["content"], json!([{"type": "text", "text": "20"}]));
    assert_eq!(data["structured"], json!({"result": 20.0}));
    assert!(data["callId"].is_string() && data["durationMs"].is_number());
    assert_eq!(
        ok(&server, "calculator", json!({"expression": "7 / 2.0"})).await["result"],
        "3.5"
    );

    let data = ok(
        &server,
        "get_current_time",
        json!({"timezone": "Asia/Shanghai"}),
    )
    .await;
    let unix = data["structured"]["unix"].as_i64().expect("unix");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((unix - now).abs() < 30, "{data}");
    assert!(
        data["structured"]["iso"]
            .as_str()
            .expect("iso")
            .ends_with("+08:00"),
        "{data}"
    );

    let data = ok(&server, "text_stats", json!({"text": "héllo world\nbye"})).await;
    assert_eq!(
        data["structured"],
        json!({"characters": 15, "words": 3, "lines": 2, "bytes": 16})
    );
    assert_eq!(data["content"][0]["type"], "json");
    assert_eq!(
        ok(
            &server,
            "text_case",
            json!({"text": "Hello big World", "case": "snake"})
        )
        .await["result"],
        "hello_big_world"
    );
    assert_eq!(
        ok(
            &server,
            "hash",
            json!({"text": "abc", "algorithm": "sha256"})
        )
        .await["result"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let encoded = ok(
        &server,
        "base64",
        json!({"text": "chat ai ✓", "direction": "encode"}),
    )
    .await;
    let decoded = ok(
        &server,
        "base64",
        json!({"text": encoded["result"], "direction": "decode"}),
    )
    .await;
    assert_eq!(decoded["result"], "chat ai ✓");

    let data = ok(&server, "roll_dice", json!({"notation": "3d6"})).await;
    let rolls = data["structured"]["rolls"].as_array().expect("rolls");
    assert_eq!(rolls.len(), 3);
    let sum: u64 = rolls.iter().map(|r| r.as_u64().expect("roll")).sum();
    assert!(
        rolls
            .iter()
            .all(|r| (1..=6).contains(&r.as_u64().unwrap_or(0)))
    );
    assert_eq!(data["structured"]["total"], sum);
    let n = ok(&server, "random_number", json!({"min": 10, "max": 12})).await;
    assert!((10..=12).contains(&n["structured"]["value"].as_i64().expect("value")));
    let pick = ok(&server, "pick", json!({"options": ["tea", "coffee"]})).await;
    assert!(["tea", "coffee"].contains(&pick["result"].as_str().expect("pick")));
    let a = ok(&server, "uuid", json!({})).await["result"].clone();
    let b = ok(&server, "uuid", json!({})).await["result"].clone();
    assert_ne!(a, b);
    assert_eq!(a.as_str().expect("uuid").len(), 36);

    let data = ok(
        &server,
        "unit_convert",
        json!({"value": 1, "from": "mi", "to": "km"}),
    )
    .await;
    assert_eq!(data["structured"]["value"], 1.609344);
    let data = ok(
        &server,
        "unit_convert",
        json!({"value": 100, "from": "C", "to": "F"}),
    )
    .await;
    assert_eq!(data["structured"]["value"], 212.0);

    // The execute alias gives the same result.
    let (status, body) = server
        .call(
            Method::POST,
            "/api/tools/calculator/execute",
            json!({"args": {"expression": "(2 + 3) * 4"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "20");
    server.stop().await;
}

#[tokio::test]
async fn bad_calls_get_their_codes() {
    let server = TestServer::start().await;

    // Schema violations, before the tool runs.
    let (status, body) = call(&server, "calculator", json!({"expr": "1"})).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");
    let errors = body["details"]["errors"].as_array().expect("schema errors");
    assert!(!errors.is_empty(), "{body}");
    let (status, body) = call(&server, "text_case", json!({"text": "x", "case": "shouty"})).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");
    let (status, body) = call(&server, "random_number", json!({"min": "1", "max": 2})).await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");

    // The tool's own refusal of arguments that pass the schema.
    let (status, body) = call(
        &server,
        "get_current_time",
        json!({"timezone": "Mars/Olympus"}),
    )
    .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");
    let (status, body) = call(
        &server,
        "unit_convert",
        json!({"value": 1, "from": "kg", "to": "km"}),
    )
    .await;
    assert_error(status, &body, 400, "INVALID_ARGUMENTS");

    let (status, body) = call(&server, "no_such_tool", json!({})).await;
    assert_error(status, &body, 404, "TOOL_NOT_FOUND");

    // Disabled.
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/builtin/config",
            json!({"enabledCategories": null, "disabledTools": ["uuid"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&server, "uuid", json!({})).await;
    assert_error(status, &body, 403, "TOOL_DISABLED");
    let (_, listed) = server.get("/api/tools/uuid").await;
    assert_eq!(listed["data"]["enabled"], false);
    let (_, enabled) = server.get("/api/tools?enabled=false").await;
    assert_eq!(enabled["data"].as_array().map(Vec::len), Some(1));

    // Dangerous while not allowed; then allowed.
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/dangerous",
            json!({"allowDangerous": false, "dangerousTools": ["calculator"], "adminOnlyTools": []}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&server, "calculator", json!({"expression": "1+1"})).await;
    assert_error(status, &body, 403, "TOOL_DANGEROUS");
    server
        .call(
            Method::PUT,
            "/api/tools/dangerous",
            json!({"allowDangerous": true, "dangerousTools": ["calculator"], "adminOnlyTools": ["pick"]}),
        )
        .await;
    assert_eq!(
        ok(&server, "calculator", json!({"expression": "1+1"})).await["result"],
        "2"
    );

    // Admin-only tools refuse a tools:call key; the key may call the others.
    let (_, key) = server.api_key(&["tools:call"]).await;
    let as_key = |name: &str, args: Value| {
        server
            .client
            .post(server.url("/api/tools/call"))
            .header("X-API-Key", &key)
            .json(&json!({"name": name, "args": args}))
    };
    let (status, body) = server.send(as_key("pick", json!({"options": ["a"]}))).await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (status, body) = server
        .send(as_key("hash", json!({"text": "", "algorithm": "md5"})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "d41d8cd98f00b204e9800998ecf8427e");
    server.stop().await;
}

#[tokio::test]
async fn calls_are_logged_shortly_after() {
    let server = TestServer::start().await;
    ok(&server, "calculator", json!({"expression": "6 * 7"})).await;
    let (status, _) = call(&server, "calculator", json!({"expression": "6 *"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut logs = Value::Null;
    for _ in 0..50 {
        let (_, body) = server.get("/api/tools/logs?toolName=calculator").await;
        if body["data"].as_array().is_some_and(|l| l.len() == 2) {
            logs = body["data"].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let logs = logs.as_array().expect("two log records within 2.5 s");
    let (failed, succeeded) = (&logs[0], &logs[1]);
    assert_eq!(succeeded["args"], json!({"expression": "6 * 7"}));
    assert_eq!(succeeded["result"], "42");
    assert_eq!(succeeded["success"], true);
    assert_eq!(succeeded["caller"], "admin");
    assert_eq!(succeeded["source"], "builtin");
    assert!(succeeded["durationMs"].as_f64().is_some_and(|d| d > 0.0));
    assert_eq!(failed["success"], false);
    assert!(
        failed["error"]
            .as_str()
            .expect("error")
            .starts_with("INVALID_ARGUMENTS"),
        "{failed}"
    );

    let (_, only_failed) = server.get("/api/tools/logs?success=false").await;
    assert_eq!(only_failed["data"].as_array().map(Vec::len), Some(1));
    let (status, deleted) = server
        .call(Method::DELETE, "/api/tools/logs", json!(null))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted["data"]["deleted"], 2);
    let (_, empty) = server.get("/api/tools/logs").await;
    assert_eq!(empty["data"], json!([]));
    server.stop().await;
}
