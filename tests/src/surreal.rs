//! A real SurrealDB server (`surreal start`, built from crates.io `surrealdb-server` by
//! `scripts/test-deps.sh` out of `surreal-server/`) on 127.0.0.1, for the multi-instance tests.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Root credentials of the test server.
pub const USER: &str = "root";
pub const PASS: &str = "root-test-secret";

/// The `surreal` binary: `SURREAL_BIN`, or where `scripts/test-deps.sh` puts it.
pub fn binary() -> PathBuf {
    let path = std::env::var_os("SURREAL_BIN").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME");
            PathBuf::from(home).join(".cache/chatai-edge/bin/surreal-3.3.5")
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} is missing: bash scripts/test-deps.sh builds it",
        path.display()
    );
    path
}

/// A running `surreal` server on SurrealKV in a temp dir.
pub struct SurrealServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl SurrealServer {
    /// Starts a server on a free port and waits (≤ 30 s) until it accepts connections.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        server.spawn();
        server
    }

    /// `ws://127.0.0.1:<port>`, for `database.url`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The `chatai.toml` lines that put an instance on this server.
    pub fn toml(&self, database: &str) -> String {
        format!(
            "[database]\nurl = \"{}\"\nnamespace = \"chatai\"\ndatabase = \"{database}\"\n\
             username = \"{USER}\"\npassword = \"{PASS}\"\ntimeout_ms = 2000\n",
            self.url()
        )
    }

    /// Stops the server (SIGKILL: the clients see the connection drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.kill());
            drop(child.wait());
        }
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("surreal.log"))
            .expect("log file");
        let child = Command::new(binary())
            .args([
                "start",
                "--no-banner",
                "--log",
                "warn",
                "--bind",
                &format!("127.0.0.1:{}", self.port),
                "--user",
                USER,
                "--pass",
                PASS,
            ])
            .arg(format!(
                "surrealkv://{}",
                self.dir.path().join("db").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn surreal");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "surreal did not listen within 30 s: {}",
                std::fs::read_to_string(self.dir.path().join("surreal.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SurrealServer {
    fn drop(&mut self) {
        self.stop();
    }
}
