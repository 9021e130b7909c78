//! What another instance on the same database writes reaches this one's caches by itself
//! (SurrealDB LIVE queries, `server/src/sync.rs`). Here the "other instance" is a write through
//! the store that bypasses this server's services — exactly what this server sees when another
//! instance changes the rows; `scale_out.rs` runs two instances on a real `surreal` server.

use base64::Engine as _;
use chatai_server::events::Event;
use chatai_server::store::{ApiKeyRecord, ChannelRecord};
use chatai_tests::TestServer;
use chatai_tests::wait::{PROPAGATION, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn keys_and_revocations_written_by_another_instance_take_effect_here() {
    let server = TestServer::start().await;
    let store = server.running().state.store.clone();

    // A key another instance created works here.
    let key = "cak_made_by_another_instance_0123456789abcdef";
    let hash: String = Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        server.verify_status("X-API-Key", key).await,
        StatusCode::UNAUTHORIZED
    );
    store
        .insert_api_key(&ApiKeyRecord {
            id: "elsewhere".into(),
            key_hash: hash,
            label: "made elsewhere".into(),
            scopes: vec!["read".into()],
            rate_limit_per_minute: None,
            created_at: 0,
            last_used_at: None,
        })
        .await
        .expect("insert");
    eventually(PROPAGATION, "a key created elsewhere", || async {
        server.verify_status("X-API-Key", key).await == StatusCode::OK
    })
    .await;

    // A key deleted elsewhere stops working here.
    let (id, made_here) = server.api_key(&["read"]).await;
    assert_eq!(
        server.verify_status("X-API-Key", &made_here).await,
        StatusCode::OK
    );
    assert!(store.delete_credential(&id).await.expect("delete"));
    eventually(PROPAGATION, "a key deleted elsewhere", || async {
        server.verify_status("X-API-Key", &made_here).await == StatusCode::UNAUTHORIZED
    })
    .await;

    // A session logged out elsewhere is refused here.
    let (status, link) = server
        .call(reqwest::Method::POST, "/api/auth/login-links", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let token = link["data"]["token"].as_str().expect("token").to_owned();
    let (status, session) = server.login(&token).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let jwt = session["data"]["token"].as_str().expect("jwt").to_owned();
    let bearer = format!("Bearer {jwt}");
    assert_eq!(
        server.verify_status("Authorization", &bearer).await,
        StatusCode::OK
    );
    let payload = jwt.split('.').nth(1).expect("payload");
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .expect("base64"),
    )
    .expect("claims");
    let jti = claims["jti"].as_str().expect("jti");
    let exp = claims["exp"].as_i64().expect("exp");
    store.revoke_jti(jti, exp * 1000).await.expect("revoke");
    eventually(PROPAGATION, "a session revoked elsewhere", || async {
        server.verify_status("Authorization", &bearer).await == StatusCode::UNAUTHORIZED
    })
    .await;
}

#[tokio::test]
async fn config_and_channels_written_by_another_instance_take_effect_here() {
    let server = TestServer::start().await;
    let store = server.running().state.store.clone();
    let mut events = server.events();

    store
        .set_config_values(&[("trigger.prefix".into(), json!("!elsewhere"))])
        .await
        .expect("overlay");
    eventually(PROPAGATION, "a setting changed elsewhere", || async {
        let (_, body) = server.get("/api/config?explain=true").await;
        body["data"]["config"]["trigger"]["prefix"] == "!elsewhere"
            && body["data"]["sources"]["trigger.prefix"] == "runtime"
    })
    .await;
    // Listeners here (SSE clients, the panel) hear of it as of a change made here.
    let announced = tokio::time::timeout(PROPAGATION, async {
        loop {
            let event = events.recv().await.expect("the bus is open");
            if let Event::ConfigChanged(changed) = &*event {
                return changed.keys.clone();
            }
        }
    })
    .await
    .expect("config_changed event");
    assert_eq!(announced, vec!["trigger.prefix".to_owned()]);

    let now = chatai_server::store::now_ms();
    assert!(
        store
            .create_channel(&ChannelRecord {
                name: "made-elsewhere".into(),
                kind: "openai".into(),
                base_url: "http://127.0.0.1:9".into(),
                api_keys: vec!["sk-elsewhere".into()],
                model: Some("m".into()),
                models: Vec::new(),
                priority: 5,
                enabled: true,
                timeout_ms: 1000,
                max_retries: 0,
                headers: Default::default(),
                last_tested_at: None,
                created_at: now,
                updated_at: now,
            })
            .await
            .expect("channel")
    );
    eventually(PROPAGATION, "a channel created elsewhere", || async {
        let (_, body) = server.get("/api/channels").await;
        body["data"]
            .as_array()
            .is_some_and(|list| list.iter().any(|c| c["name"] == "made-elsewhere"))
    })
    .await;
}
