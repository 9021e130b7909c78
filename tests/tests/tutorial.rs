//! `docs/extensions/rust.md`, done as written: every `sh` and `console` block is run in order
//! in a shell whose `chatai` is the binary under test, `rust file=PATH` blocks are written to
//! the project, and each output line a `console` block shows under a command must be in what
//! the command printed (`…` stands for what varies). A block that shows `error:` must fail;
//! every other command must succeed. The server of the deploy step is a test server: its
//! address and a fresh admin key replace `http://127.0.0.1:3000` and `cak_…`.

use std::path::{Path, PathBuf};

use chatai_tests::TestServer;
use chatai_tests::authoring::Shell;

/// One step of the tutorial.
#[derive(Debug)]
enum Step {
    /// A command, with the output lines the page shows under it.
    Command { line: String, shows: Vec<String> },
    /// A file to write, relative to the current directory.
    File { path: String, text: String },
}

/// The steps, in page order: `sh` blocks (one command a line, `#` comments skipped), `console`
/// blocks (`$ ` commands and their output), `rust file=…` blocks. Other blocks illustrate.
fn steps(page: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        match info.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["sh"] => steps.extend(
                block
                    .iter()
                    .map(|l| l.split(" #").next().unwrap_or_default().trim())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| Step::Command {
                        line: l.to_owned(),
                        shows: Vec::new(),
                    }),
            ),
            ["console"] => {
                for line in block {
                    if let Some(command) = line.strip_prefix("$ ") {
                        steps.push(Step::Command {
                            line: command.to_owned(),
                            shows: Vec::new(),
                        });
                    } else if let Some(Step::Command { shows, .. }) = steps.last_mut() {
                        shows.push(line.to_owned());
                    }
                }
            }
            [_, file] if file.starts_with("file=") => steps.push(Step::File {
                path: file.trim_start_matches("file=").to_owned(),
                text: block.join("\n") + "\n",
            }),
            _ => {}
        }
    }
    steps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_tutorial_works_as_written() {
    let page_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/extensions/rust.md");
    let page = std::fs::read_to_string(&page_path).expect("docs/extensions/rust.md");
    let steps = steps(&page);
    let commands = steps
        .iter()
        .filter(|s| matches!(s, Step::Command { .. }))
        .count();
    assert!(commands >= 10, "the tutorial lost its commands: {steps:#?}");
    assert!(steps.iter().any(|s| matches!(s, Step::File { .. })));

    let server = TestServer::start().await;
    let (_, key) = server.api_key(&["admin"]).await;
    let home = tempfile::tempdir().expect("temp dir");
    let mut shell = Shell::new(chatai_tests::chatai_binary!(), env!("CARGO_TARGET_TMPDIR"));
    let mut dir: PathBuf = home.path().to_owned();
    let ours = |text: &str| text.replace("http://127.0.0.1:3000", &server.base);

    for step in &steps {
        match step {
            Step::File { path, text } => {
                std::fs::write(dir.join(path), text).expect("write the tutorial's file");
            }
            Step::Command { line, .. } if line.starts_with("cd ") => {
                dir = dir.join(line.trim_start_matches("cd ").trim());
                assert!(dir.is_dir(), "`{line}`: no such directory");
            }
            Step::Command { line, .. } if line.starts_with("export ") => {
                let (key_name, value) = line["export ".len()..]
                    .split_once('=')
                    .expect("export NAME=value");
                let value = match key_name {
                    "CHATAI_SERVER" => server.base.clone(),
                    "CHATAI_API_KEY" => key.clone(),
                    _ => value.to_owned(),
                };
                shell.set(key_name, &value);
            }
            Step::Command { line, shows } => {
                let ran = shell.run(&dir, &ours(line));
                let printed = format!("{}{}", ran.stdout, ran.stderr);
                let fails = shows.iter().any(|l| l.starts_with("error:"));
                assert_eq!(
                    ran.success,
                    !fails,
                    "`{line}` {} :\n{printed}",
                    if fails { "should fail" } else { "failed" }
                );
                for shown in shows {
                    for part in ours(shown)
                        .split('…')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                    {
                        assert!(
                            printed.contains(part),
                            "`{line}` should print `{part}` (from `{shown}`); it printed:\n{printed}"
                        );
                    }
                }
            }
        }
    }
    // The deploy step left the tool installed and granted on the server.
    let (_, custom) = server.get("/api/tools/custom").await;
    assert_eq!(custom["data"][0]["name"], "hello", "{custom}");
    assert_eq!(custom["data"][0]["capabilities"]["granted"]["kv"], true);
    server.stop().await;
}
