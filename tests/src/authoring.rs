//! Running the author's commands (`chatai ext …`, and whatever a tutorial says to type) as an
//! author would: a shell in a directory, `chatai` on the `PATH`, the toolchains that
//! `scripts/test-deps.sh` installs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a command printed and how it ended.
#[derive(Debug)]
pub struct Ran {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// A shell for an author: `chatai` is the binary under test, componentize-py and
/// componentize-js are those of `scripts/test-deps.sh`, Rust builds share one target dir.
pub struct Shell {
    /// Holds the `chatai` link (removed with the shell).
    _bin: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Shell {
    /// `chatai`: the path of the binary under test (`chatai_binary!()`); `scratch`: the test's
    /// `CARGO_TARGET_TMPDIR` (Rust builds share a target dir there).
    pub fn new(chatai: &str, scratch: &str) -> Self {
        let bin = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink(chatai, bin.path().join("chatai")).expect("link chatai");
        let home = std::env::var("HOME").unwrap_or_default();
        let cache = Path::new(&home).join(".cache/chatai-edge");
        let venv = std::env::var("COMPONENTIZE_PY_VENV")
            .map_or_else(|_| cache.join("pyenv"), PathBuf::from);
        let path = format!(
            "{}:{}:{}",
            bin.path().display(),
            venv.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let componentize_js = std::env::var("CHATAI_COMPONENTIZE_JS").unwrap_or_else(|_| {
            let dir = std::env::var("COMPONENTIZE_JS_DIR")
                .map_or_else(|_| cache.join("componentize-js"), PathBuf::from);
            dir.join("node_modules/.bin/componentize-js")
                .display()
                .to_string()
        });
        // Not the target dir of the running `cargo test`: cargo holds its lock.
        let target = Path::new(scratch).join("authoring-target");
        Self {
            _bin: bin,
            env: vec![
                ("PATH".into(), path),
                ("CHATAI_COMPONENTIZE_JS".into(), componentize_js),
                ("CARGO_TARGET_DIR".into(), target.display().to_string()),
            ],
        }
    }

    /// Sets a variable for every later command.
    pub fn set(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Runs one command line with `sh -c` in `dir`.
    pub fn run(&self, dir: &Path, line: &str) -> Ran {
        let mut command = Command::new("sh");
        command.arg("-c").arg(line).current_dir(dir);
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let output = command
            .output()
            .unwrap_or_else(|err| panic!("running `{line}`: {err}"));
        Ran {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs one command line that must succeed.
    pub fn ok(&self, dir: &Path, line: &str) -> Ran {
        let ran = self.run(dir, line);
        assert!(
            ran.success,
            "`{line}` failed:\n--- stdout\n{}\n--- stderr\n{}",
            ran.stdout, ran.stderr
        );
        ran
    }
}
