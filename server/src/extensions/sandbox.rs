//! What one call's store holds: a deny-by-default WASI context, resource limits, captured logs.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use std::sync::Arc;

use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::bindings::chatai::extension::{host, types};
use super::http::{HttpGate, HttpLimits};
use super::powers::{KvBackend, Powers};
use super::skill::SkillImports;
use crate::tools::Progress;

/// Lines a call may log through `host.log` and their length cap.
const MAX_LOG_LINES: usize = 1000;
const MAX_LOG_LINE: usize = 4096;
/// Bytes of stdout/stderr kept per call.
const MAX_STDIO: usize = 64 * 1024;

/// Limits of one call, precomputed per extension.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    pub memory_bytes: usize,
    pub timeout: std::time::Duration,
    pub result_bytes: usize,
}

impl CallLimits {
    /// The limits of a call now: the server's defaults (`extensions.*`), or what the manifest
    /// asks for capped by the server's maximums. Read at every call, so a config change applies
    /// to the next call.
    pub fn derive(
        config: &crate::config::ExtensionsConfig,
        requested: &crate::manifest::ManifestLimits,
    ) -> Self {
        let timeout_ms = requested
            .timeout_ms
            .map_or(config.timeout_ms, |ms| ms.clamp(1, config.max_timeout_ms));
        let memory_mb = requested
            .memory_mb
            .map_or(config.memory_mb, |mb| mb.clamp(1, config.max_memory_mb));
        Self {
            memory_bytes: usize::try_from(memory_mb * 1024 * 1024).unwrap_or(usize::MAX),
            timeout: std::time::Duration::from_millis(timeout_ms),
            result_bytes: usize::try_from(config.result_limit_bytes).unwrap_or(usize::MAX),
        }
    }
}

/// The store data of one call.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
    /// Lines logged through `host.log`, as `(level, message)`.
    pub logs: Vec<(types::LogLevel, String)>,
    dropped_logs: usize,
    powers: Arc<Powers>,
    kv: Option<KvAccess>,
    /// Whose call this is (named in a refusal, with the call that lifts it).
    extension: Arc<str>,
    http: WasiHttpCtx,
    http_gate: HttpGate,
    progress: Option<Progress>,
    /// The imports of a running skill (`None` in a tool).
    pub(super) skill: Option<Arc<dyn SkillImports>>,
}

/// The extension's kv bucket, when granted and a database is attached.
pub struct KvAccess {
    pub backend: KvBackend,
    pub bucket: Arc<str>,
    /// Serialises the writes of one extension, so quotas hold within an instance.
    pub writes: Arc<tokio::sync::Mutex<()>>,
}

impl HostState {
    /// A fresh sandbox: no args, no env, empty stdin, stdout/stderr captured, no preopened
    /// directory, and TCP, UDP and name lookup refused for every address.
    pub fn new(
        extension: Arc<str>,
        limits: &CallLimits,
        powers: Arc<Powers>,
        kv: Option<KvAccess>,
        http: HttpLimits,
        progress: Option<Progress>,
        skill: Option<Arc<dyn SkillImports>>,
    ) -> Self {
        let stdout = MemoryOutputPipe::new(MAX_STDIO);
        let stderr = MemoryOutputPipe::new(MAX_STDIO);
        let wasi = WasiCtx::builder()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes: limits.memory_bytes,
                memory_denied: false,
            },
            stdout,
            stderr,
            logs: Vec::new(),
            dropped_logs: 0,
            kv: kv.filter(|_| powers.kv),
            extension,
            http: WasiHttpCtx::new(),
            http_gate: HttpGate::new(powers.http.clone(), http),
            powers,
            progress,
            skill,
        }
    }

    fn bucket(&self, key: &str) -> Result<&KvAccess, String> {
        let access = self
            .kv
            .as_ref()
            .ok_or_else(|| kv_not_granted(&self.extension))?;
        if key.is_empty() || key.len() > MAX_KV_KEY {
            return Err(format!("kv keys are 1 to {MAX_KV_KEY} bytes"));
        }
        Ok(access)
    }

    pub fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limiter
    }

    /// Whether the call hit its memory cap (to name the trap).
    pub fn memory_denied(&self) -> bool {
        self.limiter.memory_denied
    }

    /// What the guest wrote on stdout and stderr (capped).
    pub fn stdio(&self) -> (String, String) {
        (
            String::from_utf8_lossy(&self.stdout.contents()).into_owned(),
            String::from_utf8_lossy(&self.stderr.contents()).into_owned(),
        )
    }

    pub fn dropped_logs(&self) -> usize {
        self.dropped_logs
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_gate,
        }
    }
}

/// Caps linear memory; tables and instances are capped by the engine's pool.
struct Limiter {
    memory_bytes: usize,
    memory_denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_denied = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes reached",
                self.memory_bytes
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl types::Host for HostState {}

impl host::Host for HostState {
    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "log")
    )]
    async fn log(&mut self, level: types::LogLevel, message: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.dropped_logs += 1;
            return;
        }
        let mut message = message;
        truncate_line(&mut message);
        if let Some(skill) = &self.skill {
            skill.log(super::level_name(level), &message);
        }
        self.logs.push((level, message));
    }

    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "progress")
    )]
    async fn progress(&mut self, done: u32, total: Option<u32>, message: String) {
        let mut message = message;
        truncate_line(&mut message);
        if let Some(skill) = &self.skill {
            skill.progress(done, total, &message);
        } else if let Some(progress) = &self.progress {
            progress.report(done, total, message);
        }
    }

    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "config_get")
    )]
    async fn config_get(&mut self, key: String) -> Option<String> {
        // Only the values an admin set for this extension under keys it was granted; server
        // settings and secrets are not reachable from here at all.
        self.powers.config.get(&key).cloned()
    }

    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "kv_get")
    )]
    async fn kv_get(&mut self, key: String) -> Result<Option<Vec<u8>>, String> {
        let access = self.bucket(&key)?;
        access
            .backend
            .store
            .kv_get(&access.bucket, &key)
            .await
            .map_err(storage_failed)
    }

    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "kv_set")
    )]
    async fn kv_set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        let access = self.bucket(&key)?;
        let quota = access.backend.quota;
        if value.len() as u64 > quota.max_value_bytes {
            return Err(format!(
                "kv quota: a value may have at most {} bytes",
                quota.max_value_bytes
            ));
        }
        let _write = access.writes.lock().await;
        let store = &access.backend.store;
        let usage = store
            .kv_usage(&access.bucket, &key)
            .await
            .map_err(storage_failed)?;
        if usage.keys + 1 > quota.max_keys {
            return Err(format!("kv quota: at most {} keys", quota.max_keys));
        }
        if usage.bytes + value.len() as u64 > quota.max_bytes {
            return Err(format!(
                "kv quota: at most {} bytes of values",
                quota.max_bytes
            ));
        }
        store
            .kv_set(&access.bucket, &key, &value)
            .await
            .map_err(storage_failed)
    }

    #[tracing::instrument(
        level = "debug",
        name = "host_import",
        skip_all,
        fields(import = "kv_delete")
    )]
    async fn kv_delete(&mut self, key: String) -> Result<(), String> {
        let access = self.bucket(&key)?;
        let _write = access.writes.lock().await;
        access
            .backend
            .store
            .kv_delete(&access.bucket, &key)
            .await
            .map_err(storage_failed)
    }
}

/// Cuts a guest's line to [`MAX_LOG_LINE`] bytes.
fn truncate_line(line: &mut String) {
    if line.len() > MAX_LOG_LINE {
        let mut cut = MAX_LOG_LINE;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
    }
}

/// The guest learns that storage failed, never why (the cause may name internals).
fn storage_failed(err: crate::store::StoreError) -> String {
    tracing::error!(error = %err, "extension kv storage failed");
    "kv storage failed".to_owned()
}

/// Longest kv key, in bytes.
const MAX_KV_KEY: usize = 256;

/// The refusal of kv without a grant, with the way to the grant: the manifest's request and
/// the admin's `PUT` (also on the panel's Extensions page, or `chatai ext deploy --grant`).
fn kv_not_granted(extension: &str) -> String {
    format!(
        "the kv capability is not granted to extension `{extension}`: request it in \
         extension.toml (`[capabilities] kv = true`), then an admin grants it with \
         PUT /api/tools/custom/{extension} {{\"grants\": {{\"kv\": true}}}} (or on the panel's \
         Extensions page, or with `chatai ext deploy --grant`)"
    )
}
