//! `chatai ext`, as an author uses it: from an empty directory, for each language, `new`
//! (asking for kv), `build`, `test` (the server's sandbox, no server), `deploy` to a running
//! server — first without the grant (the call is refused and says how to grant), then with
//! `--grant` (an upgrade) — and the printed `curl`, run as printed, answers.
//!
//! Toolchains: Rust's wasm32-wasip2 target, componentize-py and componentize-js (installed by
//! `scripts/test-deps.sh`).

use std::path::Path;

use chatai_tests::TestServer;
use chatai_tests::authoring::{Ran, Shell};
use serde_json::Value;

async fn author_round(lang: &str) {
    let home = tempfile::tempdir().expect("temp dir");
    let mut shell = Shell::new(chatai_tests::chatai_binary!(), env!("CARGO_TARGET_TMPDIR"));

    let ran = shell.ok(
        home.path(),
        &format!("chatai ext new demo --lang {lang} --kv"),
    );
    assert!(ran.stdout.contains("chatai ext test demo_tool"), "{ran:?}");
    let project = home.path().join("demo");
    let manifest = std::fs::read_to_string(project.join("extension.toml")).expect("manifest");
    let requested = toml_capabilities(&manifest);
    assert_eq!(
        requested, "kv = true",
        "exactly what was asked:\n{manifest}"
    );

    let ran = shell.ok(&project, "chatai ext build");
    assert!(ran.stderr.contains("built "), "{ran:?}");
    assert!(project.join("target/chatai/demo.wasm").exists());

    // Here, in the sandbox, with the kv bucket the manifest requests.
    let ran = shell.ok(
        &project,
        r#"chatai ext test --no-build demo_tool '{"name": "Ada", "times": 2}'"#,
    );
    let answer = json(&ran.stdout);
    assert_eq!(
        answer["result"], "Hello, Ada! Hello, Ada! (call 1)",
        "{ran:?}"
    );
    assert_eq!(answer["structured"]["calls"], 1);
    // The schema's bounds hold here as on the server.
    let ran = shell.run(
        &project,
        r#"chatai ext test --no-build demo_tool '{"name": "Ada", "times": 9}'"#,
    );
    assert!(!ran.success);
    assert!(
        ran.stderr.contains("INVALID_ARGUMENTS") && ran.stderr.contains("/times"),
        "{ran:?}"
    );

    // On a server: uploaded without the grant, the call is refused with the way to the grant.
    let server = TestServer::start().await;
    let (_, key) = server.api_key(&["admin"]).await;
    shell.set("CHATAI_SERVER", &server.base);
    shell.set("CHATAI_API_KEY", &key);
    let ran = shell.ok(&project, "chatai ext deploy --no-build");
    assert!(
        ran.stdout
            .contains(&format!("installed demo on {}", server.base)),
        "{ran:?}"
    );
    assert!(
        ran.stdout.contains("waiting for an admin's grant: kv"),
        "{ran:?}"
    );
    assert!(
        !ran.stdout.contains(&key) && !ran.stderr.contains(&key),
        "the key is never printed"
    );
    let refused = json(&shell.ok(&project, &curl_of(&ran)).stdout);
    assert_eq!(refused["code"], "TOOL_ERROR", "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("PUT /api/tools/custom/demo")),
        "{refused}"
    );

    // With --grant (an upgrade: built again, same name), the printed curl answers.
    let ran = shell.ok(&project, "chatai ext deploy --grant");
    assert!(ran.stdout.contains("upgraded demo"), "{ran:?}");
    assert!(ran.stdout.contains("granted: kv"), "{ran:?}");
    let answer = json(&shell.ok(&project, &curl_of(&ran)).stdout);
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["data"]["result"], "Hello, Ada! (call 1)", "{answer}");
    let again = json(&shell.ok(&project, &curl_of(&ran)).stdout);
    assert_eq!(again["data"]["structured"]["calls"], 2, "{again}");

    // The server lists it with its own version, not the server's.
    let (_, listed) = server.get("/api/tools/demo_tool").await;
    assert_eq!(listed["data"]["extension"]["version"], "0.1.0", "{listed}");
    // Every language's template declares the same schema: bounds, default, descriptions.
    let times = &listed["data"]["parameters"]["properties"]["times"];
    assert_eq!(
        (&times["minimum"], &times["maximum"], &times["default"]),
        (
            &serde_json::json!(1),
            &serde_json::json!(5),
            &serde_json::json!(1)
        ),
        "{listed}"
    );
    let name = &listed["data"]["parameters"]["properties"]["name"];
    assert_eq!(name["description"], "Who to greet.", "{listed}");
    assert_eq!(
        listed["data"]["parameters"]["required"],
        serde_json::json!(["name"])
    );
    server.stop().await;
}

/// The `[capabilities]` lines of a manifest, comments and blanks left out.
fn toml_capabilities(manifest: &str) -> String {
    manifest
        .lines()
        .skip_while(|line| *line != "[capabilities]")
        .skip(1)
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one `curl` line `chatai ext deploy` printed.
fn curl_of(ran: &Ran) -> String {
    let curls: Vec<&str> = ran
        .stdout
        .lines()
        .filter(|line| line.starts_with("curl "))
        .collect();
    assert_eq!(curls.len(), 1, "{ran:?}");
    curls[0].to_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

// Multi-threaded: the shell's commands block their thread while the server answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_extension_from_an_empty_directory_to_a_deployed_tool() {
    author_round("rust").await;
}

// Multi-threaded: the shell's commands block their thread while the server answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_extension_from_an_empty_directory_to_a_deployed_tool() {
    author_round("python").await;
}

// Multi-threaded: the shell's commands block their thread while the server answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_extension_from_an_empty_directory_to_a_deployed_tool() {
    author_round("js").await;
}

/// `--http ORIGIN`: the manifest requests the origin, the template adds `<name>_fetch`
/// (Python: over wasi:http in a world of its own, `wit/world.wit`) (`site_fetch`: the builtin `web_fetch` has the name
/// `web_fetch`), and
/// once granted it fetches from there (the test server itself is the origin, hence
/// `allow_private`).
async fn http_round(lang: &str) {
    let server = TestServer::start_with("[extensions.http]\nallow_private = true\n").await;
    let (_, key) = server.api_key(&["admin"]).await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut shell = Shell::new(chatai_tests::chatai_binary!(), env!("CARGO_TARGET_TMPDIR"));
    shell.set("CHATAI_SERVER", &server.base);
    shell.set("CHATAI_API_KEY", &key);
    shell.ok(
        home.path(),
        &format!("chatai ext new site --lang {lang} --http {}", server.base),
    );
    let project = home.path().join("site");
    let manifest = std::fs::read_to_string(project.join("extension.toml")).expect("manifest");
    assert_eq!(
        toml_capabilities(&manifest),
        format!("http = [\"{}\"]", server.base),
        "{manifest}"
    );
    // Here first: a local origin needs --allow-private, as on a server.
    let ran = shell.ok(
        &project,
        r#"chatai ext test site_fetch '{"path": "/"}' --allow-private"#,
    );
    assert_eq!(json(&ran.stdout)["structured"]["status"], 200, "{ran:?}");
    let ran = shell.run(
        &project,
        r#"chatai ext test --no-build site_fetch '{"path": "/"}'"#,
    );
    assert!(!ran.success, "{ran:?}");
    if lang == "rust" {
        assert!(
            ran.stderr.contains("extensions.http.allow_private"),
            "{ran:?}"
        );
    }

    let ran = shell.ok(&project, "chatai ext deploy --grant");
    assert!(
        ran.stdout
            .contains(&format!("granted: http {}", server.base)),
        "{ran:?}"
    );
    let fetch = ran
        .stdout
        .lines()
        .find(|line| line.starts_with("curl ") && line.contains("site_fetch"))
        .unwrap_or_else(|| panic!("no curl for site_fetch: {ran:?}"));
    let answer = json(&shell.ok(&project, fetch).stdout);
    assert_eq!(answer["data"]["structured"]["status"], 200, "{answer}");
    assert!(
        answer["data"]["result"]
            .as_str()
            .is_some_and(|r| r.starts_with(&format!("{}/ answered 200 with ", server.base))),
        "{answer}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_extension_with_http_fetches_from_its_granted_origin() {
    http_round("rust").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_javascript_extension_with_http_fetches_from_its_granted_origin() {
    http_round("js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_extension_with_http_fetches_from_its_granted_origin() {
    http_round("python").await;
}

#[test]
fn a_missing_toolchain_is_named_with_the_command_that_installs_it() {
    let home = tempfile::tempdir().expect("temp dir");
    let mut shell = Shell::new(chatai_tests::chatai_binary!(), env!("CARGO_TARGET_TMPDIR"));
    shell.set("CHATAI_COMPONENTIZE_PY", "/nonexistent/componentize-py");
    shell.set("CHATAI_COMPONENTIZE_JS", "/nonexistent/componentize-js");
    shell.ok(home.path(), "chatai ext new pyx --lang python");
    let ran = shell.run(&home.path().join("pyx"), "chatai ext build");
    assert!(!ran.success);
    assert!(
        ran.stderr.contains("pip install componentize-py==0.25.1"),
        "{ran:?}"
    );
    shell.ok(home.path(), "chatai ext new jsx --lang js");
    let ran = shell.run(&home.path().join("jsx"), "chatai ext build");
    assert!(!ran.success);
    assert!(ran.stderr.contains("run `npm install`"), "{ran:?}");
    // Outside a project: what to do instead.
    let ran = shell.run(home.path(), "chatai ext build");
    assert!(!ran.success);
    assert!(ran.stderr.contains("chatai ext new <name>"), "{ran:?}");
    // A name the server would refuse is refused at once.
    let ran = shell.run(home.path(), "chatai ext new Bad.Name");
    assert!(!ran.success);
    assert!(ran.stderr.contains("extension name"), "{ran:?}");
    assert!(!Path::new(&home.path().join("Bad.Name")).exists());
}
