//! API.md §1 "Rate limit": per principal, headers, Retry-After, no over-admission.

use chatai_tests::{TestServer, assert_error};
use reqwest::StatusCode;

const LIMITED: &str = "[rate_limit]\nper_minute = 60\nlogin_per_minute = 100000\n";

#[tokio::test]
async fn the_61st_request_is_refused_for_that_principal_only() {
    let server = TestServer::start_with(LIMITED).await;
    let (_, first) = server.api_key(&["read"]).await;
    let (_, second) = server.api_key(&["read"]).await;
    let get = |key: &str| {
        server
            .client
            .get(server.url("/api/auth/verify"))
            .header("X-API-Key", key)
    };
    for n in 1..=60 {
        let response = get(&first).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::OK, "request {n}");
        assert_eq!(response.headers()["x-ratelimit-limit"], "60");
        assert_eq!(
            response.headers()["x-ratelimit-remaining"]
                .to_str()
                .expect("ascii"),
            (60 - n).to_string()
        );
        assert!(response.headers().contains_key("x-ratelimit-reset"));
    }
    let response = get(&first).send().await.expect("request");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=61).contains(&retry_after), "{retry_after}");
    let status = response.status();
    let body = response.json().await.expect("json");
    assert_error(status, &body, 429, "RATE_LIMITED");

    // Another principal is unaffected.
    let response = get(&second).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn concurrent_requests_do_not_over_admit() {
    let server = TestServer::start_with(LIMITED).await;
    let (_, key) = server.api_key(&["read"]).await;
    let mut tasks = Vec::new();
    for _ in 0..150 {
        let request = server
            .client
            .get(server.url("/api/auth/verify"))
            .header("X-API-Key", &key);
        tasks.push(tokio::spawn(async move {
            request.send().await.expect("request").status()
        }));
    }
    let mut ok = 0;
    let mut limited = 0;
    for task in tasks {
        match task.await.expect("task") {
            StatusCode::OK => ok += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 60, "exactly one window's worth admitted");
    assert_eq!(limited, 90);
    server.stop().await;
}

#[tokio::test]
async fn per_key_override_and_health_is_exempt() {
    let server = TestServer::start_with(LIMITED).await;
    let (status, body) = server
        .call(
            reqwest::Method::POST,
            "/api/auth/api-keys",
            serde_json::json!({"label": "tight", "scopes": ["read"], "rateLimitPerMinute": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["data"]["key"].as_str().expect("key").to_owned();
    for _ in 0..3 {
        let response = server
            .client
            .get(server.url("/api/auth/verify"))
            .header("X-API-Key", &key)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = server
        .client
        .get(server.url("/api/auth/verify"))
        .header("X-API-Key", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    for _ in 0..100 {
        let response = server
            .client
            .get(server.url("/api/system/health"))
            .send()
            .await
            .expect("health");
        assert_eq!(response.status(), StatusCode::OK);
    }
    server.stop().await;
}

#[tokio::test]
async fn login_attempts_have_their_own_stricter_limit() {
    let server =
        TestServer::start_with("[rate_limit]\nper_minute = 1000\nlogin_per_minute = 5\n").await;
    // The harness used one login attempt already.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = server
            .client
            .post(server.url("/api/auth/login"))
            .json(&serde_json::json!({"token": "guess"}))
            .send()
            .await
            .expect("login");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 429, 429]);
    server.stop().await;
}
