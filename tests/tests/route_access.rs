//! Access is declared on routes and decided on the route that matched: every served route is
//! tried with no credential, each scope and the admin, and through every path trick, over raw
//! TCP so the paths reach the server as written. Also the `Host` check, the login limit
//! through path variants, and bounded metric labels.

use chatai_server::auth::Scope;
use chatai_server::auth::policy::{Access, RateClass, RouteRule};
use chatai_server::http::RouteEntry;
use chatai_tests::{TestServer, assert_error, raw_request};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A credential to try, with the scopes it holds (`None`: no credential).
struct Caller {
    name: &'static str,
    header: Option<String>,
    scopes: Option<Vec<Scope>>,
}

async fn callers(server: &TestServer) -> Vec<Caller> {
    let mut callers = vec![Caller {
        name: "anonymous",
        header: None,
        scopes: None,
    }];
    for (name, scope) in [
        ("read key", Scope::Read),
        ("chat key", Scope::Chat),
        ("tools:call key", Scope::ToolsCall),
        ("admin key", Scope::Admin),
    ] {
        let (_, key) = server.api_key(&[scope.as_str()]).await;
        callers.push(Caller {
            name,
            header: Some(format!("X-API-Key: {key}")),
            scopes: Some(vec![scope]),
        });
    }
    callers.push(Caller {
        name: "admin session",
        header: Some(format!("Authorization: Bearer {}", server.admin)),
        scopes: Some(Scope::ALL.to_vec()),
    });
    callers
}

/// Whether a caller passes a rule, as the rule itself reads (the admin holds every scope).
fn allowed(rule: RouteRule, method: &str, scopes: Option<&[Scope]>) -> bool {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    match rule.access.requirement(&method, false) {
        chatai_server::auth::policy::Requirement::None => true,
        chatai_server::auth::policy::Requirement::Principal => scopes.is_some(),
        chatai_server::auth::policy::Requirement::AnyOf(wanted) => scopes.is_some_and(|held| {
            held.contains(&Scope::Admin) || wanted.iter().any(|w| held.contains(w))
        }),
    }
}

/// A concrete path for a route pattern: parameters filled in with harmless values.
fn concrete(pattern: &str) -> String {
    let filled: Vec<String> = pattern
        .split('/')
        .map(|segment| match segment {
            "{name}" => "calculator".to_owned(),
            s if s.starts_with("{**") || s.starts_with("{*") => String::new(),
            s if s.starts_with('{') => "no-such-id".to_owned(),
            s => s.to_owned(),
        })
        .collect();
    let path = filled.join("/");
    if path.is_empty() { "/".into() } else { path }
}

/// The same resource spelled the ways a router may normalise: none of them may get in.
fn variants(path: &str) -> Vec<String> {
    if path == "/" {
        return vec!["//".into(), "/./".into(), "/%2e/".into(), "/x/../".into()];
    }
    let rest = &path[1..];
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("/{tail}")
    };
    let encoded_first = format!(
        "%{:02X}{}",
        first.as_bytes()[0],
        first.get(1..).unwrap_or_default()
    );
    let mut out = vec![
        format!("/{path}"),
        format!("/{encoded_first}{tail}"),
        format!("/{first}/{tail}"),
        format!("/./{rest}"),
        format!("/{first}/x/..{tail}"),
        format!("/{}{tail}", first.to_ascii_uppercase()),
    ];
    if !path.ends_with('/') {
        out.push(format!("{path}/"));
    }
    if tail.is_empty() {
        out.push(format!("/{first}%2F"));
    } else {
        out.push(format!("/{first}%2F{}", &tail[1..]));
    }
    out
}

fn code_of(response: &str) -> Option<String> {
    let at = response.find("\"code\":\"")? + 8;
    let end = response[at..].find('"')?;
    Some(response[at..at + end].to_owned())
}

/// What the gate says when it refuses for lack of access (a handler's own 401/403 differ).
fn refused_by_gate(status: u16, response: &str) -> bool {
    (status == 401 && code_of(response).as_deref() == Some("AUTH_REQUIRED"))
        || (status == 403 && response.contains("lacks the scope required here"))
}

fn table() -> Vec<RouteEntry> {
    chatai_server::api::routes().table
}

#[test]
fn every_route_declares_its_access_and_the_sensitive_ones_are_right() {
    let table = table();
    assert!(table.len() > 25, "the walk found the routes: {table:?}");
    let undeclared: Vec<String> = table
        .iter()
        .filter(|e| e.rule.is_none())
        .map(|e| format!("{:?} {}", e.method, e.path))
        .collect();
    assert!(
        undeclared.is_empty(),
        "routes without declared access: {undeclared:?}"
    );
    let rule = |method: &str, path: &str| {
        table
            .iter()
            .find(|e| e.path == path && e.method.as_deref() == Some(method))
            .and_then(|e| e.rule)
            .unwrap_or_else(|| panic!("{method} {path} is served"))
    };
    // An independent reading of API.md §1 for the routes that hand out power.
    let admin_only = [
        ("POST", "/api/auth/api-keys"),
        ("POST", "/api/auth/login-links"),
        ("GET", "/api/auth/tokens"),
        ("DELETE", "/api/auth/tokens/{id}"),
    ];
    for (method, path) in admin_only {
        assert_eq!(rule(method, path).access, Access::ADMIN, "{method} {path}");
    }
    for (method, path) in [
        ("PUT", "/api/config"),
        ("POST", "/api/tools/custom"),
        ("DELETE", "/api/tools/logs"),
        ("PUT", "/api/tools/dangerous"),
        ("POST", "/api/tools/reload"),
        // An MCP server of type stdio runs a command on this machine.
        ("POST", "/api/mcp/servers"),
        ("PUT", "/api/mcp/servers/{name}"),
        ("DELETE", "/api/mcp/servers/{name}"),
        ("POST", "/api/mcp/servers/{name}/connect"),
        ("POST", "/api/mcp/connect"),
        ("POST", "/api/mcp/servers/reconnect-all"),
        // The seed's aliases need the same.
        ("POST", "/api/skills/mcp/servers"),
        ("PUT", "/api/skills/mcp/servers/{name}"),
        ("POST", "/api/skills/mcp/servers/{name}/connect"),
        ("POST", "/api/skills/reload"),
        ("POST", "/api/skills/disable-all"),
        ("POST", "/api/skills/toggle-tool"),
        ("POST", "/api/skills/toggle-category"),
    ] {
        let declared = rule(method, path).access;
        assert!(
            !allowed(
                rule(method, path),
                method,
                Some(&[Scope::Read, Scope::Chat, Scope::ToolsCall])
            ),
            "{method} {path} ({declared:?}) must need the admin"
        );
    }
    for (method, path) in [
        ("POST", "/api/tools/call"),
        ("POST", "/api/tools/{name}/execute"),
        ("POST", "/api/skills/{name}/run"),
        ("GET", "/mcp"),
        ("POST", "/mcp"),
        ("DELETE", "/mcp"),
    ] {
        assert_eq!(
            rule(method, path).access,
            Access::TOOLS_CALL,
            "{method} {path}"
        );
    }
    let login = rule("POST", "/api/auth/login");
    assert_eq!(login.access, Access::Public);
    assert_eq!(login.rate, RateClass::Login);
    assert_eq!(rule("GET", "/login/token").rate, RateClass::Login);
    assert_eq!(rule("GET", "/api/system/health").rate, RateClass::Exempt);
    assert_eq!(rule("GET", "/metrics").access, Access::Metrics);
    // `read` opens every GET under /api but the credential listing.
    for entry in table.iter().filter(|e| {
        e.method.as_deref() == Some("GET")
            && e.path.starts_with("/api/")
            && e.path != "/api/auth/tokens"
    }) {
        let rule = entry.rule.expect("declared");
        assert!(
            allowed(rule, "GET", Some(&[Scope::Read])),
            "GET {} for read",
            entry.path
        );
    }
}

#[tokio::test]
async fn every_route_answers_exactly_its_declared_access_and_no_variant_gets_in() {
    let server = TestServer::start().await;
    let addr = server.running().addr;
    let callers = callers(&server).await;
    let keys_before = server.get("/api/auth/tokens").await.1["data"].clone();
    let (_, config_before) = server.get("/api/config").await;

    let mut checked = 0;
    for entry in table() {
        let rule = entry.rule.expect("declared");
        let method = entry.method.clone().unwrap_or_else(|| "GET".into());
        let path = concrete(&entry.path);
        for caller in &callers {
            // Logging out or refreshing revokes the session: give those a session of their own.
            let header = match (caller.name, path.as_str()) {
                ("admin session", "/api/auth/logout" | "/api/auth/refresh") => Some(format!(
                    "Authorization: Bearer {}",
                    fresh_session(&server).await
                )),
                _ => caller.header.clone(),
            };
            let headers: Vec<&str> = header.iter().map(String::as_str).collect();
            let (status, response) = raw_request(addr, &method, &path, &headers).await;
            let may = allowed(rule, &method, caller.scopes.as_deref());
            if may {
                assert!(
                    !refused_by_gate(status, &response),
                    "{} may {method} {path} ({}) but got {status}: {response}",
                    caller.name,
                    rule.access.describe()
                );
            } else {
                let want = if caller.scopes.is_none() { 401 } else { 403 };
                assert_eq!(
                    status,
                    want,
                    "{} may not {method} {path} ({}): {response}",
                    caller.name,
                    rule.access.describe()
                );
                assert!(refused_by_gate(status, &response), "{response}");
            }
            for variant in variants(&path) {
                let (status, response) = raw_request(addr, &method, &variant, &headers).await;
                assert!(
                    (400..500).contains(&status),
                    "{} {method} {variant}: {status} {response}",
                    caller.name
                );
                let mixed_case =
                    variant.chars().any(|c| c.is_ascii_uppercase()) && !variant.contains('%');
                if !mixed_case {
                    assert_eq!(
                        status, 400,
                        "{} {method} {variant}: {response}",
                        caller.name
                    );
                    assert_eq!(code_of(&response).as_deref(), Some("VALIDATION_ERROR"));
                }
                checked += 1;
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked} requests");

    // Nothing the refused requests tried happened: no new credential, the same config.
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("list")
            .iter()
            .filter_map(|k| k["id"].as_str().map(str::to_owned))
            .collect()
    };
    let keys_after = server.get("/api/auth/tokens").await.1["data"].clone();
    let (before_ids, after_ids) = (ids(&keys_before), ids(&keys_after));
    let new: Vec<&String> = after_ids
        .iter()
        .filter(|id| !before_ids.contains(id))
        .collect();
    // The sweep's allowed calls carry no body, so they create no listed credential (the
    // temporary links of `fresh_session` are not listed): a new entry would be a refused
    // call's doing.
    assert!(
        new.is_empty(),
        "credentials created during the sweep: {new:?}"
    );
    // The admin's own body-less calls of `POST /api/skills/disable-all` switched every tool off
    // (allowed, and the gate let only allowed callers through): switch them back on first.
    let (status, _) = server
        .call(Method::POST, "/api/skills/enable-all", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, config_after) = server.get("/api/config").await;
    assert_eq!(config_before, config_after);
    server.stop().await;
}

/// A new admin session from a fresh login link.
async fn fresh_session(server: &TestServer) -> String {
    let (status, link) = server
        .call(
            Method::POST,
            "/api/auth/login-links",
            json!({ "permanent": false }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let token = link["data"]["token"].as_str().expect("token");
    let (status, body) = server.login(token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["token"].as_str().expect("jwt").to_owned()
}

#[tokio::test]
async fn login_guessing_through_path_variants_meets_the_login_limit() {
    let server =
        TestServer::start_with("[rate_limit]\nper_minute = 1000\nlogin_per_minute = 5\n").await;
    let addr = server.running().addr;
    let guess = |path: &'static str| async move {
        let body = r#"{"token":"guess"}"#;
        let header = format!(
            "Content-Type: application/json\r\nContent-Length: {}",
            body.len()
        );
        raw_login(addr, path, &header, body).await
    };
    // The start-up login of the harness was the first attempt from this IP.
    for _ in 0..2 {
        let (status, response) = guess("/api/auth/login").await;
        assert_eq!(status, 401, "{response}");
    }
    for variant in [
        "/api/auth/login/",
        "//api/auth/login",
        "/api//auth/login",
        "/api/auth/./login",
        "/api/x/../auth/login",
        "/%61pi/auth/login",
        "/api/auth/%6Cogin",
    ] {
        let (status, response) = guess(variant).await;
        assert_eq!(status, 400, "{variant} never reaches the login: {response}");
    }
    for _ in 0..2 {
        let (status, response) = guess("/api/auth/login").await;
        assert_eq!(status, 401, "{response}");
    }
    let (status, response) = guess("/api/auth/login").await;
    assert_eq!(
        status, 429,
        "the sixth guess is over the limit of 5: {response}"
    );
    let (status, _) = guess("/api/auth/login/").await;
    assert!((400..500).contains(&status));
    server.stop().await;
}

/// A login POST with a body, over raw TCP.
async fn raw_login(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}\r\n\r\n{body}"
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn requests_for_another_host_are_refused() {
    let server =
        TestServer::start_with("[server]\nport = 0\nallowed_hosts = [\"chat.lan\"]\n").await;
    let addr = server.running().addr;
    let bearer = format!("Authorization: Bearer {}", server.admin);
    for host in ["evil.example", "evil.example:3000", "127.0.0.1.nip.io"] {
        let host_header = format!("Host: {host}");
        for path in ["/api/system/health", "/api/config", "/"] {
            let (status, response) =
                raw_request(addr, "GET", path, &[host_header.as_str(), bearer.as_str()]).await;
            assert_eq!(status, 421, "{host} {path}: {response}");
            assert_eq!(code_of(&response).as_deref(), Some("HOST_NOT_ALLOWED"));
        }
    }
    for host in [
        addr.to_string(),
        format!("localhost:{}", addr.port()),
        "chat.lan".into(),
    ] {
        let host_header = format!("Host: {host}");
        let (status, response) = raw_request(
            addr,
            "GET",
            "/api/config",
            &[host_header.as_str(), bearer.as_str()],
        )
        .await;
        assert_eq!(status, 200, "{host}: {response}");
    }
    server.stop().await;
}

#[tokio::test]
async fn cookie_uploads_from_another_origin_are_refused() {
    let server = TestServer::start().await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(chatai_tests::fixture("raw")).file_name("raw.wasm"),
    );
    let (status, body) = server
        .send(
            server
                .client
                .post(server.url("/api/tools/custom"))
                .header("Cookie", format!("auth_token={}", server.admin))
                .header("Origin", "https://evil.example")
                .multipart(form),
        )
        .await;
    assert_error(status, &body, 403, "FORBIDDEN");
    let (_, list) = server.get("/api/tools/custom").await;
    assert_eq!(list["data"], json!([]), "nothing installed");
    server.stop().await;
}

/// Series of a metric family in the Prometheus text.
fn series(text: &str, family: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(family) && l.contains('{'))
        .count()
}

#[tokio::test]
async fn invented_methods_and_tool_names_add_no_metric_series() {
    let server = TestServer::start().await;
    let addr = server.running().addr;
    let bearer = format!("Authorization: Bearer {}", server.admin);
    let metrics = || async {
        let response = server
            .admin(Method::GET, "/metrics")
            .send()
            .await
            .expect("metrics");
        response.text().await.expect("text")
    };
    let unknown_tool = |n: usize| {
        let name = format!("{n}{}", "x".repeat(2048));
        server.call(
            Method::POST,
            "/api/tools/call",
            json!({ "name": name, "args": {} }),
        )
    };
    // One of each first: its series exist from then on.
    raw_request(addr, "INVENTED0", "/api/config", &[]).await;
    raw_request(addr, "INVENTED0", "/api/config", &[bearer.as_str()]).await;
    let (status, body) = unknown_tool(0).await;
    assert_error(status, &body, 404, "TOOL_NOT_FOUND");
    metrics().await; // the scrape's own series
    let before = metrics().await;
    for n in 1..=25 {
        let method = format!("INVENTED{n}");
        let (status, _) = raw_request(addr, &method, "/api/config", &[]).await;
        assert_eq!(status, 401);
        let (status, _) = raw_request(addr, &method, "/api/config", &[bearer.as_str()]).await;
        assert!((400..500).contains(&status), "{method}: {status}");
    }
    for n in 1..=10 {
        let (status, body) = unknown_tool(n).await;
        assert_error(status, &body, 404, "TOOL_NOT_FOUND");
    }
    let after = metrics().await;
    for family in ["chatai_http_requests_total", "chatai_tool_calls_total"] {
        assert_eq!(series(&before, family), series(&after, family), "{family}");
    }
    assert!(!after.contains("INVENTED"), "no method name is a label");
    assert!(!after.contains(&"x".repeat(64)), "no tool name is a label");
    server.stop().await;
}
