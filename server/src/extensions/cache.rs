//! The compile cache: components compiled once, kept as precompiled artifacts under the data
//! dir (`<data_dir>/cache/wasm/<sha256>-<engine>.cwasm`), so a restart skips Cranelift.
//!
//! The key is the component's sha256 plus a fingerprint of everything in the engine that
//! affects code generation (wasmtime's own compatibility hash: version, target, settings), so
//! another build or another configuration never reads a stale artifact. Each file starts with
//! the sha256 of the artifact after it: a torn or corrupted file is detected, deleted and the
//! component recompiled. Writes go to a temporary file renamed into place.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const DIGEST_LEN: usize = 32;

/// Where compiled components live; `None` dir: compile every time (no data dir to use).
pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// Whether a component came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    Cached,
    Fresh,
}

impl CompileCache {
    pub fn new(dir: Option<PathBuf>, engine: &Engine) -> Self {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// The compiled component for these bytes, from the cache when possible. Cache trouble
    /// (unreadable dir, full disk, a corrupt file) never fails the load: it is logged and the
    /// component compiled.
    pub fn component(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> wasmtime::Result<(Component, Compiled)> {
        let Some(dir) = &self.dir else {
            return Ok((Component::new(engine, bytes)?, Compiled::Fresh));
        };
        let path = dir.join(format!("{sha256}-{}.cwasm", self.engine_key));
        if let Some(component) = read(engine, &path) {
            return Ok((component, Compiled::Cached));
        }
        let component = Component::new(engine, bytes)?;
        if let Err(err) = write(dir, &path, &component) {
            tracing::warn!(path = %path.display(), error = %err, "cannot keep the compiled component");
        }
        Ok((component, Compiled::Fresh))
    }
}

fn read(engine: &Engine, path: &Path) -> Option<Component> {
    let file = std::fs::read(path).ok()?;
    let intact = file.len() > DIGEST_LEN
        && Sha256::digest(&file[DIGEST_LEN..]).as_slice() == &file[..DIGEST_LEN];
    if !intact {
        tracing::warn!(path = %path.display(), "corrupt compiled component, recompiling");
        let _ = std::fs::remove_file(path);
        return None;
    }
    match deserialize(engine, &file[DIGEST_LEN..]) {
        Ok(component) => Some(component),
        Err(err) => {
            tracing::warn!(path = %path.display(), error = %err, "unusable compiled component, recompiling");
            let _ = std::fs::remove_file(path);
            None
        }
    }
}

/// The one `unsafe` of the server: wasmtime cannot verify that precompiled machine code is
/// what it compiled, so loading it is `unsafe`.
#[allow(unsafe_code)]
fn deserialize(engine: &Engine, artifact: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: the artifact was produced by `Component::serialize` of this same engine
    // configuration (the file name carries the engine's compatibility hash, and wasmtime checks
    // its version and settings again), written by this process into the data dir (mode 0700,
    // owned by the server), and its sha256 was verified just before: it is neither torn nor
    // altered by accident. Whoever can write the data dir can already rewrite the database.
    unsafe { Component::deserialize(engine, artifact) }
}

fn write(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    let artifact = component
        .serialize()
        .map_err(|err| anyhow::anyhow!("{err:#}"))?;
    std::fs::create_dir_all(dir)?;
    let temp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    let mut file = Vec::with_capacity(DIGEST_LEN + artifact.len());
    file.extend_from_slice(&Sha256::digest(&artifact));
    file.extend_from_slice(&artifact);
    std::fs::write(&temp, &file)?;
    std::fs::rename(&temp, path)?;
    Ok(())
}
