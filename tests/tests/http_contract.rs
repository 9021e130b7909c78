//! API.md §1: the envelope on every failure, request ids, body limits, and the OpenAPI document.

use chatai_tests::{TestServer, assert_error};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn failures_come_in_the_envelope() {
    let server = TestServer::start().await;

    // Unknown route (authenticated; anonymous callers learn nothing but 401).
    let (status, body) = server.get("/api/no-such-thing").await;
    assert_error(status, &body, 404, "NOT_FOUND");

    // Wrong method.
    let (status, body) = server
        .send(server.admin(Method::DELETE, "/api/config"))
        .await;
    assert_error(status, &body, 405, "METHOD_NOT_ALLOWED");

    // 2 MiB JSON body.
    let big = json!({ "path": "bot.name", "value": "x".repeat(2 * 1024 * 1024) });
    let (status, body) = server.call(Method::PUT, "/api/config", big).await;
    assert_error(status, &body, 413, "PAYLOAD_TOO_LARGE");

    // Invalid JSON.
    let (status, body) = server
        .send(
            server
                .admin(Method::PUT, "/api/config")
                .header("content-type", "application/json")
                .body("{\"path\": \"bot.name\", "),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // Wrong field type.
    let (status, body) = server
        .call(
            Method::POST,
            "/api/auth/api-keys",
            json!({ "label": 5, "scopes": ["read"] }),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // Unknown enum value.
    let (status, body) = server
        .call(
            Method::POST,
            "/api/auth/api-keys",
            json!({ "label": "x", "scopes": ["root"] }),
        )
        .await;
    assert_error(status, &body, 400, "VALIDATION_ERROR");

    // Nothing of the refused writes was stored.
    let (_, config) = server.get("/api/config").await;
    assert_eq!(config["data"]["bot"]["name"], "ChatAI");
    let (_, tokens) = server.get("/api/auth/tokens").await;
    assert_eq!(tokens["data"], json!([]));

    server.stop().await;
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let server = TestServer::start().await;
    for (path, expected) in [
        ("/api/system/health", 200),
        ("/api/config", 401),
        // No route matched: a credential is needed before a 404 (access is decided on the
        // route that matched, and there is none to declare public access).
        ("/nope/at/all", 401),
    ] {
        let response = server
            .client
            .get(server.url(path))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status().as_u16(), expected, "{path}");
        let id = response
            .headers()
            .get("x-request-id")
            .expect("x-request-id header");
        assert!(!id.is_empty());
    }
    // A caller's id is echoed.
    let response = server
        .client
        .get(server.url("/api/system/health"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("request");
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    server.stop().await;
}

#[tokio::test]
async fn health_status_and_metrics() {
    let server = TestServer::start().await;
    let (status, body) = server
        .send(server.client.get(server.url("/api/system/health")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"success": true, "data": {"status": "ok", "db": "ok"}})
    );

    let (status, body) = server.get("/api/system/status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["db"], json!({"engine": "memory", "ok": true}));
    assert!(body["data"]["memory"]["rssBytes"].as_u64().unwrap_or(0) > 0);
    assert_eq!(body["data"]["version"], env!("CARGO_PKG_VERSION"));
    // The instances on this database: this one, heartbeating, at the address it serves.
    let instances = body["data"]["instances"].as_array().expect("instances");
    assert_eq!(instances.len(), 1, "{body}");
    assert_eq!(instances[0]["this"], true);
    assert_eq!(instances[0]["address"], server.base.as_str());
    assert_eq!(instances[0]["id"].as_str().map(str::len), Some(12));
    assert!(instances[0]["seenAt"].as_i64() >= instances[0]["startedAt"].as_i64());

    // /metrics needs a credential with read, and counts requests by route.
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (_, key) = server.api_key(&["read"]).await;
    let response = server
        .client
        .get(server.url("/metrics"))
        .header("X-API-Key", key)
        .send()
        .await
        .expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");
    assert!(text.contains("chatai_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/system/status\""), "{text}");
    assert!(
        text.contains("chatai_http_request_duration_seconds"),
        "{text}"
    );
    server.stop().await;
}

/// Every route the router serves, as `(method, OpenAPI path)`.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/auth/login"),
    ("get", "/api/auth/verify"),
    ("post", "/api/auth/verify"),
    ("get", "/api/auth/me"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("post", "/api/auth/login-links"),
    ("get", "/api/auth/tokens"),
    ("delete", "/api/auth/tokens/{id}"),
    ("post", "/api/auth/api-keys"),
    ("get", "/api/config"),
    ("put", "/api/config"),
    ("get", "/api/config/schema"),
    ("get", "/api/system/health"),
    ("get", "/api/system/status"),
    ("get", "/api/system/stats"),
    ("get", "/api/system/events"),
    ("get", "/api/openapi.json"),
    ("get", "/api/tools"),
    ("get", "/api/tools/by-source"),
    ("post", "/api/tools/call"),
    ("get", "/api/tools/builtin/config"),
    ("put", "/api/tools/builtin/config"),
    ("get", "/api/tools/dangerous"),
    ("put", "/api/tools/dangerous"),
    ("get", "/api/tools/logs"),
    ("delete", "/api/tools/logs"),
    ("get", "/api/tools/custom"),
    ("post", "/api/tools/custom"),
    ("put", "/api/tools/custom/{name}"),
    ("delete", "/api/tools/custom/{name}"),
    ("post", "/api/tools/reload"),
    ("get", "/api/tools/{name}"),
    ("post", "/api/tools/{name}/execute"),
    ("get", "/api/channels"),
    ("post", "/api/channels"),
    ("get", "/api/channels/{name}"),
    ("put", "/api/channels/{name}"),
    ("delete", "/api/channels/{name}"),
    ("post", "/api/channels/{name}/test"),
    ("get", "/api/channels/{name}/models"),
    ("get", "/api/config/channels"),
    ("post", "/api/config/channels"),
    ("get", "/api/config/channels/{name}"),
    ("put", "/api/config/channels/{name}"),
    ("delete", "/api/config/channels/{name}"),
    ("post", "/api/config/channels/{name}/test"),
    ("get", "/api/config/channels/{name}/models"),
    ("get", "/api/presets"),
    ("post", "/api/presets"),
    ("get", "/api/presets/{id}"),
    ("put", "/api/presets/{id}"),
    ("delete", "/api/presets/{id}"),
    ("post", "/api/presets/{id}/default"),
    ("get", "/api/config/presets"),
    ("post", "/api/config/presets"),
    ("get", "/api/config/presets/{id}"),
    ("put", "/api/config/presets/{id}"),
    ("delete", "/api/config/presets/{id}"),
    ("post", "/api/config/presets/{id}/default"),
    ("post", "/api/chat"),
    ("post", "/api/chat/stream"),
    ("get", "/api/chat/presets"),
    ("get", "/api/chat/memories"),
    ("post", "/api/chat/memories"),
    ("delete", "/api/chat/memories"),
    ("delete", "/api/chat/memories/{id}"),
    ("get", "/api/chat/history"),
    ("delete", "/api/chat/history"),
    ("get", "/api/chat/stats"),
    ("get", "/api/conversations"),
    ("delete", "/api/conversations"),
    ("get", "/api/conversations/{id}"),
    ("delete", "/api/conversations/{id}"),
    ("get", "/api/mcp/servers"),
    ("post", "/api/mcp/servers"),
    ("post", "/api/mcp/servers/reconnect-all"),
    ("get", "/api/mcp/servers/{name}"),
    ("put", "/api/mcp/servers/{name}"),
    ("delete", "/api/mcp/servers/{name}"),
    ("post", "/api/mcp/servers/{name}/connect"),
    ("post", "/api/mcp/servers/{name}/disconnect"),
    ("get", "/api/mcp/servers/{name}/tools"),
    ("get", "/api/mcp/servers/{name}/resources"),
    ("post", "/api/mcp/connect"),
    ("get", "/api/mcp/resources"),
    ("get", "/api/mcp/prompts"),
    ("get", "/api/mcp/sse"),
    ("get", "/api/group-admin/groups"),
    ("get", "/api/group-admin/groups/{groupId}"),
    ("put", "/api/group-admin/groups/{groupId}"),
    ("delete", "/api/group-admin/groups/{groupId}"),
    ("get", "/api/group-admin/groups/{groupId}/effective"),
    ("get", "/api/group-admin/groups/{groupId}/usage"),
    ("get", "/api/config/groups/{groupId}"),
    ("put", "/api/config/groups/{groupId}"),
    ("delete", "/api/config/groups/{groupId}"),
    ("get", "/api/skills"),
    ("get", "/api/skills/sse"),
    ("get", "/api/skills/categories"),
    ("get", "/api/skills/stats"),
    ("post", "/api/skills/reload"),
    ("post", "/api/skills/enable-all"),
    ("post", "/api/skills/disable-all"),
    ("post", "/api/skills/toggle-category"),
    ("post", "/api/skills/toggle-tool"),
    ("get", "/api/skills/mcp/servers"),
    ("post", "/api/skills/mcp/servers"),
    ("post", "/api/skills/mcp/servers/reconnect-all"),
    ("get", "/api/skills/mcp/servers/{name}"),
    ("put", "/api/skills/mcp/servers/{name}"),
    ("delete", "/api/skills/mcp/servers/{name}"),
    ("post", "/api/skills/mcp/servers/{name}/connect"),
    ("post", "/api/skills/mcp/servers/{name}/disconnect"),
    ("get", "/api/skills/mcp/servers/{name}/tools"),
    ("get", "/api/skills/mcp/servers/{name}/resources"),
    ("get", "/api/skills/{name}"),
    ("post", "/api/skills/{name}/run"),
    ("get", "/mcp"),
    ("post", "/mcp"),
    ("delete", "/mcp"),
    ("get", "/login/token"),
    ("get", "/login"),
    ("get", "/assets/{version}/{**path}"),
    ("get", "/metrics"),
    ("get", "/"),
];

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let server = TestServer::start().await;
    let response = server
        .client
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .expect("openapi");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");

    // It parses as an OpenAPI 3.1 document (typed, every object of the spec), and every
    // operation's request body, parameters, responses and their schemas resolve.
    let spec = oas3::from_json(&text).expect("a valid OpenAPI 3.1 document");
    let version = spec.validate_version().expect("supported version");
    assert_eq!((version.major, version.minor), (3, 1));
    let mut operations = 0;
    for (path, method, operation) in spec.operations() {
        operations += 1;
        let name = format!("{method} {path}");
        operation
            .request_body(&spec)
            .unwrap_or_else(|e| panic!("{name}: body: {e}"));
        operation
            .parameters(&spec)
            .unwrap_or_else(|e| panic!("{name}: parameters: {e}"));
        let responses = operation.responses(&spec);
        assert!(!responses.is_empty(), "{name} documents no response");
        for (status, response) in responses {
            for (mime, media) in response.content {
                media
                    .schema(&spec)
                    .unwrap_or_else(|e| panic!("{name} {status} {mime}: schema: {e}"));
            }
        }
    }
    assert_eq!(operations, ROUTES.len());
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    for (method, path) in ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} missing from the OpenAPI document (it has {:?})",
            paths.keys().collect::<Vec<_>>()
        );
    }
    // Every operation is served: no documented route answers 404/405.
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} documented but not in the test's route list"
            );
        }
    }
    assert!(
        doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .is_some_and(|codes| codes.iter().any(|c| c == "RATE_LIMITED"))
    );

    // The docs page is served.
    let docs = server
        .client
        .get(server.url("/api/docs/"))
        .send()
        .await
        .expect("docs");
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.expect("html").contains("swagger"));
    server.stop().await;
}
