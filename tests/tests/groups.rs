//! Group administration: settings, effective view, the chat's obedience to them, and exact
//! daily usage limits.

use chatai_server::store::{LimitHit, UsageKey};
use chatai_tests::chatting::{chat, with_upstream};
use chatai_tests::skilling::logs_of;
use chatai_tests::upstream::{Protocol, Step};
use chatai_tests::{TestServer, assert_error, send_all};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn concurrent_reservations_admit_exactly_the_limit() {
    let server = TestServer::start().await;
    let store = server.running().state.store.clone();
    let key = |user: &str| UsageKey {
        day: "2026-12-07".into(),
        group_id: "g".into(),
        user_id: user.into(),
    };
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let store = store.clone();
            let key = key("m1");
            tokio::spawn(async move { store.reserve_usage(&key, None, Some(10)).await })
        })
        .collect();
    let mut admitted = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.expect("task").expect("reserve") {
            None => admitted += 1,
            Some(LimitHit::User) => refused += 1,
            Some(other) => panic!("{other:?}"),
        }
    }
    assert_eq!((admitted, refused), (10, 54));
    let rows = store.usage_of("2026-12-07", "g").await.expect("usage");
    let counts: Vec<(String, u64)> = rows.iter().map(|r| (r.user_id.clone(), r.count)).collect();
    assert_eq!(counts, [("".to_owned(), 10), ("m1".to_owned(), 10)]);
    store.release_usage(&key("m1")).await.expect("release");
    assert_eq!(
        store
            .reserve_usage(&key("m1"), Some(10), Some(10))
            .await
            .expect("r"),
        None
    );
    assert_eq!(
        store
            .reserve_usage(&key("m2"), Some(10), None)
            .await
            .expect("r"),
        Some(LimitHit::Group)
    );
    server.stop().await;
}

async fn put_group(server: &TestServer, group: &str, body: Value) -> Value {
    let (status, reply) = server
        .call(
            Method::PUT,
            &format!("/api/group-admin/groups/{group}"),
            body,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    reply["data"].clone()
}

fn say(user: &str, message: &str) -> Value {
    json!({"message": message, "userId": user, "groupId": "g", "mentioned": true})
}

#[tokio::test]
async fn blocks_and_daily_limits_are_exact_and_failures_give_usage_back() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    put_group(
        &server,
        "g",
        json!({"usageLimit": {"dailyUserLimit": 10, "limitMessage": "Enough for today"}}),
    )
    .await;

    // 64 chats of one member at once: exactly 10 answered.
    let requests = (0..64)
        .map(|i| {
            server
                .admin(Method::POST, "/api/chat")
                .json(&say("m1", &format!("message {i}")))
        })
        .collect();
    let mut answered = 0;
    for (status, body) in send_all(requests).await {
        if status == StatusCode::OK {
            answered += 1;
        } else {
            assert_error(status, &body, 429, "USAGE_LIMIT_EXCEEDED");
            assert_eq!(body["details"]["limitMessage"], "Enough for today");
            assert_eq!(body["details"]["limit"], "user");
        }
    }
    assert_eq!(answered, 10);
    assert_eq!(upstream.requests().len(), 10);

    // The group's own limit.
    put_group(&server, "g", json!({"usageLimit": {"dailyGroupLimit": 11}})).await;
    let (status, body) = chat(&server, say("m2", "hello")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = chat(&server, say("m3", "hello")).await;
    assert_error(status, &body, 429, "USAGE_LIMIT_EXCEEDED");
    assert_eq!(body["details"]["limit"], "group");

    // Blacklist and whitelist (limits off).
    put_group(
        &server,
        "g",
        json!({"usageLimit": null, "blacklist": ["bad"], "whitelist": []}),
    )
    .await;
    let (status, body) = chat(&server, say("bad", "hello")).await;
    assert_error(status, &body, 403, "USER_BLOCKED");
    let (status, _) = chat(&server, say("m3", "hello")).await;
    assert_eq!(status, StatusCode::OK);
    put_group(&server, "g", json!({"whitelist": ["vip"]})).await;
    let (status, body) = chat(&server, say("m3", "hello")).await;
    assert_error(status, &body, 403, "USER_BLOCKED");
    let (status, _) = chat(&server, say("vip", "hello")).await;
    assert_eq!(status, StatusCode::OK);

    // A chat that fails upstream counts nothing (counts are kept while a limit applies).
    put_group(
        &server,
        "g",
        json!({"usageLimit": {"dailyUserLimit": 5}, "whitelist": null}),
    )
    .await;
    upstream.script([Step::Status(500, None)], Step::Text("ok".into()));
    let (status, body) = chat(&server, say("vip", "again")).await;
    assert_error(status, &body, 502, "API_ERROR");
    let (_, usage) = server.get("/api/group-admin/groups/g/usage").await;
    let usage = &usage["data"];
    assert_eq!(usage["groupCount"], 11, "{usage}");
    let vip = usage["users"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["userId"] == "vip")
        .map_or(0, |u| u["count"].as_u64().unwrap_or(0));
    assert_eq!(vip, 0, "{usage}");
    assert_eq!(usage["users"][0], json!({"userId": "m1", "count": 10}));

    server.stop().await;
}

#[tokio::test]
async fn a_groups_preset_and_tool_lists_shape_what_the_model_gets() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    let (status, preset) = server
        .call(
            Method::POST,
            "/api/presets",
            json!({"id": "tea", "from": "assistant",
            "name": "Tea", "systemPrompt": "You are the tea club's expert."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{preset}");
    put_group(
        &server,
        "g",
        json!({"presetId": "tea", "tools": {"disabled": ["calculator"]}}),
    )
    .await;
    upstream.script(
        [
            chatai_tests::chatting::calculator_call("c1"),
            Step::Text("done".into()),
        ],
        Step::Text("unexpected".into()),
    );
    let (status, body) = chat(&server, say("m1", "what is 6 * 7")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = &body["data"]["toolCalls"][0];
    assert_eq!(report["isError"], true, "{report}");
    assert!(
        report["result"]
            .as_str()
            .unwrap_or_default()
            .starts_with("TOOL_NOT_FOUND")
    );
    let requests = upstream.requests();
    let first = &requests[0].body;
    let system = first["messages"][0]["content"].as_str().unwrap_or_default();
    assert!(system.contains("the tea club's expert"), "{system}");
    let offered: Vec<&str> = first["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        !offered.contains(&"calculator") && offered.contains(&"uuid"),
        "{offered:?}"
    );
    // The call log shows no calculator run (a later call's row is written first).
    let (status, _) = server.call_tool("uuid", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    logs_of(&server, "uuid", 1).await;
    let (_, rows) = server.get("/api/tools/logs?toolName=calculator").await;
    assert_eq!(rows["data"], json!([]));
    // Another group still gets it.
    let (status, _) = chat(
        &server,
        json!({"message": "hi", "userId": "x", "groupId": "other", "mentioned": true}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let offered = upstream.requests().last().expect("request").body["tools"].to_string();
    assert!(offered.contains("\"calculator\""));
    server.stop().await;
}

#[tokio::test]
async fn effective_names_each_source_and_delete_restores_the_global_rules() {
    let server = TestServer::start().await;
    let upstream = with_upstream(&server, Protocol::Openai).await;
    put_group(
        &server,
        "g",
        json!({"name": "Tea club", "trigger": {"prefix": "!"}, "model": upstream.model}),
    )
    .await;
    let (status, merged) = server.get("/api/group-admin/groups/g/effective").await;
    assert_eq!(status, StatusCode::OK);
    let merged = &merged["data"];
    assert_eq!(
        merged["trigger"]["prefix"],
        json!({"value": "!", "source": "group"})
    );
    assert_eq!(
        merged["trigger"]["type"],
        json!({"value": "both", "source": "global"})
    );
    assert_eq!(merged["model"]["source"], "group");
    assert_eq!(
        merged["enabled"],
        json!({"value": true, "source": "global"})
    );
    assert_eq!(merged["presetId"]["source"], "global");
    assert_eq!(
        merged["usageLimit"]["dailyUserLimit"],
        json!({"value": 0, "source": "global"})
    );
    let (_, alias) = server.get("/api/config/groups/g").await;
    assert_eq!(alias["data"]["name"], "Tea club");
    let (_, list) = server.get("/api/group-admin/groups").await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));

    // Bad settings are refused and change nothing.
    for bad in [
        json!({"presetId": "nope"}),
        json!({"trigger": {"randomRate": 101}}),
        json!({"colour": "red"}),
        json!({"channel": "nope"}),
    ] {
        let (status, body) = server
            .call(Method::PUT, "/api/group-admin/groups/g", bad)
            .await;
        assert_error(status, &body, 400, "VALIDATION_ERROR");
    }

    // The group's prefix answers; without a mention or the prefix the bot is silent.
    let quiet = json!({"message": "hello", "userId": "u", "groupId": "g"});
    let (status, body) = chat(&server, quiet.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["skipped"], true, "{body}");
    assert!(body["data"]["reason"].is_string());
    let (status, body) = chat(
        &server,
        json!({"message": "! what now", "userId": "u", "groupId": "g"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sent = upstream.requests().last().expect("request").body["messages"].to_string();
    assert!(
        sent.contains("\"what now\""),
        "the prefix is taken off: {sent}"
    );

    // Disabled: silent even when mentioned.
    put_group(&server, "g", json!({"enabled": false})).await;
    let (_, body) = chat(&server, say("u", "hello")).await;
    assert_eq!(body["data"]["skipped"], true);

    // Deleted: the global rules again (prefix `#ai`, enabled).
    let (status, body) = server
        .call(Method::DELETE, "/api/group-admin/groups/g", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], Value::Null);
    let (_, merged) = server.get("/api/group-admin/groups/g/effective").await;
    assert_eq!(
        merged["data"]["trigger"]["prefix"],
        json!({"value": "#ai", "source": "global"})
    );
    assert_eq!(merged["data"]["enabled"]["source"], "global");
    let (_, body) = chat(
        &server,
        json!({"message": "! what now", "userId": "u", "groupId": "g"}),
    )
    .await;
    assert_eq!(body["data"]["skipped"], true);
    let (status, body) = chat(&server, say("u", "hello")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["data"]["content"].is_string(), "{body}");
    let (status, body) = server
        .call(Method::DELETE, "/api/group-admin/groups/g", json!({}))
        .await;
    assert_error(status, &body, 404, "NOT_FOUND");

    // A private chat follows the global trigger, as if the bot were mentioned.
    let (status, _) = server
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "trigger.type", "value": "prefix"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = chat(&server, json!({"message": "hello", "userId": "p"})).await;
    assert_eq!(body["data"]["skipped"], true);
    let (_, body) = chat(&server, json!({"message": "#ai hello", "userId": "p"})).await;
    assert!(body["data"]["content"].is_string(), "{body}");
    server.stop().await;
}

/// The value of the first sample of `name` whose labels include `labels`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => f64::NAN,
        })
}

#[tokio::test]
async fn system_stats_and_metrics_match_what_happened() {
    let server = TestServer::start().await;
    // A channel name of its own: the metrics recorder is shared by every test of this binary.
    let upstream = chatai_tests::upstream::Upstream::start(Protocol::Openai).await;
    chatai_tests::chatting::add_channel(
        &server,
        "stats",
        "openai",
        &upstream.base_url,
        &upstream.model,
        0,
        1500,
    )
    .await;
    upstream.script(
        [
            chatai_tests::chatting::calculator_call("c1"),
            Step::Text("42".into()),
            Step::Text("a".into()),
            Step::Text("b".into()),
        ],
        Step::Text("unexpected".into()),
    );
    for i in 0..3 {
        let (status, body) = chat(
            &server,
            json!({"message": format!("hi {i}"), "userId": "u"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = server.call_tool("uuid", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .call_tool("calculator", json!({"expression": "1 +"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    logs_of(&server, "calculator", 2).await;
    logs_of(&server, "uuid", 1).await;

    let (status, stats) = server.get("/api/system/stats?period=day").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let stats = &stats["data"];
    // Chat 1: question, tool call, tool result, answer; chats 2 and 3: question and answer.
    assert_eq!(stats["messages"], 8, "{stats}");
    // Four answers of 13 + 7 tokens.
    assert_eq!(stats["tokens"], 80);
    assert_eq!(stats["toolCalls"], 3);
    assert_eq!(stats["errors"], 1);
    let tools: Vec<(String, u64, u64)> = stats["byTool"]
        .as_array()
        .expect("byTool")
        .iter()
        .map(|t| {
            (
                t["tool"].as_str().unwrap_or_default().to_owned(),
                t["calls"].as_u64().unwrap_or(0),
                t["errors"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        tools,
        [("calculator".to_owned(), 2, 1), ("uuid".to_owned(), 1, 0)]
    );
    assert_eq!(
        stats["byChannel"],
        json!([{"channel": "stats", "answers": 4, "promptTokens": 52, "completionTokens": 28}])
    );
    assert_eq!(stats["byDay"].as_array().map(Vec::len), Some(1));
    assert_eq!(stats["byDay"][0]["toolCalls"], 3);
    assert_eq!(stats["byDay"][0]["messages"], 8);

    let text = server
        .admin(Method::GET, "/metrics")
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text");
    // Per-tool series (other tests of this binary may add to them).
    for outcome in ["ok", "INVALID_ARGUMENTS"] {
        let calls = sample(
            &scrape,
            "chatai_tool_calls_total",
            &[("tool", "calculator"), ("outcome", outcome)],
        );
        assert!(calls.is_some_and(|n| n >= 1.0), "{outcome}: {calls:?}");
    }
    let model = upstream.model.as_str();
    let tokens = |kind| {
        sample(
            &scrape,
            "chatai_llm_tokens_total",
            &[("channel", "stats"), ("model", model), ("kind", kind)],
        )
    };
    assert_eq!(
        (tokens("prompt"), tokens("completion")),
        (Some(52.0), Some(28.0))
    );
    for name in [
        "chatai_llm_request_duration_seconds_count",
        "chatai_chat_duration_seconds_count",
        "chatai_db_probe_duration_seconds_count",
        "chatai_tool_call_duration_seconds_count",
    ] {
        assert!(
            scrape.samples.iter().any(|s| s.metric == name) || text.contains(name),
            "{name} in /metrics"
        );
    }
    server.stop().await;
}
