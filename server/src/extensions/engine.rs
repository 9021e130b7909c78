//! The wasmtime engines: the one that runs every extension (with its epoch ticker), and a
//! short-lived one per compilation.
//!
//! Cranelift keeps its working buffers in the engine that compiled, for reuse, as long as that
//! engine lives; after the 18 MB Python test component they are tens of MB. So a component is
//! compiled on a thread of its own by an engine of its own (the same settings, on-demand
//! allocation, which code generation does not depend on), serialised, and both are dropped
//! before the running engine loads the code: a server that compiled holds no more memory than
//! one that read its compile cache (`bench/run.sh`, step 6).

use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::ExtensionsConfig;

/// How often the epoch advances: the granularity of deadlines and of cooperative yields.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Bytes of each pooled linear memory kept resident (zeroed by hand) between calls.
const MEMORY_KEEP_RESIDENT: usize = 2 * 1024 * 1024;
/// Bytes of each pooled table kept resident between calls.
const TABLE_KEEP_RESIDENT: usize = 64 * 1024;

/// The running engine, and the settings of the engines that compile for it.
pub struct Engines {
    pub runtime: Engine,
    /// `pooling` or `on-demand`.
    pub allocation: &'static str,
    pub compiler: Config,
}

/// Builds the engine: component model, epoch interruption, and the pooling allocator sized from
/// the config; if the pool cannot be reserved (small address space, sandbox limits) it falls
/// back to on-demand allocation and says so.
pub fn build(config: &ExtensionsConfig) -> anyhow::Result<Engines> {
    let mut base = Config::new();
    base.wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(1024 * 1024);
    if config.pooling {
        let mut pooling = base.clone();
        let instances = config.pool_instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(instances)
            .total_core_instances(instances * 4)
            .total_memories(instances * 2)
            .total_tables(instances * 4)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_memory_size(
                usize::try_from(config.max_memory_mb * 1024 * 1024).unwrap_or(usize::MAX),
            )
            // Reset a freed slot by zeroing the pages the guest dirtied (found with Linux's
            // PAGEMAP_SCAN) instead of `madvise(DONTNEED)`: no TLB shootdown across cores and
            // no page faults on the next call. Measured in `bench/run.sh`: madvise and the
            // faults it causes were a third of the server's CPU under tools/call load.
            .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
            .table_keep_resident(TABLE_KEEP_RESIDENT)
            // Without PAGEMAP_SCAN (Linux < 6.7) the whole kept-resident prefix is zeroed.
            .pagemap_scan(Enabled::Auto);
        pooling.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        match Engine::new(&pooling) {
            Ok(runtime) => {
                return Ok(Engines {
                    runtime,
                    allocation: "pooling",
                    compiler: base,
                });
            }
            Err(err) => {
                tracing::warn!(error = %err, "pooling allocator unavailable, using on-demand allocation");
            }
        }
    }
    let runtime = Engine::new(&base).map_err(|err| anyhow::anyhow!("{err:#}"))?;
    Ok(Engines {
        runtime,
        allocation: "on-demand",
        compiler: base,
    })
}

/// Compiles a component on a new thread with a new engine of `settings` and sends back its
/// serialised code (or the compiler's error) when the thread is done; the engine and the
/// thread's allocator heap are gone by then (see the module docs). `hold` (a concurrency
/// permit) is dropped when the compilation ends, also when the receiver gave up waiting.
pub fn compile_isolated(
    settings: Config,
    wasm: Vec<u8>,
    hold: impl Send + 'static,
) -> std::io::Result<tokio::sync::oneshot::Receiver<anyhow::Result<Vec<u8>>>> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("wasm-compile".into())
        .spawn(move || {
            let compiled = Engine::new(&settings)
                .and_then(|engine| wasmtime::component::Component::new(&engine, &wasm))
                .and_then(|component| component.serialize())
                .map_err(|err| anyhow::anyhow!("{err:#}"));
            drop(wasm);
            crate::footprint::release_thread_heap();
            drop(hold);
            // The receiver may have given up (compile timeout); nothing to tell then.
            drop(done.send(compiled));
        })?;
    Ok(result)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a thread of its own, until the engine is
/// dropped.
pub fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        });
    if let Err(err) = spawned {
        tracing::error!(error = %err, "cannot start the epoch ticker: deadlines will not fire");
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{DefaultHasher, Hash, Hasher};

    use super::*;

    fn fingerprint(engine: &Engine) -> u64 {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn the_compile_engines_make_code_the_running_engine_accepts() {
        let engines = build(&ExtensionsConfig::default()).expect("engines");
        let compiler = Engine::new(&engines.compiler).expect("compile engine");
        assert_eq!(fingerprint(&compiler), fingerprint(&engines.runtime));
    }
}
