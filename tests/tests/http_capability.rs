//! Outgoing HTTP from a guest (fixture `fetcher`, the SDK's `http::get` over wasi:http):
//! granted origins only, every redirect checked, loopback / private / metadata addresses
//! refused unless `extensions.http.allow_private`, response size capped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chatai_tests::{TestServer, assert_error, fixture};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A tiny origin server on 127.0.0.1; counts the requests it got.
async fn origin() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, extra, body): (&str, String, Vec<u8>) = match path.as_str() {
                    "/hello" => ("200 OK", String::new(), b"hi from the origin".to_vec()),
                    "/to-hello" => ("302 Found", "Location: /hello\r\n".into(), Vec::new()),
                    "/to-metadata" => (
                        "302 Found",
                        "Location: http://169.254.169.254/latest/meta-data/\r\n".into(),
                        Vec::new(),
                    ),
                    "/big" => ("200 OK", String::new(), vec![b'x'; 5 * 1024 * 1024]),
                    "/page" => (
                        "200 OK",
                        "Content-Type: text/html; charset=utf-8\r\n".into(),
                        b"<html><head><title>T</title><script>var secret=1;</script></head>\
                          <body><h1>Weather</h1><p>Sunny and <b>warm</b>.</p></body></html>"
                            .to_vec(),
                    ),
                    _ => ("404 Not Found", String::new(), b"no".to_vec()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, hits)
}

async fn fetch(server: &TestServer, url: &str) -> (StatusCode, Value) {
    server
        .call(
            Method::POST,
            "/api/tools/call",
            json!({"name": "fetch", "args": {"url": url}}),
        )
        .await
}

/// Installs `fetcher` requesting these origins and grants all of them.
async fn install(server: &TestServer, origins: &[String]) {
    let manifest = format!("[capabilities]\nhttp = {origins:?}\n");
    let (status, body) = server
        .upload("fetcher.wasm", fixture("fetcher"), Some(&manifest))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = server
        .call(
            Method::PUT,
            "/api/tools/custom/fetcher",
            json!({"grants": {"http": origins}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn refused(status: StatusCode, body: &Value, why: &str) {
    assert_error(status, body, 422, "TOOL_ERROR");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains(why)),
        "expected {why}: {body}"
    );
}

#[tokio::test]
async fn granted_origins_work_and_everything_else_is_refused() {
    let (port, hits) = origin().await;
    let (other_port, other_hits) = origin().await;
    let server = TestServer::start_with("[extensions.http]\nallow_private = true\n").await;

    // Requested but not granted yet: refused.
    let granted = format!("http://127.0.0.1:{port}");
    let manifest = format!("[capabilities]\nhttp = [{granted:?}]\n");
    let (status, body) = server
        .upload("fetcher.wasm", fixture("fetcher"), Some(&manifest))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = fetch(&server, &format!("{granted}/hello")).await;
    refused(status, &body, "HttpRequestDenied");
    // The SDK's message says how to lift the refusal.
    refused(status, &body, r#"{"grants": {"http": ["#);
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    let (status, _) = server
        .call(
            Method::PUT,
            "/api/tools/custom/fetcher",
            json!({"grants": {"http": [granted]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = fetch(&server, &format!("{granted}/hello")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "200 hi from the origin");
    // A redirect within the origin is followed.
    let (status, body) = fetch(&server, &format!("{granted}/to-hello")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["result"], "200 hi from the origin");

    // Another origin (other port) is refused before any connection.
    let (status, body) = fetch(&server, &format!("http://127.0.0.1:{other_port}/hello")).await;
    refused(status, &body, "HttpRequestDenied");
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);
    // A redirect to a refused target is refused.
    let (status, body) = fetch(&server, &format!("{granted}/to-metadata")).await;
    refused(status, &body, "HttpRequestDenied");
    // The response cap (4 MiB by default).
    let (status, body) = fetch(&server, &format!("{granted}/big")).await;
    refused(status, &body, "body size exceeds limit");

    let (status, _) = server.get("/api/system/health").await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn loopback_private_and_metadata_addresses_are_refused_by_default() {
    let (port, hits) = origin().await;
    let server = TestServer::start().await;
    let origins = [
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        "http://169.254.169.254".to_owned(),
        "http://10.0.0.1".to_owned(),
        format!("http://[::1]:{port}"),
    ];
    install(&server, &origins).await;
    for url in [
        format!("http://127.0.0.1:{port}/hello"),
        // An allowed name that resolves to loopback.
        format!("http://localhost:{port}/hello"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        format!("http://[::1]:{port}/hello"),
    ] {
        let (status, body) = fetch(&server, &url).await;
        refused(status, &body, "DestinationIpProhibited");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing reached the origin");
    server.stop().await;
}

#[tokio::test]
async fn the_builtin_web_fetch_reaches_only_the_configured_origins() {
    let (port, _) = origin().await;
    let (other_port, other_hits) = origin().await;
    let server = TestServer::start_with(&format!(
        "[extensions]\nweb_fetch_origins = [\"http://127.0.0.1:{port}\"]\n\
         [extensions.http]\nallow_private = true\n"
    ))
    .await;
    let web_fetch = |url: String| {
        server.call(
            Method::POST,
            "/api/tools/call",
            json!({"name": "web_fetch", "args": {"url": url, "max_chars": 200}}),
        )
    };
    let (status, body) = web_fetch(format!("http://127.0.0.1:{port}/page")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let text = body["data"]["result"].as_str().expect("text");
    assert!(
        text.contains("Weather") && text.contains("Sunny and"),
        "{text}"
    );
    assert!(
        !text.contains("<p>") && !text.contains("secret"),
        "rendered, scripts dropped: {text}"
    );
    assert_eq!(body["data"]["structured"]["status"], 200);
    let (status, body) = web_fetch(format!("http://127.0.0.1:{other_port}/page")).await;
    refused(status, &body, "HttpRequestDenied");
    assert_eq!(other_hits.load(Ordering::SeqCst), 0);
    server.stop().await;
}
