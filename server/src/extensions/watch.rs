//! The extensions directory (`extensions.dir`): drop `name.wasm` (and optionally its manifest
//! `name.toml`) in and it installs, replace it and it upgrades, remove the `.wasm` and the
//! extension it installed is uninstalled.
//!
//! The directory is polled every `extensions.dir_poll_ms` rather than watched with inotify:
//! polling works the same on every filesystem (bind mounts, network shares, container volumes)
//! and costs one `read_dir` and a hash of changed files per tick. A file is (re)installed when
//! the sha256 of its `.wasm` + `.toml` changes, so a half-copied file that fails to install
//! is retried once the copy completes, and a broken file is reported once, not every tick.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::custom::{CustomError, CustomExtensions, Upload};
use crate::config::ConfigService;

/// What was last seen of one `.wasm` file.
struct Seen {
    digest: String,
    /// The extension it installed, if the install succeeded.
    installed: Option<String>,
}

/// Starts polling `dir` (installing what is there now, then every `poll`).
pub fn spawn(
    custom: Arc<CustomExtensions>,
    config: Arc<ConfigService>,
    dir: PathBuf,
    poll: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen: BTreeMap<PathBuf, Seen> = BTreeMap::new();
        let mut ticker = tokio::time::interval(poll.max(Duration::from_millis(50)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = scan(&custom, &config, &dir, &mut seen).await {
                tracing::warn!(dir = %dir.display(), error = %err, "cannot read the extensions directory");
            }
        }
    })
}

async fn scan(
    custom: &CustomExtensions,
    config: &ConfigService,
    dir: &Path,
    seen: &mut BTreeMap<PathBuf, Seen>,
) -> std::io::Result<()> {
    let mut present = Vec::new();
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "wasm") && entry.file_type().await?.is_file() {
            present.push(path);
        }
    }
    for path in &present {
        let Ok(bytes) = tokio::fs::read(path).await else {
            continue;
        };
        let manifest = tokio::fs::read_to_string(path.with_extension("toml"))
            .await
            .ok();
        let digest = digest(&bytes, manifest.as_deref());
        if seen.get(path).is_some_and(|s| s.digest == digest) {
            continue;
        }
        let current = config.current();
        let upload = Upload {
            file_name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
            bytes,
            manifest,
            origin: "directory",
        };
        let installed = match custom.install(upload, &current.extensions).await {
            Ok(done) => {
                tracing::info!(file = %path.display(), extension = %done.record.name, "installed from the extensions directory");
                Some(done.record.name)
            }
            Err(err) => {
                report(path, &err);
                None
            }
        };
        seen.insert(path.clone(), Seen { digest, installed });
    }
    let gone: Vec<PathBuf> = seen
        .keys()
        .filter(|path| !present.contains(path))
        .cloned()
        .collect();
    for path in gone {
        let Some(Seen {
            installed: Some(name),
            ..
        }) = seen.remove(&path)
        else {
            continue;
        };
        // Only what the directory installed: an upload of the same name since then stays.
        match custom.record(&name).await {
            Ok(Some(record)) if record.origin == "directory" => {}
            _ => continue,
        }
        match custom.uninstall(&name).await {
            Ok(()) | Err(CustomError::NotFound(_)) => {
                tracing::info!(file = %path.display(), extension = %name, "file removed: uninstalled");
            }
            Err(err) => tracing::error!(extension = %name, error = %err, "cannot uninstall"),
        }
    }
    Ok(())
}

fn report(path: &Path, err: &CustomError) {
    tracing::error!(file = %path.display(), error = %err, "cannot install from the extensions directory");
}

fn digest(bytes: &[u8], manifest: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    if let Some(manifest) = manifest {
        hasher.update(b"\0manifest\0");
        hasher.update(manifest.as_bytes());
    }
    hex::encode(hasher.finalize())
}
