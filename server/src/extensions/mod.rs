//! The WASM extension host: one engine and linker, a precompiled `InstancePre` per component,
//! and a fresh sandboxed instance for every call. wasmtime types stay inside this module.

mod backend;
mod bindings;
pub mod builtins;
mod cache;
pub mod custom;
mod engine;
mod fairness;
pub mod http;
mod powers;
mod sandbox;
mod skill;
pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, Trap};

pub use backend::WasmBackend;
use bindings::skill::SkillExtensionPre;
use bindings::{CallContext, ToolExtension, ToolExtensionPre};
use cache::CompileCache;
pub use cache::Compiled;
pub use powers::{KvBackend, KvQuota, Powers};
pub use sandbox::CallLimits;
use sandbox::{HostState, KvAccess};
pub use skill::{ImportFuture, SKILL_CATEGORY, SkillBinder, SkillImports, SkillMessage};

use crate::config::ExtensionsConfig;
use crate::manifest::{ManifestLimits, SkillLimits};
use crate::tools::{ContentPart, Progress, Ran, ToolError, ToolKind, ToolOutput, ToolSpec};

/// One guest call: who calls (passed to the guest as `call-context`), the caller's remaining
/// deadline, and where progress goes.
#[derive(Clone, Default)]
pub struct GuestCall {
    pub call_id: String,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub conversation_id: Option<String>,
    /// The caller's remaining time; the shorter of it and the extension's timeout applies.
    pub deadline: Option<Duration>,
    pub progress: Option<Progress>,
}

/// Why a component cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error("the component cannot be linked: {0}")]
    Unlinkable(String),
    #[error(
        "the component implements neither chatai:extension/tool@0.1.0 (a tool) nor \
         chatai:extension/skill@0.1.0 (a skill): {0}"
    )]
    WrongWorld(String),
    /// `list-tools` (a tool) or `info` (a skill) failed.
    #[error("list-tools failed: {0}")]
    ListTools(String),
    #[error("invalid tool spec: {0}")]
    InvalidSpec(String),
    #[error("the component took longer than {0:?} to compile")]
    CompileTimeout(Duration),
}

/// A loaded component, ready to serve calls.
pub struct Extension {
    /// Shared with every call's sandbox (which names it in a refusal): no copy per call.
    pub name: Arc<str>,
    /// The manifest's version (builtins: the server's).
    pub version: Option<String>,
    pub sha256: String,
    pub size: usize,
    pub tools: Vec<ToolSpec>,
    /// Whether the compiled code came from the compile cache.
    pub compiled: Compiled,
    /// Which world it implements, ready to instantiate.
    entry: Entry,
    /// The limits its manifest asks for; each call caps them by the config in force then.
    requested: ManifestLimits,
    /// What a skill's manifest asks for per run (capped by `skills.*` at every run).
    pub skill_limits: SkillLimits,
    /// Calls running now.
    running: Arc<AtomicU32>,
    /// Capabilities in force; swapped when an admin changes grants or config.
    powers: arc_swap::ArcSwap<Powers>,
    kv_writes: Arc<tokio::sync::Mutex<()>>,
}

/// A component's world, linked and ready to instantiate.
enum Entry {
    Tool(ToolExtensionPre<HostState>),
    Skill(SkillExtensionPre<HostState>),
}

impl Entry {
    fn component(&self) -> &wasmtime::component::Component {
        match self {
            Entry::Tool(pre) => pre.instance_pre().component(),
            Entry::Skill(pre) => pre.instance_pre().component(),
        }
    }
}

/// The engine, the linker and the ticker, built once at start.
pub struct ExtensionHost {
    engine: Engine,
    /// The settings of the engines that compile (see `engine`).
    compiler: wasmtime::Config,
    linker: Linker<HostState>,
    cache: CompileCache,
    /// Compilations at once (`extensions.compile_concurrency`).
    compile_slots: Arc<Semaphore>,
    compile_timeout: Duration,
    kv: std::sync::OnceLock<KvBackend>,
    long_calls: fairness::LongCallSlots,
    /// `pooling` or `on-demand`.
    pub allocation: &'static str,
}

impl ExtensionHost {
    /// `cache_dir`: where compiled components are kept (`None`: compile at every load);
    /// `cache_secret`: the key that seals them (see `cache`).
    pub fn new(
        config: &ExtensionsConfig,
        cache_dir: Option<PathBuf>,
        cache_secret: &[u8],
    ) -> anyhow::Result<Self> {
        let engine::Engines {
            runtime: engine,
            allocation,
            compiler,
        } = engine::build(config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|err| anyhow::anyhow!("linking WASI: {err:#}"))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|err| anyhow::anyhow!("linking wasi:http: {err:#}"))?;
        ToolExtension::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)
            .map_err(|err| anyhow::anyhow!("linking chatai:extension/host: {err:#}"))?;
        bindings::skill::chatai::extension::skill_host::add_to_linker::<
            HostState,
            HasSelf<HostState>,
        >(&mut linker, |state| state)
        .map_err(|err| anyhow::anyhow!("linking chatai:extension/skill-host: {err:#}"))?;
        engine::start_ticker(&engine);
        Ok(Self {
            cache: CompileCache::new(cache_dir, &engine, cache_secret),
            compile_slots: Arc::new(Semaphore::new(config.compile_concurrency.max(1) as usize)),
            compile_timeout: Duration::from_millis(config.compile_timeout_ms.max(1)),
            kv: std::sync::OnceLock::new(),
            long_calls: fairness::LongCallSlots::for_this_machine(),
            engine,
            compiler,
            linker,
            allocation,
        })
    }

    /// Attaches the database behind kv buckets (once, at start; without it kv is refused).
    pub fn set_kv_backend(&self, backend: KvBackend) {
        if self.kv.set(backend).is_err() {
            tracing::warn!("the kv backend was already set");
        }
    }

    /// Compiles (or takes from the cache), links and asks the component for its tools (once,
    /// in a sandbox). `requested`: the manifest's limits, capped by `config` at every call.
    pub async fn load(
        &self,
        name: &str,
        version: Option<String>,
        bytes: &[u8],
        requested: ManifestLimits,
        skill_limits: SkillLimits,
        config: &ExtensionsConfig,
    ) -> Result<Arc<Extension>, LoadError> {
        if !wasmparser_is_component(bytes) {
            return Err(LoadError::NotAComponent(
                if bytes.starts_with(b"\0asm\x01\0\0\0") {
                    "this is a core WebAssembly module; build a component (WASI 0.2), e.g. \
                     `cargo build --target wasm32-wasip2` or `wasm-tools component new`"
                        .into()
                } else {
                    "expected a WebAssembly component (WASI 0.2); this is not WebAssembly".into()
                },
            ));
        }
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        let (component, compiled) = self.compile(bytes, &sha256).await?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|err| LoadError::Unlinkable(format!("{err:#}")))?;
        let entry = match ToolExtensionPre::new(instance_pre.clone()) {
            Ok(pre) => Entry::Tool(pre),
            Err(as_tool) => match SkillExtensionPre::new(instance_pre) {
                Ok(pre) => Entry::Skill(pre),
                Err(as_skill) => {
                    return Err(LoadError::WrongWorld(format!(
                        "as a tool: {as_tool:#}; as a skill: {as_skill:#}"
                    )));
                }
            },
        };
        let mut extension = Extension {
            name: Arc::from(name),
            version,
            sha256,
            size: bytes.len(),
            tools: Vec::new(),
            compiled,
            entry,
            requested,
            skill_limits,
            running: Arc::new(AtomicU32::new(0)),
            powers: arc_swap::ArcSwap::from_pointee(Powers::default()),
            kv_writes: Arc::new(tokio::sync::Mutex::new(())),
        };
        extension.tools = match &extension.entry {
            Entry::Tool(_) => self
                .list_tools(&extension, config)
                .await
                .map_err(|err| LoadError::ListTools(err.to_string()))?
                .into_iter()
                .map(validate_spec)
                .collect::<Result<_, _>>()?,
            Entry::Skill(_) => vec![self.skill_spec(&extension, config).await?],
        };
        Ok(Arc::new(extension))
    }

    /// The compiled component: from the cache, else compiled on a thread of its own (see
    /// `engine::compile_isolated`), at most `compile_concurrency` at once and within
    /// `compile_timeout` (a compile past it is left to finish on its thread, holding its slot,
    /// and its result dropped).
    async fn compile(
        &self,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<(wasmtime::component::Component, Compiled), LoadError> {
        let (cache, engine, sha) = (self.cache.clone(), self.engine.clone(), sha256.to_owned());
        let cached = tokio::task::spawn_blocking(move || cache.lookup(&engine, &sha)).await;
        if let Ok(Some(component)) = cached {
            return Ok((component, Compiled::Cached));
        }
        let permit = self
            .compile_slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|err| LoadError::NotAComponent(err.to_string()))?;
        let compiling = engine::compile_isolated(self.compiler.clone(), bytes.to_vec(), permit)
            .map_err(|err| LoadError::NotAComponent(format!("cannot start the compiler: {err}")))?;
        let code = match tokio::time::timeout(self.compile_timeout, compiling).await {
            Err(_) => return Err(LoadError::CompileTimeout(self.compile_timeout)),
            Ok(Err(_)) => {
                return Err(LoadError::NotAComponent(
                    "the compiler stopped without an answer".into(),
                ));
            }
            Ok(Ok(Err(err))) => return Err(LoadError::NotAComponent(format!("{err:#}"))),
            Ok(Ok(Ok(code))) => code,
        };
        let engine = self.engine.clone();
        match tokio::task::spawn_blocking(move || cache::load_compiled(&engine, &code)).await {
            Ok(Ok(component)) => Ok((component, Compiled::Fresh)),
            Ok(Err(err)) => Err(LoadError::NotAComponent(format!("{err:#}"))),
            Err(join) => Err(LoadError::NotAComponent(format!(
                "loading the compiled code failed: {join}"
            ))),
        }
    }

    /// Keeps a freshly compiled extension in the compile cache. Call it once the extension is
    /// installed: a refused upload leaves nothing behind.
    pub async fn keep_compiled(&self, extension: &Extension) {
        if extension.compiled != Compiled::Fresh {
            return;
        }
        let cache = self.cache.clone();
        let sha = extension.sha256.clone();
        let component = extension.entry.component().clone();
        if let Err(err) = tokio::task::spawn_blocking(move || cache.keep(&sha, &component)).await {
            tracing::warn!(error = %err, "keeping a compiled component failed");
        }
    }

    /// Removes cached artifacts of components not in `installed` (sha256s).
    pub async fn prune_cache(&self, installed: std::collections::HashSet<String>) {
        let cache = self.cache.clone();
        match tokio::task::spawn_blocking(move || cache.prune(&installed)).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "pruned unused compiled components"),
            Err(err) => tracing::warn!(error = %err, "pruning the compile cache failed"),
        }
    }

    fn store(
        &self,
        extension: &Extension,
        limits: &CallLimits,
        config: &ExtensionsConfig,
        progress: Option<Progress>,
        skill: Option<Arc<dyn SkillImports>>,
    ) -> Store<HostState> {
        let powers = extension.powers.load_full();
        let kv = match (powers.kv, self.kv.get()) {
            (true, Some(backend)) => Some(KvAccess {
                backend: backend.clone(),
                bucket: extension.name.clone(),
                writes: extension.kv_writes.clone(),
            }),
            _ => None,
        };
        let http_limits = http::HttpLimits {
            allow_private: config.http.allow_private,
            max_requests: config.http.max_requests_per_call,
            max_response_bytes: config.http.max_response_bytes,
        };
        let mut store = Store::new(
            &self.engine,
            HostState::new(
                extension.name.clone(),
                limits,
                powers,
                kv,
                http_limits,
                progress,
                skill,
            ),
        );
        store.limiter(|state| state.limiter());
        // Yield to the async runtime at every epoch tick, so a spinning guest never holds a
        // worker thread; the deadline itself is enforced by a timeout around the call. The
        // yield is tokio's own: it lets the runtime poll I/O before resuming the guest (a plain
        // self-wake would starve new connections for up to tokio's event interval). Calls past
        // 10 ms take turns for a few slots (see `fairness`).
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(self.long_calls.pacer());
        store
    }

    async fn list_tools(
        &self,
        extension: &Extension,
        config: &ExtensionsConfig,
    ) -> Result<Vec<bindings::ToolSpec>, ToolError> {
        let Entry::Tool(pre) = &extension.entry else {
            return Ok(Vec::new());
        };
        let limits = CallLimits::derive(config, &extension.requested);
        let mut store = self.store(extension, &limits, config, None, None);
        let deadline = limits.timeout;
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance
                .chatai_extension_tool()
                .call_list_tools(&mut store)
                .await
        };
        match tokio::time::timeout(deadline, run).await {
            Err(_) => Err(ToolError::Timeout(deadline)),
            Ok(Err(err)) => Err(trap(err, store.data())),
            Ok(Ok(specs)) => Ok(specs),
        }
    }

    /// Runs one tool in a fresh instance, within the extension's limits as `config` caps them
    /// now. `args` is the JSON text handed to the guest as is (owned: the bindings take
    /// `&String`).
    pub async fn call(
        &self,
        extension: &Extension,
        tool: &str,
        args: String,
        mut guest: GuestCall,
        config: &ExtensionsConfig,
    ) -> Ran {
        let Entry::Tool(pre) = &extension.entry else {
            return Ran {
                result: Err(ToolError::Failed(format!(
                    "`{}` is a skill, not a tool component",
                    extension.name
                ))),
                logs: Vec::new(),
            };
        };
        let Some(_running) = self.enter(extension, config) else {
            return Ran {
                result: Err(ToolError::Busy(max_concurrency(extension, config))),
                logs: Vec::new(),
            };
        };
        let limits = CallLimits::derive(config, &extension.requested);
        let timeout = guest
            .deadline
            .map_or(limits.timeout, |left| left.min(limits.timeout));
        let mut store = self.store(extension, &limits, config, guest.progress.take(), None);
        let ctx = call_context(guest, timeout);
        let run = async {
            let instance = pre.instantiate_async(&mut store).await?;
            instance
                .chatai_extension_tool()
                .call_call(&mut store, tool, &args, &ctx)
                .await
        };
        let result = match tokio::time::timeout(timeout, run).await {
            Err(_) => Err(ToolError::Timeout(timeout)),
            Ok(Err(err)) => Err(trap(err, store.data())),
            Ok(Ok(Err(err))) => Err(guest_error(err)),
            Ok(Ok(Ok(result))) => convert_result(result, &limits),
        };
        Ran {
            result,
            logs: guest_logs(store.data()),
        }
    }

    /// A place among the extension's running calls, if one is free.
    fn enter<'a>(
        &self,
        extension: &'a Extension,
        config: &ExtensionsConfig,
    ) -> Option<Running<'a>> {
        Running::enter(&extension.running, max_concurrency(extension, config))
    }
}

/// Calls of one extension at once: its manifest's `max_concurrency` capped by the config.
fn max_concurrency(extension: &Extension, config: &ExtensionsConfig) -> u32 {
    extension
        .requested
        .max_concurrency
        .map_or(config.max_concurrency, |n| {
            n.clamp(1, config.max_concurrency)
        })
}

/// What the guest is told of its call: who calls, and the milliseconds it has (`timeout`).
fn call_context(guest: GuestCall, timeout: Duration) -> CallContext {
    CallContext {
        call_id: guest.call_id,
        user_id: guest.user_id,
        group_id: guest.group_id,
        conversation_id: guest.conversation_id,
        deadline_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
    }
}

/// A guest's own error as the hub's.
fn guest_error(err: bindings::ToolError) -> ToolError {
    match err {
        bindings::ToolError::InvalidArgs(m) => ToolError::InvalidArgs(m),
        bindings::ToolError::NotFound(m) => ToolError::Failed(format!("not found: {m}")),
        bindings::ToolError::Denied(m) => ToolError::Failed(format!("denied: {m}")),
        bindings::ToolError::Failed(m) => ToolError::Failed(m),
    }
}

/// A call's place among an extension's running calls; leaving is dropping it.
struct Running<'a>(&'a AtomicU32);

impl<'a> Running<'a> {
    fn enter(running: &'a AtomicU32, max: u32) -> Option<Self> {
        running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(running))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Extension {
    /// A tool component or a skill.
    pub fn kind(&self) -> ToolKind {
        match self.entry {
            Entry::Tool(_) => ToolKind::Tool,
            Entry::Skill(_) => ToolKind::Skill,
        }
    }

    /// Puts new capabilities in force; calls that start afterwards see them.
    pub fn set_powers(&self, powers: Powers) {
        self.powers.store(Arc::new(powers));
    }

    /// The limits its manifest asks for (capped by the config at every call).
    pub fn requested(&self) -> &ManifestLimits {
        &self.requested
    }
}

/// Names the trap: memory cap, stack overflow, panic, or something else.
fn trap(err: wasmtime::Error, state: &HostState) -> ToolError {
    let reason = if state.memory_denied() {
        "memory_limit"
    } else {
        match err.downcast_ref::<Trap>() {
            Some(Trap::StackOverflow) => "stack_overflow",
            Some(Trap::UnreachableCodeReached) => "panic",
            // A Rust guest's shadow stack (in linear memory) overflowing looks like this too.
            Some(Trap::MemoryOutOfBounds) => "memory_out_of_bounds",
            Some(Trap::OutOfFuel) | Some(Trap::Interrupt) => "interrupted",
            Some(_) => "trap",
            None => "host_error",
        }
    };
    ToolError::Trapped {
        reason,
        message: format!("{err:#}"),
    }
}

fn convert_result(
    result: bindings::CallResult,
    limits: &CallLimits,
) -> Result<ToolOutput, ToolError> {
    let size: usize = result
        .content
        .iter()
        .map(|part| match part {
            bindings::Content::Text(t) | bindings::Content::Json(t) => t.len(),
            bindings::Content::Image(i) => i.data.len() + i.mime_type.len(),
        })
        .sum::<usize>()
        + result.structured.as_ref().map_or(0, String::len);
    if size > limits.result_bytes {
        return Err(ToolError::ResultTooLarge {
            size,
            limit: limits.result_bytes,
        });
    }
    let parse = |json: &str, what: &str| {
        serde_json::from_str::<serde_json::Value>(json)
            .map_err(|err| ToolError::InvalidOutput(format!("{what} is not JSON: {err}")))
    };
    let content = result
        .content
        .into_iter()
        .map(|part| {
            Ok(match part {
                bindings::Content::Text(text) => ContentPart::Text(text),
                bindings::Content::Json(json) => ContentPart::Json(parse(&json, "a json part")?),
                bindings::Content::Image(image) => ContentPart::Image {
                    mime_type: image.mime_type,
                    data: image.data,
                },
            })
        })
        .collect::<Result<Vec<_>, ToolError>>()?;
    let structured = result
        .structured
        .as_deref()
        .map(|json| parse(json, "structured"))
        .transpose()?;
    Ok(ToolOutput {
        content,
        structured,
    })
}

/// The guest's log lines, then its stdout and stderr, and a note of how many were dropped.
fn guest_logs(state: &HostState) -> Vec<String> {
    let mut logs: Vec<String> = state
        .logs
        .iter()
        .map(|(level, line)| format!("{}: {line}", level_name(*level)))
        .collect();
    let (stdout, stderr) = state.stdio();
    logs.extend(stdout.lines().map(|l| format!("stdout: {l}")));
    logs.extend(stderr.lines().map(|l| format!("stderr: {l}")));
    if state.dropped_logs() > 0 {
        logs.push(format!("… {} more lines dropped", state.dropped_logs()));
    }
    logs
}

fn level_name(level: bindings::LogLevel) -> &'static str {
    match level {
        bindings::LogLevel::Trace => "trace",
        bindings::LogLevel::Debug => "debug",
        bindings::LogLevel::Info => "info",
        bindings::LogLevel::Warn => "warn",
        bindings::LogLevel::Error => "error",
    }
}

/// The component-model layer byte of the wasm header (core modules are version 1, layer 0).
fn wasmparser_is_component(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[0..4] == *b"\0asm" && bytes[6..8] == [0x01, 0x00]
}

/// `^[a-z][a-z0-9_]{0,63}$` and an object schema that compiles.
fn validate_spec(spec: bindings::ToolSpec) -> Result<ToolSpec, LoadError> {
    let name_ok = spec.name.len() <= 64
        && spec.name.starts_with(|c: char| c.is_ascii_lowercase())
        && spec
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        return Err(LoadError::InvalidSpec(format!(
            "tool name `{}` must match ^[a-z][a-z0-9_]{{0,63}}$",
            spec.name
        )));
    }
    let input_schema: serde_json::Value =
        serde_json::from_str(&spec.input_schema).map_err(|err| {
            LoadError::InvalidSpec(format!("{}: input schema is not JSON: {err}", spec.name))
        })?;
    if let Err(err) = jsonschema::validator_for(&input_schema) {
        return Err(LoadError::InvalidSpec(format!(
            "{}: input schema is not a valid JSON Schema: {err}",
            spec.name
        )));
    }
    let output_schema = spec
        .output_schema
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|err| {
            LoadError::InvalidSpec(format!("{}: output schema is not JSON: {err}", spec.name))
        })?;
    Ok(ToolSpec {
        name: spec.name,
        description: spec.description,
        input_schema,
        output_schema,
        category: spec.category,
        dangerous: spec.dangerous,
    })
}
