//! The real `chatai` binary as a child process, on its own data dir (SurrealKV on disk).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Path of the binary under test (the same `cli::run` as `chatai`). Cargo defines it only
/// while compiling integration tests, hence a macro expanded there.
#[macro_export]
macro_rules! chatai_binary {
    () => {
        env!("CARGO_BIN_EXE_chatai-under-test")
    };
}

/// A running `chatai` process.
pub struct Process {
    child: Child,
    pub base: String,
    pub login_url: String,
    /// Everything it printed on stdout up to the login link.
    pub banner: Vec<String>,
}

impl Process {
    /// Starts `chatai serve` in `cwd` with these env vars (`RUST_LOG=debug` unless given; an
    /// empty value removes a variable) and waits (≤ 60 s) for its banner.
    pub fn start(binary: &str, cwd: &Path, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        command
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file(cwd)));
        for (key, value) in env {
            // An empty value removes the variable (`("RUST_LOG", "")`: the default filter).
            if value.is_empty() {
                command.env_remove(key);
            } else {
                command.env(key, value);
            }
        }
        let mut child = command.spawn().expect("spawn chatai");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Read to the end even after nobody listens, so the child never writes to a
            // closed pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                drop(tx.send(line));
            }
        });
        let mut banner = Vec::new();
        let mut base = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = match rx.recv_timeout(left) {
                Ok(line) => line,
                Err(_) => {
                    drop(child.kill());
                    drop(child.wait());
                    panic!("chatai did not print its login link in time; got {banner:?}");
                }
            };
            if let Some(addr) = line.split("listening on ").nth(1) {
                base = Some(addr.trim().to_owned());
            }
            banner.push(line.clone());
            if let Some(url) = line.split("login (one use, 5 minutes): ").nth(1) {
                return Self {
                    child,
                    base: base.expect("listening line before the login link"),
                    login_url: url.trim().to_owned(),
                    banner,
                };
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(mut self) {
        send_sigterm(self.child.id());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "chatai exited with {status}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send_sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
}

/// Where a process started in `cwd` writes its log (appending across restarts).
pub fn log_path(cwd: &Path) -> PathBuf {
    cwd.join("chatai.log")
}

fn log_file(cwd: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(cwd))
        .expect("log file")
}

/// Runs `chatai login-link` in `cwd`; returns the printed URL.
pub fn login_link(binary: &str, cwd: &Path, env: &[(&str, &str)], permanent: bool) -> String {
    let mut command = Command::new(binary);
    command
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .arg("login-link");
    if permanent {
        command.arg("--permanent");
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run login-link");
    assert!(
        output.status.success(),
        "login-link failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// A fresh working directory for a process.
pub fn workdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    (dir, path)
}
