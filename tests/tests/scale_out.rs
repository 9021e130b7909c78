//! Several chatai instances on one real SurrealDB server (`surreal start`, built from the
//! crates.io `surrealdb-server` of our SDK's version) behave as one: what one instance changes,
//! the others apply by themselves (LIVE queries), they agree on the generated JWT secret, they
//! list each other, and when the database goes away requests fail fast with a clear error and
//! everything works again once it is back.

use std::time::{Duration, Instant};

use chatai_tests::chatting::{chat, with_upstream};
use chatai_tests::mcp::add_server;
use chatai_tests::sse::SseReader;
use chatai_tests::surreal::SurrealServer;
use chatai_tests::upstream::Protocol;
use chatai_tests::wait::{PROPAGATION, eventually};
use chatai_tests::{TestServer, fixture, send_all};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_logins_keys_revocations_settings_and_know_each_other() {
    let db = SurrealServer::start();
    let toml = db.toml("shared");
    // Started at the same instant on an empty database: they must agree on the JWT secret.
    let (a, b) = tokio::join!(TestServer::start_with(&toml), TestServer::start_with(&toml));
    assert_eq!(
        b.verify_status("Authorization", &format!("Bearer {}", a.admin))
            .await,
        StatusCode::OK
    );
    assert_eq!(
        a.verify_status("Authorization", &format!("Bearer {}", b.admin))
            .await,
        StatusCode::OK
    );

    // Each lists both instances, itself marked.
    for (me, other) in [(&a, &b), (&b, &a)] {
        let (status, body) = me.get("/api/system/status").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["db"]["engine"], "remote");
        let instances = body["data"]["instances"].as_array().expect("instances");
        let addresses: Vec<&str> = instances
            .iter()
            .filter_map(|i| i["address"].as_str())
            .collect();
        assert!(
            addresses.contains(&me.base.as_str()) && addresses.contains(&other.base.as_str()),
            "{body}"
        );
        let this: Vec<&Value> = instances.iter().filter(|i| i["this"] == true).collect();
        assert_eq!(this.len(), 1);
        assert_eq!(this[0]["address"], me.base.as_str());
    }

    // A login token minted on A logs in on B (once).
    let (status, link) = a
        .call(Method::POST, "/api/auth/login-links", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let token = link["data"]["token"].as_str().expect("token");
    let (status, session) = b.login(token).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let jwt = session["data"]["token"].as_str().expect("jwt").to_owned();
    assert_eq!(a.login(token).await.0, StatusCode::UNAUTHORIZED);

    // Logged out on A: refused on B.
    assert_eq!(
        b.verify_status("Authorization", &format!("Bearer {}", jwt))
            .await,
        StatusCode::OK
    );
    let logout = a
        .client
        .post(a.url("/api/auth/logout"))
        .bearer_auth(&jwt)
        .send()
        .await
        .expect("logout");
    assert_eq!(logout.status(), StatusCode::OK);
    eventually(
        PROPAGATION,
        "B refuses a session logged out on A",
        || async {
            b.verify_status("Authorization", &format!("Bearer {}", jwt))
                .await
                == StatusCode::UNAUTHORIZED
        },
    )
    .await;

    // An API key made on A works on B; deleted on A, it is refused on B.
    let (id, key) = a.api_key(&["read"]).await;
    eventually(PROPAGATION, "B accepts a key made on A", || async {
        b.verify_status("X-API-Key", &key).await == StatusCode::OK
    })
    .await;
    let (status, _) = a
        .call(Method::DELETE, &format!("/api/auth/tokens/{id}"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    eventually(PROPAGATION, "B refuses a key deleted on A", || async {
        b.verify_status("X-API-Key", &key).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // A setting changed on A is in force on B.
    let (status, body) = a
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "trigger.prefix", "value": "!both"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(PROPAGATION, "B applies a setting changed on A", || async {
        let (_, body) = b.get("/api/config?explain=true").await;
        body["data"]["config"]["trigger"]["prefix"] == "!both"
    })
    .await;

    // A clean stop removes A from B's list at once.
    a.stop().await;
    let (_, body) = b.get("/api/system/status").await;
    assert_eq!(
        body["data"]["instances"].as_array().map(Vec::len),
        Some(1),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_fails_requests_fast_and_propagation_resumes_after_it() {
    let mut db = SurrealServer::start();
    let toml = db.toml("restart");
    let a = TestServer::start_with(&toml).await;
    let b = TestServer::start_with(&toml).await;

    db.stop();
    // Health turns 503 (the probe runs every second) …
    eventually(
        Duration::from_secs(10),
        "health 503 while the database is down",
        || async { health(&a).await == StatusCode::SERVICE_UNAVAILABLE },
    )
    .await;
    // … and a request that needs the database ends with a clear 503 in the envelope, within
    // the configured deadline (2 s here), instead of hanging.
    let started = Instant::now();
    let (status, body) = a.get("/api/auth/tokens").await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["code"], "DATABASE_UNAVAILABLE", "{body}");
    assert!(took < Duration::from_secs(6), "took {took:?}");

    db.restart();
    for server in [&a, &b] {
        eventually(
            Duration::from_secs(30),
            "health 200 once the database is back",
            || async { health(server).await == StatusCode::OK },
        )
        .await;
    }
    // Requests work again, and a change made now on A reaches B.
    let (status, body) = a.get("/api/auth/tokens").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = a
        .call(
            Method::PUT,
            "/api/config",
            json!({"path": "trigger.prefix", "value": "!after"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(
        PROPAGATION,
        "B applies a change made on A after the restart",
        || async {
            let (_, body) = b.get("/api/config?explain=true").await;
            body["data"]["config"]["trigger"]["prefix"] == "!after"
        },
    )
    .await;
    let (_, key) = a.api_key(&["read"]).await;
    eventually(
        PROPAGATION,
        "B accepts a key made on A after the restart",
        || async { b.verify_status("X-API-Key", &key).await == StatusCode::OK },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_installed_upgraded_disabled_and_removed_on_a_follows_on_b() {
    let db = SurrealServer::start();
    let toml = db.toml("extensions");
    let a = TestServer::start_with(&toml).await;
    let b = TestServer::start_with(&toml).await;
    // An SSE client of B (EventSource style: the session token in the query).
    let mut updates = SseReader::open(b.client.get(b.url(&format!(
        "/api/system/events?types=tool_update&token={}",
        b.admin
    ))))
    .await;
    let manifest = |version: &str| format!("name = \"tally\"\nversion = \"{version}\"\n");

    let (status, body) = a
        .upload("tally.wasm", fixture("counter"), Some(&manifest("0.1.0")))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ((_, update), _) = updates.until("tool_update", PROPAGATION).await;
    assert_eq!(update["provider"], "tally");
    assert_eq!(update["source"], "custom");
    assert_eq!(update["tools"], json!(["count_calls"]));
    eventually(PROPAGATION, "B calls a tool installed on A", || async {
        b.call_tool("count_calls", json!({})).await.0 == StatusCode::OK
    })
    .await;

    // Upgraded on A: B serves the new version.
    let (status, body) = a
        .upload("tally.wasm", fixture("counter"), Some(&manifest("0.2.0")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(
        PROPAGATION,
        "B serves the version upgraded on A",
        || async {
            let (_, tool) = b.get("/api/tools/count_calls").await;
            tool["data"]["extension"] == json!({"name": "tally", "version": "0.2.0"})
        },
    )
    .await;

    // Disabled on A: refused on B; enabled again: answers on B.
    for (enabled, want) in [(false, StatusCode::FORBIDDEN), (true, StatusCode::OK)] {
        let (status, body) = a
            .call(
                Method::PUT,
                "/api/tools/custom/tally",
                json!({ "enabled": enabled }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        eventually(PROPAGATION, "B follows enable/disable on A", || async {
            b.call_tool("count_calls", json!({})).await.0 == want
        })
        .await;
    }

    // Uninstalled on A: gone from B.
    let (status, body) = a
        .call(Method::DELETE, "/api/tools/custom/tally", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(PROPAGATION, "B drops a tool uninstalled on A", || async {
        let (status, body) = b.call_tool("count_calls", json!({})).await;
        status == StatusCode::NOT_FOUND && body["code"] == "TOOL_NOT_FOUND"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_alternating_between_instances_stays_one_and_usage_limits_are_exact() {
    let db = SurrealServer::start();
    let toml = db.toml("chat");
    let a = TestServer::start_with(&toml).await;
    let b = TestServer::start_with(&toml).await;
    // The channel is made on A; B uses it once it has followed.
    let upstream = with_upstream(&a, Protocol::Openai).await;
    eventually(PROPAGATION, "B has the channel made on A", || async {
        let (_, body) = b.get("/api/channels").await;
        body["data"].as_array().is_some_and(|list| !list.is_empty())
    })
    .await;

    // One user's turns alternate between A and B: one history, in order.
    for turn in 0..6 {
        let server = if turn % 2 == 0 { &a } else { &b };
        let (status, body) = chat(
            server,
            json!({"message": format!("turn {turn}"), "userId": "walker"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "turn {turn}: {body}");
    }
    for server in [&a, &b] {
        let (status, body) = server.get("/api/conversations/user:walker").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let messages = body["data"]["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 12, "{body}");
        let said: Vec<&str> = messages
            .iter()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str())
            .collect();
        assert_eq!(
            said,
            ["turn 0", "turn 1", "turn 2", "turn 3", "turn 4", "turn 5"]
        );
    }

    // A member limit set on A holds across both: 64 chats at once, half on each, admit 10.
    let (status, body) = a
        .call(
            Method::PUT,
            "/api/group-admin/groups/g",
            json!({"usageLimit": {"dailyUserLimit": 10}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(PROPAGATION, "B has the group limit set on A", || async {
        let (_, body) = b.get("/api/group-admin/groups/g").await;
        body["data"]["usageLimit"]["dailyUserLimit"] == 10
    })
    .await;
    let before = upstream.requests().len();
    let requests = (0..64)
        .map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            server.admin(Method::POST, "/api/chat").json(&json!({
                "message": format!("message {i}"), "userId": "m1", "groupId": "g", "mentioned": true
            }))
        })
        .collect();
    let mut answered = 0;
    for (status, body) in send_all(requests).await {
        if status == StatusCode::OK {
            answered += 1;
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
            assert_eq!(body["code"], "USAGE_LIMIT_EXCEEDED");
        }
    }
    assert_eq!(answered, 10);
    assert_eq!(upstream.requests().len() - before, 10);
    // The member's ten turns ran on both instances at once, in one conversation: all twenty
    // messages are stored, each turn whole, as one sequence.
    let (_, list) = b.get("/api/conversations?groupId=g").await;
    let id = list["data"]["items"][0]["id"]
        .as_str()
        .expect("the group conversation");
    let (_, stored) = a.get(&format!("/api/conversations/{id}")).await;
    let messages = stored["data"]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 20, "{stored}");
    let roles: Vec<&str> = messages.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles, ["user", "assistant"].repeat(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_server_added_on_a_connects_on_b_and_leaves_with_it() {
    let db = SurrealServer::start();
    let toml = db.toml("mcp");
    let a = TestServer::start_with(&toml).await;
    let b = TestServer::start_with(&toml).await;
    add_server(
        &a,
        json!({"name": "steady", "type": "stdio", "command": env!("CARGO_BIN_EXE_mcp-test-server"),
               "args": ["--mode", "normal"], "timeoutMs": 2000}),
    )
    .await;
    // B starts its own connection to it (connecting takes a process start: up to 10 s).
    eventually(
        Duration::from_secs(10),
        "B connects a server added on A",
        || async {
            let (status, body) = b.get("/api/mcp/servers/steady").await;
            status == StatusCode::OK && body["data"]["status"] == "connected"
        },
    )
    .await;
    let (status, body) = a
        .call(Method::DELETE, "/api/mcp/servers/steady", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    eventually(PROPAGATION, "B drops a server deleted on A", || async {
        b.get("/api/mcp/servers/steady").await.0 == StatusCode::NOT_FOUND
    })
    .await;
}

/// The status of `GET /api/system/health` (public, answered from the database probe).
async fn health(server: &TestServer) -> StatusCode {
    server
        .client
        .get(server.url("/api/system/health"))
        .send()
        .await
        .expect("health")
        .status()
}
