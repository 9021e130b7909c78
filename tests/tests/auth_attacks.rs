//! QUALITY.md §2 "Auth": every attack gets 401/403 with the right code, never data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chatai_tests::{TestServer, assert_error, login_token_of};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

async fn server() -> TestServer {
    TestServer::start_with(&format!("[auth]\njwt_secret = \"{SECRET}\"\n")).await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn valid_claims() -> Value {
    json!({
        "sub": "admin", "jti": "forged-jti", "iat": now(), "exp": now() + 600,
        "iss": "chatai-edge", "aud": "chatai-panel"
    })
}

/// A JWT with any header, signed with HMAC-SHA256 under `secret`.
fn forge(header: Value, claims: &Value, secret: &str) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{head}.{body}").as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{head}.{body}.{sig}")
}

fn hs256() -> Value {
    json!({ "alg": "HS256", "typ": "JWT" })
}

async fn verify_with(server: &TestServer, token: &str) -> (StatusCode, Value) {
    server
        .send(
            server
                .client
                .get(server.url("/api/auth/verify"))
                .bearer_auth(token),
        )
        .await
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let server = server().await;

    // The harness forges correctly: the right secret and claims pass.
    let good = forge(hs256(), &valid_claims(), SECRET);
    let (status, body) = verify_with(&server, &good).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["isAdmin"], true);

    // No credential at all.
    let (status, body) = server
        .send(server.client.get(server.url("/api/config")))
        .await;
    assert_error(status, &body, 401, "AUTH_REQUIRED");
    assert!(body.get("data").is_none());

    // alg: none, unsigned.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(valid_claims().to_string())
    );
    let (status, body) = verify_with(&server, &none).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // RS256 claimed, HMAC-signed with the server secret (algorithm confusion).
    let confused = forge(
        json!({"alg": "RS256", "typ": "JWT"}),
        &valid_claims(),
        SECRET,
    );
    let (status, body) = verify_with(&server, &confused).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // Wrong secret.
    let wrong = forge(
        hs256(),
        &valid_claims(),
        "another-secret-0123456789-abcdefghijk",
    );
    let (status, body) = verify_with(&server, &wrong).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // Expired (beyond the 60 s skew).
    let mut claims = valid_claims();
    claims["iat"] = json!(now() - 7200);
    claims["exp"] = json!(now() - 3600);
    let (status, body) = verify_with(&server, &forge(hs256(), &claims, SECRET)).await;
    assert_error(status, &body, 401, "TOKEN_EXPIRED");

    // Issued in the future beyond the skew.
    let mut claims = valid_claims();
    claims["iat"] = json!(now() + 3600);
    claims["exp"] = json!(now() + 7200);
    let (status, body) = verify_with(&server, &forge(hs256(), &claims, SECRET)).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // Wrong issuer, wrong audience.
    for (field, value) in [("iss", "someone-else"), ("aud", "another-app")] {
        let mut claims = valid_claims();
        claims[field] = json!(value);
        let (status, body) = verify_with(&server, &forge(hs256(), &claims, SECRET)).await;
        assert_error(status, &body, 401, "INVALID_TOKEN");
    }

    // Missing jti.
    let mut claims = valid_claims();
    claims.as_object_mut().expect("object").remove("jti");
    let (status, body) = verify_with(&server, &forge(hs256(), &claims, SECRET)).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // Garbage.
    let (status, body) = verify_with(&server, "not.a.jwt").await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    server.stop().await;
}

#[tokio::test]
async fn logout_revokes_and_login_tokens_are_single_use() {
    let server = server().await;

    // The start-up link was used by the harness: a second use fails.
    let token = login_token_of(&server.login_url);
    let (status, body) = server.login(&token).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // A session works until logout, then never again.
    let (status, link) = server
        .call(Method::POST, "/api/auth/login-links", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let (status, session) = server
        .send(
            server
                .client
                .post(server.url("/api/auth/login"))
                .json(&json!({ "token": link["data"]["token"] })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let jwt = session["data"]["token"].as_str().expect("jwt").to_owned();
    assert_eq!(verify_with(&server, &jwt).await.0, StatusCode::OK);
    let (status, _) = server
        .send(
            server
                .client
                .post(server.url("/api/auth/logout"))
                .bearer_auth(&jwt),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = verify_with(&server, &jwt).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // Refresh revokes the old token and the new one works.
    let (status, refreshed) = server
        .send(
            server
                .client
                .post(server.url("/api/auth/refresh"))
                .bearer_auth(&server.admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let new = refreshed["data"]["token"].as_str().expect("token");
    assert_eq!(verify_with(&server, new).await.0, StatusCode::OK);
    let (status, body) = verify_with(&server, &server.admin).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    server.stop().await;
}

#[tokio::test]
async fn api_key_scopes_are_enforced() {
    let server = server().await;
    let (_, read) = server.api_key(&["read"]).await;
    let (_, chat) = server.api_key(&["chat"]).await;
    let (_, admin) = server.api_key(&["admin"]).await;

    let as_key = |method: Method, path: &str, key: &str| {
        server
            .client
            .request(method, server.url(path))
            .header("X-API-Key", key)
    };

    // read: GETs, but not credential listings, not writes.
    let (status, body) = server.send(as_key(Method::GET, "/api/config", &read)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .send(as_key(Method::GET, "/api/auth/tokens", &read))
        .await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (status, body) = server
        .send(
            as_key(Method::PUT, "/api/config", &read)
                .json(&json!({"path": "trigger.prefix", "value": "!x"})),
        )
        .await;
    assert_error(status, &body, 403, "FORBIDDEN");

    // chat: no config.
    let (status, body) = server.send(as_key(Method::GET, "/api/config", &chat)).await;
    assert_error(status, &body, 403, "FORBIDDEN");

    // admin: everything; also as Bearer.
    let (status, body) = server
        .send(
            server
                .client
                .get(server.url("/api/auth/tokens"))
                .bearer_auth(&admin),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The listing never holds a secret.
    assert!(!body.to_string().contains(&admin));
    assert!(!body.to_string().contains(&read));

    // An unknown key.
    let (status, body) = server
        .send(as_key(Method::GET, "/api/config", "cak_nonsense"))
        .await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // A deleted key stops working at once.
    let (status, listing) = server.get("/api/auth/tokens").await;
    assert_eq!(status, StatusCode::OK);
    let read_id = listing["data"]
        .as_array()
        .expect("array")
        .iter()
        .find(|t| t["scopes"] == json!(["read"]))
        .expect("read key listed")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, _) = server
        .call(
            Method::DELETE,
            &format!("/api/auth/tokens/{read_id}"),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = server.send(as_key(Method::GET, "/api/config", &read)).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");
    let (status, body) = server
        .call(
            Method::DELETE,
            &format!("/api/auth/tokens/{read_id}"),
            json!(null),
        )
        .await;
    assert_error(status, &body, 404, "NOT_FOUND");

    server.stop().await;
}

#[tokio::test]
async fn cookie_requests_from_another_origin_are_refused() {
    let server = server().await;
    let cookie = format!("auth_token={}", server.admin);
    let put = |origin: Option<&str>| {
        let mut request = server
            .client
            .put(server.url("/api/config"))
            .header("Cookie", &cookie)
            .json(&json!({"path": "trigger.prefix", "value": "!csrf"}));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request
    };
    let (status, body) = server.send(put(Some("https://evil.example"))).await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (status, body) = server.send(put(None)).await;
    assert_error(status, &body, 403, "FORBIDDEN");
    // Nothing changed.
    let (_, config) = server.get("/api/config").await;
    assert_eq!(config["data"]["trigger"]["prefix"], "#ai");

    // Same origin passes; so does a GET with the cookie alone.
    let own = server.base.clone();
    let (status, body) = server.send(put(Some(&own))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server
        .send(
            server
                .client
                .get(server.url("/api/auth/verify"))
                .header("Cookie", &cookie),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Secrets never come back.
    let (_, config) = server.get("/api/config").await;
    assert_eq!(config["data"]["auth"]["jwt_secret"], "***");
    assert!(!config.to_string().contains(SECRET));

    server.stop().await;
}
