//! The compile cache: components compiled once, kept as precompiled artifacts under the data
//! dir (`<data_dir>/cache/wasm/<sha256>-<engine>.cwasm`), so a restart skips Cranelift.
//!
//! The key is the component's sha256 plus a fingerprint of everything in the engine that
//! affects code generation (wasmtime's own compatibility hash: version, target, settings), so
//! another build or another configuration never reads a stale artifact.
//!
//! Loading an artifact runs its machine code, so a file is only trusted when it carries our
//! seal: an HMAC-SHA256, under a secret kept in the database, of the component's sha256, the
//! engine key and the artifact. A torn, altered, planted or swapped file fails the check and
//! the component is recompiled, never run. Artifacts are written only for components that were
//! installed (the caller decides, after the install succeeded), through a temporary file
//! renamed into place; [`CompileCache::prune`] removes those no installed extension uses.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component;

const MAC_LEN: usize = 32;

/// Where compiled components live; `None` dir: compile every time (no data dir to use).
#[derive(Clone)]
pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
    secret: Vec<u8>,
}

/// Whether a component came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    Cached,
    Fresh,
}

impl CompileCache {
    /// `secret`: the key of the artifacts' seal (kept in the database, never in the data dir).
    pub fn new(dir: Option<PathBuf>, engine: &Engine, secret: &[u8]) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
            secret: secret.to_vec(),
        }
    }

    fn path(&self, dir: &Path, sha256: &str) -> PathBuf {
        dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    fn seal(&self, sha256: &str, artifact: &[u8]) -> Hmac<Sha256> {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            // HMAC takes keys of any length.
            Err(_) => unreachable!("HMAC accepts every key length"),
        };
        mac.update(sha256.as_bytes());
        mac.update(b"\0");
        mac.update(self.engine_key.as_bytes());
        mac.update(b"\0");
        mac.update(artifact);
        mac
    }

    /// The cached compiled component, if there is a sealed one. Blocking (file I/O).
    pub fn lookup(&self, engine: &Engine, sha256: &str) -> Option<Component> {
        let dir = self.dir.as_ref()?;
        let path = self.path(dir, sha256);
        let file = std::fs::read(&path).ok()?;
        let sealed = file.len() > MAC_LEN
            && self
                .seal(sha256, &file[MAC_LEN..])
                .verify_slice(&file[..MAC_LEN])
                .is_ok();
        if !sealed {
            tracing::warn!(path = %path.display(), "compiled component without a valid seal: recompiling");
            remove(&path);
            return None;
        }
        match deserialize(engine, &file[MAC_LEN..]) {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "unusable compiled component, recompiling");
                remove(&path);
                None
            }
        }
    }

    /// Keeps a compiled component. Cache trouble (full disk, unwritable dir) is logged, never
    /// an error: the next load compiles again. Blocking (serialisation and file I/O).
    pub fn keep(&self, sha256: &str, component: &Component) {
        let Some(dir) = &self.dir else { return };
        let path = self.path(dir, sha256);
        if path.exists() {
            return;
        }
        if let Err(err) = self.write(dir, &path, sha256, component) {
            tracing::warn!(path = %path.display(), error = %err, "cannot keep the compiled component");
        }
    }

    fn write(
        &self,
        dir: &Path,
        path: &Path,
        sha256: &str,
        component: &Component,
    ) -> anyhow::Result<()> {
        let artifact = component
            .serialize()
            .map_err(|err| anyhow::anyhow!("{err:#}"))?;
        std::fs::create_dir_all(dir)?;
        let temp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let mut file = Vec::with_capacity(MAC_LEN + artifact.len());
        file.extend_from_slice(&self.seal(sha256, &artifact).finalize().into_bytes());
        file.extend_from_slice(&artifact);
        std::fs::write(&temp, &file)?;
        std::fs::rename(&temp, path)?;
        Ok(())
    }

    /// Removes every file of the cache dir but the artifacts of `keep` (component sha256s) for
    /// this engine: uninstalled components, other engines' artifacts, torn temporary files.
    pub fn prune(&self, keep: &HashSet<String>) -> usize {
        let Some(dir) = &self.dir else { return 0 };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let wanted: HashSet<String> = keep
            .iter()
            .map(|sha| format!("{sha}-{}.cwasm", self.engine_key))
            .collect();
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && !wanted.contains(&name) {
                remove(&entry.path());
                removed += 1;
            }
        }
        removed
    }
}

fn remove(path: &Path) {
    if let Err(err) = std::fs::remove_file(path)
        && err.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %err, "cannot remove a cached artifact");
    }
}

/// Loads code that a compile engine of this process just produced (`engine::compile_isolated`),
/// never bytes read from anywhere else.
pub(super) fn load_compiled(engine: &Engine, code: &[u8]) -> wasmtime::Result<Component> {
    deserialize(engine, code)
}

/// The audited `unsafe` of the extension host: wasmtime cannot verify that precompiled machine
/// code is what it compiled, so loading it is `unsafe`.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: the artifact was produced by `Component::serialize` of this same engine
    // configuration (wasmtime checks its version and settings again on load), either
    // - in memory a moment ago, by the compile engine of this process (`load_compiled`), or
    // - read from the compile cache (`lookup`), whose file name carries the engine's
    //   compatibility hash and whose content carries an HMAC under a secret that only the
    //   database holds, binding it to this component's sha256 and this engine: a file planted,
    //   altered or swapped in the data dir fails that check before we get here.
    unsafe { Component::deserialize(engine, artifact) }
}
