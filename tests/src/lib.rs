//! Harness for the integration tests: the real server over real HTTP, on 127.0.0.1 with a
//! random port, embedded SurrealDB (`mem://` in-process, SurrealKV for the spawned binary).

pub mod authoring;
pub mod binary;
pub mod browser;
pub mod chatting;
pub mod mcp;
pub mod skilling;
pub mod sse;
pub mod surreal;
pub mod upstream;
pub mod wait;

use std::path::PathBuf;

use chatai_server::Running;
use chatai_server::config::ConfigLoader;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// An in-process server with its own temp dir, config file and in-memory database.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    /// A session JWT of the admin, obtained through the start-up login link.
    pub admin: String,
    /// The start-up login link (already used to get `admin`).
    pub login_url: String,
    running: Option<Running>,
    pub dir: tempfile::TempDir,
}

/// The config every test server starts from; `extra` TOML is appended (later keys win
/// within a table only when not repeated, so tests pass whole tables they change).
pub fn base_toml(data_dir: &std::path::Path, extra: &str) -> String {
    let has = |table: &str| extra.contains(&format!("[{table}]"));
    let mut toml = format!("data_dir = {:?}\n", data_dir.display().to_string());
    if !has("server") {
        toml.push_str("[server]\nport = 0\n");
    }
    if !has("database") {
        toml.push_str("[database]\nurl = \"mem://\"\n");
    }
    if !has("rate_limit") {
        toml.push_str("[rate_limit]\nper_minute = 100000\nlogin_per_minute = 100000\n");
    }
    toml.push_str(extra);
    toml
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with("").await
    }

    /// Starts with extra TOML (whole tables, e.g. `[rate_limit]\nper_minute = 60`).
    pub async fn start_with(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("chatai.toml");
        std::fs::write(&file, base_toml(&dir.path().join("data"), extra)).expect("write config");
        Self::start_from(dir, file).await
    }

    /// Like [`TestServer::start_with`], but the start-up login link stays unused (a browser
    /// opens it): the harness signs in with a login token of its own, made in-process.
    pub async fn start_keeping_link(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("chatai.toml");
        std::fs::write(&file, base_toml(&dir.path().join("data"), extra)).expect("write config");
        Self::start_inner(dir, file, false).await
    }

    async fn start_from(dir: tempfile::TempDir, file: PathBuf) -> Self {
        Self::start_inner(dir, file, true).await
    }

    async fn start_inner(dir: tempfile::TempDir, file: PathBuf, use_link: bool) -> Self {
        chatai_server::telemetry::init_logging(&chatai_server::config::LogConfig {
            // chromiumoxide warns of every DevTools message newer than its protocol types.
            level: "warn,chromiumoxide=error".into(),
            format: chatai_server::config::LogFormat::Text,
        });
        let loader = ConfigLoader::new(Some(file), None).expect("config loader");
        let running = chatai_server::start(loader).await.expect("server starts");
        let base = format!("http://{}", running.addr);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let login_url = running.login_url.clone();
        let token = if use_link {
            login_token_of(&login_url)
        } else {
            let config = running.state.config.current();
            running
                .state
                .auth
                .create_login_token(false, Some("test harness"), &config.auth)
                .await
                .expect("harness login token")
                .token
        };
        let response = client
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({ "token": token }))
            .send()
            .await
            .expect("login");
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "start-up login link works"
        );
        let body: Value = response.json().await.expect("json");
        let admin = body["data"]["token"].as_str().expect("jwt").to_owned();
        Self {
            base,
            client,
            admin,
            login_url,
            running: Some(running),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the admin's Bearer token.
    pub fn admin(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.admin)
    }

    /// Sends and decodes: `(status, body)`.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("response is not JSON ({status}): {text}"));
        (status, body)
    }

    /// `GET path` as admin.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.admin(Method::GET, path)).await
    }

    /// `method path` with a JSON body, as admin.
    pub async fn call(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.admin(method, path).json(&body)).await
    }

    /// `POST /api/tools/call` of `name` with `args`, as admin.
    pub async fn call_tool(&self, name: &str, args: Value) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            "/api/tools/call",
            serde_json::json!({ "name": name, "args": args }),
        )
        .await
    }

    /// `POST /api/auth/login` with a login token, no credential.
    pub async fn login(&self, token: &str) -> (StatusCode, Value) {
        self.send(
            self.client
                .post(self.url("/api/auth/login"))
                .json(&serde_json::json!({ "token": token })),
        )
        .await
    }

    /// Creates an API key with these scopes; returns `(id, key)`.
    pub async fn api_key(&self, scopes: &[&str]) -> (String, String) {
        let (status, body) = self
            .call(
                Method::POST,
                "/api/auth/api-keys",
                serde_json::json!({ "label": "test", "scopes": scopes }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        (
            body["data"]["id"].as_str().expect("id").to_owned(),
            body["data"]["key"].as_str().expect("key").to_owned(),
        )
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("running")
    }

    /// A subscriber of the server's event bus.
    pub fn events(&self) -> chatai_server::events::Subscription {
        self.running().state.events.subscribe()
    }

    /// Installs a fixture component (`tests/fixtures`, e.g. `misbehave`) as a custom extension
    /// through `POST /api/tools/custom`, with no manifest (the server's default limits, no
    /// grants).
    pub async fn load_fixture(&self, name: &str) -> Result<(), String> {
        let path = format!("{}/{name}.wasm", env!("CHATAI_FIXTURES"));
        let bytes = std::fs::read(&path).map_err(|err| format!("{path}: {err}"))?;
        let (status, body) = self.upload(&format!("{name}.wasm"), bytes, None).await;
        if status == StatusCode::CREATED {
            Ok(())
        } else {
            Err(format!("{status}: {body}"))
        }
    }

    /// Stops and starts again on the same data dir and config file (SurrealKV keeps its data;
    /// `mem://` starts empty). Logs in again with the new start-up link.
    pub async fn restart(mut self) -> Self {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
        let file = self.dir.path().join("chatai.toml");
        Self::start_from(self.dir, file).await
    }

    /// `POST /api/tools/custom` as admin: multipart with `file` (named `file_name`) and, when
    /// given, `manifest` (`extension.toml`).
    pub async fn upload(
        &self,
        file_name: &str,
        bytes: Vec<u8>,
        manifest: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
        if let Some(manifest) = manifest {
            form = form.part(
                "manifest",
                reqwest::multipart::Part::text(manifest.to_owned()).file_name("extension.toml"),
            );
        }
        self.send(
            self.admin(Method::POST, "/api/tools/custom")
                .multipart(form),
        )
        .await
    }

    /// The status of `GET /api/auth/verify` with this credential header (`X-API-Key`,
    /// `Authorization`).
    pub async fn verify_status(&self, header: &str, value: &str) -> StatusCode {
        self.client
            .get(self.url("/api/auth/verify"))
            .header(header, value)
            .send()
            .await
            .expect("verify")
            .status()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}

/// The bytes of a fixture component (`tests/fixtures`).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/{name}.wasm", env!("CHATAI_FIXTURES"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

/// Sends every request at once; each answer's status and JSON body, in the requests' order.
pub async fn send_all(requests: Vec<reqwest::RequestBuilder>) -> Vec<(StatusCode, Value)> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            tokio::spawn(async move {
                let response = request.send().await.expect("request");
                let status = response.status();
                (status, response.json::<Value>().await.expect("JSON body"))
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("request task"));
    }
    answers
}

/// The token inside a login link.
pub fn login_token_of(url: &str) -> String {
    url.split("token=")
        .nth(1)
        .expect("token in link")
        .to_owned()
}

/// Asserts the error envelope and its code.
pub fn assert_error(status: StatusCode, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status.as_u16(), want_status, "status; body: {body}");
    assert_eq!(body["success"], Value::Bool(false), "envelope: {body}");
    assert_eq!(body["code"], want_code, "code; body: {body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "message: {body}"
    );
}

/// A request sent byte for byte over a fresh TCP connection, so that paths reach the server
/// exactly as written (`//`, `/./`, `%61`: HTTP clients normalise those). `headers` are
/// `Name: value` lines; `Host` is added unless given. Returns the status and the whole
/// response text (headers and body).
pub async fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    if !matches!(method, "GET" | "HEAD") {
        request.push_str("Content-Length: 0\r\n");
    }
    request.push_str("\r\n");
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    // Read to the end, except for an event stream, which does not end: its head is enough.
    let mut response = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        loop {
            let n = stream.read(&mut chunk).await.expect("read response");
            if n == 0 {
                break;
            }
            response.extend_from_slice(&chunk[..n]);
            let head_end = response.windows(4).position(|w| w == b"\r\n\r\n");
            if let Some(end) = head_end
                && String::from_utf8_lossy(&response[..end])
                    .to_ascii_lowercase()
                    .contains("content-type: text/event-stream")
            {
                break;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), read)
        .await
        .expect("response within 10 s");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text)
}

/// Waits (at most 10 s) until `count` `tool_progress` events of `tool` arrived on `events`;
/// returns them in arrival order. Tests use it to know a guest has started (fixtures report
/// progress first), instead of sleeping.
pub async fn progress_of(
    events: &mut chatai_server::events::Subscription,
    tool: &str,
    count: usize,
) -> Vec<chatai_server::events::ToolProgress> {
    use chatai_server::events::Event;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while seen.len() < count {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {count} progress events of `{tool}` in 10 s",
                    seen.len()
                )
            })
            .expect("the bus dropped this subscriber");
        if let Event::ToolProgress(progress) = &*event
            && progress.tool == tool
        {
            seen.push(progress.clone());
        }
    }
    seen
}
