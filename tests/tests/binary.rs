//! The real `chatai` binary: start, login link, cookie, restarts, env layering, the
//! `login-link` command, `kill -9` durability, and no secret in the log.

use std::path::Path;

use chatai_tests::binary::{Process, log_path, login_link, workdir};
use chatai_tests::upstream::{Protocol, Step, Upstream};
use chatai_tests::{assert_error, login_token_of};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn login(base: &str, login_url: &str) -> (StatusCode, Value) {
    send(
        client()
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "token": login_token_of(login_url) })),
    )
    .await
}

async fn admin_jwt(process: &Process) -> String {
    let (status, body) = login(&process.base, &process.login_url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["token"].as_str().expect("jwt").to_owned()
}

const PORT0: (&str, &str) = ("CHATAI_SERVER__PORT", "0");
const BIN: &str = chatai_tests::chatai_binary!();

#[tokio::test]
async fn the_login_link_comes_last_and_the_libraries_keep_quiet() {
    let (_dir, cwd) = workdir();
    // The default filter (`log.level = "info"`, no RUST_LOG).
    let process = Process::start(BIN, &cwd, &[PORT0, ("RUST_LOG", "")]);
    // The banner is what came up to the link: everything else was printed before it.
    assert!(
        process.banner[0].contains("listening on"),
        "{:?}",
        process.banner
    );
    assert!(
        process.banner.iter().any(|l| l.contains("data:"))
            && process
                .banner
                .iter()
                .any(|l| l.contains("chatai login-link")),
        "the other lines come before the link: {:?}",
        process.banner
    );
    let log = std::fs::read_to_string(log_path(&cwd)).expect("log");
    let ours = log.lines().filter(|l| l.contains("chatai_server")).count();
    assert!(ours > 0, "our own INFO lines stay: {log}");
    let theirs: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("INFO") && !l.contains("chatai_server"))
        .collect();
    assert!(theirs.is_empty(), "libraries logged at INFO: {theirs:#?}");
    process.terminate();
}

#[tokio::test]
async fn default_start_prints_a_link_that_logs_in() {
    let (_dir, cwd) = workdir();
    let process = Process::start(BIN, &cwd, &[]);
    assert_eq!(process.base, "http://127.0.0.1:3000");
    assert!(cwd.join("data").is_dir(), "data under ./data");
    assert!(process.banner.iter().any(|l| l.contains("data:")));
    assert!(
        process
            .login_url
            .starts_with("http://127.0.0.1:3000/login/token?token=")
    );

    // Opening the link sets the cookie and redirects to the panel.
    let response = client()
        .get(&process.login_url)
        .send()
        .await
        .expect("open link");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(cookie.starts_with("auth_token="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let jwt = cookie
        .trim_start_matches("auth_token=")
        .split(';')
        .next()
        .expect("value")
        .to_owned();

    // The JWT works as cookie and as Bearer.
    let (status, body) = send(
        client()
            .get(format!("{}/api/auth/verify", process.base))
            .header("Cookie", format!("auth_token={jwt}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["isAdmin"], true);
    let (status, _) = send(
        client()
            .get(format!("{}/api/auth/verify", process.base))
            .bearer_auth(&jwt),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The link worked once.
    let response = client()
        .get(&process.login_url)
        .send()
        .await
        .expect("open link again");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/login?error=invalid_token");
    process.terminate();
}

#[tokio::test]
async fn login_tokens_and_revocations_survive_restarts() {
    let (_dir, cwd) = workdir();
    let env = [PORT0];
    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let admin = |method: Method, path: &str| {
        client()
            .request(method, format!("{}{path}", process.base))
            .bearer_auth(&jwt)
    };
    let (status, permanent) = send(
        admin(Method::POST, "/api/auth/login-links")
            .json(&json!({"permanent": true, "label": "ops"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{permanent}");
    assert!(permanent["data"]["expiresAt"].is_null());
    let permanent_url = permanent["data"]["url"].as_str().expect("url").to_owned();
    let permanent_id = permanent["data"]["id"].as_str().expect("id").to_owned();

    // login-link while the server runs goes through the control socket.
    let temporary_url = login_link(BIN, &cwd, &env, false);
    assert!(
        temporary_url.contains("/login/token?token="),
        "{temporary_url}"
    );

    // A session to revoke before the restart.
    let (_, second) = login(&process.base, &permanent_url).await;
    let revoked_jwt = second["data"]["token"].as_str().expect("jwt").to_owned();
    let (status, _) = send(
        client()
            .post(format!("{}/api/auth/logout", process.base))
            .bearer_auth(&revoked_jwt),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    process.terminate();

    // login-link with no server opens the database itself.
    let offline_url = login_link(BIN, &cwd, &env, false);

    let process = Process::start(BIN, &cwd, &env);
    let base = process.base.clone();
    // Links keep working across the restart (the base URL may differ: port 0).
    let (status, body) = login(&base, &temporary_url).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "temporary link after restart: {body}"
    );
    let (status, body) = login(&base, &temporary_url).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");
    let (status, body) = login(&base, &offline_url).await;
    assert_eq!(status, StatusCode::OK, "offline link: {body}");
    let (status, body) = login(&base, &permanent_url).await;
    assert_eq!(status, StatusCode::OK, "permanent link: {body}");
    let (status, body) = login(&base, &permanent_url).await;
    assert_eq!(status, StatusCode::OK, "permanent link twice: {body}");
    let jwt = body["data"]["token"].as_str().expect("jwt").to_owned();

    // The logged-out session stays refused after the restart.
    let (status, body) = send(
        client()
            .get(format!("{base}/api/auth/verify"))
            .bearer_auth(&revoked_jwt),
    )
    .await;
    assert_error(status, &body, 401, "INVALID_TOKEN");

    // Revoke the permanent token.
    let (status, _) = send(
        client()
            .delete(format!("{base}/api/auth/tokens/{permanent_id}"))
            .bearer_auth(&jwt),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = login(&base, &permanent_url).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");
    process.terminate();

    let process = Process::start(BIN, &cwd, &env);
    let (status, body) = login(&process.base, &permanent_url).await;
    assert_error(status, &body, 401, "INVALID_TOKEN");
    // The permanent link from the CLI works after restart too.
    let cli_permanent = login_link(BIN, &cwd, &env, true);
    let (status, _) = login(&process.base, &cli_permanent).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = login(&process.base, &cli_permanent).await;
    assert_eq!(status, StatusCode::OK);
    process.terminate();
}

#[tokio::test]
async fn env_overrides_file_and_runtime_changes_persist() {
    let (_dir, cwd) = workdir();
    std::fs::write(
        cwd.join("chatai.toml"),
        "[bot]\nname = \"FromFile\"\n[trigger]\nprefix = \"!file\"\n",
    )
    .expect("config");
    let env = [PORT0, ("CHATAI_BOT__NAME", "FromEnv")];
    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let explain = |base: &str, jwt: &str| {
        client()
            .get(format!("{base}/api/config?explain=true"))
            .bearer_auth(jwt)
    };
    let (status, body) = send(explain(&process.base, &jwt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["config"]["bot"]["name"], "FromEnv");
    assert_eq!(body["data"]["sources"]["bot.name"], "env");
    assert_eq!(body["data"]["config"]["trigger"]["prefix"], "!file");
    assert_eq!(body["data"]["sources"]["trigger.prefix"], "file");

    let put = |path: &str, value: Value| {
        client()
            .put(format!("{}/api/config", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"path": path, "value": value}))
    };
    let (status, body) = send(put("bot.name", json!("FromApi"))).await;
    assert_error(status, &body, 409, "CONFIG_PINNED");
    let (status, body) = send(put("trigger.prefix", json!("!runtime"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    process.terminate();

    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let (_, body) = send(explain(&process.base, &jwt)).await;
    assert_eq!(body["data"]["config"]["trigger"]["prefix"], "!runtime");
    assert_eq!(body["data"]["sources"]["trigger.prefix"], "runtime");
    assert_eq!(body["data"]["config"]["bot"]["name"], "FromEnv");
    process.terminate();

    // An unknown key in the file stops the start with the key named.
    std::fs::write(cwd.join("chatai.toml"), "[bot]\nnmae = \"typo\"\n").expect("config");
    let output = std::process::Command::new(BIN)
        .current_dir(&cwd)
        .env_clear()
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nmae"), "{stderr}");
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    writes_survive_kill_9("0").await;
}

/// With a background sync instead of one per commit, a commit still reaches the OS before it
/// is acknowledged: a killed process loses nothing (only a power loss could).
#[tokio::test]
async fn acknowledged_writes_survive_kill_9_with_interval_sync() {
    writes_survive_kill_9("1000").await;
}

/// 16 writers create API keys until the server is killed mid-stream; after a restart every
/// acknowledged key is there (`sync_ms`: `database.sync_ms`).
async fn writes_survive_kill_9(sync_ms: &str) {
    let (_dir, cwd) = workdir();
    let env = [
        PORT0,
        ("CHATAI_RATE_LIMIT__PER_MINUTE", "0"),
        ("CHATAI_DATABASE__SYNC_MS", sync_ms),
    ];
    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let base = process.base.clone();

    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for writer in 0..16 {
        let acknowledged = acknowledged.clone();
        let base = base.clone();
        let jwt = jwt.clone();
        writers.push(tokio::spawn(async move {
            let client = client();
            for n in 0..200 {
                let response = client
                    .post(format!("{base}/api/auth/api-keys"))
                    .bearer_auth(&jwt)
                    .json(&json!({"label": format!("w{writer}-{n}"), "scopes": ["read"]}))
                    .send()
                    .await;
                let Ok(response) = response else { break };
                if response.status() != StatusCode::CREATED {
                    break;
                }
                let Ok(body) = response.json::<Value>().await else {
                    break;
                };
                if let Some(id) = body["data"]["id"].as_str() {
                    acknowledged.lock().expect("lock").push(id.to_owned());
                }
            }
        }));
    }
    // Kill once enough writes are acknowledged, mid-stream.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while acknowledged.lock().expect("lock").len() < 200 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    process.kill9();
    for writer in writers {
        writer.await.expect("writer");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= 200,
        "only {} writes acknowledged",
        acknowledged.len()
    );

    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let (status, body) = send(
        client()
            .get(format!("{}/api/auth/tokens", process.base))
            .bearer_auth(&jwt),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored: std::collections::HashSet<&str> = body["data"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );
    process.terminate();
}

#[tokio::test]
async fn no_secret_reaches_the_log() {
    let (_dir, cwd) = workdir();
    let secret = "jwt-secret-that-must-never-be-logged-0123456789";
    let env = [PORT0, ("CHATAI_AUTH__JWT_SECRET", secret)];
    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let (_, key) = send(
        client()
            .post(format!("{}/api/auth/api-keys", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"label": "k", "scopes": ["read"]})),
    )
    .await;
    let key = key["data"]["key"].as_str().expect("key").to_owned();
    let (_, link) = send(
        client()
            .post(format!("{}/api/auth/login-links", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"permanent": true})),
    )
    .await;
    let link_token = link["data"]["token"].as_str().expect("token").to_owned();
    let (status, _) = send(
        client()
            .get(format!("{}/api/config", process.base))
            .header("X-API-Key", &key),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, config) = send(
        client()
            .get(format!("{}/api/config", process.base))
            .bearer_auth(&jwt),
    )
    .await;
    assert_eq!(config["data"]["auth"]["jwt_secret"], "***");

    // LLM channel keys: used (one refused with 401, which is logged), never shown or logged.
    let upstream = Upstream::start(Protocol::Openai).await;
    upstream.script([Step::Status(401, None)], Step::Text("hi".into()));
    let channel_keys = [
        "sk-channel-key-that-must-never-be-logged-4242",
        "sk-second-channel-key-never-logged-7373",
    ];
    let (status, created) = send(
        client()
            .post(format!("{}/api/channels", process.base))
            .bearer_auth(&jwt)
            .json(
                &json!({"name": "c", "type": "openai", "baseUrl": upstream.base_url,
                          "apiKeys": channel_keys, "model": upstream.model,
                          "headers": {"x-api-token": "header-secret-never-logged-5151"}}),
            ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, answer) = send(
        client()
            .post(format!("{}/api/chat", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"message": "hi", "userId": "u"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (_, channels) = send(
        client()
            .get(format!("{}/api/channels", process.base))
            .bearer_auth(&jwt),
    )
    .await;
    assert_eq!(channels["data"][0]["status"], "key_refused");
    for shown in [&created, &answer, &channels] {
        let text = shown.to_string();
        for secret in channel_keys
            .iter()
            .chain(["header-secret-never-logged-5151"].iter())
        {
            assert!(
                !text.contains(secret),
                "a channel secret in a response: {text}"
            );
        }
    }
    process.terminate();

    let log = std::fs::read_to_string(log_path(Path::new(&cwd))).expect("log");
    assert!(
        log.contains("request"),
        "the log was written at debug level"
    );
    assert!(
        log.contains("upstream attempt failed"),
        "the refused key was logged"
    );
    let secrets = [secret, key.as_str(), link_token.as_str(), jwt.as_str()]
        .into_iter()
        .chain(channel_keys)
        .chain(["header-secret-never-logged-5151"]);
    for secret in secrets {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

#[tokio::test]
async fn custom_extensions_come_back_after_a_restart_from_the_compile_cache() {
    let (_dir, cwd) = workdir();
    let env = [PORT0];
    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    for (name, manifest) in [
        ("raw", "name = \"raw\""),
        ("counter", "name = \"tally\"\nversion = \"1.0.0\""),
        ("keeper_a", "name = \"keeper\"\n[capabilities]\nkv = true"),
    ] {
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(chatai_tests::fixture(name))
                    .file_name(format!("{name}.wasm")),
            )
            .text("manifest", manifest.to_owned());
        let (status, body) = send(
            client()
                .post(format!("{}/api/tools/custom", process.base))
                .bearer_auth(&jwt)
                .multipart(form),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, _) = send(
        client()
            .put(format!("{}/api/tools/custom/keeper", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"grants": {"kv": true}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        client()
            .post(format!("{}/api/tools/call", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"name": "keeper_a_kv_put", "args": {"key": "k", "value": "kept"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Disabled stays disabled across the restart.
    let (status, _) = send(
        client()
            .put(format!("{}/api/tools/custom/raw", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    process.terminate();

    let cache = cwd.join("data/cache/wasm");
    let raw_sha: String = <sha2::Sha256 as sha2::Digest>::digest(chatai_tests::fixture("raw"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let cached: Vec<String> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert!(
        cached
            .iter()
            .any(|f| f.starts_with(&raw_sha) && f.ends_with(".cwasm")),
        "{cached:?}"
    );

    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let call_with = |name: &'static str, args: Value| {
        client()
            .post(format!("{}/api/tools/call", process.base))
            .bearer_auth(&jwt)
            .json(&json!({"name": name, "args": args}))
    };
    let call = |name: &'static str| call_with(name, json!({}));
    let (status, body) = send(call_with("keeper_a_kv_read", json!({"key": "k"}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["result"], "kept",
        "kv and its grant survive a restart"
    );
    let (status, body) = send(call("count_calls")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "1");
    let (status, body) = send(call("echo_name")).await;
    assert_error(status, &body, 403, "TOOL_DISABLED");
    let (_, list) = send(
        client()
            .get(format!("{}/api/tools/custom", process.base))
            .bearer_auth(&jwt),
    )
    .await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["keeper", "raw", "tally"]);
    process.terminate();
    // Every component of the second start (6 builtins + 3 custom) came from the cache.
    let log = std::fs::read_to_string(log_path(Path::new(&cwd))).expect("log");
    let starts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("extensions loaded"))
        .collect();
    assert_eq!(starts.len(), 2, "{starts:?}");
    let plain = strip_ansi(starts[1]);
    assert!(
        plain.contains("custom=3") && plain.contains("from_cache=3"),
        "{plain}"
    );
    // Every extension change is in the log, as in `GET /api/tools/custom`'s events.
    let changes: Vec<String> = log
        .lines()
        .filter(|l| l.contains("custom extension changed"))
        .map(strip_ansi)
        .collect();
    for expected in ["installed", "grants changed from", "disabled"] {
        assert!(
            changes.iter().any(|l| l.contains(expected)),
            "`{expected}` is logged: {changes:?}"
        );
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn a_multi_key_put_with_a_pinned_key_changes_nothing() {
    let (_dir, cwd) = workdir();
    let env = [PORT0, ("CHATAI_TOOLS__ADMIN_ONLY_TOOLS", "[\"pinned\"]")];
    let process = Process::start(BIN, &cwd, &env);
    let jwt = admin_jwt(&process).await;
    let url = format!("{}/api/tools/dangerous", process.base);
    let (status, body) = send(client().put(&url).bearer_auth(&jwt).json(
        &json!({"allowDangerous": true, "dangerousTools": ["calculator"], "adminOnlyTools": []}),
    ))
    .await;
    assert_error(status, &body, 409, "CONFIG_PINNED");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("tools.admin_only_tools")),
        "{body}"
    );
    let (status, body) = send(client().get(&url).bearer_auth(&jwt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"],
        json!({"allowDangerous": false, "dangerousTools": [], "adminOnlyTools": ["pinned"]}),
        "the keys before the pinned one did not change either"
    );
    process.terminate();
}
