//! The one wasmtime `Engine` and its epoch ticker.

use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::ExtensionsConfig;

/// How often the epoch advances: the granularity of deadlines and of cooperative yields.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Bytes of each pooled linear memory kept resident (zeroed by hand) between calls.
const MEMORY_KEEP_RESIDENT: usize = 2 * 1024 * 1024;
/// Bytes of each pooled table kept resident between calls.
const TABLE_KEEP_RESIDENT: usize = 64 * 1024;

/// Builds the engine: component model, epoch interruption, and the pooling allocator sized from
/// the config; if the pool cannot be reserved (small address space, sandbox limits) it falls
/// back to on-demand allocation and says so.
pub fn build(config: &ExtensionsConfig) -> anyhow::Result<(Engine, &'static str)> {
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
            Ok(engine) => return Ok((engine, "pooling")),
            Err(err) => {
                tracing::warn!(error = %err, "pooling allocator unavailable, using on-demand allocation");
            }
        }
    }
    let engine = Engine::new(&base).map_err(|err| anyhow::anyhow!("{err:#}"))?;
    Ok((engine, "on-demand"))
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
